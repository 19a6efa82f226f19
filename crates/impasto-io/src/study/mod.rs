//! Rating studies on disk: the study's folder and file ([`layout`]) and its answers'
//! database ([`store`]).

pub mod layout;
pub mod store;

pub use layout::{Item, Study};
pub use store::{Answer, AnswerRow, Joined, NewRater, RaterRow, Response, Store};
