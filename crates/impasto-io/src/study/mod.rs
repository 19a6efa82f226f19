//! Rating studies on disk: the study's folder and file ([`layout`]).

pub mod layout;

pub use layout::{Item, Study};
