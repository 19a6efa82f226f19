//! Shared by the studio's integration tests: the real model, a server on a free port, a small
//! HTTP/1.1 client (raw, so paths are sent exactly as written) and a WebSocket session.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use impasto::Vgg19;
use impasto_studio::protocol::{ClientMsg, Controls, Frame, ModelInfo, ServerMsg};
use impasto_studio::{Config, Models, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

pub mod chrome;
pub mod study;

/// How long any awaited event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A path from the repository root.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The real VGG19, loaded once per test binary: `../shared/weights` beside the checkout, else
/// the cache that `impasto fetch` fills. Panics (never skips) when neither is there.
pub fn model() -> Arc<Vgg19> {
    static MODEL: OnceLock<Arc<Vgg19>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let file = impasto_io::weights::WEIGHTS_FILE;
            let shared = repo("../shared/weights").join(file);
            let path = if shared.is_file() {
                shared
            } else {
                impasto_io::weights::resolve(None).unwrap().0
            };
            assert!(
                path.is_file(),
                "the VGG19 weights are needed: run `cargo run --release -- fetch` first"
            );
            Arc::new(
                impasto_io::weights::load_vgg(&path, impasto::Precision::F32)
                    .expect("the weights load"),
            )
        })
        .clone()
}

/// A studio server running in this test's runtime.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The parent of the sessions' temporary folders.
    pub temp_root: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), impasto_studio::Error>>>,
}

impl TestServer {
    /// Starts a server on a free port without trained models; `tune` adjusts the config.
    pub async fn start(tune: impl FnOnce(&mut Config)) -> Self {
        Self::start_with(Models::default(), tune).await
    }

    /// Starts a server on a free port offering `models`; `tune` adjusts the config.
    pub async fn start_with(models: Models, tune: impl FnOnce(&mut Config)) -> Self {
        let temp_root = tempfile::tempdir().unwrap();
        let mut config = Config {
            port: 0,
            temp_root: temp_root.path().to_path_buf(),
            ..Config::default()
        };
        tune(&mut config);
        let server = Server::bind(config, model(), models).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            temp_root,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server, waits until it has ended every session, and hands back the folder
    /// that held the sessions' folders.
    pub async fn shutdown(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, self.task.take().unwrap())
            .await
            .expect("the server stops in time")
            .unwrap()
            .unwrap();
        std::mem::replace(&mut self.temp_root, tempfile::tempdir().unwrap())
    }

    /// The session folders that exist now.
    pub fn session_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.temp_root.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    /// `/api/status` as JSON.
    pub async fn status(&self) -> serde_json::Value {
        let r = http(self.addr, "GET", "/api/status", &[], &[]).await;
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    }

    /// Polls `/api/status` until `pred` holds.
    pub async fn wait_status(&self, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let s = self.status().await;
            if pred(&s) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; status {s}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// An HTTP response.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `error` field of a JSON error body.
    pub fn error(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not a JSON body: {}", String::from_utf8_lossy(&self.body)));
        v["error"].as_str().expect("an error field").to_string()
    }
}

/// Sends one request with exactly the given headers (plus `Host` and `Connection: close`) and
/// body, ignoring a failed write (a server may answer before reading it all).
pub async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let _ = s.write_all(body).await;
    read_response(s).await
}

/// Sends one request with the path exactly as given (`Connection: close` unless `headers`
/// name a `Connection` that includes it).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
    {
        req.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    read_response(s).await
}

/// Sends only the head of a request that announces `length` body bytes, and reads the answer
/// (a server that refuses by the announced length answers before the body).
pub async fn http_announce(addr: SocketAddr, path: &str, length: usize) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    read_response(s).await
}

async fn read_response(mut s: TcpStream) -> Response {
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut raw))
        .await
        .expect("the server answers")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 4 + size..];
    }
}

/// A bundled example image's bytes.
pub fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo("examples").join(name)).unwrap()
}

/// Width and height of a PNG, from its IHDR.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Writes an untrained (randomly initialised), small model of `styles` to `dir/file`.
pub fn write_model(dir: &std::path::Path, file: &str, styles: &[&str]) {
    use impasto::fast::Arch;
    use impasto_io::model::{save_model, ModelMeta, StyleMeta};
    let arch = Arch {
        channels: [8, 16],
        blocks: 1,
        ..Arch::default()
    };
    let names: Vec<String> = styles.iter().map(|s| s.to_string()).collect();
    let net = impasto::FastNet::new(arch.clone(), names.clone(), 7).unwrap();
    let meta = ModelMeta {
        arch,
        styles: names
            .into_iter()
            .map(|name| StyleMeta {
                name,
                sha256: "0".repeat(64),
            })
            .collect(),
        training: impasto::TrainSettings::default(),
        photos: 0,
        steps_done: 0,
        seconds: 0.0,
        vgg19_sha256: "0".repeat(64),
        impasto_version: "test".into(),
    };
    save_model(&dir.join(file), &net, &meta).unwrap();
}

/// One page's WebSocket session.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    /// The session id from `hello`.
    pub session: String,
    /// The default controls from `hello`.
    pub defaults: Controls,
    /// The trained models from `hello`.
    pub models: Vec<ModelInfo>,
    addr: SocketAddr,
}

impl Ws {
    /// Connects and reads `hello`.
    pub async fn connect(addr: SocketAddr) -> Self {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let mut ws = Self {
            stream,
            session: String::new(),
            defaults: Controls::default(),
            models: Vec::new(),
            addr,
        };
        match ws.next().await {
            ServerMsg::Hello {
                session,
                defaults,
                models,
                ..
            } => {
                ws.session = session;
                ws.defaults = defaults;
                ws.models = models;
            }
            other => panic!("expected hello, got {other:?}"),
        }
        ws
    }

    /// The next message from the server.
    pub async fn next(&mut self) -> ServerMsg {
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("a message from the server in time")
                .expect("the socket stays open")
                .unwrap();
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    /// Reads messages until `pick` returns something; an `error` message fails the test unless
    /// `pick` takes it.
    pub async fn until<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = tokio::time::timeout(left, self.next())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            if let Some(v) = pick(&msg) {
                return v;
            }
            if let ServerMsg::Error { message } = msg {
                panic!("server error while waiting for {what}: {message}");
            }
        }
    }

    /// Waits for a preview frame whose controls have revision `rev`.
    pub async fn frame(&mut self, rev: u64) -> Frame {
        self.until(&format!("a frame of revision {rev}"), |m| match m {
            ServerMsg::Frame(f) if f.rev == rev => Some((**f).clone()),
            _ => None,
        })
        .await
    }

    /// Sends a message.
    /// Waits for the next error message and returns its text.
    pub async fn error(&mut self) -> String {
        self.until("an error", |m| match m {
            ServerMsg::Error { message } => Some(message.clone()),
            _ => None,
        })
        .await
    }

    pub async fn send(&mut self, msg: &ClientMsg) {
        let text = serde_json::to_string(msg).unwrap();
        self.stream.send(Message::Text(text.into())).await.unwrap();
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }

    /// Steers to `controls` as revision `rev` and waits until the server has taken them.
    pub async fn steer(&mut self, rev: u64, controls: &Controls) {
        self.send(&ClientMsg::Steer {
            rev,
            controls: controls.clone(),
        })
        .await;
        self.until(&format!("the steer to revision {rev} to be taken"), |m| {
            matches!(m, ServerMsg::Steered { rev: r } if *r == rev).then_some(())
        })
        .await;
    }

    /// Uploads `bytes` as the content (`kind` = "content") or a style ("style").
    pub async fn upload(&self, kind: &str, name: &str, bytes: &[u8]) -> Response {
        let path = format!("/api/session/{}/{kind}?name={name}", self.session);
        http(self.addr, "POST", &path, &[], bytes).await
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        self.stream.close(None).await.unwrap();
    }
}

/// Small, fast controls for tests: `size` px preview, `iters` iterations.
pub fn small(defaults: &Controls, size: usize, iters: usize) -> Controls {
    Controls {
        size,
        iters,
        ..defaults.clone()
    }
}

/// Starts a run on `ws`: small controls as revision 1, then the two bundled examples.
pub async fn start_run(ws: &mut Ws, size: usize, iters: usize) -> Controls {
    let c = small(&ws.defaults, size, iters);
    ws.steer(1, &c).await;
    let r = ws
        .upload(
            "content",
            "portrait_astronaut.jpg",
            &example("portrait_astronaut.jpg"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = ws
        .upload("style", "starry_night.jpg", &example("starry_night.jpg"))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    Controls {
        style_weights: vec![1.0],
        ..c
    }
}

/// A PNG of `w × h`, white left of `split` (a share of the width) and black right of it.
pub fn half_mask_png(w: usize, h: usize, split: f32) -> Vec<u8> {
    let mut img = impasto::image::Rgb::filled(w, h, [0.0; 3]);
    let edge = (w as f32 * split).round() as usize;
    for c in 0..3 {
        for y in 0..h {
            for x in 0..edge {
                img.data[c * w * h + y * w + x] = 255.0;
            }
        }
    }
    let format = impasto_io::codec::Format::Png8;
    impasto_io::codec::encode(&img, None, format).unwrap()
}

/// The bytes of a `data:...;base64,` URL.
pub fn data_url_bytes(url: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = url.split_once(";base64,").expect("a data URL").1;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// Mean absolute difference (0..255) between a frame's `data:` URL image and the photo
/// `photo` (file bytes, resized to the frame), over the columns left of 40% and right of 60%
/// of the width.
pub fn halves_diff(photo: &[u8], data_url: &str) -> (f32, f32) {
    halves_diff_bytes(photo, &data_url_bytes(data_url))
}

/// [`halves_diff`] of an image file's bytes.
pub fn halves_diff_bytes(photo: &[u8], bytes: &[u8]) -> (f32, f32) {
    use impasto_io::codec::{decode, Limits};
    let img = decode(bytes, &Limits::default()).unwrap().image;
    let (w, h) = (img.width, img.height);
    let photo = decode(photo, &Limits::default()).unwrap().image;
    let photo = impasto::image::resize::resize(&photo, w, h);
    let mean = |cols: std::ops::Range<usize>| {
        let mut sum = 0.0f64;
        let mut n = 0usize;
        for c in 0..3 {
            for y in 0..h {
                for x in cols.clone() {
                    let i = c * w * h + y * w + x;
                    sum += (img.data[i] - photo.data[i]).abs() as f64;
                    n += 1;
                }
            }
        }
        (sum / n as f64) as f32
    };
    (mean(0..w * 2 / 5), mean(w * 3 / 5..w))
}
