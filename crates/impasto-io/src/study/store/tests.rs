use super::*;
use impasto::rating::{Design, Mode};

fn rater(seed: u64) -> NewRater {
    NewRater {
        pseudonym: "  Ada  ".into(),
        consent: true,
        instructions_version: "v1".into(),
        viewport_width: 1280,
        viewport_height: 800,
        device_pixel_ratio: 2.0,
        seed,
    }
}

fn plan(mode: Mode, seed: u64) -> Vec<Trial> {
    Design {
        mode,
        items: 3,
        methods: 3,
        trials: 6,
        gold: 1,
        repeats: 1,
    }
    .plan(seed)
}

fn answer(index: usize, response: Response) -> Answer {
    Answer {
        index,
        response,
        response_ms: 1200,
        zooms: 2,
    }
}

fn why(e: Error) -> Refusal {
    match e {
        Error::Refused { why, .. } => why,
        other => panic!("not a refusal: {other}"),
    }
}

/// The response a trial allows: left for pairs, 4 for ratings.
fn fitting(t: &Trial) -> Response {
    match t.shown {
        Shown::Pair { .. } | Shown::GoldPair { .. } => Response::Left,
        _ => Response::Score(4),
    }
}

#[test]
fn a_rater_joins_answers_every_trial_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let p = plan(Mode::Pairs, 5);
    let j = store.join(&rater(5), &p).unwrap();
    assert_eq!(j.key.len(), 32);
    assert_eq!(store.plan_len(j.id).unwrap(), p.len());
    let mut i = 0;
    while let Some((index, trial)) = store.next(j.id, &j.key).unwrap() {
        assert_eq!((index, trial), (i, p[i]));
        let r = [Response::Left, Response::Right, Response::Tie][i % 3];
        store.answer(j.id, &j.key, &answer(index, r)).unwrap();
        i += 1;
    }
    assert_eq!(i, p.len());
    let rows = store.answers().unwrap();
    assert_eq!(rows.len(), p.len());
    for (k, row) in rows.iter().enumerate() {
        assert_eq!((row.rater, row.index, row.trial), (j.id, k, p[k]));
        assert_eq!(
            row.response,
            [Response::Left, Response::Right, Response::Tie][k % 3]
        );
        assert_eq!((row.response_ms, row.zooms), (1200, 2));
        assert!(row.answered_at.ends_with('Z'), "{}", row.answered_at);
    }
    let raters = store.raters().unwrap();
    assert_eq!(raters.len(), 1);
    let r = &raters[0];
    assert_eq!((r.pseudonym.as_str(), r.consent, r.seed), ("Ada", true, 5));
    assert_eq!(
        (r.viewport_width, r.viewport_height, r.device_pixel_ratio),
        (1280, 800, 2.0)
    );
    assert!(
        r.started.len() >= 20 && r.started.ends_with('Z'),
        "{}",
        r.started
    );
    // A second Store on the same folder sees the same data (the schema is not made twice).
    assert_eq!(Store::open(dir.path()).unwrap().answers().unwrap(), rows);
}

#[test]
fn acr_trials_take_scores_and_a_seed_beyond_i64_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let p = plan(Mode::Acr, 9);
    let j = store.join(&rater(u64::MAX), &p).unwrap();
    store
        .answer(j.id, &j.key, &answer(0, Response::Score(5)))
        .unwrap();
    let e = store
        .answer(j.id, &j.key, &answer(1, Response::Score(7)))
        .unwrap_err();
    assert_eq!(why(e), Refusal::Invalid);
    let e = store
        .answer(j.id, &j.key, &answer(1, Response::Left))
        .unwrap_err();
    assert_eq!(why(e), Refusal::Invalid);
    let e = store
        .answer(j.id, &j.key, &answer(1, Response::Score(0)))
        .unwrap_err();
    assert_eq!(why(e), Refusal::Invalid);
    assert_eq!(store.answers().unwrap()[0].response, Response::Score(5));
    assert_eq!(store.raters().unwrap()[0].seed, u64::MAX);
}

#[test]
fn an_answered_trial_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let j = store.join(&rater(1), &plan(Mode::Pairs, 1)).unwrap();
    store
        .answer(j.id, &j.key, &answer(0, Response::Left))
        .unwrap();
    let e = store
        .answer(j.id, &j.key, &answer(0, Response::Right))
        .unwrap_err();
    assert!(e.to_string().contains("already answered"), "{e}");
    assert!(e.is_user_error());
    assert_eq!(why(e), Refusal::Answered);
    let rows = store.answers().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].response, Response::Left);
    assert_eq!(store.next(j.id, &j.key).unwrap().unwrap().0, 1);
}

#[test]
fn a_wrong_key_or_another_raters_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.join(&rater(1), &plan(Mode::Pairs, 1)).unwrap();
    let b = store.join(&rater(2), &plan(Mode::Pairs, 2)).unwrap();
    assert_ne!(a.key, b.key);
    let wrong = "0".repeat(32);
    assert_eq!(why(store.next(a.id, &wrong).unwrap_err()), Refusal::Denied);
    assert_eq!(why(store.next(a.id, &b.key).unwrap_err()), Refusal::Denied);
    assert_eq!(why(store.next(99, &a.key).unwrap_err()), Refusal::Denied);
    let e = store
        .answer(b.id, &a.key, &answer(0, Response::Left))
        .unwrap_err();
    assert_eq!(why(e), Refusal::Denied);
    assert!(store.answers().unwrap().is_empty());
}

#[test]
fn bad_indices_ranges_and_responses_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let p = plan(Mode::Pairs, 3);
    let j = store.join(&rater(3), &p).unwrap();
    let refused = |a: Answer| why(store.answer(j.id, &j.key, &a).unwrap_err());
    assert_eq!(refused(answer(p.len(), Response::Left)), Refusal::Invalid);
    assert_eq!(
        refused(answer(usize::MAX, Response::Left)),
        Refusal::Invalid
    );
    assert_eq!(refused(answer(0, Response::Score(3))), Refusal::Invalid);
    let slow = Answer {
        response_ms: MAX_RESPONSE_MS + 1,
        ..answer(0, Response::Left)
    };
    assert_eq!(refused(slow), Refusal::Invalid);
    let zoomy = Answer {
        zooms: MAX_ZOOMS + 1,
        ..answer(0, Response::Left)
    };
    assert_eq!(refused(zoomy), Refusal::Invalid);
    assert!(store.answers().unwrap().is_empty());
    // The gold trial takes a pair's answer like any other.
    let gold = p
        .iter()
        .position(|t| matches!(t.shown, Shown::GoldPair { .. }))
        .unwrap();
    store
        .answer(j.id, &j.key, &answer(gold, fitting(&p[gold])))
        .unwrap();
}

#[test]
fn raters_without_consent_or_with_odd_names_or_screens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let p = plan(Mode::Pairs, 1);
    let bad: [fn(&mut NewRater); 10] = [
        |r| r.consent = false,
        |r| r.pseudonym = "   ".into(),
        |r| r.pseudonym = "x".repeat(65),
        |r| r.pseudonym = "a\u{7}b".into(),
        |r| r.pseudonym = "a\nb".into(),
        |r| r.viewport_width = 0,
        |r| r.viewport_height = 100_001,
        |r| r.device_pixel_ratio = 0.0,
        |r| r.device_pixel_ratio = 16.5,
        |r| r.device_pixel_ratio = f64::NAN,
    ];
    for (k, change) in bad.iter().enumerate() {
        let mut r = rater(1);
        change(&mut r);
        assert_eq!(
            why(store.join(&r, &p).unwrap_err()),
            Refusal::Invalid,
            "case {k}"
        );
    }
    let mut r = rater(1);
    r.pseudonym = "é".repeat(64);
    store.join(&r, &p).unwrap();
    assert_eq!(store.raters().unwrap().len(), 1);
}

#[test]
fn the_database_is_in_wal_mode_with_schema_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let conn = store.conn().unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1);
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let key: String = {
        drop(conn);
        let j = store.join(&rater(1), &plan(Mode::Pairs, 1)).unwrap();
        let conn = store.conn().unwrap();
        let stored: String = conn
            .query_row("SELECT key_sha256 FROM raters", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, j.key, "the key itself is never stored");
        assert_eq!(stored, sha256_hex(&j.key));
        stored
    };
    assert_eq!(key.len(), 64);
}

#[test]
fn many_threads_on_two_stores_lose_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        Store::open(dir.path()).unwrap(),
        Store::open(dir.path()).unwrap(),
    ];
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u64)
            .map(|k| {
                let store = &stores[k as usize % 2];
                s.spawn(move || {
                    let p = plan(Mode::Pairs, k);
                    let j = store.join(&rater(k), &p).unwrap();
                    while let Some((i, t)) = store.next(j.id, &j.key).unwrap() {
                        store.answer(j.id, &j.key, &answer(i, fitting(&t))).unwrap();
                    }
                    p.len()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(stores[0].answers().unwrap().len(), total);
    assert_eq!(stores[1].raters().unwrap().len(), 8);
}

#[test]
fn responses_are_words_or_numbers_in_json() {
    let json = serde_json::to_string(&[Response::Left, Response::Tie, Response::Score(3)]).unwrap();
    assert_eq!(json, r#"["left","tie",3]"#);
    let back: Vec<Response> = serde_json::from_str(r#"["right",5]"#).unwrap();
    assert_eq!(back, [Response::Right, Response::Score(5)]);
    assert!(serde_json::from_str::<Response>(r#""LEFT""#).is_err());
    assert!(serde_json::from_str::<Response>("-1").is_err());
    assert!(serde_json::from_str::<Response>("300").is_err());
}
