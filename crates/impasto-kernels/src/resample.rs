//! Nearest-neighbour upsampling by 2 (ONNX `Resize`, nearest, scale 2) and its gradient: the
//! resize half of "resize, then convolve", which leaves no checkerboard (Odena et al. 2016).

use rayon::prelude::*;

use crate::Isa;

fn double_row_body(src: &[f32], dst: &mut [f32]) {
    for (d, s) in dst.chunks_exact_mut(2).zip(src) {
        d[0] = *s;
        d[1] = *s;
    }
}
dispatch!(pub(crate) double_row, double_row_body, (src: &[f32], dst: &mut [f32]));

fn fold_rows_body(r0: &[f32], r1: &[f32], dst: &mut [f32]) {
    for ((d, a), b) in dst
        .iter_mut()
        .zip(r0.chunks_exact(2))
        .zip(r1.chunks_exact(2))
    {
        *d = a[0] + a[1] + b[0] + b[1];
    }
}
dispatch!(fold_rows, fold_rows_body, (r0: &[f32], r1: &[f32], dst: &mut [f32]));

/// `out[p, y, x] = x[p, y / 2, x / 2]`: each of `planes` planes of `h × w` to `2h × 2w`.
pub fn upsample2x(x: &[f32], planes: usize, h: usize, w: usize, out: &mut [f32]) {
    assert_eq!(x.len(), planes * h * w, "upsample2x: input size");
    assert_eq!(out.len(), 4 * x.len(), "upsample2x: output size");
    if w == 0 {
        return;
    }
    let isa = Isa::get();
    out.par_chunks_mut(4 * w)
        .zip(x.par_chunks(w))
        .for_each(|(o, row)| {
            let (a, b) = o.split_at_mut(2 * w);
            // SAFETY: `a` holds two values per value of `row`; `isa` comes from `Isa::get`.
            unsafe { double_row(isa, row, a) };
            b.copy_from_slice(a);
        });
}

/// Gradient of [`upsample2x`]: each input gets the sum of its 2×2 block of output gradients.
/// `g` holds `planes × 2h × 2w`; `gx` (`planes × h × w`) is overwritten.
pub fn upsample2x_backward(g: &[f32], planes: usize, h: usize, w: usize, gx: &mut [f32]) {
    assert_eq!(gx.len(), planes * h * w, "upsample2x_backward: output size");
    assert_eq!(g.len(), 4 * gx.len(), "upsample2x_backward: gradient size");
    if w == 0 {
        return;
    }
    let isa = Isa::get();
    gx.par_chunks_mut(w)
        .zip(g.par_chunks(4 * w))
        .for_each(|(o, rows)| {
            let (r0, r1) = rows.split_at(2 * w);
            // SAFETY: `r0`, `r1` hold two values per value of `o`; `isa` comes from `Isa::get`.
            unsafe { fold_rows(isa, r0, r1, o) };
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    #[test]
    fn repeats_each_value_in_a_block_on_every_instruction_set() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 × 3
        for isa in Isa::supported() {
            let mut out = vec![0.0; 24];
            Isa::with(isa, || upsample2x(&x, 1, 2, 3, &mut out));
            assert_eq!(&out[..6], &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
            assert_eq!(&out[6..12], &out[..6]);
            assert_eq!(&out[18..], &[4.0, 4.0, 5.0, 5.0, 6.0, 6.0]);
        }
    }

    #[test]
    fn backward_is_the_transpose_on_every_instruction_set() {
        let mut rng = Lcg(6);
        let (planes, h, w) = (3, 5, 17);
        let x = rng.vec(planes * h * w, 1.0);
        let g = rng.vec(4 * x.len(), 1.0);
        for isa in Isa::supported() {
            let (mut y, mut gx) = (vec![0.0; g.len()], vec![0.0; x.len()]);
            Isa::with(isa, || {
                upsample2x(&x, planes, h, w, &mut y);
                upsample2x_backward(&g, planes, h, w, &mut gx);
            });
            let lhs: f64 = y.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| (a * b) as f64).sum();
            assert!((lhs - rhs).abs() < 1e-4, "{isa:?}: {lhs} vs {rhs}");
        }
    }
}
