//! The leaderboard, read from the score records: the board as JSON and as
//! a page. Records and bests are written by `crate::scores`.

pub mod api;
pub mod page;
pub mod store;
