//! The public API: the earlier url-anvil's endpoints, the corpus, health.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use chaos_domain::corpus::{HASH_SEPARATOR, RunNonce, hex};

use crate::error::ApiError;
use crate::faults::Verdict;
use crate::metrics::to_classic_text;
use crate::state::{AppState, TestResult};

/// The documents `/api/sample-urls` offers.
const SAMPLE_IDS: [u32; 5] = [1, 2, 3, 4, 5];

const INDEX: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>url-anvil</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>url-anvil</h1>
<p>The standard target service of SRE Chaos Challenge. Build your infrastructure around it;
it has a fixed capacity, the same for everyone.</p>
<ul>
<li><code>GET /api/sample-urls</code>: corpus URLs to test, a JSON array
(<code>?format=request</code>: the same as a body ready for <code>POST /api/test</code>)</li>
<li><code>POST /api/test</code> with <code>{"urls": [...]}</code>: fetch them and hash the bodies
joined by <code>\n---\n</code></li>
<li><code>GET /api/history</code>: the last 10 tests</li>
<li><code>GET /metrics</code>, <code>/healthz</code>, <code>/readyz</code></li>
</ul></body></html>"#;

pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleQuery {
    format: Option<String>,
}

/// A bare JSON array by default, as the earlier url-anvil answered (its
/// public solutions post `{"urls": <this answer>}`); `?format=request`
/// gives the object form, ready to post as it is.
pub async fn sample_urls(
    State(state): State<AppState>,
    query: Result<Query<SampleQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let base = &state.shared.settings.public_url;
    let urls: Vec<String> = SAMPLE_IDS
        .iter()
        .map(|id| format!("{base}/corpus/{id}"))
        .collect();
    match query.format.as_deref() {
        None | Some("array") => Ok(Json(json!(urls))),
        Some("request") => Ok(Json(json!({ "urls": urls }))),
        Some(other) => Err(ApiError::bad_request(format!(
            "format {other:?} is not known: use \"array\" (the default) or \"request\""
        ))),
    }
}

pub async fn history(State(state): State<AppState>) -> Json<Vec<TestResult>> {
    let h = state.history.lock().unwrap_or_else(|e| e.into_inner());
    Json(h.iter().cloned().collect())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusQuery {
    run: Option<String>,
}

/// A corpus document. Reading one costs the same capacity as a one-URL
/// test: otherwise an app could read documents for free and hash them
/// itself, answering without url-anvil's work.
pub async fn corpus(
    State(state): State<AppState>,
    id: Result<Path<u32>, PathRejection>,
    query: Result<Query<CorpusQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let run = match query.run.as_deref() {
        None => None,
        Some(n) => Some(RunNonce::parse(n).map_err(|e| ApiError::bad_request(e.to_string()))?),
    };
    let work = Work::admit(&state).await?;
    let doc = state
        .shared
        .corpus
        .get(id, run.as_ref())
        .ok_or_else(|| ApiError::not_found(format!("corpus document {id} does not exist")))?;
    work.finish(&doc).await;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], doc).into_response())
}

/// The capacity one unit of url-anvil's work takes: a slot, its memory,
/// its service time and CPU. Held from admission until `finish`.
struct Work<'a> {
    _slot: Option<tokio::sync::SemaphorePermit<'a>>,
    ballast: Vec<u8>,
    profile: chaos_domain::CapacityProfile,
}

impl<'a> Work<'a> {
    async fn admit(state: &'a AppState) -> Result<Work<'a>, ApiError> {
        let slot = state.limiter.admit().await.map_err(|shed| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: shed.message().to_owned(),
            retry_after: Some(1),
        })?;
        let profile = state.limiter.profile();
        Ok(Work {
            _slot: slot,
            ballast: hold_memory(profile.memory_per_request_kib),
            profile: *profile,
        })
    }

    async fn finish(self, seed: &[u8]) {
        if self.profile.service_time_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.profile.service_time_ms)).await;
        }
        burn_cpu(seed, self.profile.cpu_rounds);
        std::hint::black_box(&self.ballast);
    }
}

#[derive(Debug, Deserialize)]
pub struct TestRequest {
    urls: Vec<String>,
}

pub async fn run_test(
    State(state): State<AppState>,
    body: Result<Json<TestRequest>, JsonRejection>,
) -> Result<Json<TestResult>, ApiError> {
    let Json(request) = body?;
    let settings = &state.shared.settings;
    if request.urls.is_empty() {
        return Err(ApiError::bad_request("urls must hold at least one URL"));
    }
    if request.urls.len() > settings.max_urls {
        return Err(ApiError::bad_request(format!(
            "urls holds {} URLs; at most {} are allowed",
            request.urls.len(),
            settings.max_urls
        )));
    }
    // Cheap refusals first: bad input never takes a capacity slot.
    let sources = request
        .urls
        .iter()
        .map(|u| state.shared.fetcher.classify(u))
        .collect::<Result<Vec<_>, _>>()?;

    let work = Work::admit(&state).await?;

    let mut hasher = Sha256::new();
    let mut total_fetch = Duration::ZERO;
    for (i, source) in sources.iter().enumerate() {
        let started = Instant::now();
        let body = state
            .shared
            .fetcher
            .fetch(source, &state.shared.corpus)
            .await?;
        total_fetch += started.elapsed();
        if i > 0 {
            hasher.update(HASH_SEPARATOR);
        }
        hasher.update(&body);
    }
    let digest = hasher.finalize();
    work.finish(&digest).await;

    let total_ms = total_fetch.as_secs_f64() * 1000.0;
    let result = TestResult {
        urls_tested: sources.len(),
        total_fetch_time_ms: round2(total_ms),
        average_fetch_time_ms: round2(total_ms / sources.len() as f64),
        content_hash: hex(&digest),
        timestamp: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
    };
    state.remember(result.clone());
    Ok(Json(result))
}

/// Memory an admitted request holds, touched so it is really resident.
fn hold_memory(kib: u32) -> Vec<u8> {
    let mut buf = vec![0u8; kib as usize * 1024];
    for page in buf.chunks_mut(4096) {
        page[0] = 1;
    }
    buf
}

fn burn_cpu(seed: &[u8], rounds: u32) {
    let mut digest = Sha256::digest(seed);
    for _ in 0..rounds {
        digest = Sha256::digest(digest);
    }
    std::hint::black_box(digest);
}

/// Two decimals, as the earlier url-anvil's `toFixed(2)`.
fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining" })),
        )
            .into_response()
    } else {
        Json(json!({ "status": "ready" })).into_response()
    }
}

/// Prometheus asks for OpenMetrics and gets it; everyone else gets the
/// classic text format.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let text = state
        .metrics
        .encode()
        .map_err(|_| ApiError::internal("metrics could not be encoded"))?;
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    Ok(if wants_openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            to_classic_text(&text),
        )
            .into_response()
    })
}

/// 405 as JSON, like every other error.
pub async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::method_not_allowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
}

pub async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// Middleware: applies injected faults to every public route.
pub async fn apply_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.faults.wait_while_frozen().await;
    match state.faults.verdict() {
        Verdict::Fail { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            ApiError::injected(status).into_response()
        }
        Verdict::Proceed { extra_latency } => {
            if !extra_latency.is_zero() {
                tokio::time::sleep(extra_latency).await;
            }
            next.run(request).await
        }
    }
}
