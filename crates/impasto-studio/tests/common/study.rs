//! A small rating study made in a temporary folder, and a rating server on it.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use impasto::rating::Mode;
use impasto::Rgb;
use impasto_io::codec::{encode, Format};
use impasto_io::study::layout::{random_hex, IMAGES_DIR};
use impasto_io::study::{Item, Study};
use impasto_studio::rate::RateServer;
use tokio::sync::oneshot;

/// The fixture's method names, which no rater may ever see.
pub const METHODS: [&str; 3] = ["gatys_method", "adain_method", "wct_method"];
/// The fixture's item names, equally secret.
pub const ITEMS: [&str; 4] = ["lighthouse_x", "harbour_x", "meadow_x", "portrait_x"];
/// The fixture's instructions version.
pub const VERSION: &str = "v1-test";

/// A study of 3 methods × 4 items in `mode`: 8 ordinary trials, 1 gold, 1 repeat per rater in
/// pairs (6 + 1 + 1 in ACR), every image a small PNG of its own colour.
pub fn make_study(dir: &Path, mode: Mode) -> Study {
    std::fs::create_dir_all(dir.join(IMAGES_DIR)).unwrap();
    let mut shade = 0usize;
    let mut image = || {
        shade += 1;
        let name = format!("{}.png", random_hex().unwrap());
        let (w, h) = (96, 64);
        let mut data = vec![0.0f32; 3 * w * h];
        for (c, plane) in data.chunks_mut(w * h).enumerate() {
            for (i, v) in plane.iter_mut().enumerate() {
                let (x, y) = (i % w, i / w);
                *v = ((shade * 37 + c * 91 + x + y) % 256) as f32;
            }
        }
        let png = encode(
            &Rgb {
                width: w,
                height: h,
                data,
            },
            None,
            Format::Png8,
        )
        .unwrap();
        std::fs::write(dir.join(IMAGES_DIR).join(&name), png).unwrap();
        name
    };
    let items = ITEMS
        .iter()
        .map(|name| Item {
            name: name.to_string(),
            photo: Some(image()),
            painting: Some(image()),
            results: METHODS.iter().map(|_| image()).collect(),
            gold: image(),
        })
        .collect();
    let study = Study {
        format: impasto_io::study::layout::FORMAT,
        title: "Which stylisation is better?".into(),
        mode,
        instructions: "Look at both results.\nPick the better one.".into(),
        instructions_version: VERSION.into(),
        token: random_hex().unwrap(),
        methods: METHODS.iter().map(|m| m.to_string()).collect(),
        items,
        trials_per_rater: if mode == Mode::Pairs { 8 } else { 6 },
        gold_per_rater: 1,
        repeats_per_rater: 1,
    };
    study.save(dir).unwrap();
    study
}

/// A rating server on `host` (port 0) for the study in `dir`, stopped when dropped.
pub struct RateTest {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The link for raters.
    pub link: String,
    stop: Option<oneshot::Sender<()>>,
}

impl RateTest {
    /// Binds and starts serving in this test's runtime.
    pub async fn start(dir: &Path, host: IpAddr) -> Self {
        let server = RateServer::bind(dir, host, 0).await.unwrap();
        let (addr, link) = (server.local_addr(), server.link());
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            link,
            stop: Some(stop),
        }
    }
}

impl Drop for RateTest {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
