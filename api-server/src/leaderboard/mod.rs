//! Scores and the leaderboard: score records, each contributor's best,
//! the board as JSON and as a page.

pub mod api;
pub mod page;
pub mod store;
