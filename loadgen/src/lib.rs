//! loadgen, the load generator of SRE Chaos Challenge.
//!
//! Closed loop (N connections as fast as possible, like wrk) and open
//! loop (constant or staged arrival rates, like wrk2 or k6 stages) with
//! latency measured from the intended send time, HDR histograms, a
//! per-second timeline, live Prometheus metrics and the challenge
//! profiles that give every competitor the same load.
//!
//! Measuring ([`work`], [`record`], [`live`]) and presenting
//! ([`report`], [`printer`], [`monitor`]) are kept apart.

pub mod answers;
pub mod cli;
pub mod client;
pub mod exporter;
pub mod live;
pub mod monitor;
pub mod outcome;
pub mod printer;
pub mod profile;
pub mod record;
pub mod report;
pub mod schedule;
pub mod target;
pub mod tracker;
pub mod work;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

pub use report::{RunReport, Thresholds};
pub use work::{Load, RunSpec};

use crate::exporter::RunLabels;
use crate::live::LiveView;
use crate::report::ProfileRef;

/// A run and how to describe it.
#[derive(Debug, Clone)]
pub struct Job {
    pub spec: RunSpec,
    pub target_url: String,
    pub method: String,
    pub profile: Option<ProfileRef>,
}

/// What happens around the run.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub metrics_addr: Option<SocketAddr>,
    /// Serve metrics (all zero) this long before sending, so scrapers
    /// see the counters start from zero; at least one scrape interval.
    pub metrics_wait: Duration,
    /// Keep serving metrics this long after the run, for a last scrape.
    pub metrics_linger: Duration,
    pub progress: bool,
    /// Set to stop early (Ctrl-C).
    pub stop: Arc<AtomicBool>,
}

impl Job {
    /// How long the run is planned to take, if known.
    pub fn planned_duration(&self) -> Option<Duration> {
        match &self.spec.load {
            Load::Closed { duration, .. } => *duration,
            Load::Open { plan, .. } => Some(plan.duration()),
        }
    }
}

/// Runs the job on worker threads, with metrics and progress if asked.
pub async fn execute(job: Job, opts: ExecOptions) -> anyhow::Result<RunReport> {
    if job.spec.requests.is_empty() {
        anyhow::bail!("nothing to send: no request template");
    }
    let live = LiveView::new(job.spec.threads.max(1));
    let done = CancellationToken::new();
    let mut exporter = None;
    if let Some(addr) = opts.metrics_addr {
        let listener = exporter::bind(addr).await?;
        let plan = match &job.spec.load {
            Load::Open { plan, .. } => Some(plan.clone()),
            Load::Closed { .. } => None,
        };
        let labels = RunLabels {
            mode: mode(&job.spec.load).to_owned(),
            profile: job
                .profile
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            profile_version: job
                .profile
                .as_ref()
                .map(|p| p.version.to_string())
                .unwrap_or_default(),
            target: job.target_url.clone(),
        };
        // The target-rate gauge runs on the load's clock, which starts after the wait.
        let load_start = Instant::now() + opts.metrics_wait;
        exporter = Some(tokio::spawn(exporter::serve(
            listener,
            live.clone(),
            plan,
            load_start,
            labels,
            done.clone(),
        )));
        sleep_unless_stopped(opts.metrics_wait, &opts.stop).await;
    }
    let progress = opts.progress.then(|| {
        tokio::spawn(monitor::progress(
            live.clone(),
            job.planned_duration(),
            done.child_token(),
        ))
    });
    let (spec, view, stop) = (job.spec.clone(), live.clone(), opts.stop.clone());
    let data = tokio::task::spawn_blocking(move || work::run(&spec, &view, stop)).await?;
    if let Some(p) = progress {
        // The bar is cleared before the summary is printed.
        p.abort();
        let _ = p.await;
    }
    let mut report = RunReport::build(
        data,
        &job.spec.load,
        &job.target_url,
        &job.method,
        job.spec.threads,
    );
    report.profile = job.profile.clone();
    if let Some(e) = exporter {
        sleep_unless_stopped(opts.metrics_linger, &opts.stop).await;
        done.cancel();
        let _ = e.await;
    }
    done.cancel();
    Ok(report)
}

/// Sleeps `d`, or less once `stop` is set (a stop cuts the metrics edges).
async fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep((until - Instant::now()).min(Duration::from_millis(100))).await;
    }
}

fn mode(load: &Load) -> &'static str {
    match load {
        Load::Closed { .. } => "closed",
        Load::Open { .. } => "open",
    }
}
