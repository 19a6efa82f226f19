//! Slider-to-preview latency: how long after a page sends new controls the first preview frame
//! made with them arrives, with the run already going at full preview size.
//!
//! ```sh
//! cargo run --release -p impasto-studio --example latency -- [--sizes 256,512] [--moves 7]
//! ```
//!
//! It starts the studio in-process with the real weights, opens one session over a real
//! WebSocket, uploads the bundled examples, lets the run reach its full preview size, then moves
//! the style weight back and forth. Moves are spread over the step (a user's slider does not
//! wait for a step to end), and the median, minimum and maximum are printed per size.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use impasto::Vgg19;
use impasto_studio::protocol::{ClientMsg, Controls, ServerMsg};
use impasto_studio::{Config, Models, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// `--weights`, else `../shared/weights` beside the checkout, else the cache.
fn weights(explicit: Option<PathBuf>) -> PathBuf {
    explicit.unwrap_or_else(|| {
        let shared = repo("../shared/weights").join(impasto_io::weights::WEIGHTS_FILE);
        if shared.is_file() {
            shared
        } else {
            impasto_io::weights::resolve(None)
                .expect("a weights location")
                .0
        }
    })
}

async fn post(addr: SocketAddr, path: &str, body: &[u8]) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

async fn next(ws: &mut Socket) -> ServerMsg {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(300), ws.next())
            .await
            .expect("the server answers within 5 minutes")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(t) = msg {
            let m: ServerMsg = serde_json::from_str(&t).unwrap();
            if let ServerMsg::Error { message } = &m {
                panic!("server error: {message}");
            }
            return m;
        }
    }
}

async fn steer(ws: &mut Socket, rev: u64, controls: &Controls) {
    let msg = ClientMsg::Steer {
        rev,
        controls: controls.clone(),
    };
    let text = serde_json::to_string(&msg).unwrap();
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// Waits for a frame of revision `rev`; returns its longer side.
async fn frame(ws: &mut Socket, rev: u64) -> usize {
    loop {
        if let ServerMsg::Frame(f) = next(ws).await {
            if f.rev == rev {
                return f.width.max(f.height);
            }
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Measures `moves` slider moves at preview size `size`; returns the latencies and the median
/// step time, in ms.
async fn measure(model: Arc<Vgg19>, size: usize, moves: usize) -> (Vec<f64>, f64) {
    let root = tempfile::tempdir().unwrap();
    let config = Config {
        port: 0,
        temp_root: root.path().to_path_buf(),
        ..Config::default()
    };
    let server = Server::bind(config, model, Models::default())
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let ServerMsg::Hello {
        session, defaults, ..
    } = next(&mut ws).await
    else {
        panic!("expected hello")
    };
    // A short run first, so that the coarse scales are done quickly ...
    let mut c = Controls {
        size,
        iters: 12,
        ..defaults
    };
    steer(&mut ws, 1, &c).await;
    while !matches!(next(&mut ws).await, ServerMsg::Steered { rev: 1 }) {}
    for (kind, name) in [
        ("content", "portrait_astronaut.jpg"),
        ("style", "starry_night.jpg"),
    ] {
        let bytes = std::fs::read(repo("examples").join(name)).unwrap();
        post(
            addr,
            &format!("/api/session/{session}/{kind}?name={name}"),
            &bytes,
        )
        .await;
    }
    while !matches!(next(&mut ws).await, ServerMsg::Idle) {}
    // ... then a long one that goes on at full size.
    c.style_weights = vec![1.0];
    c.iters = 1000;
    steer(&mut ws, 2, &c).await;
    assert_eq!(frame(&mut ws, 2).await, size);
    let mut last = Instant::now();
    let mut steps = Vec::new();
    for _ in 0..3 {
        frame(&mut ws, 2).await;
        steps.push(last.elapsed().as_secs_f64() * 1e3);
        last = Instant::now();
    }
    let step_ms = median(&mut steps);
    let mut latencies = Vec::new();
    for i in 0..moves {
        let rev = 3 + i as u64;
        // Wait for a frame, then move at a point spread over the next step.
        frame(&mut ws, rev - 1).await;
        tokio::time::sleep(Duration::from_secs_f64(
            step_ms / 1e3 * i as f64 / moves as f64,
        ))
        .await;
        c.style_weight = if i % 2 == 0 { 60.0 } else { 20.0 };
        let sent = Instant::now();
        steer(&mut ws, rev, &c).await;
        let side = frame(&mut ws, rev).await;
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
        assert_eq!(side, size);
    }
    (latencies, step_ms)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut sizes = vec![256, 512];
    let mut moves = 7;
    let mut explicit = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--sizes" => sizes = v.split(',').map(|s| s.parse().unwrap()).collect(),
            "--moves" => moves = v.parse().unwrap(),
            "--weights" => explicit = Some(PathBuf::from(v)),
            other => panic!("unknown option {other}; use --sizes, --moves, --weights"),
        }
    }
    let model = Arc::new(
        impasto_io::weights::load_vgg(&weights(explicit), impasto::Precision::F32)
            .expect("weights load"),
    );
    println!("| preview size | moves | median ms | min ms | max ms | median step ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for size in sizes {
        let (mut lat, step_ms) = measure(Arc::clone(&model), size, moves).await;
        let (min, max) = (
            lat.iter().copied().fold(f64::INFINITY, f64::min),
            lat.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "| {size} px | {moves} | {:.0} | {min:.0} | {max:.0} | {step_ms:.0} |",
            median(&mut lat),
        );
    }
}
