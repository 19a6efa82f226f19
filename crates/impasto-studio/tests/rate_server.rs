//! The rating server over HTTP, no browser: many raters at once on two servers sharing one
//! study, hostile requests refused, the token off loopback, and the blind rule.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::study::{make_study, RateTest, ITEMS, METHODS, VERSION};
use common::{http, Response, TestServer};
use impasto::rating::Mode;
use impasto_io::study::{Response as Judgement, Store};
use serde_json::{json, Value};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn post(addr: SocketAddr, path: &str, body: &Value) -> Response {
    post_raw(addr, path, body.to_string().as_bytes(), &[]).await
}

async fn post_raw(addr: SocketAddr, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Response {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    http(addr, "POST", path, &h, body).await
}

fn body(r: &Response) -> Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&r.body)))
}

fn join_body(pseudonym: &str) -> Value {
    json!({
        "pseudonym": pseudonym, "consent": true, "instructions_version": VERSION,
        "viewport": { "width": 1280, "height": 800 }, "device_pixel_ratio": 1.5,
    })
}

/// Joins as `pseudonym`: (rater, key, trials).
async fn join(addr: SocketAddr, pseudonym: &str) -> (i64, String, usize) {
    let r = post(addr, "/rate/api/join", &join_body(pseudonym)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = body(&r);
    (
        j["rater"].as_i64().unwrap(),
        j["key"].as_str().unwrap().to_string(),
        j["trials"].as_u64().unwrap() as usize,
    )
}

/// An answer the trial `t` (a reply of next/answer) allows.
fn fitting(t: &Value) -> Value {
    if t["mode"] == "pairs" {
        json!("right")
    } else {
        json!(4)
    }
}

fn answer_body(rater: i64, key: &str, index: u64, response: Value) -> Value {
    json!({ "rater": rater, "key": key, "index": index, "response": response,
            "response_ms": 850, "zooms": 0 })
}

/// Answers every trial of a rater as fast as possible; returns the trial replies seen.
async fn answer_all(addr: SocketAddr, rater: i64, key: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut t = body(
        &post(
            addr,
            "/rate/api/next",
            &json!({ "rater": rater, "key": key }),
        )
        .await,
    );
    while t.get("done").is_none() {
        let a = answer_body(rater, key, t["index"].as_u64().unwrap(), fitting(&t));
        let r = post(addr, "/rate/api/answer", &a).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        seen.push(std::mem::replace(&mut t, body(&r)));
    }
    assert_eq!(t, json!({ "done": true }));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dozen_raters_on_two_servers_at_once_lose_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Pairs);
    let (a, b) = (
        RateTest::start(dir.path(), LOOPBACK).await,
        RateTest::start(dir.path(), LOOPBACK).await,
    );
    let tasks: Vec<_> = (0..24)
        .map(|k| {
            let addr = if k % 2 == 0 { a.addr } else { b.addr };
            tokio::spawn(async move {
                let (rater, key, trials) = join(addr, &format!("rater {k}")).await;
                let seen = answer_all(addr, rater, &key).await;
                assert_eq!(seen.len(), trials);
                trials
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 24 * 10);
    let store = Store::open(dir.path()).unwrap();
    let answers = store.answers().unwrap();
    assert_eq!(answers.len(), total);
    assert!(answers.iter().all(|a| a.response == Judgement::Right));
    let raters = store.raters().unwrap();
    assert_eq!(raters.len(), 24);
    for r in &raters {
        assert_eq!(answers.iter().filter(|a| a.rater == r.id).count(), 10);
        assert_eq!((r.viewport_width, r.viewport_height), (1280, 800));
        assert_eq!(r.device_pixel_ratio, 1.5);
    }
    let mut seeds: Vec<u64> = raters.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 24, "every rater's plan has its own seed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_joins_are_refused_and_a_script_name_is_only_text() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Pairs);
    let s = RateTest::start(dir.path(), LOOPBACK).await;
    let mut cases = vec![
        ("no consent", json!({ "consent": false })),
        ("old instructions", json!({ "instructions_version": "v0" })),
        ("a bell in the name", json!({ "pseudonym": "a\u{7}b" })),
        ("a newline in the name", json!({ "pseudonym": "a\nb" })),
        ("a long name", json!({ "pseudonym": "x".repeat(1000) })),
        ("an empty name", json!({ "pseudonym": "   " })),
        (
            "no viewport",
            json!({ "viewport": { "width": 0, "height": 800 } }),
        ),
        ("a dpr of 100", json!({ "device_pixel_ratio": 100.0 })),
        ("an unknown field", json!({ "admin": true })),
    ];
    cases.push((
        "a negative width",
        json!({ "viewport": { "width": -5, "height": 1 } }),
    ));
    for (what, change) in cases {
        let mut b = join_body("Ada");
        for (k, v) in change.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = post(s.addr, "/rate/api/join", &b).await;
        assert_eq!(
            r.status,
            400,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(!r.error().is_empty(), "{what}");
    }
    let r = post_raw(s.addr, "/rate/api/join", b"{not json", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.error().contains("malformed"), "{}", r.error());
    let big = vec![b' '; 20 << 10];
    let r = post_raw(s.addr, "/rate/api/join", &big, &[]).await;
    assert_eq!(r.status, 413);
    assert!(Store::open(dir.path())
        .unwrap()
        .raters()
        .unwrap()
        .is_empty());

    let script = "<script>alert(1)</script>";
    let r = post(s.addr, "/rate/api/join", &join_body(script)).await;
    assert_eq!(r.status, 200);
    assert!(
        !String::from_utf8_lossy(&r.body).contains('<'),
        "the name is not echoed"
    );
    let raters = Store::open(dir.path()).unwrap().raters().unwrap();
    assert_eq!(raters[0].pseudonym, script);
    // The page sets every text with textContent: no innerHTML anywhere in it.
    let js = http(s.addr, "GET", "/rate/rate.js", &[], &[]).await;
    assert_eq!(js.status, 200);
    assert!(!String::from_utf8_lossy(&js.body).contains("innerHTML"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_bad_answers_and_second_answers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Pairs);
    let s = RateTest::start(dir.path(), LOOPBACK).await;
    let (a, a_key, trials) = join(s.addr, "A").await;
    let (b, b_key, _) = join(s.addr, "B").await;
    let next = |rater: i64, key: &str| json!({ "rater": rater, "key": key });
    let r = post(s.addr, "/rate/api/next", &next(a, &"0".repeat(32))).await;
    assert_eq!(r.status, 403);
    assert!(r.error().contains("do not match"), "{}", r.error());
    assert_eq!(
        post(s.addr, "/rate/api/next", &next(a, &b_key))
            .await
            .status,
        403
    );
    assert_eq!(
        post(s.addr, "/rate/api/next", &next(999, &a_key))
            .await
            .status,
        403
    );
    // B's key cannot answer for A.
    let r = post(
        s.addr,
        "/rate/api/answer",
        &answer_body(a, &b_key, 0, json!("left")),
    )
    .await;
    assert_eq!(r.status, 403);

    let refused = [
        ("index past the plan", json!({ "index": trials })),
        ("negative index", json!({ "index": -1 })),
        ("a score in a pair", json!({ "response": 3 })),
        ("an unknown response", json!({ "response": "both" })),
        ("negative time", json!({ "response_ms": -1 })),
        ("over an hour", json!({ "response_ms": 3_600_001 })),
        ("a huge time", json!({ "response_ms": 1e30 })),
        ("too many zooms", json!({ "zooms": 1001 })),
    ];
    for (what, change) in refused {
        let mut body = answer_body(a, &a_key, 0, json!("left"));
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = post(s.addr, "/rate/api/answer", &body).await;
        assert_eq!(
            r.status,
            400,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(store.answers().unwrap().is_empty());

    let first = post(
        s.addr,
        "/rate/api/answer",
        &answer_body(a, &a_key, 0, json!("left")),
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(body(&first)["index"], 1);
    let again = post(
        s.addr,
        "/rate/api/answer",
        &answer_body(a, &a_key, 0, json!("tie")),
    )
    .await;
    assert_eq!(again.status, 409);
    assert!(
        again.error().contains("already answered"),
        "{}",
        again.error()
    );
    let answers = store.answers().unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(
        (answers[0].rater, answers[0].response),
        (a, Judgement::Left)
    );
    assert_eq!(answers[0].response_ms, 850);
    // B is untouched and starts at the beginning.
    assert_eq!(
        body(&post(s.addr, "/rate/api/next", &next(b, &b_key)).await)["index"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_trials_take_only_scores_from_1_to_5() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Acr);
    let s = RateTest::start(dir.path(), LOOPBACK).await;
    let (a, key, trials) = join(s.addr, "A").await;
    assert_eq!(trials, 8);
    let t = body(&post(s.addr, "/rate/api/next", &json!({ "rater": a, "key": key })).await);
    assert_eq!(t["mode"], "acr");
    assert!(t["image"].as_str().unwrap().starts_with("/rate/img/"));
    assert!(t.get("left").is_none() && t.get("right").is_none());
    for bad in [json!(7), json!(0), json!("left"), json!(-1), json!(2.5)] {
        let r = post(
            s.addr,
            "/rate/api/answer",
            &answer_body(a, &key, 0, bad.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = post(
        s.addr,
        "/rate/api/answer",
        &answer_body(a, &key, 0, json!(5)),
    )
    .await;
    assert_eq!(r.status, 200);
    let answers = Store::open(dir.path()).unwrap().answers().unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].response, Judgement::Score(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_studys_images_are_served_with_safe_headers() {
    let dir = tempfile::tempdir().unwrap();
    let study = make_study(dir.path(), Mode::Pairs);
    let s = RateTest::start(dir.path(), LOOPBACK).await;
    let real = &study.items[0].results[0];
    let r = http(s.addr, "GET", &format!("/rate/img/{real}"), &[], &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("cache-control"), Some("private"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.body.starts_with(b"\x89PNG"));
    // A stray file in images/ with a good name is not one of the study's.
    let stray = format!("{}.png", "ab".repeat(16));
    std::fs::copy(
        dir.path().join("images").join(real),
        dir.path().join("images").join(&stray),
    )
    .unwrap();
    for path in [
        "/rate/img/../study.json".to_string(),
        "/rate/img/%2e%2e%2fstudy.json".into(),
        "/rate/img/..%2fstudy.json".into(),
        "/rate/img/study.json".into(),
        "/rate/img/ratings.sqlite".into(),
        format!("/rate/img/{stray}"),
        format!("/rate/img/{}.jpg", "0".repeat(32)),
    ] {
        let r = http(s.addr, "GET", &path, &[], &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("token"),
            "{path}"
        );
    }
    let page = http(s.addr, "GET", "/rate/", &[], &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-security-policy").unwrap(),
        "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; \
         frame-ancestors 'none'"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline code"
    );
    // The bare address leads to the page.
    let root = http(s.addr, "GET", "/", &[], &[]).await;
    assert_eq!(
        (root.status, root.header("location")),
        (303, Some("/rate/"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_every_request_needs_the_studys_token() {
    let dir = tempfile::tempdir().unwrap();
    let study = make_study(dir.path(), Mode::Pairs);
    let s = RateTest::start(dir.path(), IpAddr::V4(Ipv4Addr::UNSPECIFIED)).await;
    let addr = SocketAddr::new(LOOPBACK, s.addr.port());
    assert!(
        s.link
            .ends_with(&format!(":{}/rate/?t={}", s.addr.port(), study.token)),
        "{}",
        s.link
    );
    let img = format!("/rate/img/{}", study.items[0].results[0]);
    for path in ["/rate/", "/rate/rate.js", img.as_str()] {
        let r = http(addr, "GET", path, &[], &[]).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(String::from_utf8_lossy(&r.body).contains("ask the study's organiser"));
    }
    let r = http(addr, "GET", "/rate/api/study", &[], &[]).await;
    assert_eq!(r.status, 403);
    assert!(r.error().contains("ask the study's organiser"));
    let wrong = format!("/rate/?t={}", "0".repeat(32));
    assert_eq!(http(addr, "GET", &wrong, &[], &[]).await.status, 403);
    let cookie = format!("impasto_rate={}", "0".repeat(32));
    let r = http(addr, "GET", "/rate/api/study", &[("Cookie", &cookie)], &[]).await;
    assert_eq!(r.status, 403);
    let r = post(addr, "/rate/api/join", &join_body("A")).await;
    assert_eq!(r.status, 403);

    // The link's token opens the page and sets the cookie the page's requests carry.
    // Without the trailing slash, the link leads to the page with its token.
    let bare = http(addr, "GET", &format!("/rate?t={}", study.token), &[], &[]).await;
    assert_eq!(
        bare.header("location"),
        Some(format!("/rate/?t={}", study.token).as_str())
    );
    let page = http(addr, "GET", &format!("/rate/?t={}", study.token), &[], &[]).await;
    assert_eq!(page.status, 200);
    let set = page.header("set-cookie").expect("the token's cookie");
    assert_eq!(
        set,
        format!(
            "impasto_rate={}; Path=/rate/; HttpOnly; SameSite=Strict",
            study.token
        )
    );
    let cookie = set.split(';').next().unwrap();
    let with = [("Cookie", cookie)];
    let r = http(addr, "GET", "/rate/api/study", &with, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(http(addr, "GET", &img, &with, &[]).await.status, 200);
    let r = post_raw(
        addr,
        "/rate/api/join",
        join_body("A").to_string().as_bytes(),
        &with,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(Store::open(dir.path()).unwrap().raters().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raters_are_never_told_a_method_an_item_or_which_trial_is_gold() {
    let dir = tempfile::tempdir().unwrap();
    let study = make_study(dir.path(), Mode::Pairs);
    let s = RateTest::start(dir.path(), LOOPBACK).await;
    assert!(!s.link.contains("?t="), "no token on loopback: {}", s.link);
    let about = http(s.addr, "GET", "/rate/api/study", &[], &[]).await;
    let about_json = body(&about);
    let mut keys: Vec<&String> = about_json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "instructions",
            "instructions_version",
            "mode",
            "title",
            "trials"
        ]
    );
    assert_eq!(about_json["trials"], 10);
    let (rater, key, _) = join(s.addr, "A").await;
    let trials = answer_all(s.addr, rater, &key).await;
    let golds: Vec<String> = study.items.iter().map(|i| i.gold.clone()).collect();
    let mut saw_gold = false;
    for t in &trials {
        let mut keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["index", "left", "mode", "of", "painting", "photo", "right"],
            "every trial, gold or repeat, has the same shape"
        );
        saw_gold |= golds.iter().any(|g| t.to_string().contains(g.as_str()));
    }
    assert!(saw_gold, "the plan's gold trial was served");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&about.body),
        Value::from(trials)
    );
    for secret in METHODS
        .iter()
        .chain(ITEMS.iter())
        .chain(["gold", "repeat", "method"].iter())
    {
        assert!(!all.contains(secret), "{secret} was shown to a rater");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_studio_serves_its_study_under_rate() {
    let dir = tempfile::tempdir().unwrap();
    make_study(dir.path(), Mode::Pairs);
    let study_dir = dir.path().to_path_buf();
    let server = TestServer::start(|c| c.study = Some(study_dir)).await;
    let r = http(server.addr, "GET", "/rate/api/study", &[], &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(body(&r)["title"], "Which stylisation is better?");
    let (rater, key, trials) = join(server.addr, "A").await;
    assert_eq!(answer_all(server.addr, rater, &key).await.len(), trials);
    let index = http(server.addr, "GET", "/", &[], &[]).await;
    assert!(String::from_utf8_lossy(&index.body).contains("id=\"rating-link\""));
    let plain = TestServer::start(|_| {}).await;
    assert_eq!(
        http(plain.addr, "GET", "/rate/api/study", &[], &[])
            .await
            .status,
        404
    );
}
