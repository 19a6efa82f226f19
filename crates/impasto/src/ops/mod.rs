//! Candle custom ops for the VGG path: fused 3×3 convolution + bias + ReLU whose backward
//! computes the input gradient only, a 2×2 max-pool with a correct gradient, and Gram matrices.
//!
//! Candle's own conv2d backward always computes a kernel gradient and goes through a slow
//! transposed convolution; its max-pool backward scales gradients wrongly; its matmul runs AVX2
//! only and does not know that `F·Fᵀ` is symmetric. These ops replace all three. Forward passes
//! run the kernels in [`cpu`]. The convolution and max-pool backward passes are written with
//! tensor ops (and these same ops), so they do not depend on the device; on the CPU the engine
//! does not use them: `model::tape` runs the network's own backward kernels. The Gram backward
//! pass is a CPU kernel too, which the engine does use (off the CPU, [`Gram`] is candle's matmul).

use std::sync::{Arc, OnceLock};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use impasto_kernels::conv::{Conv3x3Weights, ConvInput, ConvKernel};
use impasto_kernels::{self as cpu, Precision};

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

/// 3×3 convolution (stride 1, zero padding 1) + bias, optionally followed by ReLU.
/// The weights are constants held by the op: no weight gradient exists.
#[derive(Clone)]
pub struct Conv3x3 {
    weights: Arc<LazyKernel>,
    adjoint: Arc<LazyKernel>,
    relu: bool,
}

/// A kernel prepared on first use: transformed weights cost memory, and most runs never
/// reach the deepest layers.
struct LazyKernel {
    raw: Arc<Conv3x3Weights>,
    /// Whether this is the adjoint (input-gradient) convolution of `raw`.
    adjoint: bool,
    precision: Precision,
    cell: OnceLock<ConvKernel>,
}

impl LazyKernel {
    /// The kernel, prepared now if this is its first use.
    fn get(&self) -> &ConvKernel {
        self.cell.get_or_init(|| {
            let w = if self.adjoint {
                self.raw.adjoint()
            } else {
                (*self.raw).clone()
            };
            ConvKernel::new(w, self.precision)
        })
    }
}

impl Conv3x3 {
    /// An op for these weights (`[cout, cin, 3, 3]`, bias `[cout]`), its products run in
    /// `precision`.
    pub fn new(weights: Conv3x3Weights, relu: bool, precision: Precision) -> Self {
        let raw = Arc::new(weights);
        let lazy = |adjoint| {
            Arc::new(LazyKernel {
                raw: raw.clone(),
                adjoint,
                precision,
                cell: OnceLock::new(),
            })
        };
        Self {
            weights: lazy(false),
            adjoint: lazy(true),
            relu,
        }
    }

    /// Input channels.
    pub fn cin(&self) -> usize {
        let r = &self.weights.raw;
        if self.weights.adjoint {
            r.cout
        } else {
            r.cin
        }
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        let r = &self.weights.raw;
        if self.weights.adjoint {
            r.cin
        } else {
            r.cout
        }
    }

    /// The CPU kernels: forward, and adjoint (input gradient, no bias).
    pub fn kernels(&self) -> (&ConvKernel, &ConvKernel) {
        (self.weights.get(), self.adjoint.get())
    }

    /// The adjoint convolution (no bias, no ReLU): applied to an output gradient it gives the
    /// input gradient of the convolution alone.
    fn adjoint_op(&self) -> Conv3x3 {
        Conv3x3 {
            weights: self.adjoint.clone(),
            adjoint: self.weights.clone(),
            relu: false,
        }
    }

    /// Applies the op to an `[n, cin, h, w]` tensor.
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op1(self.clone())
    }
}

impl CustomOp1 for Conv3x3 {
    fn name(&self) -> &'static str {
        "impasto-conv3x3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, [n, c, h, w]) = nchw(self.name(), s, l)?;
        if c != self.cin() {
            candle_core::bail!("conv3x3: {c} input channels, weights expect {}", self.cin());
        }
        let mut out = vec![0.0f32; n * self.cout() * h * w];
        self.weights
            .get()
            .run(ConvInput::new(x, n, h, w), self.relu, &mut out);
        Ok((CpuStorage::F32(out), Shape::from((n, self.cout(), h, w))))
    }

    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let adjoint = self.adjoint_op();
        if !self.relu {
            return Ok(Some(adjoint.apply(grad)?));
        }
        Ok(Some(adjoint.apply(&relu_mask(grad, res)?)?))
    }
}

/// `grad · [res > 0]` with tensor ops (any device): the ReLU derivative.
fn relu_mask(grad: &Tensor, res: &Tensor) -> candle_core::Result<Tensor> {
    grad.mul(&res.gt(0.0)?.to_dtype(grad.dtype())?)
}

/// 2×2 max-pool, stride 2. The gradient of a window goes to its maximum; ties share it equally.
#[derive(Clone, Copy)]
pub struct MaxPool2x2;

impl MaxPool2x2 {
    /// Applies the op to an `[n, c, h, w]` tensor, giving `[n, c, h/2, w/2]`.
    pub fn apply(x: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op1(MaxPool2x2)
    }
}

impl CustomOp1 for MaxPool2x2 {
    fn name(&self) -> &'static str {
        "impasto-maxpool2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, [n, c, h, w]) = nchw(self.name(), s, l)?;
        let mut out = vec![0.0f32; n * c * (h / 2) * (w / 2)];
        cpu::maxpool::maxpool2x2(x, n * c, h, w, &mut out, None);
        Ok((CpuStorage::F32(out), Shape::from((n, c, h / 2, w / 2))))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(maxpool_grad(x, res, grad)?))
    }
}

/// Max-pool input gradient with tensor ops (any device): each window's gradient goes to its
/// maxima, shared equally between ties; dropped odd rows and columns get zero.
fn maxpool_grad(x: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (oh, ow) = (2 * (h / 2), 2 * (w / 2));
    let xc = x.narrow(2, 0, oh)?.narrow(3, 0, ow)?;
    let mask = xc
        .eq(&res.upsample_nearest2d(oh, ow)?)?
        .to_dtype(grad.dtype())?;
    let ties = (mask.avg_pool2d(2)? * 4.0)?;
    grad.div(&ties)?
        .upsample_nearest2d(oh, ow)?
        .mul(&mask)?
        .pad_with_zeros(2, 0, h - oh)?
        .pad_with_zeros(3, 0, w - ow)
}

/// Gram matrices `F·Fᵀ / (C·H·W)` of `[n, c, h, w]` features, as `[n, c, c]`. On the CPU the
/// kernels in [`cpu::gram`] run both ways; elsewhere candle's matmul.
#[derive(Clone, Copy)]
pub struct Gram;

impl Gram {
    /// Applies the op to an `[n, c, h, w]` f32 tensor.
    pub fn apply(x: &Tensor) -> candle_core::Result<Tensor> {
        if x.device().is_cpu() {
            return x.contiguous()?.apply_op1(Gram);
        }
        let (n, c, h, w) = x.dims4()?;
        let f = x.reshape((n, c, h * w))?;
        f.matmul(&f.t()?)? / (c * h * w) as f64
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
    fn conv_relu_gradient_matches_finite_differences() {
        // Biases of ±3 keep every pre-activation far from the ReLU kink (inputs are small),
        // so finite differences are exact up to rounding; half the channels are masked off.
        let mut rng = Lcg(11);
        let w = Conv3x3Weights {
            cout: 4,
            cin: 3,
            w: rng.vec(108, 0.5),
            bias: vec![3.0, -3.0, 3.0, -3.0],
        };
        let op = Conv3x3::new(w, true, Precision::F32);
        grad_check(|x| op.apply(x), (2, 3, 6, 5), 0.3, 5);
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

    #[test]
    fn maxpool_gradient_matches_finite_differences() {
        grad_check(MaxPool2x2::apply, (1, 2, 7, 6), 1.0, 9);
    }

    /// The gradient of sum(maxpool(x)) for one 2×2 window.
    fn pool_grad(x: [f32; 4]) -> Vec<f32> {
        let x = Var::from_vec(x.to_vec(), (1, 1, 2, 2), &Device::Cpu).unwrap();
        let y = MaxPool2x2::apply(x.as_tensor()).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        g.get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn maxpool_gradient_is_not_scaled_down() {
        // Candle's built-in max-pool backward gives 1/4 here; the right answer is 1.
        assert_eq!(pool_grad([1.0, 5.0, 2.0, 3.0]), vec![0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn maxpool_ties_share_the_gradient() {
        assert_eq!(pool_grad([4.0, 4.0, 1.0, 0.0]), vec![0.5, 0.5, 0.0, 0.0]);
    }
}
