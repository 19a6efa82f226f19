//! Candle custom ops for the VGG path: fused 3×3 convolution + bias + ReLU whose backward
//! computes the input gradient only, and a 2×2 max-pool with a correct gradient.
//!
//! Candle's own conv2d backward always computes a kernel gradient and goes through a slow
//! transposed convolution; its max-pool backward scales gradients wrongly. These ops replace
//! both. Forward passes run the kernels in [`cpu`]; backward passes are written with tensor
//! ops (and these same ops), so they do not depend on the device. On the CPU the engine does
//! not use these backward passes: `model::tape` runs the network's own backward kernels.

pub mod cpu;

use std::sync::{Arc, OnceLock};

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use cpu::conv::ConvKernel;
use cpu::conv3x3::Conv3x3Weights;
use cpu::{Mask, Precision};

impl From<candle_core::Error> for crate::Error {
    fn from(e: candle_core::Error) -> Self {
        crate::Error::Backend(Box::new(e))
    }
}

/// Returns the contiguous f32 data and NCHW dims of a CPU tensor argument.
fn nchw<'a>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<(&'a [f32], [usize; 4])> {
    let data = match storage {
        CpuStorage::F32(v) => v,
        _ => candle_core::bail!("{name}: only f32 is supported"),
    };
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{name}: input must be contiguous")))?;
    let dims: [usize; 4] = layout
        .dims()
        .try_into()
        .map_err(|_| candle_core::Error::Msg(format!("{name}: expected an NCHW tensor")))?;
    Ok((&data[start..end], dims))
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
            .run(x, Mask::None, n, h, w, self.relu, &mut out);
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
