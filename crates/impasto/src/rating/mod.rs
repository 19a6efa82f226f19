//! Human rating studies of results: each rater's trials ([`design`]).

pub mod design;

pub use design::{Design, Mode, Shown, Trial};
