//! What every handler shares: the database, the admin token, scoring, the
//! response cache and the request metrics. Its own module, so handlers and
//! the router (`app`) import it without importing each other.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::auth::AdminToken;
use crate::cache::ResponseCache;
use crate::db::{Backend, Db};
use crate::scoring::Scoring;

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub backend: Backend,
    pub admin: AdminToken,
    pub scoring: Arc<Scoring>,
    pub public_url: String,
    pub http: Arc<HttpMetrics>,
    pub cache: Arc<ResponseCache>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug)]
pub struct HttpMetrics {
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpMetrics {
    pub fn new() -> HttpMetrics {
        HttpMetrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram),
        }
    }
}

/// The standard methods by name; any other (a client may send any token
/// as a method) is `other`, so requests cannot grow the label set.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn track(State(m): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Matched route templates only, so unknown paths cannot grow the label set.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".into());
    let method = method_label(request.method()).to_owned();
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    m.requests.get_or_create(&labels).inc();
    m.durations
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_method_outside_the_standard_ones_is_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for odd in ["FOO", "BAR1", "PROPFIND", "TRACE", "CONNECT"] {
            let m = Method::from_bytes(odd.as_bytes()).expect("a token");
            assert_eq!(method_label(&m), "other", "{odd}");
        }
    }
}
