//! Instance normalisation (Ulyanov et al. 2016) with a per-channel scale and shift and an
//! optional fused ReLU, and its gradient: each plane of each image is normalised by its own
//! mean and variance. Planes run in parallel; the loops run with the instruction set in force.

use rayon::prelude::*;

use crate::Isa;

/// The ε added to each plane's variance (PyTorch's and ONNX's default).
pub const EPS: f32 = 1e-5;

/// Values summed in f32 before the running sum moves to f64.
const CHUNK: usize = 4096;

/// The shape of a batch: `n` images of `c` planes of `hw` values.
#[derive(Clone, Copy, Debug)]
pub struct Planes {
    /// Images.
    pub n: usize,
    /// Channels of each image.
    pub c: usize,
    /// Values in each plane.
    pub hw: usize,
}

/// Mean and reciprocal standard deviation of one plane, kept for the backward pass.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    /// Mean of the plane.
    pub mean: f32,
    /// `1 / sqrt(variance + EPS)`.
    pub rstd: f32,
}

fn sum_body(x: &[f32], out: &mut f64) {
    *out = x.chunks(CHUNK).map(|c| c.iter().sum::<f32>() as f64).sum();
}
dispatch!(sum, sum_body, (x: &[f32], out: &mut f64));

fn sq_dev_body(x: &[f32], mean: f32, out: &mut f64) {
    *out = x
        .chunks(CHUNK)
        .map(|c| c.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() as f64)
        .sum();
}
dispatch!(sq_dev, sq_dev_body, (x: &[f32], mean: f32, out: &mut f64));

fn affine_body(x: &[f32], a: f32, b: f32, relu: bool, out: &mut [f32]) {
    if relu {
        out.iter_mut()
            .zip(x)
            .for_each(|(o, v)| *o = (a * v + b).max(0.0));
    } else {
        out.iter_mut().zip(x).for_each(|(o, v)| *o = a * v + b);
    }
}
dispatch!(affine, affine_body, (x: &[f32], a: f32, b: f32, relu: bool, out: &mut [f32]));

fn affine_add_body(x: &[f32], a: f32, b: f32, acc: &mut [f32]) {
    acc.iter_mut().zip(x).for_each(|(o, v)| *o += a * v + b);
}
dispatch!(affine_add, affine_add_body, (x: &[f32], a: f32, b: f32, acc: &mut [f32]));

/// The moments of one plane.
fn moments(isa: Isa, x: &[f32]) -> Moments {
    let (mut s, mut q) = (0.0, 0.0);
    // SAFETY: the bodies only read `x` and write their own `f64`; `isa` comes from `Isa::get`.
    unsafe { sum(isa, x, &mut s) };
    let mean = (s / x.len().max(1) as f64) as f32;
    unsafe { sq_dev(isa, x, mean, &mut q) };
    let var = (q / x.len().max(1) as f64) as f32;
    Moments {
        mean,
        rstd: 1.0 / (var + EPS).sqrt(),
    }
}

/// `out = relu?(gamma[c] · (x - mean) / sqrt(var + EPS) + beta[c])` per plane. With `saved`
/// (one per plane, `n × c`), records each plane's [`Moments`] for [`instance_norm_backward`].
pub fn instance_norm(
    x: &[f32],
    shape: Planes,
    (gamma, beta): (&[f32], &[f32]),
    relu: bool,
    out: &mut [f32],
    saved: Option<&mut [Moments]>,
) {
    let moments_of = instance_norm_with(x, shape, (gamma, beta), relu, None, out);
    if let Some(saved) = saved {
        assert_eq!(
            saved.len(),
            shape.n * shape.c,
            "instance_norm: moments size"
        );
        saved.copy_from_slice(&moments_of);
    }
}

/// [`instance_norm`] with each plane's moments `given` (one per plane: measured on the whole
/// image while a tile of it is processed, say) or, for `None`, measured; returns the moments
/// used.
pub fn instance_norm_with(
    x: &[f32],
    shape: Planes,
    (gamma, beta): (&[f32], &[f32]),
    relu: bool,
    given: Option<&[Moments]>,
    out: &mut [f32],
) -> Vec<Moments> {
    each_plane(
        x,
        shape,
        (gamma, beta),
        given,
        out,
        |isa, plane, a, b, o| {
            // SAFETY: `o` and `plane` have the same length; `isa` comes from `Isa::get`.
            unsafe { affine(isa, plane, a, b, relu, o) }
        },
    )
}

/// `acc += gamma[c] · (x - mean) / sqrt(var + EPS) + beta[c]` per plane: [`instance_norm`]
/// without ReLU, added to a residual in the same pass (the same values, rounding included).
/// The moments are `given` or measured, as in [`instance_norm_with`]; returns them.
pub fn instance_norm_add(
    x: &[f32],
    shape: Planes,
    (gamma, beta): (&[f32], &[f32]),
    given: Option<&[Moments]>,
    acc: &mut [f32],
) -> Vec<Moments> {
    each_plane(
        x,
        shape,
        (gamma, beta),
        given,
        acc,
        |isa, plane, a, b, o| {
            // SAFETY: `o` and `plane` have the same length; `isa` comes from `Isa::get`.
            unsafe { affine_add(isa, plane, a, b, o) }
        },
    )
}

/// Runs `write(isa, plane, a, b, out_plane)` on every plane in parallel, with `a`, `b` the
/// scale and shift that normalise it by its `given` moments (or its own); returns the moments.
fn each_plane(
    x: &[f32],
    shape: Planes,
    (gamma, beta): (&[f32], &[f32]),
    given: Option<&[Moments]>,
    out: &mut [f32],
    write: impl Fn(Isa, &[f32], f32, f32, &mut [f32]) + Sync,
) -> Vec<Moments> {
    let Planes { n, c, hw } = shape;
    assert_eq!(x.len(), n * c * hw, "instance_norm: input size");
    assert_eq!(out.len(), x.len(), "instance_norm: output size");
    assert!(
        gamma.len() == c && beta.len() == c,
        "instance_norm: {c} scales"
    );
    if let Some(g) = given {
        assert_eq!(g.len(), n * c, "instance_norm: given moments size");
    }
    let isa = Isa::get();
    let mut moments_of = vec![Moments::default(); n * c];
    out.par_chunks_mut(hw.max(1))
        .zip(x.par_chunks(hw.max(1)))
        .zip(moments_of.par_iter_mut())
        .enumerate()
        .for_each(|(p, ((o, plane), m))| {
            *m = match given {
                Some(g) => g[p],
                None => moments(isa, plane),
            };
            let a = gamma[p % c] * m.rstd;
            let b = beta[p % c] - m.mean * a;
            write(isa, plane, a, b, o);
        });
    moments_of
}

fn backward_sums_body(
    x: &[f32],
    g: &[f32],
    (m, a, b, relu): (Moments, f32, f32, bool),
    out: &mut [f64; 2],
) {
    // out = [Σ gy, Σ gy·x̂] with gy the gradient after the ReLU's mask.
    let (mut s, mut t) = (0.0f64, 0.0f64);
    for (xc, gc) in x.chunks(CHUNK).zip(g.chunks(CHUNK)) {
        let (mut s1, mut t1) = (0.0f32, 0.0f32);
        for (v, gv) in xc.iter().zip(gc) {
            let gy = if relu && a * v + b <= 0.0 { 0.0 } else { *gv };
            s1 += gy;
            t1 += gy * (v - m.mean) * m.rstd;
        }
        s += s1 as f64;
        t += t1 as f64;
    }
    *out = [s, t];
}
dispatch!(backward_sums, backward_sums_body, (x: &[f32], g: &[f32], p: (Moments, f32, f32, bool), out: &mut [f64; 2]));

fn backward_input_body(
    x: &[f32],
    g: &[f32],
    (m, a, b, relu): (Moments, f32, f32, bool),
    (k, s, t): (f32, f32, f32),
    gx: &mut [f32],
) {
    for ((o, v), gv) in gx.iter_mut().zip(x).zip(g) {
        let gy = if relu && a * v + b <= 0.0 { 0.0 } else { *gv };
        *o = k * (gy - s - (v - m.mean) * m.rstd * t);
    }
}
dispatch!(backward_input, backward_input_body, (x: &[f32], g: &[f32], p: (Moments, f32, f32, bool), kst: (f32, f32, f32), gx: &mut [f32]));

/// Gradient of [`instance_norm`] (with the same `x`, `shape`, `gamma`, `beta`, `relu` and its
/// `saved` moments) for an output gradient `g`: writes the input gradient `gx` and adds the
/// scale and shift gradients to `ggamma` and `gbeta` (`c` each, summed over the batch).
#[allow(clippy::too_many_arguments)]
pub fn instance_norm_backward(
    x: &[f32],
    shape: Planes,
    (gamma, beta): (&[f32], &[f32]),
    relu: bool,
    saved: &[Moments],
    g: &[f32],
    gx: &mut [f32],
    (ggamma, gbeta): (&mut [f32], &mut [f32]),
) {
    let Planes { n, c, hw } = shape;
    assert_eq!(x.len(), n * c * hw, "instance_norm_backward: input size");
    assert!(
        g.len() == x.len() && gx.len() == x.len(),
        "instance_norm_backward: sizes"
    );
    assert_eq!(saved.len(), n * c, "instance_norm_backward: moments size");
    assert!(
        ggamma.len() == c && gbeta.len() == c,
        "instance_norm_backward: {c} scales"
    );
    let isa = Isa::get();
    let sums: Vec<[f64; 2]> = gx
        .par_chunks_mut(hw.max(1))
        .zip(x.par_chunks(hw.max(1)))
        .zip(g.par_chunks(hw.max(1)))
        .enumerate()
        .map(|(p, ((o, plane), gp))| {
            let m = saved[p];
            let a = gamma[p % c] * m.rstd;
            let params = (m, a, beta[p % c] - m.mean * a, relu);
            let mut st = [0.0; 2];
            // SAFETY: the slices have the same length; `isa` comes from `Isa::get`.
            unsafe { backward_sums(isa, plane, gp, params, &mut st) };
            let kst = (a, (st[0] / hw as f64) as f32, (st[1] / hw as f64) as f32);
            unsafe { backward_input(isa, plane, gp, params, kst, o) };
            st
        })
        .collect();
    for (p, [s, t]) in sums.into_iter().enumerate() {
        gbeta[p % c] += s as f32;
        ggamma[p % c] += t as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    /// The loss `Σ out · w` for a fixed random `w`, so its gradient with respect to the output
    /// is `w`.
    fn loss(x: &[f32], shape: Planes, gb: (&[f32], &[f32]), relu: bool, w: &[f32]) -> f64 {
        let mut out = vec![0.0; x.len()];
        instance_norm(x, shape, gb, relu, &mut out, None);
        out.iter()
            .zip(w)
            .map(|(a, b)| (*a as f64) * (*b as f64))
            .sum()
    }

    /// The normalised values of channel `ch` in every image.
    fn normalised(x: &[f32], shape: Planes, ch: usize) -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        let ones = vec![1.0; shape.c];
        instance_norm(
            x,
            shape,
            (&ones, &vec![0.0; shape.c]),
            false,
            &mut out,
            None,
        );
        (0..shape.n)
            .flat_map(|i| out[(i * shape.c + ch) * shape.hw..][..shape.hw].to_vec())
            .collect()
    }

    #[test]
    fn normalises_each_plane() {
        let mut rng = Lcg(1);
        let shape = Planes { n: 2, c: 3, hw: 50 };
        let x: Vec<f32> = rng.vec(300, 4.0).iter().map(|v| v + 7.0).collect();
        let mut out = vec![0.0; 300];
        instance_norm(&x, shape, (&[1.0; 3], &[0.0; 3]), false, &mut out, None);
        for p in out.chunks(50) {
            let mean: f32 = p.iter().sum::<f32>() / 50.0;
            let var: f32 = p.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 50.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
                "{mean} {var}"
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences_on_every_instruction_set() {
        let mut rng = Lcg(2);
        let shape = Planes { n: 2, c: 3, hw: 37 };
        let x = rng.vec(shape.n * shape.c * shape.hw, 2.0);
        let gamma = rng.vec(3, 1.5);
        // Shifts that keep every pre-activation at least 0.05 from the ReLU's kink, where
        // central differences would straddle it.
        let beta: Vec<f32> = (0..3)
            .map(|ch| {
                let xhat = normalised(&x, shape, ch);
                (0..40)
                    .map(|i| -1.0 + i as f32 * 0.05)
                    .find(|b| xhat.iter().all(|v| (gamma[ch] * v + b).abs() > 0.05))
                    .expect("a shift clear of the kink")
            })
            .collect();
        let w = rng.vec(x.len(), 1.0);
        for isa in Isa::supported() {
            for relu in [false, true] {
                Isa::with(isa, || {
                    let mut out = vec![0.0; x.len()];
                    let mut saved = vec![Moments::default(); 6];
                    instance_norm(&x, shape, (&gamma, &beta), relu, &mut out, Some(&mut saved));
                    let mut gx = vec![0.0; x.len()];
                    let (mut gg, mut gb) = (vec![0.0; 3], vec![0.0; 3]);
                    instance_norm_backward(
                        &x,
                        shape,
                        (&gamma, &beta),
                        relu,
                        &saved,
                        &w,
                        &mut gx,
                        (&mut gg, &mut gb),
                    );
                    let h = 3e-3f32;
                    let central = |f: &dyn Fn(f32) -> f64| (f(h) - f(-h)) / (2.0 * h as f64);
                    for i in [0, 5, 40, 77, 150, 221] {
                        let fd = central(&|d| {
                            let mut xd = x.clone();
                            xd[i] += d;
                            loss(&xd, shape, (&gamma, &beta), relu, &w)
                        });
                        assert!(
                            (fd - gx[i] as f64).abs() < 2e-2,
                            "{isa:?} x[{i}]: {fd} vs {}",
                            gx[i]
                        );
                    }
                    for ch in 0..3 {
                        let fd = central(&|d| {
                            let mut gd = gamma.clone();
                            gd[ch] += d;
                            loss(&x, shape, (&gd, &beta), relu, &w)
                        });
                        assert!(
                            (fd - gg[ch] as f64).abs() < 2e-2,
                            "{isa:?} γ[{ch}]: {fd} vs {}",
                            gg[ch]
                        );
                        let fd = central(&|d| {
                            let mut bd = beta.clone();
                            bd[ch] += d;
                            loss(&x, shape, (&gamma, &bd), relu, &w)
                        });
                        assert!(
                            (fd - gb[ch] as f64).abs() < 2e-2,
                            "{isa:?} β[{ch}]: {fd} vs {}",
                            gb[ch]
                        );
                    }
                });
            }
        }
    }

    #[test]
    fn the_fused_add_matches_norm_then_add_on_every_instruction_set() {
        let mut rng = Lcg(3);
        let shape = Planes { n: 1, c: 4, hw: 45 };
        let x = rng.vec(shape.c * shape.hw, 3.0);
        let skip = rng.vec(x.len(), 1.0);
        let (gamma, beta) = (rng.vec(4, 1.0), rng.vec(4, 1.0));
        for isa in Isa::supported() {
            let (mut want, mut got) = (vec![0.0; x.len()], skip.clone());
            Isa::with(isa, || {
                instance_norm(&x, shape, (&gamma, &beta), false, &mut want, None);
                instance_norm_add(&x, shape, (&gamma, &beta), None, &mut got);
            });
            want.iter_mut().zip(&skip).for_each(|(w, s)| *w += s);
            assert_eq!(got, want, "{isa:?}");
        }
    }

    #[test]
    fn given_moments_replace_the_measured_ones() {
        let mut rng = Lcg(4);
        let shape = Planes { n: 1, c: 2, hw: 30 };
        let x = rng.vec(60, 2.0);
        let (gamma, beta) = (vec![1.0; 2], vec![0.0; 2]);
        let mut out = vec![0.0; 60];
        let measured = instance_norm_with(&x, shape, (&gamma, &beta), false, None, &mut out);
        let mut again = vec![0.0; 60];
        instance_norm_with(
            &x,
            shape,
            (&gamma, &beta),
            false,
            Some(&measured),
            &mut again,
        );
        assert_eq!(again, out);
        // Moments of another image: plane 0 normalised by mean 1 and rstd 2.
        let given = [
            Moments {
                mean: 1.0,
                rstd: 2.0,
            },
            measured[1],
        ];
        instance_norm_with(&x, shape, (&gamma, &beta), false, Some(&given), &mut again);
        assert!((again[3] - (x[3] - 1.0) * 2.0).abs() < 1e-6);
        assert_eq!(&again[30..], &out[30..]);
    }
}
