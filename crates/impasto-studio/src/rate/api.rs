//! The rating API: the study's description, joining, the next trial, answers, and images.
//! Bodies are small JSON objects; anything malformed is a 400 with a JSON `error`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use impasto::rating::Mode;
use impasto_io::study::{Answer, NewRater, Response as Judgement, Store};
use impasto_io::Refusal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{trial, Rating};
use crate::error::Error;

/// What a rater reads before starting (`GET /rate/api/study`).
#[derive(Serialize)]
pub struct StudyReply {
    title: String,
    instructions: String,
    instructions_version: String,
    mode: Mode,
    trials: usize,
}

/// `GET /rate/api/study`.
pub async fn study(State(r): State<Arc<Rating>>) -> Json<StudyReply> {
    let s = &r.study;
    Json(StudyReply {
        title: s.title.clone(),
        instructions: s.instructions.clone(),
        instructions_version: s.instructions_version.clone(),
        mode: s.mode,
        // A plan's length depends on the design only, not on the seed.
        trials: s.design().plan(0).len(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Viewport {
    width: u32,
    height: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinRequest {
    pseudonym: String,
    consent: bool,
    instructions_version: String,
    viewport: Viewport,
    device_pixel_ratio: f64,
}

#[derive(Serialize)]
struct Joined {
    rater: i64,
    key: String,
    trials: usize,
}

/// `POST /rate/api/join`: records a rater with a plan drawn from a fresh random seed.
pub async fn join(
    State(r): State<Arc<Rating>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let req: JoinRequest = parse(body)?;
    if req.instructions_version != r.study.instructions_version {
        return Err(Error::BadInput(
            "the study's instructions have changed since this page was loaded; reload it".into(),
        ));
    }
    let seed = getrandom::u64()
        .map_err(|e| Error::Internal(format!("no randomness for a rater's plan: {e}")))?;
    let plan = r.study.design().plan(seed);
    let rater = NewRater {
        pseudonym: req.pseudonym,
        consent: req.consent,
        instructions_version: req.instructions_version,
        viewport_width: req.viewport.width,
        viewport_height: req.viewport.height,
        device_pixel_ratio: req.device_pixel_ratio,
        seed,
    };
    let trials = plan.len();
    let joined = blocking(&r, move |s| s.join(&rater, &plan)).await?;
    Ok(no_store(Json(Joined {
        rater: joined.id,
        key: joined.key,
        trials,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextRequest {
    rater: i64,
    key: String,
}

/// `POST /rate/api/next`: the rater's next trial, or `{"done": true}`.
pub async fn next(
    State(r): State<Arc<Rating>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let req: NextRequest = parse(body)?;
    next_trial(&r, req.rater, req.key).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerRequest {
    rater: i64,
    key: String,
    index: usize,
    response: Judgement,
    response_ms: u64,
    zooms: u32,
}

/// `POST /rate/api/answer`: stores the answer, then replies as `next` does.
pub async fn answer(
    State(r): State<Arc<Rating>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let req: AnswerRequest = parse(body)?;
    let a = Answer {
        index: req.index,
        response: req.response,
        response_ms: req.response_ms,
        zooms: req.zooms,
    };
    let key = req.key.clone();
    blocking(&r, move |s| s.answer(req.rater, &key, &a)).await?;
    next_trial(&r, req.rater, req.key).await
}

async fn next_trial(r: &Arc<Rating>, rater: i64, key: String) -> Result<Response, Error> {
    let found = blocking(r, move |s| {
        let next = s.next(rater, &key)?;
        Ok((next, s.plan_len(rater)?))
    })
    .await?;
    Ok(match found {
        (Some((index, t)), of) => no_store(Json(trial::reply(&r.study, index, of, &t)?)),
        (None, _) => no_store(Json(serde_json::json!({ "done": true }))),
    })
}

/// `GET /rate/img/{name}`: one of the study's images, by its random name.
pub async fn image(
    State(r): State<Arc<Rating>>,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    let missing = || Error::NotFound("no such image in this study".into());
    let path = r.study.image_path(&r.dir, &name).ok_or_else(missing)?;
    let mime = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let bytes = tokio::fs::read(&path).await.map_err(|_| missing())?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private"),
        ],
        bytes,
    )
        .into_response())
}

/// A JSON body, or a 400 (413 when over the limit) saying what is wrong with it.
fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Error> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge("the request is larger than a rating's 16 KB".into())
        } else {
            Error::BadInput(format!("cannot read the request: {}", r.body_text()))
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadInput(format!("a malformed request: {e}")))
}

/// Runs `f` on the study's store on a blocking thread, turning refusals into HTTP errors.
async fn blocking<T: Send + 'static>(
    r: &Rating,
    f: impl FnOnce(&Store) -> impasto_io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    let store = Arc::clone(&r.store);
    let done = tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| Error::Internal(format!("the ratings database task failed: {e}")))?;
    done.map_err(|e| match e {
        impasto_io::Error::Refused { why, msg } => match why {
            Refusal::Invalid => Error::BadInput(msg),
            Refusal::Denied => Error::Forbidden(msg),
            Refusal::Answered => Error::Conflict(msg),
        },
        other => {
            tracing::error!("rating study: {other}");
            Error::Internal(format!("the ratings database failed: {other}"))
        }
    })
}

fn no_store(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}
