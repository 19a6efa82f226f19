//! The rating page in a real headless Chromium: consent, then trials answered by clicking, by
//! keyboard and after zooming in; a reload continues where it stopped; the thank-you screen;
//! and the answers, times, zooms and screen recorded in the study's database. And the same for
//! a study of 1–5 ratings. Screenshots land in the target's temporary folder.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use common::chrome::{browser, click, poll, text, Driver};
use common::study::{make_study, RateTest};
use common::PATIENCE;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use impasto::rating::Mode;
use impasto_io::study::{Response, Store};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn displayed(c: &Client, id: &str) -> bool {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap()
}

async fn enabled(c: &Client, id: &str) -> bool {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .is_enabled()
        .await
        .unwrap()
}

/// Presses `key` on the page.
async fn press(c: &Client, key: &str) {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

/// Waits until trial `n` (1-based) of `of` is shown with its answer buttons enabled.
async fn wait_trial(c: &Client, n: usize, of: usize, button: &str) {
    let want = format!("Trial {n} of {of}");
    poll(&want, PATIENCE, || async {
        (text(c, "progress").await == want && enabled(c, button).await).then_some(())
    })
    .await;
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name), png).unwrap();
}

/// Consents as `name` on the page at `link`.
async fn consent(c: &Client, link: &str, name: &str) {
    c.goto(link).await.unwrap();
    poll("the consent screen", PATIENCE, || async {
        displayed(c, "consent").await.then_some(())
    })
    .await;
    assert_eq!(text(c, "title").await, "Which stylisation is better?");
    assert!(text(c, "instructions")
        .await
        .contains("Pick the better one."));
    assert!(
        !enabled(c, "start").await,
        "no start before consent and a name"
    );
    let field = c.find(Locator::Id("pseudonym")).await.unwrap();
    field.send_keys(name).await.unwrap();
    assert!(!enabled(c, "start").await, "no start without consent");
    click(c, "agree").await;
    assert!(enabled(c, "start").await);
    click(c, "agree").await;
    assert!(
        !enabled(c, "start").await,
        "no start once consent is withdrawn"
    );
    click(c, "agree").await;
    shot(c, "rate-consent.png").await;
    click(c, "start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rater_consents_and_judges_pairs_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Pairs);
    let server = RateTest::start(dir.path(), LOOPBACK).await;
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    consent(&c, &server.link, "  Grace  ").await;

    wait_trial(&c, 1, 10, "choose-left").await;
    assert!(!text(&c, "question").await.is_empty());
    assert!(!displayed(&c, "acr-buttons").await);
    shot(&c, "rate-pair.png").await;
    click(&c, "choose-left").await;

    // Zoom into A, pan, close with Esc, then answer B.
    wait_trial(&c, 2, 10, "choose-right").await;
    click(&c, "left").await;
    poll("the zoom overlay", PATIENCE, || async {
        displayed(&c, "zoom").await.then_some(())
    })
    .await;
    shot(&c, "rate-zoom.png").await;
    press(&c, &Key::Escape.to_string()).await;
    poll("the zoom to close", PATIENCE, || async {
        (!displayed(&c, "zoom").await).then_some(())
    })
    .await;
    click(&c, "choose-right").await;

    // "Can't tell" by the ↓ key.
    wait_trial(&c, 3, 10, "choose-tie").await;
    press(&c, &Key::Down.to_string()).await;

    let clicks = ["choose-left", "choose-right", "choose-tie"];
    for (k, id) in clicks.iter().enumerate() {
        wait_trial(&c, 4 + k, 10, id).await;
        click(&c, id).await;
    }

    // A reload continues at trial 7.
    wait_trial(&c, 7, 10, "choose-left").await;
    c.refresh().await.unwrap();
    wait_trial(&c, 7, 10, "choose-left").await;
    let screen: Vec<f64> = c
        .execute("return [innerWidth, innerHeight, devicePixelRatio]", vec![])
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();

    let store = Store::open(dir.path()).unwrap();
    let answers = store.answers().unwrap();
    assert_eq!(answers.len(), 6);
    let want = [
        Response::Left,
        Response::Right,
        Response::Tie,
        Response::Left,
        Response::Right,
        Response::Tie,
    ];
    for (k, a) in answers.iter().enumerate() {
        assert_eq!((a.index, a.response), (k, want[k]), "trial {k}");
        assert!(a.response_ms > 0, "trial {k} took {} ms", a.response_ms);
        assert_eq!(a.zooms, u32::from(k == 1), "trial {k}'s zooms");
    }
    let raters = store.raters().unwrap();
    assert_eq!(raters.len(), 1);
    let r = &raters[0];
    assert_eq!(r.pseudonym, "Grace");
    assert_eq!(
        (
            r.viewport_width as f64,
            r.viewport_height as f64,
            r.device_pixel_ratio
        ),
        (screen[0], screen[1], screen[2])
    );

    for n in 7..=10 {
        wait_trial(&c, n, 10, "choose-left").await;
        click(&c, "choose-left").await;
    }
    poll("the thank-you screen", PATIENCE, || async {
        displayed(&c, "done").await.then_some(())
    })
    .await;
    assert_eq!(store.answers().unwrap().len(), 10);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rater_scores_single_results_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Acr);
    let server = RateTest::start(dir.path(), LOOPBACK).await;
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    consent(&c, &server.link, "Alan").await;

    wait_trial(&c, 1, 8, "score-5").await;
    assert!(!displayed(&c, "pair-buttons").await);
    assert!(displayed(&c, "single").await && !displayed(&c, "left").await);
    shot(&c, "rate-acr.png").await;
    click(&c, "score-5").await;
    wait_trial(&c, 2, 8, "score-1").await;
    click(&c, "score-1").await;
    wait_trial(&c, 3, 8, "score-3").await;
    press(&c, "4").await;
    wait_trial(&c, 4, 8, "score-3").await;

    let answers = Store::open(dir.path()).unwrap().answers().unwrap();
    let got: Vec<Response> = answers.iter().map(|a| a.response).collect();
    assert_eq!(
        got,
        [Response::Score(5), Response::Score(1), Response::Score(4)]
    );
    c.close().await.unwrap();
}
