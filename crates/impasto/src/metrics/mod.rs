//! Image-quality metrics used to evaluate stylisation results.

pub mod ssim;

pub mod gram;
