//! What the rating tests share: a study's source folders made from real photos and paintings,
//! the `rate serve` process, and plain HTTP/1.1 JSON posts to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use image::{imageops, RgbImage};

use super::{repo, training_photos};

/// Methods' folders `dir/NAME` of results `PHOTO_PAINTING.png` for the first `photos` training
/// photos × two paintings, each method blending the painting's colours in more strongly, and
/// the reference folders `dir/photos` and `dir/paintings`.
pub fn sources(dir: &Path, methods: &[&str], photos: usize) -> Vec<PathBuf> {
    let (ph, pa) = (dir.join("photos"), dir.join("paintings"));
    std::fs::create_dir_all(&ph).unwrap();
    std::fs::create_dir_all(&pa).unwrap();
    let small = |p: &Path| {
        let img = image::open(p).unwrap().to_rgb8();
        imageops::resize(&img, 96, 72, imageops::FilterType::Triangle)
    };
    let paintings: Vec<(String, RgbImage)> = ["starry_night", "durer_lion"]
        .iter()
        .map(|n| {
            let img = small(&repo(&format!("examples/{n}.jpg")));
            img.save(pa.join(format!("{n}.png"))).unwrap();
            (n.to_string(), img)
        })
        .collect();
    let dirs: Vec<PathBuf> = methods.iter().map(|m| dir.join(m)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    for (k, p) in training_photos(photos).iter().enumerate() {
        let stem = format!("photo{k}");
        let photo = small(p);
        photo.save(ph.join(format!("{stem}.png"))).unwrap();
        for (name, painting) in &paintings {
            for (m, d) in dirs.iter().enumerate() {
                let t = 0.2 + 0.25 * m as f32;
                let mut out = photo.clone();
                for (o, q) in out.pixels_mut().zip(painting.pixels()) {
                    for c in 0..3 {
                        o[c] = (o[c] as f32 * (1.0 - t) + q[c] as f32 * t) as u8;
                    }
                }
                out.save(d.join(format!("{stem}_{name}.png"))).unwrap();
            }
        }
    }
    dirs
}

/// A running `impasto rate serve`, stopped when dropped.
pub struct Serve {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Everything it printed before it was ready.
    pub banner: String,
}

impl Serve {
    /// Starts `impasto rate serve STUDY --port 0 EXTRA...` and waits for its address.
    pub fn start(study: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
            .args(["rate", "serve"])
            .arg(study)
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut banner = String::new();
        let addr = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("rate serve ended: {banner}"))
                .unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.split("http://").nth(1) {
                let host = rest.split('/').next().unwrap();
                break host.parse().unwrap();
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            addr,
            banner,
        }
    }

    /// POSTs `body` as JSON to `path`: the status and the reply's body.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let body = body.to_string();
        let (status, reply) = post(self.addr, path, body.as_bytes());
        let json = serde_json::from_slice(&reply).unwrap_or(serde_json::Value::Null);
        (status, json)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 POST of JSON with `Connection: close`: the status and the body.
fn post(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP reply");
    let status_line = String::from_utf8_lossy(&reply[..split]);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let head = status_line.to_ascii_lowercase();
    let mut body = reply[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    (status, body)
}

/// The body of a chunked reply.
fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..end]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + n]);
        b = &b[end + 4 + n..];
    }
}
