//! Runs: a contributor's challenge window from registration to score;
//! its API, its store and its page.

pub mod api;
pub mod page;
pub mod store;
pub mod wire;
