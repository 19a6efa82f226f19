//! Hand-written CPU kernels for the VGG path. They know nothing of tensors or autodiff.

pub mod conv3x3;
pub mod gemm_avx512;
pub mod gemm_bf16;
pub mod maxpool;
