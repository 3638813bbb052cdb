//! chaos-api: the system of record and the public face of SRE Chaos
//! Challenge. Contributors and their API keys, run windows, scoring from
//! Prometheus (or the built-in scraper) with the rules of
//! [`chaos_domain::scoring`], and the leaderboard as JSON and as pages.

pub mod api;
pub mod app;
pub mod auth;
pub mod cache;
pub mod charts;
pub mod config;
pub mod db;
pub mod error;
pub mod openapi;
pub mod scoring;
pub mod store;
pub mod tracker;
pub mod ui;

pub use app::{AppState, Running, router, start};
pub use config::Config;
