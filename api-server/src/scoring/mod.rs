//! Scoring: collect a run's samples from its metric source, apply the
//! rules (`chaos_domain::scoring`), store the result with its evidence.
//! A source that is unavailable (Prometheus down) leaves the run waiting
//! in `scoring` and it is retried with backoff, across restarts too,
//! since the schedule lives in the database.

pub mod exposition;
pub mod prometheus;
pub mod scraper;

use std::sync::Arc;
use std::time::Duration;

use chaos_domain::run_clock::Overdue;
use chaos_domain::scoring::{
    AnvilSample, LoadSample, Outcome, Rules, practice_reasons, score_under,
};
use chaos_domain::{Challenge, ChallengeProfile};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::cache::ResponseCache;
use crate::db::{Db, now_ms, rfc3339};
use crate::runs::store::{self as runs, Run, Source};
use crate::scores::store as scores;
use prometheus::PrometheusSource;
use scraper::{Samples, Scraper};

/// What a source found for a window.
#[derive(Debug, Clone)]
pub struct Collected {
    pub load: Vec<LoadSample>,
    pub anvil: Vec<AnvilSample>,
    pub evidence: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceError {
    /// Worth retrying later (Prometheus unreachable, overloaded).
    Unavailable(String),
    /// Retrying will not help (bad query, no source configured).
    Invalid(String),
}

/// A run's window in seconds, and the query resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_s: i64,
    pub end_s: i64,
    pub step_s: i64,
}

impl Window {
    pub fn of(start_ms: i64, end_ms: i64) -> Window {
        let start_s = start_ms.div_euclid(1000);
        let end_s = (end_ms + 999).div_euclid(1000).max(start_s + 1);
        // At most ~600 points per series; one per second for runs up to ten minutes.
        let step_s = ((end_s - start_s) as f64 / 600.0).ceil().max(1.0) as i64;
        Window {
            start_s,
            end_s,
            step_s,
        }
    }
}

/// The sources behind one interface: the worker does not care where numbers come from.
pub trait MetricSource {
    fn collect_run(
        &self,
        run: &Run,
        window: Window,
    ) -> impl Future<Output = Result<Collected, SourceError>> + Send;
}

impl MetricSource for PrometheusSource {
    async fn collect_run(&self, run: &Run, window: Window) -> Result<Collected, SourceError> {
        self.collect(&run.loadgen_selector, &run.anvil_selector, &window)
            .await
    }
}

/// Samples the built-in scraper stored for a run.
pub struct BuiltinSource {
    db: Db,
}

impl MetricSource for BuiltinSource {
    async fn collect_run(&self, run: &Run, window: Window) -> Result<Collected, SourceError> {
        let batches = runs::load_samples(&self.db, &run.id)
            .await
            .map_err(|e| SourceError::Unavailable(format!("database: {e}")))?;
        let samples = Samples::from_batches(&batches).map_err(|e| {
            SourceError::Invalid(format!("run {}: stored samples are corrupt: {e}", run.id))
        })?;
        let inside = |t: f64| t >= window.start_s as f64 - 1.0 && t <= window.end_s as f64 + 1.0;
        Ok(Collected {
            load: samples.load.into_iter().filter(|s| inside(s.t)).collect(),
            anvil: samples.anvil.into_iter().filter(|s| inside(s.t)).collect(),
            evidence: json!({
                "scraped": { "loadgen": run.loadgen_metrics_url, "anvil": run.anvil_metrics_url },
            }),
        })
    }
}

/// The scoring service: a worker loop plus the built-in scraper.
pub struct Scoring {
    db: Db,
    cache: Arc<ResponseCache>,
    prometheus: Option<PrometheusSource>,
    builtin: BuiltinSource,
    pub scraper: Scraper,
    wake: Notify,
    pub settle: Duration,
    max_backoff: Duration,
}

impl std::fmt::Debug for Scoring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoring")
            .field("prometheus", &self.prometheus)
            .finish_non_exhaustive()
    }
}

impl Scoring {
    pub fn new(
        db: Db,
        cache: Arc<ResponseCache>,
        prometheus: Option<PrometheusSource>,
        scrape_interval: Duration,
        settle: Duration,
        max_backoff: Duration,
    ) -> Scoring {
        Scoring {
            builtin: BuiltinSource { db: db.clone() },
            scraper: Scraper::new(scrape_interval, db.clone()),
            db,
            cache,
            prometheus,
            wake: Notify::new(),
            settle,
            max_backoff,
        }
    }

    pub fn has_prometheus(&self) -> bool {
        self.prometheus.is_some()
    }

    /// Asks the worker to look for due runs now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resumes the built-in scraping of runs that were running when the
    /// server stopped; what was stored before stays.
    pub async fn resume(&self) -> Result<(), sqlx::Error> {
        for run in runs::running_builtin(&self.db).await? {
            if let (Some(l), Some(a)) = (
                run.loadgen_metrics_url.clone(),
                run.anvil_metrics_url.clone(),
            ) {
                tracing::info!(run = %run.id, "resuming built-in scraping");
                self.scraper.start(&run.id, l, a);
            }
        }
        Ok(())
    }

    /// Scores due runs, and closes overdue ones, until `shutdown`.
    pub async fn work(self: Arc<Self>, shutdown: CancellationToken) {
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
                last_sweep = Some(tokio::time::Instant::now());
                if let Err(e) = self.sweep().await {
                    tracing::error!(error = %e, "sweeping overdue runs failed; retrying");
                }
            }
            if let Err(e) = self.score_due().await {
                tracing::error!(error = %e, "scoring pass failed; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = self.wake.notified() => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// One pass over the runs whose scoring is due. Returns how many were
    /// handled; one run failing does not stop the others.
    pub async fn score_due(&self) -> Result<usize, sqlx::Error> {
        let due = runs::due_for_scoring(&self.db, now_ms(), 20).await?;
        let n = due.len();
        for run in due {
            if let Err(e) = self.score_run(&run).await {
                tracing::error!(run = %run.id, error = %e, "scoring this run failed; retrying later");
                let _ = runs::retry_later(
                    &self.db,
                    &run.id,
                    &format!("database: {e}"),
                    now_ms() + 5_000,
                )
                .await;
            }
        }
        Ok(n)
    }

    /// Closes runs that were left registered or running past their time
    /// (a client killed mid-run, an API server gone under it) as
    /// `interrupted`, with the reason. Runs at start and every few seconds.
    pub async fn sweep(&self) -> Result<usize, sqlx::Error> {
        let now = now_ms();
        let mut closed = 0;
        for run in runs::open_runs(&self.db).await? {
            let Some(reason) = overdue(&run, now) else {
                continue;
            };
            if run.source == Source::Builtin
                && let Err(e) = self.scraper.stop(&run.id).await
            {
                tracing::warn!(run = %run.id, error = %e, "stopping the scraper of an overdue run");
            }
            if runs::interrupt(&self.db, &run.id, &reason).await? {
                tracing::warn!(run = %run.id, %reason, "run closed as interrupted");
                closed += 1;
            }
        }
        if closed > 0 {
            self.cache.invalidate();
        }
        Ok(closed)
    }

    async fn score_run(&self, run: &Run) -> Result<(), sqlx::Error> {
        let Ok(challenge) = run.challenge.parse::<Challenge>() else {
            return runs::fail(&self.db, &run.id, "the run's challenge is unknown").await;
        };
        let (Some(start), Some(end)) = (run.window_start_ms, run.window_end_ms) else {
            return runs::fail(&self.db, &run.id, "the run has no complete window").await;
        };
        let window = Window::of(start, end);
        let collected = match run.source {
            Source::Prometheus => match &self.prometheus {
                Some(p) => p.collect_run(run, window).await,
                None => Err(SourceError::Invalid(
                    "the run's source is prometheus but chaos-api has no --prometheus-url".into(),
                )),
            },
            Source::Builtin => self.builtin.collect_run(run, window).await,
        };
        match collected {
            Ok(c) => {
                let rules = run
                    .score_rules
                    .and_then(|v| u32::try_from(v).ok())
                    .and_then(Rules::from_version)
                    .unwrap_or(Rules::CURRENT);
                let outcome = score_under(rules, challenge, &c.load, &c.anvil);
                let mut reasons =
                    match ChallengeProfile::version(challenge, run.profile_version as u32) {
                        Some(profile) => practice_reasons(
                            &profile,
                            run.duration_scale,
                            run.rate_scale,
                            (end - start) as f64 / 1000.0,
                            &c.load,
                        ),
                        None => vec![format!(
                            "profile version {} does not exist",
                            run.profile_version
                        )],
                    };
                if rules == Rules::V3 && run.profile_version < 2 {
                    // Rules v3 count only checked answers; version 1 of the
                    // profiles counted any 2xx.
                    reasons.push(format!(
                        "its answers were not checked (profile version {}; rules v3 rank only checked runs)",
                        run.profile_version
                    ));
                }
                if matches!(outcome, Outcome::NoData { .. }) {
                    reasons.push("it has no score".into());
                }
                let evidence = json!({
                    "rules_version": rules.version(),
                    "source": run.source.as_str(),
                    "window": { "start": rfc3339(start), "end": rfc3339(end), "step_s": window.step_s },
                    "statistics": rules.statistic_names(challenge),
                    "conditions": {
                        "profile": format!("{challenge}-v{}", run.profile_version),
                        "duration_scale": run.duration_scale,
                        "rate_scale": run.rate_scale,
                        "practice_reasons": reasons,
                    },
                    "detail": c.evidence,
                    "samples": { "load": c.load, "anvil": c.anvil },
                });
                tracing::info!(run = %run.id, rules = rules.version(), ?outcome, "scored");
                scores::record(
                    &self.db,
                    &scores::NewRecord {
                        run_id: &run.id,
                        contributor_id: &run.contributor_id,
                        challenge,
                        rules,
                        outcome: &outcome,
                        practice_reasons: &reasons,
                        run_end_ms: end,
                        evidence: &evidence,
                    },
                )
                .await?;
                self.cache.invalidate();
                Ok(())
            }
            Err(SourceError::Unavailable(e)) => {
                let backoff =
                    Duration::from_secs(1u64 << run.attempts.clamp(0, 16)).min(self.max_backoff);
                tracing::warn!(run = %run.id, error = %e, retry_in = ?backoff, "scoring postponed");
                runs::retry_later(&self.db, &run.id, &e, now_ms() + backoff.as_millis() as i64)
                    .await
            }
            Err(SourceError::Invalid(e)) => {
                tracing::error!(run = %run.id, error = %e, "scoring failed");
                runs::fail(&self.db, &run.id, &e).await
            }
        }
    }
}

/// How often overdue runs are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Why an open run is overdue, `None` while it is not. The limits are the
/// ones its driver keeps, plus a backstop (`chaos_domain::run_clock`).
fn overdue(run: &Run, now: i64) -> Option<String> {
    let challenge = run.challenge.parse::<Challenge>().ok()?;
    let profile_ms = ChallengeProfile::version(challenge, run.profile_version as u32)
        .map_or(600_000.0, |p| p.duration_s() * 1000.0);
    let expected = Duration::from_millis((profile_ms * run.duration_scale.clamp(0.0, 1.0)) as u64);
    let since = |t: i64| Duration::from_millis((now - t).max(0) as u64);
    Overdue::judge(
        expected,
        run.window_start_ms.map(since),
        since(run.created_ms),
    )
    .map(|o| o.reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_outwards_and_keep_series_short() {
        let w = Window::of(1_000_500, 1_060_200);
        assert_eq!((w.start_s, w.end_s, w.step_s), (1_000, 1_061, 1));
        let long = Window::of(0, 3_600_000);
        assert_eq!(long.step_s, 6);
    }
}
