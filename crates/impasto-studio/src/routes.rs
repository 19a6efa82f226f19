//! The HTTP routes: the WebSocket, uploads (photo, styles, mask), the final download, status;
//! everything else is an embedded asset or 404.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::app::App;
use crate::error::Error;
use crate::protocol::{ImageInfo, InputsReply};
use crate::rate::{self, Rating};
use crate::{assets, mask, run, upload, ws};

/// The router for `app`, with the rating study's routes under `/rate/` when there is one.
pub fn router(app: Arc<App>, rating: Option<Arc<Rating>>) -> Router {
    let uploads = Router::new()
        .route("/api/session/{id}/content", post(upload_content))
        .route("/api/session/{id}/style", post(upload_style))
        .route(
            "/api/session/{id}/mask",
            post(upload_mask).delete(remove_mask),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            refuse_announced_oversize,
        ));
    let studio = Router::new()
        .route("/ws", get(ws::upgrade))
        .merge(uploads)
        .route("/api/session/{id}/final.png", get(download_final))
        .route("/api/status", get(status))
        .layer(DefaultBodyLimit::max(app.config.max_upload_bytes))
        .fallback(assets::serve)
        .with_state(app);
    match rating {
        Some(r) => studio.merge(rate::router(r)),
        None => studio,
    }
}

/// The upload's file name, for messages.
#[derive(Clone, Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Content,
    Style,
}

async fn upload_content(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<InputsReply>, Error> {
    upload(&app, &id, q, body, Role::Content).await
}

async fn upload_style(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<InputsReply>, Error> {
    upload(&app, &id, q, body, Role::Style).await
}

async fn upload(
    app: &App,
    id: &str,
    q: UploadQuery,
    body: Result<Bytes, BytesRejection>,
    role: Role,
) -> Result<Json<InputsReply>, Error> {
    let client = app.client(id)?;
    let name = upload::display_name(q.name.as_deref());
    let bytes = read_body(app, &name, body)?;
    if role == Role::Style {
        client.check_style_room()?;
    }
    let (label, limits) = (name.clone(), app.config.upload_limits);
    let img = tokio::task::spawn_blocking(move || upload::decode(&label, &bytes, &limits))
        .await
        .map_err(|e| Error::Internal(format!("decoding {name} failed: {e}")))??;
    let info = ImageInfo {
        name,
        width: img.width,
        height: img.height,
    };
    let reply = match role {
        Role::Content => client.set_content(info, img)?,
        Role::Style => client.add_style(info, img)?,
    };
    Ok(Json(reply))
}

/// The mask over the current photo: white where the styles go; the run restarts with it.
async fn upload_mask(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<InputsReply>, Error> {
    let client = app.client(&id)?;
    let name = upload::display_name(q.name.as_deref());
    let bytes = read_body(&app, &name, body)?;
    let photo = client.photo()?;
    let (label, limits, over) = (name.clone(), app.config.upload_limits, Arc::clone(&photo));
    let mask = tokio::task::spawn_blocking(move || mask::decode(&label, &bytes, &limits, &over))
        .await
        .map_err(|e| Error::Internal(format!("decoding {name} failed: {e}")))??;
    Ok(Json(client.set_mask(&photo, Some(mask))?))
}

/// No mask any more: the styles go everywhere again.
async fn remove_mask(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<InputsReply>, Error> {
    let client = app.client(&id)?;
    let photo = client.photo()?;
    Ok(Json(client.set_mask(&photo, None)?))
}

/// The request's body, or why it cannot be had.
fn read_body(app: &App, name: &str, body: Result<Bytes, BytesRejection>) -> Result<Bytes, Error> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(name, app.config.max_upload_bytes)
        } else {
            Error::BadInput(format!(
                "cannot read the upload of {name}: {}",
                r.body_text()
            ))
        }
    })
}

/// Answers 413 at once when the announced body is over the limit, before any of it is read
/// (bodies without a length are cut off at the limit by `DefaultBodyLimit`).
async fn refuse_announced_oversize(
    State(app): State<Arc<App>>,
    Query(q): Query<UploadQuery>,
    req: Request,
    next: Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = app.config.max_upload_bytes;
    if announced.is_some_and(|n| n > limit as u64) {
        let name = upload::display_name(q.name.as_deref());
        return too_large(&name, limit).into_response();
    }
    next.run(req).await
}

fn too_large(name: &str, limit: usize) -> Error {
    Error::TooLarge(format!(
        "{name} is larger than the upload limit of {}; choose a smaller file",
        human_bytes(limit)
    ))
}

async fn download_final(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let client = app.client(&id)?;
    let bytes = tokio::fs::read(client.dir().join(run::FINAL_FILE))
        .await
        .map_err(|_| Error::NotFound("no final render yet: press Render final first".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"impasto-final.png\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

async fn status(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(app.status())
}

/// `n` bytes as "25 MB" or "100 KB".
fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{} MB", n >> 20)
    } else {
        format!("{} KB", n.div_ceil(1 << 10))
    }
}
