//! A study's answers: `ratings.sqlite`, one row per rater and one per trial of their plan.
//!
//! SQLite in WAL mode with a busy timeout, so several servers on one study folder (and many
//! threads in each) write without losing an answer. Every write that reads first is an
//! `IMMEDIATE` transaction, which waits for the write lock instead of failing on a stale
//! snapshot; every commit is synced to disk, so an acknowledged answer survives a power cut.
//! A rater's secret key is kept only as its SHA-256. Schema version 1 (`PRAGMA user_version`):
//!
//! - `raters(id, key_sha256, pseudonym, consent, instructions_version, viewport_width,
//!   viewport_height, device_pixel_ratio, seed, started)` — `seed` as decimal text (a `u64`
//!   does not fit SQLite's integers), `started` RFC 3339 UTC.
//! - `trials(rater, idx, item, kind, left, right, method, good_left, repeat_of, response,
//!   response_ms, zooms, answered_at)` — `kind` is `pair`, `single`, `gold_pair` or
//!   `gold_single`; `response` is `left`, `right`, `tie` or a score `1`…`5`, null until
//!   answered.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use impasto::rating::{Shown, Trial};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::layout::{random_hex, DATABASE_FILE};
use crate::error::{Error, Refusal, Result};

/// The schema version this code reads and writes.
const SCHEMA: i64 = 1;
/// The longest a write waits for another process's lock.
const BUSY: Duration = Duration::from_secs(10);
/// The longest answer time accepted: an hour.
pub const MAX_RESPONSE_MS: u64 = 3_600_000;
/// The most zooms one trial may report.
pub const MAX_ZOOMS: u32 = 1000;
/// The longest pseudonym, in characters.
pub const MAX_PSEUDONYM: usize = 64;

const CREATE: &str = "
CREATE TABLE raters (
    id INTEGER PRIMARY KEY,
    key_sha256 TEXT NOT NULL,
    pseudonym TEXT NOT NULL,
    consent INTEGER NOT NULL,
    instructions_version TEXT NOT NULL,
    viewport_width INTEGER NOT NULL,
    viewport_height INTEGER NOT NULL,
    device_pixel_ratio REAL NOT NULL,
    seed TEXT NOT NULL,
    started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE trials (
    rater INTEGER NOT NULL REFERENCES raters(id),
    idx INTEGER NOT NULL,
    item INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('pair', 'single', 'gold_pair', 'gold_single')),
    left INTEGER,
    right INTEGER,
    method INTEGER,
    good_left INTEGER,
    repeat_of INTEGER,
    response TEXT,
    response_ms INTEGER,
    zooms INTEGER,
    answered_at TEXT,
    PRIMARY KEY (rater, idx)
) WITHOUT ROWID;
";

/// The answers' database of one study folder; share it between threads.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// A rater about to start, as their browser reported.
#[derive(Clone, Debug)]
pub struct NewRater {
    /// The name they chose (1–64 characters, no control characters).
    pub pseudonym: String,
    /// Whether they agreed to take part (must be true).
    pub consent: bool,
    /// The version of the instructions they read.
    pub instructions_version: String,
    /// The browser window's width in CSS pixels.
    pub viewport_width: u32,
    /// The browser window's height in CSS pixels.
    pub viewport_height: u32,
    /// Device pixels per CSS pixel.
    pub device_pixel_ratio: f64,
    /// The seed their trial plan was drawn from.
    pub seed: u64,
}

/// A rater just recorded: their id and the secret key that proves it is them.
#[derive(Clone, Debug)]
pub struct Joined {
    /// The rater's id.
    pub id: i64,
    /// The secret key (32 hex digits), known only to the rater.
    pub key: String,
}

/// A rater's judgement. In JSON: `"left"`, `"right"`, `"tie"` (pairs) or a number 1–5 (ACR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// The left result (A) is better.
    Left,
    /// The right result (B) is better.
    Right,
    /// The rater cannot tell.
    Tie,
    /// An absolute rating, 1 (bad) to 5 (excellent).
    Score(u8),
}

/// One answer as a rater sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The trial's index in the rater's plan.
    pub index: usize,
    /// The judgement.
    pub response: Response,
    /// Milliseconds from the trial's images being shown to the answer.
    pub response_ms: u64,
    /// How often the rater zoomed into a result.
    pub zooms: u32,
}

/// A rater as recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RaterRow {
    /// The rater's id.
    pub id: i64,
    /// Their pseudonym.
    pub pseudonym: String,
    /// Whether they consented (always true for a recorded rater).
    pub consent: bool,
    /// The instructions' version they read.
    pub instructions_version: String,
    /// Viewport width in CSS pixels.
    pub viewport_width: u32,
    /// Viewport height in CSS pixels.
    pub viewport_height: u32,
    /// Device pixels per CSS pixel.
    pub device_pixel_ratio: f64,
    /// When they joined, RFC 3339 UTC.
    pub started: String,
    /// Their plan's seed.
    pub seed: u64,
}

/// One answered trial.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnswerRow {
    /// The rater's id.
    pub rater: i64,
    /// The trial's index in their plan.
    pub index: usize,
    /// What the trial showed.
    pub trial: Trial,
    /// The judgement.
    pub response: Response,
    /// Milliseconds to answer.
    pub response_ms: u64,
    /// Zooms into a result.
    pub zooms: u32,
    /// When it was answered, RFC 3339 UTC.
    pub answered_at: String,
}

impl Store {
    /// Opens (creating) `dir/ratings.sqlite`: WAL journal, a 10 s busy timeout, foreign keys,
    /// schema version 1. Safe for several processes and many threads.
    pub fn open(dir: &Path) -> Result<Store> {
        let path = dir.join(DATABASE_FILE);
        let db = |e: rusqlite::Error| Error::Database {
            path: path.clone(),
            msg: e.to_string(),
        };
        let mut conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(BUSY).map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Database {
                path,
                msg: format!("cannot switch to WAL journaling (got {mode})"),
            });
        }
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(db)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        match version {
            0 => {
                tx.execute_batch(CREATE).map_err(db)?;
                tx.pragma_update(None, "user_version", SCHEMA).map_err(db)?;
            }
            SCHEMA => {}
            v => {
                return Err(Error::Database {
                    path,
                    msg: format!("schema version {v} is not the {SCHEMA} this Impasto reads"),
                })
            }
        }
        tx.commit().map_err(db)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// Records a new rater and their whole trial plan in one transaction; returns their id and
    /// a fresh secret key.
    pub fn join(&self, rater: &NewRater, plan: &[Trial]) -> Result<Joined> {
        let pseudonym = check_rater(rater)?;
        let key = random_hex()?;
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        tx.execute(
            "INSERT INTO raters (key_sha256, pseudonym, consent, instructions_version,
                viewport_width, viewport_height, device_pixel_ratio, seed)
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
            params![
                sha256_hex(&key),
                pseudonym,
                rater.instructions_version,
                rater.viewport_width,
                rater.viewport_height,
                rater.device_pixel_ratio,
                rater.seed.to_string(),
            ],
        )
        .map_err(|e| self.db(e))?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO trials (rater, idx, item, kind, left, right, method, good_left,
                        repeat_of) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(|e| self.db(e))?;
            for (i, t) in plan.iter().enumerate() {
                let c = Columns::of(t);
                insert
                    .execute(params![
                        id,
                        i as i64,
                        t.item as i64,
                        c.kind,
                        c.left,
                        c.right,
                        c.method,
                        c.good_left,
                        t.repeat_of.map(|r| r as i64),
                    ])
                    .map_err(|e| self.db(e))?;
            }
        }
        tx.commit().map_err(|e| self.db(e))?;
        Ok(Joined { id, key })
    }

    /// The rater's next unanswered trial and its index, or `None` when they are done.
    pub fn next(&self, rater: i64, key: &str) -> Result<Option<(usize, Trial)>> {
        let conn = self.conn()?;
        self.check_key(&conn, rater, key)?;
        conn.query_row(
            &format!(
                "SELECT idx, {TRIAL} FROM trials WHERE rater = ?1 AND response IS NULL
                 ORDER BY idx LIMIT 1"
            ),
            [rater],
            |r| Ok((r.get::<_, i64>(0)? as usize, trial_at(r, 1)?)),
        )
        .optional()
        .map_err(|e| self.db(e))
    }

    /// Number of trials in the rater's plan (no key check: the count is not secret).
    pub fn plan_len(&self, rater: i64) -> Result<usize> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT count(*) FROM trials WHERE rater = ?1",
            [rater],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as usize)
        .map_err(|e| self.db(e))
    }

    /// Stores an answer after checking the key, the index, the response against the trial's
    /// kind and the ranges of time and zooms. A trial's first answer is kept: answering it
    /// again is refused ([`Refusal::Answered`]).
    pub fn answer(&self, rater: i64, key: &str, a: &Answer) -> Result<()> {
        if a.response_ms > MAX_RESPONSE_MS {
            return Err(invalid(format!(
                "response_ms {} is over the {MAX_RESPONSE_MS} allowed",
                a.response_ms
            )));
        }
        if a.zooms > MAX_ZOOMS {
            return Err(invalid(format!(
                "zooms {} is over the {MAX_ZOOMS} allowed",
                a.zooms
            )));
        }
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        self.check_key(&tx, rater, key)?;
        let index = i64::try_from(a.index).map_err(|_| invalid("index out of range"))?;
        let row: Option<(Trial, bool)> = tx
            .query_row(
                &format!("SELECT {TRIAL}, response IS NOT NULL FROM trials WHERE rater = ?1 AND idx = ?2"),
                params![rater, index],
                |r| Ok((trial_at(r, 0)?, r.get(7)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((trial, answered)) = row else {
            return Err(invalid(format!(
                "trial {} is not in this rater's plan",
                a.index
            )));
        };
        check_response(&trial, a.response)?;
        if answered {
            return Err(Error::refused(
                Refusal::Answered,
                format!(
                    "trial {} was already answered; the first answer is kept",
                    a.index
                ),
            ));
        }
        let changed = tx
            .execute(
                "UPDATE trials SET response = ?3, response_ms = ?4, zooms = ?5,
                    answered_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE rater = ?1 AND idx = ?2 AND response IS NULL",
                params![
                    rater,
                    index,
                    response_text(a.response),
                    a.response_ms as i64,
                    a.zooms
                ],
            )
            .map_err(|e| self.db(e))?;
        debug_assert_eq!(changed, 1, "the write lock is held since the check");
        tx.commit().map_err(|e| self.db(e))
    }

    /// Every rater, by id.
    pub fn raters(&self) -> Result<Vec<RaterRow>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT id, pseudonym, consent, instructions_version, viewport_width,
                    viewport_height, device_pixel_ratio, started, seed FROM raters ORDER BY id",
            )
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| {
                let seed: String = r.get(8)?;
                Ok(RaterRow {
                    id: r.get(0)?,
                    pseudonym: r.get(1)?,
                    consent: r.get(2)?,
                    instructions_version: r.get(3)?,
                    viewport_width: r.get(4)?,
                    viewport_height: r.get(5)?,
                    device_pixel_ratio: r.get(6)?,
                    started: r.get(7)?,
                    seed: seed.parse().map_err(|_| corrupt(8, "seed"))?,
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.db(e))
    }

    /// Every answered trial, in rater then index order.
    pub fn answers(&self) -> Result<Vec<AnswerRow>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT rater, idx, {TRIAL}, response, response_ms, zooms, answered_at
                 FROM trials WHERE response IS NOT NULL ORDER BY rater, idx"
            ))
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| {
                let response: String = r.get(9)?;
                Ok(AnswerRow {
                    rater: r.get(0)?,
                    index: r.get::<_, i64>(1)? as usize,
                    trial: trial_at(r, 2)?,
                    response: parse_response(&response).ok_or_else(|| corrupt(9, "response"))?,
                    response_ms: r.get::<_, i64>(10)? as u64,
                    zooms: r.get(11)?,
                    answered_at: r.get(12)?,
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.db(e))
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::Database {
            path: self.path.clone(),
            msg: "a thread panicked while using the database".into(),
        })
    }

    fn db(&self, e: rusqlite::Error) -> Error {
        Error::Database {
            path: self.path.clone(),
            msg: e.to_string(),
        }
    }

    /// Refuses unless `key` is the rater's key.
    fn check_key(&self, conn: &Connection, rater: i64, key: &str) -> Result<()> {
        let stored: Option<String> = conn
            .query_row(
                "SELECT key_sha256 FROM raters WHERE id = ?1",
                [rater],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        match stored {
            Some(s) if constant_time_eq(s.as_bytes(), sha256_hex(key).as_bytes()) => Ok(()),
            _ => Err(Error::refused(
                Refusal::Denied,
                "this rater id and key do not match; reload the study's page to start again",
            )),
        }
    }
}

/// The trial's columns, in this order, in every query that reads a trial.
const TRIAL: &str = "item, kind, left, right, method, good_left, repeat_of";

/// A trial's `shown` as columns.
struct Columns {
    kind: &'static str,
    left: Option<i64>,
    right: Option<i64>,
    method: Option<i64>,
    good_left: Option<bool>,
}

impl Columns {
    fn of(t: &Trial) -> Columns {
        let none = Columns {
            kind: "",
            left: None,
            right: None,
            method: None,
            good_left: None,
        };
        match t.shown {
            Shown::Pair { left, right } => Columns {
                kind: "pair",
                left: Some(left as i64),
                right: Some(right as i64),
                ..none
            },
            Shown::Single { method } => Columns {
                kind: "single",
                method: Some(method as i64),
                ..none
            },
            Shown::GoldPair { method, good_left } => Columns {
                kind: "gold_pair",
                method: Some(method as i64),
                good_left: Some(good_left),
                ..none
            },
            Shown::GoldSingle => Columns {
                kind: "gold_single",
                ..none
            },
        }
    }
}

/// The trial in the [`TRIAL`] columns starting at `at`.
fn trial_at(r: &Row, at: usize) -> rusqlite::Result<Trial> {
    let n = |i: usize| -> rusqlite::Result<usize> {
        r.get::<_, Option<i64>>(at + i)?
            .map(|v| v as usize)
            .ok_or_else(|| corrupt(at + i, "a trial's method"))
    };
    let kind: String = r.get(at + 1)?;
    let shown = match kind.as_str() {
        "pair" => Shown::Pair {
            left: n(2)?,
            right: n(3)?,
        },
        "single" => Shown::Single { method: n(4)? },
        "gold_pair" => Shown::GoldPair {
            method: n(4)?,
            good_left: r
                .get::<_, Option<bool>>(at + 5)?
                .ok_or_else(|| corrupt(at + 5, "good_left"))?,
        },
        "gold_single" => Shown::GoldSingle,
        _ => return Err(corrupt(at + 1, "kind")),
    };
    Ok(Trial {
        item: r.get::<_, i64>(at)? as usize,
        shown,
        repeat_of: r.get::<_, Option<i64>>(at + 6)?.map(|v| v as usize),
    })
}

fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Null,
        format!("a corrupt {what} in the ratings database").into(),
    )
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::refused(Refusal::Invalid, msg)
}

/// Checks a new rater; returns the trimmed pseudonym.
fn check_rater(r: &NewRater) -> Result<&str> {
    if !r.consent {
        return Err(invalid("the rater has not consented to take part"));
    }
    let name = r.pseudonym.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_PSEUDONYM {
        return Err(invalid(format!(
            "a pseudonym has 1 to {MAX_PSEUDONYM} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("a pseudonym cannot hold control characters"));
    }
    let ok = |v: u32| (1..=100_000).contains(&v);
    if !ok(r.viewport_width) || !ok(r.viewport_height) {
        return Err(invalid("the viewport is 1 to 100000 pixels each way"));
    }
    let dpr = r.device_pixel_ratio;
    if !(dpr > 0.0 && dpr <= 16.0) {
        return Err(invalid("the device pixel ratio is above 0 and at most 16"));
    }
    Ok(name)
}

/// Refuses a response the trial's kind does not allow.
fn check_response(t: &Trial, r: Response) -> Result<()> {
    let pair = matches!(t.shown, Shown::Pair { .. } | Shown::GoldPair { .. });
    match r {
        Response::Left | Response::Right | Response::Tie if pair => Ok(()),
        Response::Score(s) if !pair && (1..=5).contains(&s) => Ok(()),
        _ if pair => Err(invalid("a pair is answered with left, right or tie")),
        _ => Err(invalid("a rating is a score from 1 to 5")),
    }
}

fn response_text(r: Response) -> String {
    match r {
        Response::Left => "left".into(),
        Response::Right => "right".into(),
        Response::Tie => "tie".into(),
        Response::Score(s) => s.to_string(),
    }
}

fn parse_response(s: &str) -> Option<Response> {
    match s {
        "left" => Some(Response::Left),
        "right" => Some(Response::Right),
        "tie" => Some(Response::Tie),
        n => n.parse().ok().map(Response::Score),
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Response::Score(n) => s.serialize_u8(*n),
            other => s.serialize_str(&response_text(*other)),
        }
    }
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Score(u8),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Score(n) => Ok(Response::Score(n)),
            Raw::Word(w) => match w.as_str() {
                "left" => Ok(Response::Left),
                "right" => Ok(Response::Right),
                "tie" => Ok(Response::Tie),
                _ => Err(serde::de::Error::custom(
                    "a response is \"left\", \"right\", \"tie\" or a score 1 to 5",
                )),
            },
        }
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equality whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
