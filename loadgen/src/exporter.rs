//! loadgen's own `/metrics` while it runs, so Prometheus sees the
//! client's side of a run (a Kubernetes load Job is scraped like any pod).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::live::{BUCKETS, LiveView};
use crate::schedule::RatePlan;

/// Labels that say what this run is.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub mode: String,
    pub profile: String,
    pub profile_version: String,
    pub target: String,
}

#[derive(Debug)]
struct LiveCollector {
    view: LiveView,
    plan: Option<RatePlan>,
    start: Instant,
    run: RunLabels,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: u16,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.view.snapshot();
        let mut family = encoder.encode_descriptor(
            "loadgen_requests",
            "Responses received, by status and outcome (success = the right answer, shed = 429/503, failure, wrong = not url-anvil's answer)",
            None,
            MetricType::Counter,
        )?;
        for (status, outcome, n) in &s.statuses {
            let labels = StatusLabels {
                status: *status,
                outcome: outcome.as_str(),
            };
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "loadgen_errors",
            "Requests that got no HTTP response, by kind",
            None,
            MetricType::Counter,
        )?;
        for (kind, n) in &s.errors {
            ConstCounter::new(*n).encode(family.encode_family(&KindLabels {
                kind: kind.as_str(),
            })?)?;
        }
        let mut family = encoder.encode_descriptor(
            "loadgen_request_duration",
            "Latency from the intended send time (coordinated-omission corrected), by outcome",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (outcome, buckets, count, sum) in &s.latency {
            // The encoder accumulates per-bucket counts itself; the last
            // bound stands for +Inf and holds what no bound covered.
            let counted: u64 = buckets.iter().sum();
            let mut per_bucket: Vec<(f64, u64)> = BUCKETS
                .iter()
                .copied()
                .zip(buckets.iter().copied())
                .collect();
            per_bucket.push((f64::INFINITY, count.saturating_sub(counted)));
            let labels = OutcomeLabels {
                outcome: outcome.as_str(),
            };
            let mut m = family.encode_family(&labels)?;
            m.encode_histogram::<NoLabelSet>(
                *sum,
                *count,
                &per_bucket,
                None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
            )?;
        }
        let now = Instant::now();
        let target = match &self.plan {
            Some(p) if now >= self.start => p.rate_at(now.duration_since(self.start).as_secs_f64()),
            _ => 0.0,
        };
        let m = encoder.encode_descriptor(
            "loadgen_target_rps",
            "Arrival rate asked for now (0 in closed loop)",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(target).encode(m)?;
        let m = encoder.encode_descriptor(
            "loadgen_in_flight",
            "Requests sent and not yet answered",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(s.in_flight).encode(m)?;
        let m = encoder.encode_descriptor(
            "loadgen_late_requests",
            "Requests sent more than 10 ms after their intended time",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(s.late).encode(m)?;
        let mut family = encoder.encode_descriptor(
            "loadgen_run_info",
            "What this run is",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(1).encode(family.encode_family(&self.run)?)?;
        Ok(())
    }
}

/// Serves `/metrics` on `listener` until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    view: LiveView,
    plan: Option<RatePlan>,
    start: Instant,
    run: RunLabels,
    shutdown: CancellationToken,
) {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(LiveCollector {
        view,
        plan,
        start,
        run,
    }));
    let registry = Arc::new(registry);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move {
                let mut text = String::new();
                match prometheus_client::encoding::text::encode(&mut text, &registry) {
                    Ok(()) => (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    );
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;
}

/// Binds the metrics address with an error that names it.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))
}
