//! Video support for temporally consistent stylisation (Ruder et al., "Artistic style transfer
//! for videos", GCPR 2016): dense optical flow, backward warping and occlusion detection, and
//! the frame-by-frame stylizer built on them ([`stylize`]).
//!
//! [`flow`] estimates flow with DIS (Kroeger et al., "Fast Optical Flow using Dense Inverse
//! Search", ECCV 2016); [`warp`] warps images along a flow and finds the pixels where the warp
//! cannot be trusted (forward-backward consistency, Sundaram et al. ECCV 2010); [`gray`] holds
//! the grayscale image and bilinear sampling they share; [`metric`] measures a stylised video's
//! temporal consistency by its warping error (Lai et al., ECCV 2018). [`fast`] stylises a video
//! with a one-pass network, [`steady`] keeping its frames steady along the flow.

pub mod fast;
pub mod flow;
pub mod gray;
pub mod metric;
pub mod steady;
pub mod stylize;
pub mod warp;

pub use fast::{FastFrame, FastVideo};
pub use flow::{dense_flow, Flow, FlowParams};
pub use gray::Gray;
pub use metric::{masked_mse, WarpingError};
pub use steady::{Motion, Steadied, Steadier, SteadySettings};
pub use stylize::{Frame, VideoSettings, VideoStylizer};
pub use warp::{occlusion_mask, warp_rgb};
