//! The application: shared state, the router, and serving.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::AdminToken;
use crate::cache::ResponseCache;
use crate::config::Config;
use crate::db::{self};
use crate::error::ApiError;
use crate::leaderboard::store as scores;
use crate::scoring::Scoring;
use crate::scoring::prometheus::PrometheusSource;
use crate::state::{AppState, HttpMetrics, track};
use crate::{contributors, leaderboard, openapi, runs};

/// Largest request body accepted anywhere.
pub const MAX_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Redirect::to("/leaderboard/robust-service") }),
        )
        .route(
            "/leaderboard/{challenge}",
            get(leaderboard::page::leaderboard),
        )
        .route("/runs/{id}", get(runs::page::run))
        .route("/rules", get(crate::rules::page))
        .route("/contributors/{name}", get(contributors::page::contributor))
        .route(
            "/api/v1/contributors",
            post(contributors::api::register).get(contributors::api::list),
        )
        .route(
            "/api/v1/contributors/{name}",
            get(contributors::api::get)
                .delete(contributors::api::deregister)
                .patch(contributors::api::update),
        )
        .route(
            "/api/v1/contributors/{name}/challenge",
            put(contributors::api::switch),
        )
        .route(
            "/api/v1/contributors/{name}/reactivate",
            post(contributors::api::reactivate),
        )
        .route(
            "/api/v1/contributors/{name}/key",
            post(contributors::api::rotate_key),
        )
        .route(
            "/api/v1/contributor-imports",
            post(contributors::import::import)
                .layer(DefaultBodyLimit::max(contributors::import::MAX_BODY)),
        )
        .route(
            "/api/v1/register-influencer",
            post(contributors::api::register_influencer),
        )
        .route("/api/v1/runs", post(runs::api::create).get(runs::api::list))
        .route("/api/v1/runs/{id}", get(runs::api::get))
        .route("/api/v1/runs/{id}/start", post(runs::api::start))
        .route("/api/v1/runs/{id}/end", post(runs::api::end))
        .route("/api/v1/runs/{id}/score", post(runs::api::score))
        .route("/api/v1/runs/{id}/interrupt", post(runs::api::interrupt))
        .route(
            "/api/v1/leaderboard/{challenge}",
            get(leaderboard::api::get),
        )
        .route("/api/openapi.json", get(openapi::document_handler))
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(from_fn_with_state(state.http.clone(), track))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(&state.db).await {
        Ok(_) => axum::Json(json!({ "status": "ready" })).into_response(),
        // The cause goes to the log, not to whoever polls the probe.
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "database unreachable", "error": "the database does not answer" })),
            )
                .into_response()
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScoreLabels {
    contributor: String,
    challenge: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// HTTP metrics, the best score of every contributor in every challenge
/// (for Grafana), and runs by state.
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut registry = Registry::default();
    registry.register(
        "chaos_api_http_requests",
        "HTTP requests answered",
        state.http.requests.clone(),
    );
    registry.register_with_unit(
        "chaos_api_http_request_duration",
        "HTTP request latency",
        Unit::Seconds,
        state.http.durations.clone(),
    );
    let best = Family::<ScoreLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    for (challenge, contributor, score) in scores::best_all(&state.db).await? {
        best.get_or_create(&ScoreLabels {
            contributor,
            challenge,
        })
        .set(score);
    }
    registry.register(
        "chaos_best_score",
        "Best score of each contributor in each challenge",
        best,
    );
    let by_state = Family::<StateLabels, Gauge>::default();
    for (s, n) in crate::runs::store::count_by_state(&state.db).await? {
        by_state.get_or_create(&StateLabels { state: s }).set(n);
    }
    registry.register("chaos_runs", "Runs by state", by_state);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|_| ApiError::internal("metrics could not be encoded"))?;
    Ok((
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// A running server, for embedding and tests.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    /// The local tracker's address, when it is enabled.
    pub tracker_addr: Option<SocketAddr>,
    pub state: AppState,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Opens the database, starts scoring and serves on `listener`.
pub async fn start(config: &Config, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let (db, backend) = db::connect(&config.database, config.database_wait).await?;
    let prometheus = config
        .prometheus_url
        .as_deref()
        .map(PrometheusSource::new)
        .transpose()?;
    let cache = Arc::new(ResponseCache::new(config.leaderboard_cache));
    let scoring = Arc::new(Scoring::new(
        db.clone(),
        cache.clone(),
        prometheus,
        config.scrape_interval,
        config.scoring_settle,
        config.scoring_max_backoff,
    ));
    // Runs left open by a crash are closed before scraping resumes for the rest.
    scoring.sweep().await?;
    scoring.resume().await?;
    let admin_token = config.resolve_admin_token()?;
    if admin_token.is_none() {
        tracing::warn!("no admin token configured: registering contributors and runs is disabled");
    }
    let state = AppState {
        db,
        backend,
        admin: AdminToken::new(admin_token.as_deref()),
        scoring: scoring.clone(),
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", addr.port()))
            .trim_end_matches('/')
            .to_owned(),
        http: Arc::new(HttpMetrics::new()),
        cache,
    };
    let shutdown = CancellationToken::new();
    let (tracker_addr, tracker_task) = if config.enable_local_tracker {
        let (addr, task) = start_tracker(config, &state, shutdown.clone()).await?;
        (Some(addr), Some(task))
    } else {
        (None, None)
    };
    let worker = tokio::spawn(scoring.clone().work(shutdown.clone()));
    let app = router(state.clone());
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "server failed");
        }
        let _ = worker.await;
        // Runs still going keep their samples; a restarted server scrapes on.
        scoring.scraper.stop_all().await;
        if let Some(t) = tracker_task {
            let _ = t.await;
        }
    });
    Ok(Running {
        addr,
        tracker_addr,
        state,
        shutdown,
        task,
    })
}

#[cfg(feature = "tracker")]
async fn start_tracker(
    config: &Config,
    state: &AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let key = config.tracker_api_key.as_deref().filter(|k| !k.is_empty());
    crate::tracker::serve(
        config.tracker_listen,
        state.db.clone(),
        state.backend,
        key,
        shutdown,
    )
    .await
}

/// A build without the tracker says so instead of ignoring the setting.
#[cfg(not(feature = "tracker"))]
async fn start_tracker(
    _: &Config,
    _: &AppState,
    _: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    anyhow::bail!(
        "the local tracker was asked for, but this chaos-api was built without it (cargo feature `tracker`)"
    )
}
