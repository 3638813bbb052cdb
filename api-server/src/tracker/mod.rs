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

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// Serves the tracker on its own listener until `shutdown`. The task ends
/// once requests in flight are answered, so every acknowledged run is
/// handed to the writer, which commits it before it stops.
pub async fn serve(
    listen: SocketAddr,
    db: Db,
    backend: crate::db::Backend,
    key: Option<&str>,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} for the local tracker: {e}"))?;
    let addr = listener.local_addr()?;
    if key.is_none() {
        tracing::warn!(
            "LOCAL_TRACKER_API_KEY is not set: the local tracker accepts runs with any x-api-key or none"
        );
    }
    let state = TrackerState::new(db, key, backend)
        .map_err(|e| anyhow::anyhow!("cannot start the local tracker's writer: {e}"))?;
    let app = router(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "local tracker failed");
        }
    });
    tracing::info!(url = %format!("http://{addr}"), "local tracker serving (unofficial)");
    Ok((addr, task))
}
