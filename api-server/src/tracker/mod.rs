//! The local tracker: a personal, unofficial performance notebook. Off
//! unless enabled; when on, it has its own listener (port 8082 in the
//! playgrounds) for its API and pages, its own tables, and nothing in it
//! ever reaches the leaderboard.

pub mod api;
pub mod ingest;
pub mod regression;
pub mod sessions;
pub mod store;
pub mod ui;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{get, post};

use crate::auth::SecretDigest;
use crate::db::Db;
use crate::error::ApiError;

/// Said on every page and in every answer.
pub const NOTICE: &str =
    "Local tracker: unofficial, self-reported numbers. They never affect the leaderboard.";

/// Largest payload accepted.
pub const MAX_PAYLOAD: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct TrackerState {
    pub db: Db,
    pub ingest: ingest::Ingest,
    /// LOCAL_TRACKER_API_KEY; `None` accepts every post, with or without a key.
    pub key: Option<SecretDigest>,
}

impl TrackerState {
    pub fn new(
        db: Db,
        key: Option<&str>,
        backend: crate::db::Backend,
    ) -> std::io::Result<TrackerState> {
        let ingest = ingest::Ingest::start(db.clone(), backend)?;
        Ok(TrackerState {
            db,
            ingest,
            key: key.map(SecretDigest::of),
        })
    }
}

pub fn router(state: TrackerState) -> Router {
    Router::new()
        .route("/", get(ui::page))
        .route("/api/track", post(api::track))
        .route("/api/track/compare", get(api::compare))
        .route("/api/track/runs/{id}", get(api::run))
        .route("/api/track/{user}", get(api::grouped))
        .route("/api/track/{user}/sessions", get(api::sessions))
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .fallback(|r: Request| async move {
            ApiError::not_found(format!("no route for {} {}", r.method(), r.uri().path()))
        })
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
        .with_state(state)
}
