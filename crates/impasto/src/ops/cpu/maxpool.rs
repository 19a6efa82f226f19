//! CPU kernel: 2×2 max-pool with stride 2 (odd trailing rows/columns are dropped, as in VGG).

use rayon::prelude::*;

/// `out[p, y, x] = max of x[p, 2y..2y+2, 2x..2x+2]` for each of `planes` planes of `h × w`.
pub fn maxpool2x2(x: &[f32], planes: usize, h: usize, w: usize, out: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    assert_eq!(x.len(), planes * h * w, "maxpool2x2: input size");
    assert_eq!(out.len(), planes * oh * ow, "maxpool2x2: output size");
    if oh == 0 || ow == 0 {
        return;
    }
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(o, p)| {
            for y in 0..oh {
                let r0 = &p[2 * y * w..][..w];
                let r1 = &p[(2 * y + 1) * w..][..w];
                for (xx, v) in o[y * ow..][..ow].iter_mut().enumerate() {
                    *v = r0[2 * xx]
                        .max(r0[2 * xx + 1])
                        .max(r1[2 * xx])
                        .max(r1[2 * xx + 1]);
                }
            }
        });
}

/// Gradient of [`maxpool2x2`]: each window's output gradient goes to its maximum; ties share it
/// equally. Dropped odd rows/columns get zero.
pub fn maxpool2x2_backward(
    x: &[f32],
    grad: &[f32],
    planes: usize,
    h: usize,
    w: usize,
    gx: &mut [f32],
) {
    let (oh, ow) = (h / 2, w / 2);
    assert_eq!(x.len(), planes * h * w, "maxpool2x2_backward: input size");
    assert_eq!(
        grad.len(),
        planes * oh * ow,
        "maxpool2x2_backward: gradient size"
    );
    assert_eq!(gx.len(), x.len(), "maxpool2x2_backward: output size");
    gx.par_chunks_mut(h * w)
        .zip(x.par_chunks(h * w))
        .enumerate()
        .for_each(|(p, (gp, xp))| {
            gp.fill(0.0);
            let g = &grad[p * oh * ow..][..oh * ow];
            for y in 0..oh {
                for xx in 0..ow {
                    let idx = [
                        2 * y * w + 2 * xx,
                        2 * y * w + 2 * xx + 1,
                        (2 * y + 1) * w + 2 * xx,
                        (2 * y + 1) * w + 2 * xx + 1,
                    ];
                    let m = idx.iter().map(|&i| xp[i]).fold(f32::NEG_INFINITY, f32::max);
                    let ties = idx.iter().filter(|&&i| xp[i] == m).count() as f32;
                    let share = g[y * ow + xx] / ties;
                    for &i in &idx {
                        if xp[i] == m {
                            gp[i] = share;
                        }
                    }
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
        maxpool2x2(&x, 1, 3, 5, &mut out);
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
}
