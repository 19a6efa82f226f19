//! The studio server over real HTTP and WebSocket, with the real weights and the bundled
//! example images at small sizes: start, upload, steer, final render, cancel, the queue, a
//! closed page, each kind of bad input, and a mask that keeps half of the photo.

mod common;

use std::time::{Duration, Instant};

use common::{
    example, half_mask_png, halves_diff, http, http_announce, png_size, start_run, TestServer, Ws,
};
use impasto_studio::protocol::{ClientMsg, Controls, ServerMsg};

/// Preview size used by these tests (pixels, longer side).
const SIZE: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_and_assets_come_from_the_binary_and_use_no_other_host() {
    let server = TestServer::start(|_| {}).await;
    for (path, mime) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/mask.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/examples/portrait_astronaut.jpg", "image/jpeg"),
        ("/examples/starry_night.jpg", "image/jpeg"),
    ] {
        let r = http(server.addr, "GET", path, &[], &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(mime),
            "{path}"
        );
        if mime.starts_with("text") {
            let text = String::from_utf8(r.body).unwrap();
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
                "{path} refers to another host"
            );
        }
    }
    let page = http(server.addr, "GET", "/", &[], &[]).await;
    assert!(String::from_utf8_lossy(&page.body).contains("Impasto Studio"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_the_assets_are_404() {
    let server = TestServer::start(|_| {}).await;
    for path in [
        "/../Cargo.toml",
        "/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/examples/../../Cargo.toml",
        "/examples/..%2f..%2fCargo.toml",
        "/assets/app.js",
        "/app.js/",
        "/index.html",
        "/src/lib.rs",
        "/api/session/../../etc/passwd",
        "/api/session/%2e%2e/final.png",
        "/api/session/0123/final.png",
        "//etc/passwd",
    ] {
        let r = http(server.addr, "GET", path, &[], &[]).await;
        assert_eq!(
            r.status,
            404,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("[package]"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_starts_a_run_whose_frames_carry_their_settings() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    assert_eq!(ws.session.len(), 32, "a 128-bit session id");
    let c = common::small(&ws.defaults, SIZE, 200);
    ws.steer(1, &c).await;
    let r = ws
        .upload(
            "content",
            "portrait_astronaut.jpg",
            &example("portrait_astronaut.jpg"),
        )
        .await;
    assert_eq!(r.status, 200);
    let reply: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(reply["content"]["name"], "portrait_astronaut.jpg");
    assert!(reply["styles"].as_array().unwrap().is_empty());
    let r = ws
        .upload("style", "starry_night.jpg", &example("starry_night.jpg"))
        .await;
    assert_eq!(r.status, 200);
    let reply: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(reply["styles"][0]["width"], 714);
    assert_eq!(reply["controls"]["style_weights"], serde_json::json!([1.0]));

    ws.until("running", |m| matches!(m, ServerMsg::Running).then_some(()))
        .await;
    let f = ws.frame(1).await;
    assert_eq!(f.controls.size, SIZE);
    assert_eq!(f.controls.style_weights, vec![1.0]);
    assert_eq!(f.width.max(f.height), SIZE);
    assert!(f.image.starts_with("data:image/jpeg;base64,"));
    assert!(f.ssim.is_some_and(|s| (-1.0..=1.0).contains(&s)));
    assert!(f.losses.total.is_finite() && f.losses.style > 0.0);
    // A Gram cosine comes every few steps.
    let g = ws
        .until("a Gram cosine", |m| match m {
            ServerMsg::GramCosine { value, .. } => Some(*value),
            _ => None,
        })
        .await;
    assert!((0.0..=1.0).contains(&g), "{g}");
    // Uploads are decoded in memory: nothing is written for them, in the session's folder or
    // anywhere else in the temp root.
    let dirs = server.session_dirs();
    assert_eq!(dirs.len(), 1);
    assert_eq!(std::fs::read_dir(&dirs[0]).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steering_changes_the_running_preview_without_restarting() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    let c = start_run(&mut ws, SIZE, 1000).await;
    // Let the stylisation get going: the content loss grows from 0 as style comes in.
    let before = ws
        .until("eight steps", |m| match m {
            ServerMsg::Frame(f) if f.rev == 1 && f.step >= 8 => Some((**f).clone()),
            _ => None,
        })
        .await;
    let steered = Controls {
        content_weight: 1000.0,
        ..c.clone()
    };
    ws.steer(2, &steered).await;
    let after = ws.frame(2).await;
    assert_eq!(
        after.controls, steered,
        "the frame shows the settings that made it"
    );
    assert_ne!(after.image, before.image);
    assert!(
        after.step > before.step && after.width == before.width,
        "the run continued (step {} → {}) at the same size",
        before.step,
        after.step
    );
    // With α = 1000 the picture goes back toward the photo: the content loss falls.
    let start = before.losses.content;
    let content = ws
        .until("the content loss to fall", |m| match m {
            ServerMsg::Step { rev: 2, losses, .. } if losses.content < 0.7 * start => {
                Some(losses.content)
            }
            ServerMsg::Step { rev: 2, step, .. } if *step > before.step + 30 => {
                panic!("content loss still ≥ 0.7 × {start} after 30 steps")
            }
            _ => None,
        })
        .await;
    assert!(content < start);

    // Bad controls are refused with a message and the run goes on.
    ws.send(&ClientMsg::Steer {
        rev: 3,
        controls: Controls {
            size: 5000,
            ..steered.clone()
        },
    })
    .await;
    let msg = ws.error().await;
    assert!(
        msg.contains("preview size 5000 px is out of range"),
        "{msg}"
    );
    ws.send(&ClientMsg::Steer {
        rev: 4,
        controls: Controls {
            style_weights: vec![1.0, 1.0],
            ..steered.clone()
        },
    })
    .await;
    let msg = ws.error().await;
    assert!(
        msg.contains("2 style weights given for 1 style images"),
        "{msg}"
    );
    ws.frame(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_style_blends_in_and_its_weight_steers() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    let c = start_run(&mut ws, SIZE, 1000).await;
    ws.frame(1).await;
    let r = ws
        .upload(
            "style",
            "photo-as-style.jpg",
            &example("portrait_astronaut.jpg"),
        )
        .await;
    assert_eq!(r.status, 200);
    let blended = Controls {
        style_weights: vec![1.0, 1.0],
        ..c.clone()
    };
    let f = ws
        .until("a frame with two styles", |m| match m {
            ServerMsg::Frame(f) if f.controls.style_weights.len() == 2 => Some((**f).clone()),
            _ => None,
        })
        .await;
    assert_eq!(f.controls, blended);
    let weighted = Controls {
        style_weights: vec![0.2, 0.8],
        ..c
    };
    ws.steer(2, &weighted).await;
    assert_eq!(ws.frame(2).await.controls.style_weights, vec![0.2, 0.8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_render_offers_a_png_at_the_asked_size() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    start_run(&mut ws, SIZE, 20).await;
    ws.frame(1).await;
    ws.send(&ClientMsg::RenderFinal {
        size: 96,
        iters: Some(4),
    })
    .await;
    let mut progressed = false;
    let (url, w, h) = ws
        .until("the final render", |m| match m {
            ServerMsg::FinalProgress { .. } => {
                progressed = true;
                None
            }
            ServerMsg::FinalReady { url, width, height } => Some((url.clone(), *width, *height)),
            _ => None,
        })
        .await;
    assert!(progressed, "progress came before the result");
    assert_eq!(w.max(h), 96);
    let r = http(server.addr, "GET", &url, &[], &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(png_size(&r.body), (w as u32, h as u32));
    // Out-of-range sizes are refused with a message.
    ws.send(&ClientMsg::RenderFinal {
        size: 100_000,
        iters: None,
    })
    .await;
    let msg = ws.error().await;
    assert!(
        msg.contains("final size 100000 px is out of range"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_render_can_be_cancelled() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    start_run(&mut ws, SIZE, 20).await;
    ws.frame(1).await;
    ws.send(&ClientMsg::RenderFinal {
        size: 128,
        iters: Some(1000),
    })
    .await;
    ws.until("final progress", |m| {
        matches!(m, ServerMsg::FinalProgress { .. }).then_some(())
    })
    .await;
    ws.send(&ClientMsg::CancelFinal).await;
    let at = Instant::now();
    ws.until("the cancellation", |m| match m {
        ServerMsg::FinalCancelled => Some(()),
        ServerMsg::FinalReady { .. } => panic!("a cancelled render finished"),
        _ => None,
    })
    .await;
    assert!(at.elapsed() < Duration::from_secs(20), "{:?}", at.elapsed());
    let url = format!("/api/session/{}/final.png", ws.session);
    let r = http(server.addr, "GET", &url, &[], &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("no final render yet"));
    // The preview carries on after the cancel.
    let c = common::small(&ws.defaults, SIZE, 20);
    ws.steer(
        2,
        &Controls {
            style_weights: vec![1.0],
            ..c
        },
    )
    .await;
    ws.frame(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_waits_its_turn_and_runs_when_the_first_page_closes() {
    let server = TestServer::start(|c| c.max_runs = 1).await;
    let mut a = Ws::connect(server.addr).await;
    start_run(&mut a, SIZE, 1000).await;
    a.frame(1).await;
    let mut b = Ws::connect(server.addr).await;
    start_run(&mut b, SIZE, 1000).await;
    let position = b
        .until("a queue position", |m| match m {
            ServerMsg::Queued { position } => Some(*position),
            ServerMsg::Running => panic!("ran beside the first with max-runs 1"),
            _ => None,
        })
        .await;
    assert_eq!(position, 1);
    let s = server.status().await;
    assert_eq!(
        (s["running"].as_u64(), s["waiting"].as_u64()),
        (Some(1), Some(1))
    );
    a.close().await;
    let at = Instant::now();
    b.until("b to run", |m| {
        matches!(m, ServerMsg::Running).then_some(())
    })
    .await;
    assert!(at.elapsed() < Duration::from_secs(10), "{:?}", at.elapsed());
    b.frame(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_page_frees_its_run_and_its_uploads() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    start_run(&mut ws, SIZE, 1000).await;
    ws.frame(1).await;
    assert_eq!(server.session_dirs().len(), 1);
    ws.close().await;
    server
        .wait_status("the run and session to end", |s| {
            s["running"] == 0 && s["sessions"] == 0
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.session_dirs().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{:?} left",
            server.session_dirs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A small PNG that declares `w × h` pixels: a header and a few bytes of compressed data.
fn bomb(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let idat = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &idat), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = 0xFFFF_FFFFu32;
        for &b in kind.iter().chain(data) {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        out.extend_from_slice(&(!crc).to_be_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_with_clear_messages() {
    let server = TestServer::start(|c| c.max_upload_bytes = 256 << 10).await;
    let ws = Ws::connect(server.addr).await;

    let r = ws
        .upload("content", "notes.txt", b"these are my notes\n")
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .starts_with("notes.txt: not a PNG or JPEG image (found text)"),
        "{}",
        r.error()
    );

    let r = ws
        .upload("style", "fake.png", b"\x89PNG\r\n\x1a\ngarbage")
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error().contains("fake.png: corrupt or truncated PNG"),
        "{}",
        r.error()
    );

    let r = ws
        .upload("content", "bomb.png", &bomb(100_000, 100_000))
        .await;
    assert_eq!(r.status, 413);
    assert!(
        r.error().contains(
            "bomb.png: the image declares 100000×100000 pixels, more than the 30000×30000 \
             pixels allowed"
        ),
        "{}",
        r.error()
    );

    // Under the engine's own limits, but more than the studio takes.
    let r = ws.upload("style", "big.png", &bomb(8_000, 8_000)).await;
    assert_eq!(r.status, 413);
    assert!(
        r.error().contains(
            "big.png: the image declares 8000×8000 pixels, more than the limit of 40 megapixels"
        ),
        "{}",
        r.error()
    );

    // Damaged data is refused, not decoded with the missing part filled in.
    let starry = example("starry_night.jpg");
    let r = ws.upload("style", "cut.jpg", &starry[..70_000]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .starts_with("cut.jpg: the JPEG data ends early (truncated or damaged file)"),
        "{}",
        r.error()
    );

    let r = ws.upload("content", "empty.jpg", b"").await;
    assert_eq!(r.status, 400);
    assert!(r.error().contains("empty.jpg is empty"), "{}", r.error());

    let path = format!("/api/session/{}/content?name=huge.jpg", ws.session);
    let r = http_announce(server.addr, &path, 10 << 20).await;
    assert_eq!(r.status, 413);
    assert!(
        r.error()
            .contains("huge.jpg is larger than the upload limit of 256 KB"),
        "{}",
        r.error()
    );

    // Without a length, the body is cut off at the limit.
    let mut chunked = Vec::new();
    for _ in 0..5 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 << 10).as_bytes());
        chunked.extend(std::iter::repeat_n(0u8, 64 << 10));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let path = format!("/api/session/{}/style?name=stream.png", ws.session);
    let r = common::http_raw(
        server.addr,
        "POST",
        &path,
        &[("Transfer-Encoding", "chunked")],
        &chunked,
    )
    .await;
    assert_eq!(r.status, 413);
    assert!(
        r.error()
            .contains("stream.png is larger than the upload limit of 256 KB"),
        "{}",
        r.error()
    );

    let r = http(
        server.addr,
        "POST",
        "/api/session/not-a-session/content",
        &[],
        &example("starry_night.jpg"),
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("no such studio session"));

    // Nothing refused was kept, and no temporary path leaked into a message.
    let dirs = server.session_dirs();
    assert_eq!(dirs.len(), 1);
    assert_eq!(std::fs::read_dir(&dirs[0]).unwrap().count(), 0);

    // The session still works after the refusals.
    let r = ws
        .upload("content", "ok.jpg", &example("starry_night.jpg"))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_styles_are_refused() {
    let server = TestServer::start(|_| {}).await;
    let ws = Ws::connect(server.addr).await;
    let style = example("starry_night.jpg");
    for _ in 0..impasto_studio::MAX_STYLES {
        assert_eq!(ws.upload("style", "s.jpg", &style).await.status, 200);
    }
    let r = ws.upload("style", "one-more.jpg", &style).await;
    assert_eq!(r.status, 400);
    assert!(
        r.error().contains("already blends 4 style images"),
        "{}",
        r.error()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_messages_and_foreign_pages_are_refused() {
    let server = TestServer::start(|c| c.max_sessions = 1).await;
    let mut ws = Ws::connect(server.addr).await;
    ws.send_text("{not json").await;
    let msg = ws.error().await;
    assert!(msg.contains("cannot read"), "{msg}");
    ws.send(&ClientMsg::RenderFinal {
        size: 64,
        iters: Some(2),
    })
    .await;
    let msg = ws.error().await;
    assert!(msg.contains("add a photo and a painting first"), "{msg}");

    // A second page is over the session limit: it hears why.
    let (mut second, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .unwrap();
    use futures_util::StreamExt;
    let first = second.next().await.unwrap().unwrap().into_text().unwrap();
    let msg: ServerMsg = serde_json::from_str(&first).unwrap();
    assert!(
        matches!(&msg, ServerMsg::Error { message } if message.contains("open sessions")),
        "{msg:?}"
    );

    // Another site's page may not open a session on the user's studio.
    let r = http(
        server.addr,
        "GET",
        "/ws",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade, close"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Origin", "http://evil.example"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_removes_every_session_folder() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    start_run(&mut ws, SIZE, 1000).await;
    ws.frame(1).await;
    assert_eq!(server.session_dirs().len(), 1);
    // The page stays open while the server stops.
    let root = server.shutdown().await;
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mask_keeps_the_photo_where_it_is_black_and_bad_masks_are_refused() {
    let server = TestServer::start(|_| {}).await;
    let mut ws = Ws::connect(server.addr).await;
    let c = common::small(&ws.defaults, 96, 24);
    ws.steer(1, &c).await;
    let half = half_mask_png(64, 64, 0.5);

    let r = ws.upload("mask", "half.png", &half).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "add the photo first: a mask is drawn over it");

    let photo = example("portrait_astronaut.jpg");
    let r = ws.upload("content", "portrait_astronaut.jpg", &photo).await;
    assert_eq!(r.status, 200);

    let r = ws
        .upload("mask", "black.png", &half_mask_png(64, 64, 0.0))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error().starts_with("black.png is all black"),
        "{}",
        r.error()
    );
    let r = ws
        .upload("mask", "junk.png", b"\x89PNG\r\n\x1a\njunk")
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error().starts_with("junk.png: corrupt or truncated PNG"),
        "{}",
        r.error()
    );
    let r = ws
        .upload("mask", "wide.png", &half_mask_png(64, 32, 0.5))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .contains("wide.png is 64×32 but the photo is 512×512"),
        "{}",
        r.error()
    );
    let r = ws.upload("mask", "..%2F..%2Fhalf.png", &half).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let reply: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(reply["mask"]["name"], "half.png");
    assert_eq!(reply["mask"]["width"], 512);
    let coverage = reply["mask"]["coverage"].as_f64().unwrap();
    assert!((coverage - 0.5).abs() < 0.02, "{coverage}");

    // The run: the style goes over the left half only.
    let r = ws
        .upload("style", "starry_night.jpg", &example("starry_night.jpg"))
        .await;
    assert_eq!(r.status, 200);
    let mut last = None;
    ws.until("the masked run to finish", |m| match m {
        ServerMsg::Frame(f) => {
            assert!(
                f.mask.is_some_and(|m| (m - 0.5).abs() < 0.02),
                "{:?}",
                f.mask
            );
            last = Some(f.image.clone());
            None
        }
        ServerMsg::Idle => Some(()),
        _ => None,
    })
    .await;
    let (styled, kept) = halves_diff(&photo, &last.expect("a frame"));
    assert!(
        kept < 6.0,
        "the unmasked half moved from the photo by {kept}"
    );
    assert!(styled > 3.0 * kept && styled > 15.0, "{styled} vs {kept}");

    // The final render follows it too.
    ws.send(&ClientMsg::RenderFinal {
        size: 96,
        iters: Some(6),
    })
    .await;
    let url = ws
        .until("the final render", |m| match m {
            ServerMsg::FinalReady { url, .. } => Some(url.clone()),
            _ => None,
        })
        .await;
    let r = http(server.addr, "GET", &url, &[], &[]).await;
    assert_eq!(r.status, 200);
    let (styled, kept) = common::halves_diff_bytes(&photo, &r.body);
    assert!(kept < 4.0 && styled > 3.0 * kept, "{styled} vs {kept}");

    // Removing the mask restarts the run over the whole photo; a new photo drops the mask.
    let path = format!("/api/session/{}/mask", ws.session);
    let r = http(server.addr, "DELETE", &path, &[], &[]).await;
    assert_eq!(r.status, 200);
    let reply: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(reply["mask"].is_null());
    let r = ws.upload("mask", "half.png", &half).await;
    assert_eq!(r.status, 200);
    let r = ws.upload("content", "again.jpg", &photo).await;
    let reply: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(reply["mask"].is_null());
}
