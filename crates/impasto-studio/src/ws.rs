//! The WebSocket of one page: opens its session, forwards steering to it, and streams events
//! and the latest preview frame back. When the socket closes the session ends.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::protocol::{ClientMsg, ServerMsg};
use crate::run::Outlet;

/// Largest message a page may send (steering messages are small).
const MAX_MESSAGE: usize = 64 << 10;

/// Accepts a same-origin WebSocket and serves the session on it.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "the studio accepts WebSocket connections from its own page only\n",
        )
            .into_response();
    }
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve(socket, app))
}

/// True without an `Origin` header (not a browser), or when it names this server's host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, h)| h);
    host.is_some() && origin_host == host
}

fn text(msg: &ServerMsg) -> Message {
    Message::Text(msg.to_json().into())
}

async fn serve(mut socket: WebSocket, app: Arc<App>) {
    let (events, mut events_rx) = mpsc::unbounded_channel();
    let (frames, mut frames_rx) = watch::channel(None);
    let client = match app.open(Outlet { events, frames }) {
        Ok(c) => c,
        Err(e) => {
            let _ = socket
                .send(text(&ServerMsg::Error {
                    message: e.to_string(),
                }))
                .await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    tracing::info!(session = %client.id, "session opened");
    if socket.send(text(&app.hello(&client.id))).await.is_ok() {
        loop {
            // In this order: the page's steering first; then a frame before an event, so that
            // the last frame of a run reaches the page before the run's `idle`.
            tokio::select! {
                biased;
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        let answer = serde_json::from_str::<ClientMsg>(&t)
                            .map_err(|e| format!("the page sent a message the server cannot read: {e}"))
                            .and_then(|m| client.handle(m));
                        let reply = match answer {
                            Ok(reply) => reply,
                            Err(message) => Some(ServerMsg::Error { message }),
                        };
                        if let Some(r) = reply {
                            if socket.send(text(&r)).await.is_err() {
                                break;
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
                changed = frames_rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let frame = frames_rx.borrow_and_update().clone();
                    if let Some(f) = frame {
                        if socket.send(Message::Text(f.as_ref().into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(event) = events_rx.recv() => {
                    if socket.send(text(&event)).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    app.close(&client.id);
    tracing::info!(session = %client.id, "session closed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_servers_pages_may_connect() {
        let host = (header::HOST, "127.0.0.1:7860");
        assert!(same_origin(&headers(std::slice::from_ref(&host))));
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:7860")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            (header::ORIGIN, "http://evil.example")
        ])));
    }
}
