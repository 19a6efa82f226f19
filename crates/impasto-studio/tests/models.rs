//! Trained models in the studio: listed by name from their folder (a damaged file skipped),
//! one pass of the photo at its size when one is picked (following a mask), refusals in the page's terms, and
//! Refine starting the optimisation from the model's result.

mod common;

use common::{example, half_mask_png, halves_diff, start_run, write_model, TestServer, Ws};
use impasto_studio::protocol::{ClientMsg, ModelInfo, ServerMsg, Stylized};
use impasto_studio::Models;

/// A folder with two models, a damaged file, a checkpoint and a stray file; its models and the
/// warnings loading them gave.
fn models() -> (tempfile::TempDir, Models, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), "starry.safetensors", &["starry_night"]);
    write_model(dir.path(), "pair.safetensors", &["starry_night", "scream"]);
    std::fs::write(dir.path().join("broken.safetensors"), b"not a model").unwrap();
    std::fs::write(dir.path().join("starry.checkpoint.safetensors"), b"x").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a model either").unwrap();
    let mut warnings = Vec::new();
    let models = Models::load(dir.path(), |w| warnings.push(w.to_string())).unwrap();
    (dir, models, warnings)
}

fn pick(rev: u64, model: &str, blend: &[(&str, f32)]) -> ClientMsg {
    ClientMsg::PickModel {
        rev,
        model: Some(model.into()),
        blend: (!blend.is_empty())
            .then(|| blend.iter().map(|(k, w)| (k.to_string(), *w)).collect()),
    }
}

async fn stylized(ws: &mut Ws, rev: u64) -> Stylized {
    ws.until(&format!("the one pass of pick {rev}"), |m| match m {
        ServerMsg::Stylized(s) if s.rev == rev => Some((**s).clone()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folders_models_are_listed_by_name_and_a_damaged_one_is_skipped() {
    let (dir, models, warnings) = models();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("broken.safetensors"),
        "{}",
        warnings[0]
    );
    let server = TestServer::start_with(models, |_| {}).await;
    let ws = Ws::connect(server.addr).await;
    let listed = vec![
        ModelInfo {
            name: "pair".into(),
            styles: vec!["starry_night".into(), "scream".into()],
        },
        ModelInfo {
            name: "starry".into(),
            styles: vec!["starry_night".into()],
        },
    ];
    assert_eq!(ws.models, listed);
    let json = serde_json::to_string(&ws.models).unwrap();
    assert!(!json.contains(&*dir.path().to_string_lossy()), "{json}");

    let missing = dir.path().join("nowhere");
    let e = Models::load(&missing, |_| {}).err().unwrap().to_string();
    assert!(e.contains("nowhere"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_model_stylises_the_photo_at_its_size_and_its_blend_steers() {
    let (_dir, models, _) = models();
    let server = TestServer::start_with(models, |_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    ws.send(&pick(1, "starry", &[])).await;
    let r = ws
        .upload(
            "content",
            "portrait_astronaut.jpg",
            &example("portrait_astronaut.jpg"),
        )
        .await;
    assert_eq!(r.status, 200);
    let s = stylized(&mut ws, 1).await;
    assert_eq!((s.model.as_str(), s.width, s.height), ("starry", 512, 512));
    assert_eq!(s.mix, vec![1.0]);
    assert!(s.image.starts_with("data:image/jpeg;base64,"));

    ws.send(&pick(2, "pair", &[("starry_night", 3.0), ("scream", 1.0)]))
        .await;
    let s = stylized(&mut ws, 2).await;
    assert_eq!(s.mix, vec![0.75, 0.25]);
    assert_eq!((s.width, s.height), (512, 512));

    // A mask over the left half: the pass comes again, with the photo kept on the right.
    let r = ws
        .upload("mask", "left.png", &half_mask_png(32, 32, 0.5))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let s = stylized(&mut ws, 2).await;
    let (styled, kept) = halves_diff(&example("portrait_astronaut.jpg"), &s.image);
    assert!(kept < 6.0 && styled > 15.0, "{styled} vs {kept}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_models_and_bad_blends_are_refused_in_the_pages_terms() {
    let (_dir, models, _) = models();
    let server = TestServer::start_with(models, |_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    let cases: [(ClientMsg, &str); 5] = [
        (
            pick(1, "../starry", &[]),
            "there is no trained model called '../starry': pick one of pair, starry",
        ),
        (
            pick(2, "pair", &[("starry_night", -1.0)]),
            "the model's style blend starry_night:-1 is invalid",
        ),
        (
            pick(3, "pair", &[("vangogh", 1.0)]),
            "the model's style blend vangogh is invalid: this model's styles are starry_night, scream",
        ),
        (
            pick(4, "pair", &[("starry_night", 0.0), ("scream", 0.0)]),
            "the model's style blend all 0 is invalid",
        ),
        (ClientMsg::Refine, "pick a trained model and add a photo first"),
    ];
    for (msg, want) in cases {
        ws.send(&msg).await;
        let e = ws.error().await;
        assert!(e.starts_with(want), "{e}");
    }
    // Blends come as numbers by name: anything else is not read.
    ws.send_text(r#"{"type":"pick_model","rev":5,"model":"pair","blend":{"scream":"x"}}"#)
        .await;
    assert!(ws.error().await.contains("cannot read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refine_restarts_the_optimisation_from_the_models_result() {
    let (_dir, models, _) = models();
    let server = TestServer::start_with(models, |_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    ws.send(&pick(1, "starry", &[])).await;
    start_run(&mut ws, 64, 8).await;
    stylized(&mut ws, 1).await;
    // The run from the photo keeps much of it; the untrained model's noise keeps little.
    let mut from_photo = None;
    ws.until("the run from the photo to end", |m| match m {
        ServerMsg::Frame(f) => {
            from_photo = f.ssim;
            None
        }
        ServerMsg::Idle => Some(()),
        _ => None,
    })
    .await;
    ws.send(&ClientMsg::Refine).await;
    let refined = ws
        .until("a frame of the refined run", |m| match m {
            ServerMsg::Frame(f) => Some(f.ssim),
            _ => None,
        })
        .await;
    let (from_photo, refined) = (from_photo.unwrap(), refined.unwrap());
    assert!(refined < from_photo - 0.2, "{refined} vs {from_photo}");
}
