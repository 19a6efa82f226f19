//! End to end in a real headless Chromium (WebDriver through chromedriver): load the page, see
//! a non-image refused, upload the two example images through the file inputs, wait for a
//! preview, move the style slider, see the preview change, take the README screenshot, render
//! and download the result. And: pick a trained model, see its one-pass result of the photo,
//! and Refine it. And: paint a mask over half of the photo with the brush, and see the run
//! keep the photo in the other half.

mod common;

use common::chrome::{browser, click, poll, text, Driver};
use common::{
    example, half_mask_png, halves_diff, http, png_size, repo, write_model, TestServer, PATIENCE,
};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_studio_works_in_headless_chromium() {
    let driver = Driver::start().await;
    let server = TestServer::start(|_| {}).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;

    open_page(&c, &server.addr.to_string()).await;

    // A file that is not an image is refused, and the page says why.
    let notes = profile.path().join("notes.txt");
    std::fs::write(&notes, "not a picture\n").unwrap();
    c.find(Locator::Id("content-input"))
        .await
        .unwrap()
        .send_keys(&notes.display().to_string())
        .await
        .unwrap();
    let shown = poll("the refusal on the page", PATIENCE, || async {
        attr(&c, "error", "hidden").await.is_none().then_some(())?;
        Some(text(&c, "error-text").await)
    })
    .await;
    assert!(
        shown.starts_with("notes.txt: not a PNG or JPEG image (found text)"),
        "{shown}"
    );
    c.find(Locator::Id("error-close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A short coarse-to-fine preview run (128 → 256 px), so the test takes seconds.
    set_number(&c, "preview-iters", "36").await;
    let photo = repo("examples/portrait_astronaut.jpg")
        .canonicalize()
        .unwrap();
    let painting = repo("examples/starry_night.jpg").canonicalize().unwrap();
    let content_input = c.find(Locator::Id("content-input")).await.unwrap();
    content_input
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    let style_input = c.find(Locator::Id("style-input")).await.unwrap();
    style_input
        .send_keys(&painting.display().to_string())
        .await
        .unwrap();

    let first = poll("a preview", PATIENCE, || async {
        attr(&c, "preview", "src")
            .await
            .filter(|s| s.starts_with("data:image/jpeg;base64,"))
    })
    .await;
    let default_beta = format!("β {} ", impasto::settings::DEFAULT_STYLE_WEIGHT);
    assert!(text(&c, "frame-info").await.contains(&default_beta));

    // Move the style slider to its end (β = 1000) with the keyboard.
    let slider = c.find(Locator::Id("style-weight")).await.unwrap();
    slider.send_keys(&Key::End.to_string()).await.unwrap();
    assert_eq!(text(&c, "style-weight-out").await, "1000");
    let changed = poll("a preview made with β = 1000", PATIENCE, || async {
        let info = text(&c, "frame-info").await;
        let src = attr(&c, "preview", "src").await?;
        (info.contains("β 1000 ") && src != first).then_some(src)
    })
    .await;
    assert_ne!(changed, first);
    // The frame before the change went into the history strip, with its settings.
    let history = c
        .find_all(Locator::Css("#history-strip .hist"))
        .await
        .unwrap();
    assert!(!history.is_empty());
    assert!(history[0].text().await.unwrap().contains(&default_beta));

    // Let the run reach full preview size, then take the README's screenshot (written into
    // docs/ only with IMPASTO_UPDATE_DOCS=1, so that running the tests leaves the tree alone).
    poll("the preview run to finish", PATIENCE, || async {
        text(&c, "status").await.starts_with("done").then_some(())
    })
    .await;
    let shot = c.screenshot().await.unwrap();
    assert!(shot.starts_with(b"\x89PNG"));
    let docs = match std::env::var_os("IMPASTO_UPDATE_DOCS") {
        Some(_) => repo("docs"),
        None => std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    };
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("studio.png"), &shot).unwrap();

    // Render the final image at 256 px and download it.
    set_number(&c, "final-size", "256").await;
    set_number(&c, "final-iters", "8").await;
    c.find(Locator::Id("render-final"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let href = poll("the download link", PATIENCE, || async {
        if attr(&c, "download", "hidden").await.is_some() {
            return None;
        }
        attr(&c, "download", "href").await
    })
    .await;
    let path = href
        .strip_prefix(&format!("http://{}", server.addr))
        .unwrap_or(&href)
        .to_string();
    let r = http(server.addr, "GET", &path, &[], &[]).await;
    assert_eq!(r.status, 200);
    let (w, h) = png_size(&r.body);
    assert_eq!(w.max(h), 256);
    assert!(text(&c, "download").await.contains(&format!("{w}×{h}")));

    // No error was shown along the way.
    assert!(
        attr(&c, "error", "hidden").await.is_some(),
        "{}",
        text(&c, "error-text").await
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_model_shows_its_result_and_refines_in_headless_chromium() {
    let models = tempfile::tempdir().unwrap();
    write_model(models.path(), "starry_night.safetensors", &["starry_night"]);
    let models = impasto_studio::Models::load(models.path(), |w| panic!("{w}")).unwrap();
    let driver = Driver::start().await;
    let server = TestServer::start_with(models, |_| {}).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    open_page(&c, &server.addr.to_string()).await;

    // Pick the model, then give the photo: its one pass appears at the photo's size.
    let select = c.find(Locator::Id("model")).await.unwrap();
    select.select_by_value("starry_night").await.unwrap();
    let photo = repo("examples/portrait_astronaut.jpg")
        .canonicalize()
        .unwrap();
    c.find(Locator::Id("content-input"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    poll("the model's result", PATIENCE, || async {
        let src = attr(&c, "fast", "src").await?;
        src.starts_with("data:image/jpeg;base64,").then_some(())
    })
    .await;
    assert!(text(&c, "fast-info")
        .await
        .contains("starry_night · 512×512"));

    // Refine (with the bundled painting of the model's style) shows a live preview.
    c.find(Locator::Id("preview-size"))
        .await
        .unwrap()
        .select_by_value("128")
        .await
        .unwrap();
    set_number(&c, "preview-iters", "4").await;
    c.find(Locator::Id("refine"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    poll("the refined run to finish", PATIENCE, || async {
        text(&c, "status").await.starts_with("done").then_some(())
    })
    .await;
    assert!(attr(&c, "preview", "hidden").await.is_none());
    let shot = c.screenshot().await.unwrap();
    std::fs::write(std::env::temp_dir().join("studio_fast.png"), &shot).unwrap();
    assert!(
        attr(&c, "error", "hidden").await.is_some(),
        "{}",
        text(&c, "error-text").await
    );
    c.close().await.unwrap();
}

/// Brush strokes over the mask canvas, as a user's pointer makes them: top to bottom at each
/// of `xs` (shares of the width), dispatched as pointer events.
const PAINT: &str = r#"
const cv = document.getElementById('mask-canvas');
const r = cv.getBoundingClientRect();
const fire = (type, x, y) => cv.dispatchEvent(new PointerEvent(type, {
  bubbles: true, cancelable: true, pointerId: 7, pointerType: 'touch', isPrimary: true,
  button: 0, buttons: type === 'pointerup' ? 0 : 1,
  clientX: r.left + x * r.width, clientY: r.top + y * r.height,
}));
for (const x of arguments[0]) {
  fire('pointerdown', x, -0.2);
  for (let y = 0; y <= 1.2; y += 0.1) fire('pointermove', x, y);
  fire('pointerup', x, 1.2);
}
return [r.width, r.height];
"#;

async fn attr(c: &Client, id: &str, name: &str) -> Option<String> {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
}

/// Types `value` into the number field `id` and leaves it (which fires `change`).
async fn set_number(c: &Client, id: &str, value: &str) {
    let field = c.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
    field.send_keys(&Key::Tab.to_string()).await.unwrap();
}

/// Opens the studio at `addr` and waits for its session.
async fn open_page(c: &Client, addr: &str) {
    c.goto(&format!("http://{addr}/")).await.unwrap();
    poll("the session to open", PATIENCE, || async {
        text(c, "status").await.starts_with("ready").then_some(())
    })
    .await;
}

/// Waits until the mask's caption starts with `want`.
async fn mask_info(c: &Client, want: &str) {
    poll(&format!("the mask caption {want:?}"), PATIENCE, || async {
        text(c, "mask-info").await.starts_with(want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_painted_mask_keeps_the_photo_where_it_is_unpainted_in_headless_chromium() {
    let driver = Driver::start().await;
    let server = TestServer::start(|_| {}).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    open_page(&c, &server.addr.to_string()).await;
    c.find(Locator::Id("preview-size"))
        .await
        .unwrap()
        .select_by_value("128")
        .await
        .unwrap();
    set_number(&c, "preview-iters", "24").await;

    // The photo first: the mask controls appear, and the brush paints over it.
    let photo = repo("examples/portrait_astronaut.jpg")
        .canonicalize()
        .unwrap();
    c.find(Locator::Id("content-input"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    poll("the mask controls", PATIENCE, || async {
        attr(&c, "mask-box", "hidden").await.is_none().then_some(())
    })
    .await;
    // An uploaded mask shows on the canvas, and Invert and Clear work on it.
    let left = profile.path().join("left.png");
    std::fs::write(&left, half_mask_png(64, 64, 0.25)).unwrap();
    c.find(Locator::Id("mask-input"))
        .await
        .unwrap()
        .send_keys(&left.display().to_string())
        .await
        .unwrap();
    mask_info(&c, "left.png: the style goes over 25%").await;
    assert!(attr(&c, "mask-wrap", "hidden").await.is_none());
    click(&c, "mask-invert").await;
    mask_info(&c, "painted mask.png: the style goes over 75%").await;
    click(&c, "mask-clear").await;
    mask_info(&c, "no mask").await;
    click(&c, "mask-paint").await;
    assert!(attr(&c, "mask-wrap", "hidden").await.is_some());
    click(&c, "mask-paint").await;
    assert!(attr(&c, "mask-wrap", "hidden").await.is_none());
    let size = c.find(Locator::Id("brush-size")).await.unwrap();
    size.send_keys(&Key::End.to_string()).await.unwrap();
    assert_eq!(text(&c, "brush-size-out").await, "30%");
    // Two strokes 30% wide at 10% and 30% of the width cover its left 45%.
    let shown = c
        .execute(PAINT, vec![serde_json::json!([0.1, 0.3])])
        .await
        .unwrap();
    assert!(
        shown[0].as_f64().unwrap() > 100.0,
        "the canvas is shown: {shown}"
    );
    mask_info(&c, "painted mask.png: the style goes over 4").await;

    // Then the painting: the run starts with the mask, and keeps the photo right of it.
    let painting = repo("examples/starry_night.jpg").canonicalize().unwrap();
    c.find(Locator::Id("style-input"))
        .await
        .unwrap()
        .send_keys(&painting.display().to_string())
        .await
        .unwrap();
    poll("the masked run to finish", PATIENCE, || async {
        text(&c, "status").await.starts_with("done").then_some(())
    })
    .await;
    let caption = text(&c, "frame-info").await;
    assert!(caption.contains(" · mask over 4"), "{caption}");
    let src = attr(&c, "preview", "src").await.unwrap();
    let (styled, kept) = halves_diff(&example("portrait_astronaut.jpg"), &src);
    assert!(
        kept < 8.0,
        "the unpainted half moved from the photo by {kept}"
    );
    assert!(styled > 3.0 * kept && styled > 15.0, "{styled} vs {kept}");
    let shot = c.screenshot().await.unwrap();
    std::fs::write(std::env::temp_dir().join("studio_mask.png"), &shot).unwrap();
    assert!(
        attr(&c, "error", "hidden").await.is_some(),
        "{}",
        text(&c, "error-text").await
    );
    c.close().await.unwrap();
}
