//! url-anvil's Prometheus metrics: requests by route and status, latency
//! histograms, in-flight requests, capacity and fault state, and the
//! process metrics every Prometheus target is expected to have.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::capacity::Limiter;
use crate::faults::Faults;

/// Latency buckets in seconds; 0.25 is the robust-service SLO, 1.0 the
/// graceful-degradation "answered in time" limit, so both are exact.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProfileLabels {
    profile: String,
    version: String,
    service_version: &'static str,
}

/// The metrics of one url-anvil incarnation.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    pub fn new(limiter: Arc<Limiter>, faults: Arc<Faults>, started: SystemTime) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        registry.register(
            "anvil_http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register_with_unit(
            "anvil_http_request_duration",
            "Time from receiving a request to answering it, by method, route and status",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "anvil_http_requests_in_flight",
            "HTTP requests being processed now",
            in_flight.clone(),
        );
        let profile = *limiter.profile();
        // A gauge fixed at 1 rather than the OpenMetrics info type, which
        // the classic text format (and promtool) does not know.
        let info = Family::<ProfileLabels, Gauge>::default();
        info.get_or_create(&ProfileLabels {
            profile: profile.name.to_owned(),
            version: profile.version.to_string(),
            service_version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
        registry.register(
            "anvil_capacity_profile_info",
            "The capacity profile this url-anvil runs with",
            info,
        );
        registry.register_collector(Box::new(StateCollector { limiter, faults }));
        registry.register_collector(Box::new(ProcessCollector { started }));
        Metrics {
            registry,
            requests,
            durations,
            in_flight,
        }
    }

    pub fn observe(&self, labels: &RequestLabels, seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.durations.get_or_create(labels).observe(seconds);
    }

    /// The exposition in OpenMetrics text.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Rewrites OpenMetrics text as the classic Prometheus text format
/// (0.0.4), for clients that did not ask for OpenMetrics (promtool,
/// curl, older scrapers): counter families are named with their `_total`
/// samples, and the `# UNIT` and `# EOF` lines go.
pub fn to_classic_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<&str> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some(help) = pending_help.replace(rest) {
                push_line(&mut out, "# HELP ", help, "");
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let counter = rest.strip_suffix(" counter");
            if let Some(help) = pending_help.take() {
                match (counter, help.split_once(' ')) {
                    (Some(name), Some((help_name, text))) if help_name == name => {
                        out.push_str("# HELP ");
                        out.push_str(name);
                        out.push_str("_total ");
                        out.push_str(text);
                        out.push('\n');
                    }
                    _ => push_line(&mut out, "# HELP ", help, ""),
                }
            }
            match counter {
                Some(name) => push_line(&mut out, "# TYPE ", name, "_total counter"),
                None => push_line(&mut out, "# TYPE ", rest, ""),
            }
            continue;
        }
        if let Some(help) = pending_help.take() {
            push_line(&mut out, "# HELP ", help, "");
        }
        push_line(&mut out, "", line, "");
    }
    out
}

fn push_line(out: &mut String, prefix: &str, body: &str, suffix: &str) {
    out.push_str(prefix);
    out.push_str(body);
    out.push_str(suffix);
    out.push('\n');
}

/// Names routes with a fixed set of labels, so a scanner probing random
/// paths cannot grow the label space.
pub fn route_label(path: Option<&str>) -> &'static str {
    match path {
        Some("/") => "/",
        Some("/api/sample-urls") => "/api/sample-urls",
        Some("/api/history") => "/api/history",
        Some("/api/test") => "/api/test",
        Some("/corpus/{id}") => "/corpus/{id}",
        Some("/metrics") => "/metrics",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/admin/faults") => "/admin/faults",
        _ => "other",
    }
}

fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let method = method_label(request.method());
    metrics.in_flight.inc();
    let _done = InFlight(&metrics.in_flight);
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.observe(&labels, started.elapsed().as_secs_f64());
    response
}

struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Capacity and fault state, read at scrape time.
#[derive(Debug)]
struct StateCollector {
    limiter: Arc<Limiter>,
    faults: Arc<Faults>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    kind: &'static str,
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let l = &self.limiter;
        let gauges: [(&str, &str, i64); 3] = [
            (
                "anvil_queue_depth",
                "Requests waiting for a capacity slot",
                i64::from(l.queued()),
            ),
            (
                "anvil_busy_slots",
                "Capacity slots in use",
                i64::from(l.busy()),
            ),
            (
                "anvil_overloaded_seconds",
                "Consecutive seconds in which most requests were shed",
                i64::from(l.overloaded_streak()),
            ),
        ];
        for (name, help, value) in gauges {
            let m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(m)?;
        }
        let m = encoder.encode_descriptor(
            "anvil_shed_requests",
            "Requests refused with 503 because url-anvil was over capacity",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(l.shed_total()).encode(m)?;

        let active = self.faults.list();
        let mut family = encoder.encode_descriptor(
            "anvil_fault_active",
            "1 while an injected fault of this kind is active",
            None,
            MetricType::Gauge,
        )?;
        for kind in ["latency", "errors", "freeze"] {
            let on = active.iter().any(|f| f.kind.as_str() == kind);
            let labels = FaultLabels { kind };
            ConstGauge::new(i64::from(on)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The standard `process_*` metrics, from /proc where there is one.
#[derive(Debug)]
struct ProcessCollector {
    /// When this url-anvil started serving; a self-restart sets it anew,
    /// as a real restart would.
    started: SystemTime,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let m = encoder.encode_descriptor(
            "process_start_time",
            "Start time of the process since unix epoch in seconds",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        ConstGauge::new(start).encode(m)?;

        encode_proc(&mut encoder)
    }
}

#[cfg(not(target_os = "linux"))]
fn encode_proc(_: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn encode_proc(encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let Ok(me) = procfs::process::Process::myself() else {
        return Ok(());
    };
    if let Ok(stat) = me.stat() {
        let ticks = procfs::ticks_per_second() as f64;
        let cpu = (stat.utime + stat.stime) as f64 / ticks;
        let m = encoder.encode_descriptor(
            "process_cpu",
            "Total user and system CPU time spent in seconds",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        ConstCounter::new(cpu).encode(m)?;
        let rss = stat.rss * procfs::page_size();
        for (name, help, value) in [
            (
                "process_resident_memory",
                "Resident memory size in bytes",
                rss as f64,
            ),
            (
                "process_virtual_memory",
                "Virtual memory size in bytes",
                stat.vsize as f64,
            ),
        ] {
            let m = encoder.encode_descriptor(name, help, Some(&Unit::Bytes), MetricType::Gauge)?;
            ConstGauge::new(value).encode(m)?;
        }
    }
    if let Ok(fds) = me.fd_count() {
        let m = encoder.encode_descriptor(
            "process_open_fds",
            "Number of open file descriptors",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(fds as i64).encode(m)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_domain::CapacityProfile;

    #[test]
    fn exposition_uses_prometheus_names() {
        let metrics = Metrics::new(
            Arc::new(Limiter::new(CapacityProfile::STANDARD_V1)),
            Arc::new(Faults::default()),
            SystemTime::now(),
        );
        let labels = RequestLabels {
            method: "POST",
            route: "/api/test",
            status: 200,
        };
        metrics.observe(&labels, 0.2);
        let text = metrics.encode().expect("encodes");
        for needle in [
            r#"anvil_http_requests_total{method="POST",route="/api/test",status="200"} 1"#,
            r#"anvil_http_request_duration_seconds_bucket{le="0.25",method="POST",route="/api/test",status="200"} 1"#,
            r#"anvil_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/api/test",status="200"} 0"#,
            "anvil_http_requests_in_flight 0",
            r#"anvil_capacity_profile_info{profile="standard",version="1""#,
            "process_start_time_seconds ",
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            r#"anvil_fault_active{kind="freeze"} 0"#,
            "anvil_shed_requests_total 0",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn classic_text_names_counters_by_their_samples() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total 3\n\
                  # HELP up_time Up.\n# TYPE up_time gauge\n# UNIT up_time seconds\nup_time 1.5\n# EOF\n";
        assert_eq!(
            to_classic_text(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total 3\n\
             # HELP up_time Up.\n# TYPE up_time gauge\nup_time 1.5\n"
        );
    }

    #[test]
    fn unknown_paths_share_one_route_label() {
        assert_eq!(route_label(Some("/wp-admin")), "other");
        assert_eq!(route_label(None), "other");
        assert_eq!(route_label(Some("/corpus/{id}")), "/corpus/{id}");
    }
}
