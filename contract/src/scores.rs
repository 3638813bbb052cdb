//! Score records: what a run's window was judged to be worth.

use chaos_domain::Challenge;
use serde::{Deserialize, Serialize};

/// Whether the window could be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Scored,
    /// Too few samples to judge (the reason says why): never ranked, never 0.
    NoData,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Scored => "scored",
            Outcome::NoData => "no_data",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Scored, Outcome::NoData]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One of a score's three statistics, with its name under the record's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Statistic {
    pub name: String,
    pub value: Option<f64>,
}

/// A score record with the evidence it was computed from. Scoring again
/// adds a record; a run's score is its newest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Score {
    /// The record's id.
    pub id: String,
    pub run_id: String,
    pub challenge: Challenge,
    pub rules_version: i64,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    /// `stat1` to `stat3` with their names, in that order.
    pub statistics: Vec<Statistic>,
    pub score: Option<f64>,
    /// A complete run of the profile at its full length and rate: it ranks.
    pub official: bool,
    /// Why it is practice (empty when official).
    #[serde(default)]
    pub practice_reasons: Vec<String>,
    /// The end of the run's window: where the score stands in time.
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub run_end: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub scored_at: String,
    /// Window, source, queries and raw samples.
    pub evidence: serde_json::Value,
}
