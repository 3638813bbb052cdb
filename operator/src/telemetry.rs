//! `/metrics` (reconciles, failures and their durations per controller),
//! `/healthz` and `/readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    pub controller: String,
}

/// A request the operator made to the Kubernetes API, by HTTP method: the
/// writes (POST, PUT, PATCH, DELETE) are what idle cost is judged by, and
/// the API server's own counters do not say which client made them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabel {
    pub method: String,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<ControllerLabel, Counter>,
    failures: Family<ControllerLabel, Counter>,
    duration: Family<ControllerLabel, Histogram>,
    applies: Family<ControllerLabel, Counter>,
    api_requests: Family<MethodLabel, Counter>,
    leading: Gauge,
    /// Ready once the controllers run, or, with leader election, once a
    /// standby is waiting for the Lease: a standby that reported not ready
    /// would stall every rolling update of a Deployment with more than one
    /// replica (the new pods never become available while the old leader
    /// holds the Lease).
    pub ready: Arc<AtomicBool>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("chaos_operator");
        let reconciles = Family::<ControllerLabel, Counter>::default();
        let failures = Family::<ControllerLabel, Counter>::default();
        let duration = Family::<ControllerLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
        });
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that ended in an error",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles took",
            duration.clone(),
        );
        let applies = Family::<ControllerLabel, Counter>::default();
        registry.register(
            "apply_passes",
            "Passes that applied a resource's children (the costly part of a reconcile)",
            applies.clone(),
        );
        let api_requests = Family::<MethodLabel, Counter>::default();
        registry.register(
            "kube_api_requests",
            "Requests this process sent to the Kubernetes API, by HTTP method",
            api_requests.clone(),
        );
        let leading = Gauge::default();
        registry.register(
            "leading",
            "1 while this replica runs the controllers (holds the Lease, with leader election)",
            leading.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            leading,
            api_requests,
            reconciles,
            failures,
            duration,
            applies,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// `controller`'s counter in `family`.
fn of(family: &Family<ControllerLabel, Counter>, controller: &str) -> Counter {
    family
        .get_or_create(&ControllerLabel {
            controller: controller.into(),
        })
        .clone()
}

impl Metrics {
    pub fn set_leading(&self, leading: bool) {
        self.leading.set(i64::from(leading));
    }

    /// Counts a reconcile and times it until [`Timer::done`].
    pub fn start(&self, controller: &str) -> Timer {
        let label = ControllerLabel {
            controller: controller.into(),
        };
        self.reconciles.get_or_create(&label).inc();
        Timer {
            metrics: self.clone(),
            label,
            start: Instant::now(),
        }
    }

    pub fn applied(&self, controller: &str) {
        of(&self.applies, controller).inc();
    }

    /// Apply passes counted so far for `controller`.
    pub fn apply_passes(&self, controller: &str) -> u64 {
        of(&self.applies, controller).get()
    }

    pub fn failed(&self, controller: &str) {
        of(&self.failures, controller).inc();
    }

    /// A layer for the Kubernetes client that counts its requests.
    pub fn count_kube_requests<B>(
        &self,
    ) -> tower::util::MapRequestLayer<impl Fn(http::Request<B>) -> http::Request<B> + Clone + use<B>>
    {
        let requests = self.api_requests.clone();
        tower::util::MapRequestLayer::new(move |request: http::Request<B>| {
            requests
                .get_or_create(&MethodLabel {
                    method: request.method().as_str().to_owned(),
                })
                .inc();
            request
        })
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

pub struct Timer {
    metrics: Metrics,
    label: ControllerLabel,
    start: Instant,
}

impl Timer {
    pub fn done(self) {
        self.metrics
            .duration
            .get_or_create(&self.label)
            .observe(self.start.elapsed().as_secs_f64());
    }
}

/// Serves the probes and metrics until `stop`.
pub async fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(metrics);
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await?;
    Ok(())
}

async fn metrics_text(State(m): State<Metrics>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
}

async fn readyz(State(m): State<Metrics>) -> impl IntoResponse {
    if m.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not started\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probes_and_metrics_are_served() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let metrics = Metrics::default();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(addr, metrics.clone(), stop.clone()));
        let base = format!("http://{addr}");
        let http = reqwest::Client::new();
        let mut healthy = false;
        for _ in 0..50 {
            if http
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                healthy = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(healthy);
        let status = |path: &'static str| {
            let http = http.clone();
            let base = base.clone();
            async move {
                http.get(format!("{base}{path}"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        };
        assert_eq!(status("/readyz").await, 503);
        metrics.ready.store(true, Ordering::Relaxed);
        assert_eq!(status("/readyz").await, 200);
        metrics.start("contributor").done();
        metrics.failed("contributor");
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            text.contains("chaos_operator_reconciles_total{controller=\"contributor\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("chaos_operator_reconcile_failures_total{controller=\"contributor\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "chaos_operator_reconcile_duration_seconds_count{controller=\"contributor\"} 1"
            ),
            "{text}"
        );
        stop.cancel();
        server.await.expect("joined").expect("served");
    }
}
