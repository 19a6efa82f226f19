//! CPU kernel: 2×2 max-pool with stride 2 (odd trailing rows/columns are dropped, as in VGG).

use rayon::prelude::*;

/// `out[p, y, x] = max of x[p, 2y..2y+2, 2x..2x+2]` for each of `planes` planes of `h × w`.
/// With `winners`, also records which of the four inputs won (0..4, row-major; the first of
/// equal maxima), one byte per output: all [`maxpool2x2_backward`] needs.
pub fn maxpool2x2(
    x: &[f32],
    planes: usize,
    h: usize,
    w: usize,
    out: &mut [f32],
    winners: Option<&mut [u8]>,
) {
    let (oh, ow) = (h / 2, w / 2);
    assert_eq!(x.len(), planes * h * w, "maxpool2x2: input size");
    assert_eq!(out.len(), planes * oh * ow, "maxpool2x2: output size");
    if oh == 0 || ow == 0 {
        return;
    }
    let pool = |o: &mut [f32], p: &[f32], mut win: Option<&mut [u8]>| {
        for y in 0..oh {
            let r0 = &p[2 * y * w..][..w];
            let r1 = &p[(2 * y + 1) * w..][..w];
            for xx in 0..ow {
                let c = [r0[2 * xx], r0[2 * xx + 1], r1[2 * xx], r1[2 * xx + 1]];
                let mut best = 0;
                for k in 1..4 {
                    if c[k] > c[best] {
                        best = k;
                    }
                }
                o[y * ow + xx] = c[best];
                if let Some(win) = win.as_deref_mut() {
                    win[y * ow + xx] = best as u8;
                }
            }
        }
    };
    if let Some(win) = &winners {
        assert_eq!(win.len(), out.len(), "maxpool2x2: winners size");
    }
    let (outs, ins) = (out.par_chunks_mut(oh * ow), x.par_chunks(h * w));
    match winners {
        Some(win) => {
            outs.zip(ins)
                .zip(win.par_chunks_mut(oh * ow))
                .for_each(|((o, p), win)| pool(o, p, Some(win)));
        }
        None => outs.zip(ins).for_each(|(o, p)| pool(o, p, None)),
    }
}

/// Gradient of [`maxpool2x2`] from its recorded winners: each window's output gradient goes to
/// the input that won; the others, and dropped odd rows/columns, get zero.
pub fn maxpool2x2_backward(
    winners: &[u8],
    grad: &[f32],
    planes: usize,
    h: usize,
    w: usize,
    gx: &mut [f32],
) {
    let (oh, ow) = (h / 2, w / 2);
    assert_eq!(
        grad.len(),
        planes * oh * ow,
        "maxpool2x2_backward: gradient size"
    );
    assert_eq!(
        winners.len(),
        grad.len(),
        "maxpool2x2_backward: winners size"
    );
    assert_eq!(gx.len(), planes * h * w, "maxpool2x2_backward: output size");
    gx.par_chunks_mut(h * w).enumerate().for_each(|(p, gp)| {
        gp.fill(0.0);
        if ow == 0 {
            return;
        }
        let g = &grad[p * oh * ow..][..oh * ow];
        let win = &winners[p * oh * ow..][..oh * ow];
        for y in 0..oh {
            for xx in 0..ow {
                let k = win[y * ow + xx] as usize;
                gp[(2 * y + k / 2) * w + 2 * xx + k % 2] = g[y * ow + xx];
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_maximum_and_drops_odd_edges() {
        // One 3×5 plane: the last row and column are dropped.
        let x: Vec<f32> = (0..15).map(|i| ((i * 7) % 11) as f32).collect();
        let mut out = vec![0.0; 2];
        maxpool2x2(&x, 1, 3, 5, &mut out, None);
        let want0 = [x[0], x[1], x[5], x[6]]
            .iter()
            .cloned()
            .fold(f32::MIN, f32::max);
        let want1 = [x[2], x[3], x[7], x[8]]
            .iter()
            .cloned()
            .fold(f32::MIN, f32::max);
        assert_eq!(out, vec![want0, want1]);
    }

    #[test]
    fn gradient_goes_to_the_recorded_winner() {
        // 2×2 windows of a 1×2×5 plane (last column dropped); window 1 has a tie: first wins.
        let x = [1.0, 5.0, 3.0, 3.0, 9.0, 2.0, 0.0, 1.0, 3.0, 9.0];
        let (mut out, mut win) = (vec![0.0; 2], vec![9u8; 2]);
        maxpool2x2(&x, 1, 2, 5, &mut out, Some(&mut win));
        assert_eq!(out, vec![5.0, 3.0]);
        assert_eq!(win, vec![1, 0]);
        let mut gx = vec![f32::NAN; 10];
        maxpool2x2_backward(&win, &[2.0, 7.0], 1, 2, 5, &mut gx);
        assert_eq!(gx, vec![0.0, 2.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
