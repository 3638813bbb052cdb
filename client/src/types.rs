//! The API server's JSON, as far as its clients read it. Unknown fields
//! are ignored, so the server can add fields without breaking clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Contributor {
    pub name: String,
    pub display_name: String,
    pub active_challenge: Option<String>,
    pub created_at: String,
    pub deregistered: bool,
}

/// A new contributor and their API key, which the server shows only once.
#[derive(Debug, Clone, Deserialize)]
pub struct Registered {
    pub contributor: Contributor,
    pub api_key: String,
}

/// What an import of the earlier platform's contributors did, row by row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: u64,
    pub existing: u64,
    pub refused: u64,
    pub contributors: Vec<ImportLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportLine {
    pub earlier_name: String,
    pub name: Option<String>,
    pub renamed: bool,
    /// `created`, `exists` or `refused`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_challenge: Option<String>,
    /// The new key, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// `kept`, `not_kept` or `none`.
    pub earlier_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What registering a run needs. `source` is `prometheus` (with the two
/// selectors) or `builtin` (with the two `/metrics` URLs).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewRun {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub contributor: String,
    pub challenge: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_version: Option<u32>,
    /// Below 1: the profile squeezed in time (a practice run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_scale: Option<f64>,
    /// Not 1: the profile's rates scaled (a practice run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_scale: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loadgen_selector: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anvil_selector: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loadgen_metrics_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anvil_metrics_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    pub id: String,
    pub contributor: String,
    pub challenge: String,
    pub profile_version: i64,
    pub target: String,
    pub source: String,
    /// `registered`, `running`, `ended`, `scoring`, `scored`, `no_data`,
    /// `failed` or `interrupted`.
    pub state: String,
    pub attempts: i64,
    #[serde(default)]
    pub last_error: Option<String>,
    pub window: Window,
    pub score: Option<Score>,
    pub links: RunLinks,
}

impl Run {
    /// Scored, no data, failed or interrupted: nothing more will happen unless asked.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.state.as_str(),
            "scored" | "no_data" | "failed" | "interrupted"
        )
    }

    /// Whether its score ranks on the leaderboard.
    pub fn is_official(&self) -> bool {
        self.state == "scored" && self.score.as_ref().is_some_and(|s| s.official)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Window {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunLinks {
    pub page: String,
    pub leaderboard: String,
}

/// A score with the evidence it was computed from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Score {
    /// `scored` or `no_data`.
    pub outcome: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: Option<f64>,
    pub rules_version: i64,
    /// A complete run of the profile at its full length and rate: it ranks.
    #[serde(default)]
    pub official: bool,
    /// Why it is practice, when it is.
    #[serde(default)]
    pub practice_reasons: Vec<String>,
    pub scored_at: String,
    pub evidence: Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Leaderboard {
    pub challenge: String,
    pub title: String,
    pub rules_version: i64,
    /// The names of stat1, stat2 and stat3.
    pub statistics: Vec<String>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Entry {
    pub rank: i64,
    pub contributor: String,
    pub display_name: String,
    pub deregistered: bool,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: f64,
    pub run_id: String,
    pub scored_at: String,
    pub rules_version: i64,
}
