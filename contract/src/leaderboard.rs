//! `GET /api/v1/leaderboard/{challenge}`.

use chaos_domain::Challenge;
use serde::{Deserialize, Serialize};

/// One challenge's board under the current rules: each contributor's best
/// official run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Leaderboard {
    pub challenge: Challenge,
    pub title: String,
    /// The rules the board ranks by.
    pub rules_version: i64,
    /// The names of stat1, stat2 and stat3.
    #[cfg_attr(feature = "schema", schemars(length(min = 3, max = 3)))]
    pub statistics: Vec<String>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    pub entries: Vec<Entry>,
    /// Best official scores under earlier rules of contributors not on
    /// the board yet: shown beside it, never ranked with it.
    #[serde(default)]
    pub earlier_rules: Vec<EarlierRulesEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Entry {
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub rank: i64,
    pub contributor: String,
    pub display_name: String,
    pub deregistered: bool,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: f64,
    pub run_id: String,
    /// The end of the run's window (ties go to the earlier one).
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub run_end: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub scored_at: String,
    pub rules_version: i64,
}

/// A contributor's best official run scored only under earlier rules:
/// shown beside the board, not ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EarlierRulesEntry {
    pub contributor: String,
    pub display_name: String,
    pub deregistered: bool,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: Option<f64>,
    pub run_id: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub run_end: String,
    pub rules_version: i64,
}
