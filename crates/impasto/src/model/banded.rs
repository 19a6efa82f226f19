//! The network's layers on activations held as [`Act`]: f32 ones go to the kernels whole; bf16
//! ones go through in bands of rows widened to f32 (with one row of halo each side for the
//! convolutions), so only a band is ever held in f32 and every instruction set can store bf16.

use rayon::prelude::*;

use super::act::Act;
use impasto_kernels::conv::{ConvInput, ConvKernel};
use impasto_kernels::{maxpool, Mask};

/// Bytes of f32 a band may hold (its input and output together).
pub const BAND_BYTES: u64 = 48 << 20;

/// Fewest rows a convolution's band computes (two more are its halo).
const MIN_ROWS: usize = 16;

/// One convolution as the tape runs it: its kernel, the ReLU mask on its input (one bit per
/// input value, zero where it is cleared) and whether a ReLU follows.
#[derive(Clone, Copy)]
pub struct Layer<'a> {
    /// The prepared convolution.
    pub kernel: &'a ConvKernel,
    /// The mask on the input, if any.
    pub mask: Option<&'a [u64]>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// `out = relu?(conv3x3(x · mask))` for `n` images of `cin × h × w` held in `x`. `out` must
/// be `n × cout × h × w` values.
pub fn conv(layer: Layer, x: &Act, [n, h, w]: [usize; 3], out: &mut Act) {
    let Layer { kernel, mask, relu } = layer;
    if let (Act::F32(x), Act::F32(out)) = (x, &mut *out) {
        let mut input = ConvInput::new(x, n, h, w);
        if let Some(bits) = mask {
            input = input.masked(Mask::Bits { bits, offset: 0 });
        }
        kernel.run(input, relu, out);
        return;
    }
    let row_bytes = 4 * ((kernel.cin() + kernel.cout()) * w) as u64;
    let rows = ((BAND_BYTES / row_bytes.max(1)) as usize).max(MIN_ROWS);
    conv_rows(layer, x, [n, h, w], out, rows);
}

/// [`conv`] on bf16 values, `rows` output rows a band.
fn conv_rows(layer: Layer, x: &Act, [n, h, w]: [usize; 3], out: &mut Act, rows: usize) {
    let Layer { kernel, mask, relu } = layer;
    let (cin, cout) = (kernel.cin(), kernel.cout());
    let (mut bin, mut bout) = (Vec::new(), Vec::new());
    for img in 0..n {
        for r0 in (0..h).step_by(rows) {
            let r1 = (r0 + rows).min(h);
            let (a, b) = (r0.saturating_sub(1), (r1 + 1).min(h));
            let band = b - a;
            bin.resize(cin * band * w, 0.0);
            bin.par_chunks_mut(band * w)
                .enumerate()
                .for_each(|(ch, dst)| {
                    let start = ((img * cin + ch) * h + a) * w;
                    x.read(start, dst);
                    if let Some(bits) = mask {
                        for (i, v) in dst.iter_mut().enumerate() {
                            let j = start + i;
                            if bits[j / 64] >> (j % 64) & 1 == 0 {
                                *v = 0.0;
                            }
                        }
                    }
                });
            bout.resize(cout * band * w, 0.0);
            kernel.run(ConvInput::new(&bin, 1, band, w), relu, &mut bout);
            for ch in 0..cout {
                let src = &bout[(ch * band + r0 - a) * w..][..(r1 - r0) * w];
                out.write(((img * cout + ch) * h + r0) * w, src);
            }
        }
    }
}

/// 2×2 max-pool of `planes` planes of `h × w` held in `x` into `out`, recording the winners
/// (see [`maxpool::maxpool2x2`]).
pub fn maxpool(x: &Act, planes: usize, h: usize, w: usize, out: &mut Act, win: Option<&mut [u8]>) {
    if let (Act::F32(x), Act::F32(out)) = (x, &mut *out) {
        maxpool::maxpool2x2(x, planes, h, w, out, win);
        return;
    }
    let (oh, ow) = (h / 2, w / 2);
    let mut win = win;
    by_plane_groups(x, h * w, out, oh * ow, planes, |p0, g, bin, bout| {
        let wg = win
            .as_deref_mut()
            .map(|v| &mut v[p0 * oh * ow..][..g * oh * ow]);
        maxpool::maxpool2x2(bin, g, h, w, bout, wg);
    });
}

/// Gradient of [`maxpool`] from its winners: `grad` (`planes × h/2 × w/2`) into `gx`
/// (`planes × h × w`).
pub fn maxpool_backward(win: &[u8], grad: &Act, planes: usize, h: usize, w: usize, gx: &mut Act) {
    if let (Act::F32(grad), Act::F32(gx)) = (grad, &mut *gx) {
        maxpool::maxpool2x2_backward(win, grad, planes, h, w, gx);
        return;
    }
    let (oh, ow) = (h / 2, w / 2);
    by_plane_groups(grad, oh * ow, gx, h * w, planes, |p0, g, bin, bout| {
        let wg = &win[p0 * oh * ow..][..g * oh * ow];
        maxpool::maxpool2x2_backward(wg, bin, g, h, w, bout);
    });
}

/// Runs `f(first plane, planes, input, output)` on groups of the `planes` planes of `x`
/// (`in_plane` values each) widened to f32, narrowing each group's output (`out_plane` values
/// a plane) into `out`; a group holds at most a fifth of [`BAND_BYTES`].
fn by_plane_groups(
    x: &Act,
    in_plane: usize,
    out: &mut Act,
    out_plane: usize,
    planes: usize,
    mut f: impl FnMut(usize, usize, &[f32], &mut [f32]),
) {
    let largest = 4 * in_plane.max(out_plane).max(1) as u64;
    let group = ((BAND_BYTES / 5 / largest) as usize).max(1);
    let (mut bin, mut bout) = (Vec::new(), Vec::new());
    for p0 in (0..planes).step_by(group) {
        let g = group.min(planes - p0);
        bin.resize(g * in_plane, 0.0);
        bout.resize(g * out_plane, 0.0);
        x.read(p0 * in_plane, &mut bin);
        f(p0, g, &bin, &mut bout);
        out.write(p0 * out_plane, &bout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::act::Store;
    use crate::testutil::Lcg;
    use impasto_kernels::conv::Conv3x3Weights;
    use impasto_kernels::Precision;

    /// Bands of bf16 rows give the whole-image f32 convolution (masked or not) and max-pool up
    /// to bf16 rounding, on images taller than one band.
    #[test]
    fn bf16_bands_match_the_whole_f32_layer() {
        let (cin, cout, h, w) = (16, 32, 70, 9);
        let mut rng = Lcg(11);
        let k = ConvKernel::new(
            Conv3x3Weights {
                cout,
                cin,
                w: rng.vec(cout * cin * 9, 0.2),
                bias: rng.vec(cout, 0.1),
            },
            Precision::F32,
        );
        let x = rng.vec(2 * cin * h * w, 1.0);
        let bits = Act::F32(rng.vec(x.len(), 1.0)).positive_bits();
        for mask in [None, Some(&bits[..])] {
            let layer = Layer {
                kernel: &k,
                mask,
                relu: true,
            };
            let mut want = Act::zeros(Store::F32, 2 * cout * h * w);
            conv(layer, &Act::F32(x.clone()), [2, h, w], &mut want);
            let mut got = Act::zeros(Store::Bf16, 2 * cout * h * w);
            let xb = Act::from_f32(Store::Bf16, x.clone());
            let want = want.into_f32();
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for rows in [MIN_ROWS, 7, h] {
                conv_rows(layer, &xb, [2, h, w], &mut got, rows);
                for (a, b) in want.iter().zip(&got.clone().into_f32()) {
                    assert!((a - b).abs() <= 0.01 * scale, "{rows} rows: {a} vs {b}");
                }
            }
        }
        let mut want = Act::zeros(Store::F32, 2 * cin * (h / 2) * (w / 2));
        let mut wwin = vec![0u8; want.len()];
        maxpool(
            &Act::F32(x.clone()),
            2 * cin,
            h,
            w,
            &mut want,
            Some(&mut wwin),
        );
        let mut got = Act::zeros(Store::Bf16, want.len());
        let mut gwin = vec![0u8; want.len()];
        let xb = Act::from_f32(Store::Bf16, x.clone());
        maxpool(&xb, 2 * cin, h, w, &mut got, Some(&mut gwin));
        let rounded = Act::from_f32(Store::Bf16, want.clone().into_f32()).into_f32();
        assert_eq!(got.into_f32(), rounded);
        let g = Act::from_f32(Store::Bf16, rng.vec(wwin.len(), 1.0));
        let mut gx = Act::zeros(Store::Bf16, x.len());
        let mut gx32 = Act::zeros(Store::F32, x.len());
        maxpool_backward(&gwin, &g, 2 * cin, h, w, &mut gx);
        maxpool_backward(&gwin, &Act::F32(g.into_f32()), 2 * cin, h, w, &mut gx32);
        assert_eq!(gx.into_f32(), gx32.into_f32());
    }
}
