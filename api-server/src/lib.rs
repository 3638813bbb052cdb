//! chaos-api: the system of record and the public face of SRE Chaos
//! Challenge. Contributors and their API keys, run windows, scoring from
//! Prometheus (or the built-in scraper) with the rules of
//! [`chaos_domain::scoring`], and the leaderboard as JSON and as pages.

pub mod app;
pub mod auth;
pub mod cache;
pub mod charts;
pub mod config;
pub mod contributors;
pub mod db;
pub mod error;
pub mod http;
pub mod leaderboard;
pub mod openapi;
pub mod pages;
pub mod rules;
pub mod runs;
pub mod scores;
pub mod scoring;
pub mod state;
#[cfg(feature = "tracker")]
pub mod tracker;

pub use app::{Running, router, start};
pub use config::Config;
pub use state::AppState;
