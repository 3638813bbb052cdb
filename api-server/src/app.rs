//! The application: shared state, the router, and serving.

use std::net::SocketAddr;
use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with, put_with};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::AdminToken;
use crate::cache::ResponseCache;
use crate::config::Config;
use crate::db::{self};
use crate::error::ApiError;
use crate::leaderboard::store as scores;
use crate::openapi::Describe;
use crate::scoring::Scoring;
use crate::scoring::prometheus::PrometheusSource;
use crate::state::{AppState, HttpMetrics, track};
use crate::{contributors, leaderboard, openapi, runs};

/// Largest request body accepted anywhere.
pub const MAX_BODY: usize = 64 * 1024;

/// Every documented JSON route: the OpenAPI document is made from these
/// (`openapi::document`), so a route cannot exist undocumented.
pub fn api_routes() -> ApiRouter<AppState> {
    use contributors::api as c;
    use runs::api as r;
    ApiRouter::new()
        .api_route(
            "/api/v1/contributors",
            post_with(c::register, c::register_docs).get_with(c::list, c::list_docs),
        )
        .api_route(
            "/api/v1/contributors/{name}",
            get_with(c::get, c::get_docs)
                .delete_with(c::deregister, c::deregister_docs)
                .patch_with(c::update, c::update_docs),
        )
        .api_route(
            "/api/v1/contributors/{name}/challenge",
            put_with(c::switch, c::switch_docs),
        )
        .api_route(
            "/api/v1/contributors/{name}/reactivate",
            post_with(c::reactivate, c::reactivate_docs),
        )
        .api_route(
            "/api/v1/contributors/{name}/key",
            post_with(c::rotate_key, c::rotate_key_docs),
        )
        .api_route(
            "/api/v1/contributor-imports",
            post_with(contributors::import::import, contributors::import::docs)
                .layer(DefaultBodyLimit::max(contributors::import::MAX_BODY)),
        )
        .api_route(
            "/api/v1/register-influencer",
            post_with(c::register_influencer, c::register_influencer_docs),
        )
        .api_route(
            "/api/v1/runs",
            post_with(r::create, r::create_docs).get_with(r::list, r::list_docs),
        )
        .api_route("/api/v1/runs/{id}", get_with(r::get, r::get_docs))
        .api_route(
            "/api/v1/runs/{id}/start",
            post_with(r::start, r::start_docs),
        )
        .api_route("/api/v1/runs/{id}/end", post_with(r::end, r::end_docs))
        .api_route(
            "/api/v1/runs/{id}/score",
            post_with(r::score, r::score_docs),
        )
        .api_route(
            "/api/v1/runs/{id}/interrupt",
            post_with(r::interrupt, r::interrupt_docs),
        )
        .api_route(
            "/api/v1/leaderboard/{challenge}",
            get_with(leaderboard::api::get, leaderboard::api::docs),
        )
        .api_route(
            "/healthz",
            get_with(healthz, |op| op.id("healthz").summary("Liveness").ok("OK")),
        )
        .api_route(
            "/readyz",
            get_with(readyz, |op| {
                op.id("readyz")
                    .summary("Readiness: the database answers")
                    .answers::<Status>(200, "OK")
                    .answers::<Status>(503, "Database unreachable")
            }),
        )
}

pub fn router(state: AppState) -> Router {
    let mut unused = aide::openapi::OpenApi::default();
    let api = api_routes().finish_api(&mut unused);
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
        .merge(api)
        .route("/api/openapi.json", get(openapi::document_handler))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(from_fn_with_state(state.http.clone(), track))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// What the probes answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Status {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

async fn healthz() -> axum::Json<Status> {
    axum::Json(Status {
        status: "ok",
        error: None,
    })
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
        Ok(_) => axum::Json(Status {
            status: "ready",
            error: None,
        })
        .into_response(),
        // The cause goes to the log, not to whoever polls the probe.
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Status {
                    status: "database unreachable",
                    error: Some("the database does not answer"),
                }),
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
