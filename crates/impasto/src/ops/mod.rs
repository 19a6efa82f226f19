//! Candle custom ops over the CPU kernels, for the losses that candle differentiates: Gram
//! matrices, both ways.
//!
//! Candle's matmul runs AVX2 only and does not know that `F·Fᵀ` is symmetric; [`Gram`] runs
//! the kernels in [`cpu::gram`] instead. (The network itself is not a candle graph:
//! `model::tape` runs its forward and backward kernels.)

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use impasto_kernels as cpu;

/// Returns the contiguous f32 data and the `N` dims of a CPU tensor argument.
fn dense<'a, const N: usize>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<(&'a [f32], [usize; N])> {
    let data = match storage {
        CpuStorage::F32(v) => v,
        _ => candle_core::bail!("{name}: only f32 is supported"),
    };
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{name}: input must be contiguous")))?;
    let dims: [usize; N] = layout
        .dims()
        .try_into()
        .map_err(|_| candle_core::Error::Msg(format!("{name}: expected {N} dims")))?;
    Ok((&data[start..end], dims))
}

/// Returns the contiguous f32 data and NCHW dims of a CPU tensor argument.
fn nchw<'a>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<(&'a [f32], [usize; 4])> {
    dense(name, storage, layout)
}

/// Gram matrices `F·Fᵀ / (C·H·W)` of `[n, c, h, w]` features, as `[n, c, c]`, by the
/// kernels in [`cpu::gram`] both ways.
#[derive(Clone, Copy)]
pub struct Gram;

impl Gram {
    /// Applies the op to an `[n, c, h, w]` f32 CPU tensor.
    pub fn apply(x: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op1(Gram)
    }
}

impl CustomOp1 for Gram {
    fn name(&self) -> &'static str {
        "impasto-gram"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (f, [n, c, h, w]) = nchw(self.name(), s, l)?;
        let hw = h * w;
        let mut out = vec![0.0f32; n * c * c];
        for (f, out) in f.chunks_exact(c * hw).zip(out.chunks_exact_mut(c * c)) {
            cpu::gram::gram(f, c, hw, 1.0 / (c * hw) as f32, out);
        }
        Ok((CpuStorage::F32(out), Shape::from((n, c, c))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            x.apply_op2_no_bwd(&grad.contiguous()?, &GramBackward)?,
        ))
    }
}

/// The gradient of [`Gram`] (CPU): `(features [n, c, h, w], grad [n, c, c])` to the features'.
struct GramBackward;

impl CustomOp2 for GramBackward {
    fn name(&self) -> &'static str {
        "impasto-gram-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (f, [n, c, h, w]) = nchw(self.name(), s1, l1)?;
        let (g, dims) = dense::<3>(self.name(), s2, l2)?;
        if dims != [n, c, c] {
            candle_core::bail!(
                "gram backward: gradient {dims:?} for features {:?}",
                l1.dims()
            );
        }
        let hw = h * w;
        let mut out = vec![0.0f32; f.len()];
        let images = f.chunks_exact(c * hw).zip(g.chunks_exact(c * c));
        for ((f, g), out) in images.zip(out.chunks_exact_mut(c * hw)) {
            cpu::gram::gram_backward(f, g, c, hw, 1.0 / (c * hw) as f32, out);
        }
        Ok((CpuStorage::F32(out), Shape::from((n, c, h, w))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;
    use candle_core::{Device, Var};

    /// Checks d(sum(op(x) * r))/dx from autodiff against central finite differences.
    fn grad_check(
        op: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
        dims: (usize, usize, usize, usize),
        scale: f32,
        seed: u64,
    ) {
        let dev = Device::Cpu;
        let mut rng = Lcg(seed);
        let n = dims.0 * dims.1 * dims.2 * dims.3;
        let x0 = rng.vec(n, scale);
        let x = Var::from_vec(x0.clone(), dims, &dev).unwrap();
        let y = op(x.as_tensor()).unwrap();
        let r = Tensor::from_vec(rng.vec(y.elem_count(), 1.0), y.shape(), &dev).unwrap();
        let loss = |t: &Tensor| -> f64 {
            op(t)
                .unwrap()
                .mul(&r)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap() as f64
        };
        let grads = y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
        let g: Vec<f32> = grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let eps = 1e-2f32;
        for i in (0..n).step_by((n / 40).max(1)) {
            let mut p = x0.clone();
            p[i] += eps;
            let lp = loss(&Tensor::from_vec(p.clone(), dims, &dev).unwrap());
            p[i] -= 2.0 * eps;
            let lm = loss(&Tensor::from_vec(p, dims, &dev).unwrap());
            let fd = (lp - lm) / (2.0 * eps as f64);
            assert!(
                (fd - g[i] as f64).abs() < 2e-2 * fd.abs().max(1.0),
                "element {i}: finite difference {fd}, autodiff {}",
                g[i]
            );
        }
    }

    #[test]
    fn gram_gradient_matches_finite_differences() {
        // Few elements per image (a large 1/(C·H·W)) and large inputs keep the gradient well
        // above the check's absolute floor.
        grad_check(Gram::apply, (2, 3, 2, 3), 30.0, 13);
    }

    /// By hand: `RAYON_NUM_THREADS=1 cargo test --release -p impasto gram_throughput --
    /// --ignored --nocapture` (then with 2). Gram forward and backward on relu1_1 and relu4_1
    /// sizes: ours against candle's matmuls, in GFLOP/s of the `2·c²·hw` a full product takes.
    #[test]
    #[ignore]
    fn gram_throughput() {
        use std::time::Instant;
        let best = |run: &mut dyn FnMut()| {
            run();
            (0..10)
                .map(|_| {
                    let start = Instant::now();
                    run();
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut rng = Lcg(3);
        for (c, hw) in [(64, 262144), (512, 4096)] {
            let (f, dg) = (rng.vec(c * hw, 1.0), rng.vec(c * c, 1.0));
            let scale = 1.0 / (c * hw) as f32;
            let (mut g, mut df) = (vec![0.0; c * c], vec![0.0; c * hw]);
            let ours_fwd = best(&mut || cpu::gram::gram(&f, c, hw, scale, &mut g));
            let ours_bwd = best(&mut || cpu::gram::gram_backward(&f, &dg, c, hw, scale, &mut df));
            let ft = Tensor::from_vec(f.clone(), (c, hw), &Device::Cpu).unwrap();
            let gt = Tensor::from_vec(dg.clone(), (c, c), &Device::Cpu).unwrap();
            let candle_fwd = best(&mut || drop(ft.matmul(&ft.t().unwrap()).unwrap()));
            // Candle's matmul backward: grad·F for the left factor, Fᵀ·grad for the right.
            let candle_bwd = best(&mut || {
                drop(gt.matmul(&ft).unwrap());
                drop(ft.t().unwrap().matmul(&gt).unwrap());
            });
            let gflops = |s: f64| 2.0 * (c * c * hw) as f64 / s / 1e9;
            eprintln!(
                "{} threads, c={c} hw={hw}: forward ours {:.1} GFLOP/s ({:.2} ms), candle {:.1} ({:.2} ms); \
                 backward ours {:.1} ({:.2} ms), candle {:.1} ({:.2} ms)",
                rayon::current_num_threads(),
                gflops(ours_fwd),
                ours_fwd * 1e3,
                gflops(candle_fwd),
                candle_fwd * 1e3,
                gflops(ours_bwd),
                ours_bwd * 1e3,
                gflops(candle_bwd),
                candle_bwd * 1e3,
            );
        }
    }
}
