use impasto::ops::cpu::conv3x3::{conv3x3, Conv3x3Weights};
use std::time::Instant;
fn main() {
    for &(cin, cout, hw) in &[
        (64usize, 64usize, 512usize),
        (128, 128, 256),
        (256, 256, 128),
        (512, 512, 64),
        (512, 512, 32),
    ] {
        let k = Conv3x3Weights {
            cout,
            cin,
            w: vec![0.01; cout * cin * 9],
            bias: vec![0.1; cout],
        };
        let x = vec![1.0f32; cin * hw * hw];
        let mut out = vec![0.0f32; cout * hw * hw];
        conv3x3(&x, 1, hw, hw, &k, true, &mut out);
        let t = Instant::now();
        let n = 3;
        for _ in 0..n {
            conv3x3(&x, 1, hw, hw, &k, true, &mut out);
        }
        let s = t.elapsed().as_secs_f64() / n as f64;
        let gf = 2.0 * (cin * cout * 9 * hw * hw) as f64 / 1e9;
        println!(
            "{cin}->{cout} @{hw}: {:.1} ms, {:.1} GFLOP/s",
            s * 1e3,
            gf / s
        );
    }
}
