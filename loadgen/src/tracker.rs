//! Reporting a finished run to the local tracker (`POST /api/track`),
//! with the earlier platform's payload. A tracker that is down never
//! fails the run: the failure is reported and the run's result stands.

use std::time::Duration;

use chaos_contract::tracker::SCHEMA_VERSION;
use chaos_contract::{RunDetails, TrackPayload};

use crate::report::RunReport;

/// Where and as whom to report.
#[derive(Debug, Clone)]
pub struct TrackerTarget {
    pub url: String,
    pub api_key: String,
    pub user: String,
    pub session: String,
    pub commit: Option<String>,
    pub target_name: Option<String>,
    pub challenge: String,
}

pub fn payload(report: &RunReport, t: &TrackerTarget) -> TrackPayload {
    let q = &report.requests;
    let c = &report.latency_ms.corrected;
    let mut labels = std::collections::BTreeMap::new();
    if let Some(name) = &t.target_name {
        labels.insert("target".to_owned(), name.clone());
    }
    TrackPayload {
        schema_version: SCHEMA_VERSION.to_owned(),
        user_id: t.user.clone(),
        challenge_type: t.challenge.clone(),
        metric_name: "rps".to_owned(),
        value: report.rps.achieved,
        timestamp: report.started_at.clone(),
        labels,
        run_details: RunDetails {
            target_url: report.target.clone(),
            request_count: q.total,
            method: report.method.clone(),
            payload_urls: Vec::new(),
            total_requests: q.total,
            successful_requests: q.success,
            failed_requests: q.total - q.success,
            avg_latency_ms: c.mean,
            error_rate: report.error_rate_pct,
            rps: report.rps.achieved,
            duration_s: report.duration_s,
            test_type: report
                .profile
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("{}-loop", report.mode)),
            commit_hash: t.commit.clone(),
            session_id: t.session.clone(),
            target_name: t.target_name.clone(),
            profile: report
                .profile
                .as_ref()
                .map(|p| format!("{}-v{}", p.name, p.version)),
            p50_latency_ms: Some(c.p50),
            p90_latency_ms: Some(c.p90),
            p95_latency_ms: Some(c.p95),
            p99_latency_ms: Some(c.p99),
            p999_latency_ms: Some(c.p999),
            max_latency_ms: Some(c.max),
            target_rps: report.rps.target,
            status_counts: report.status_counts.clone(),
            error_counts: report.errors.clone(),
            loadgen_version: Some(report.loadgen_version.to_owned()),
        },
    }
}

/// Sends the payload, retrying with backoff. Returns a message for the user either way.
pub async fn send(report: &RunReport, t: &TrackerTarget) -> Result<String, String> {
    let body = payload(report, t);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("tracker client: {e}"))?;
    let url = format!("{}/api/track", t.url.trim_end_matches('/'));
    let mut delay = Duration::from_millis(250);
    let mut last = String::new();
    for attempt in 1..=4 {
        match client
            .post(&url)
            .header("x-api-key", &t.api_key)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                return Ok(format!(
                    "reported to the tracker at {url} (session {})",
                    t.session
                ));
            }
            // A 4xx will not get better by retrying.
            Ok(r) if r.status().is_client_error() => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                return Err(format!(
                    "the tracker at {url} refused the run: {status} {text}"
                ));
            }
            Ok(r) => last = format!("{}", r.status()),
            Err(e) => last = e.to_string(),
        }
        if attempt < 4 {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    Err(format!(
        "the tracker at {url} could not be reached after 4 attempts ({last}); the run's result is unaffected"
    ))
}
