//! Rating studies on disk: the study's folder and file ([`layout`]), made from folders of
//! results ([`matching`], [`create`]) with broken copies for gold trials ([`gold`]); the
//! answers' database ([`store`]), its CSV ([`export`]) and the report's plot ([`plot`]).

pub mod create;
pub mod export;
pub mod gold;
pub mod layout;
pub mod matching;
pub mod plot;
pub mod store;

pub use create::{create, NewStudy};
pub use layout::{Item, Study};
pub use matching::{match_items, Matched, Matching, Source};
pub use store::{Answer, AnswerRow, Joined, NewRater, RaterRow, Response, Store};
