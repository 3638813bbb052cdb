//! Runs: a contributor's challenge window, from registration to score.

use std::collections::BTreeMap;

use chaos_domain::Challenge;
use serde::{Deserialize, Serialize};

use crate::scores::Score;
use crate::wire::no_null;

/// Prometheus label matchers (label name to exact value) that select a
/// run's series.
pub type Selector = BTreeMap<String, String>;

/// Where a run's measurements come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// PromQL over the window, from the Prometheus the server is configured with.
    Prometheus,
    /// The server's own scraper, reading the run's metrics URLs during the window.
    Builtin,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::Prometheus, Source::Builtin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Prometheus => "prometheus",
            Source::Builtin => "builtin",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The states of a run. Scoring retries stay in `scoring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Registered,
    Running,
    Ended,
    Scoring,
    Scored,
    NoData,
    Failed,
    /// Abandoned by its client, or not ended in time: never scored, never ranked.
    Interrupted,
}

impl RunState {
    pub const ALL: [RunState; 8] = [
        RunState::Registered,
        RunState::Running,
        RunState::Ended,
        RunState::Scoring,
        RunState::Scored,
        RunState::NoData,
        RunState::Failed,
        RunState::Interrupted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RunState::Registered => "registered",
            RunState::Running => "running",
            RunState::Ended => "ended",
            RunState::Scoring => "scoring",
            RunState::Scored => "scored",
            RunState::NoData => "no_data",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Scored, no data, failed or interrupted: nothing more happens unless asked.
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            RunState::Scored | RunState::NoData | RunState::Failed | RunState::Interrupted
        )
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /api/v1/runs`: what registering a run needs. With `source`
/// `prometheus` the two selectors say which series are the run's; with
/// `builtin` the server scrapes the two `/metrics` URLs itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    /// Chosen by the caller (e.g. the ChallengeRun's UID) so that a retry is the same run.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "String", pattern(r"^[A-Za-z0-9._-]{1,64}$"))
    )]
    pub id: Option<String>,
    pub contributor: String,
    pub challenge: Challenge,
    /// What was loaded (a label): 1 to 512 characters, not only white space.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 512), pattern(r"\S"))
    )]
    pub target: String,
    /// A profile version that exists (the current one by default).
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "i64", range(min = 1)))]
    pub profile_version: Option<i64>,
    /// The profile squeezed in time; below 1 makes the run practice.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "f64", extend("exclusiveMinimum" = 0, "maximum" = 1))
    )]
    pub duration_scale: Option<f64>,
    /// The profile's rates scaled; anything but 1 makes the run practice.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "f64", extend("exclusiveMinimum" = 0, "maximum" = 4))
    )]
    pub rate_scale: Option<f64>,
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Source"))]
    pub source: Option<Source>,
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "selector_schema"))]
    pub loadgen_selector: Option<Selector>,
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "selector_schema"))]
    pub anvil_selector: Option<Selector>,
    /// Where the server scrapes loadgen during the window (source `builtin`).
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metrics_url_schema"))]
    pub loadgen_metrics_url: Option<String>,
    /// Where the server scrapes url-anvil during the window (source `builtin`).
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metrics_url_schema"))]
    pub anvil_metrics_url: Option<String>,
}

/// The bounds the server enforces on a selector.
#[cfg(feature = "schema")]
fn selector_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": "Prometheus label matchers (label name to exact value): at most 10, names of Prometheus label syntax (up to 64 characters), values up to 256",
        "maxProperties": 10,
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
        "additionalProperties": {"type": "string", "maxLength": 256}
    })
}

#[cfg(feature = "schema")]
fn metrics_url_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "format": "uri",
        "pattern": "^https?://",
        "maxLength": 2048
    })
}

/// A run, with its score and links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Run {
    pub id: String,
    pub contributor: String,
    pub challenge: Challenge,
    pub profile_version: i64,
    /// Declared by the client: below 1, the profile squeezed in time (practice).
    pub duration_scale: f64,
    /// Declared by the client: not 1, the profile's rates scaled (practice).
    pub rate_scale: f64,
    pub target: String,
    pub source: Source,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(schema_with = "selector_schema"))]
    pub loadgen_selector: Selector,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(schema_with = "selector_schema"))]
    pub anvil_selector: Selector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_metrics_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anvil_metrics_url: Option<String>,
    pub state: RunState,
    /// Scoring attempts so far.
    pub attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub window: Window,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub created_at: String,
    /// The run's newest score record under the rules asked for.
    pub score: Option<Score>,
    pub links: RunLinks,
}

impl NewRun {
    /// A run of `challenge`'s current profile, as its conditions default.
    pub fn new(contributor: &str, challenge: Challenge, target: &str) -> NewRun {
        NewRun {
            id: None,
            contributor: contributor.to_owned(),
            challenge,
            target: target.to_owned(),
            profile_version: None,
            duration_scale: None,
            rate_scale: None,
            source: None,
            loadgen_selector: None,
            anvil_selector: None,
            loadgen_metrics_url: None,
            anvil_metrics_url: None,
        }
    }
}

impl Run {
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }

    /// Whether its score ranks on the leaderboard.
    pub fn is_official(&self) -> bool {
        self.state == RunState::Scored && self.score.as_ref().is_some_and(|s| s.official)
    }
}

/// The run's window, RFC 3339; `null` until the edge is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Window {
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub start: Option<String>,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub page: String,
    pub leaderboard: String,
}

/// `GET /api/v1/runs`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunList {
    pub page: i64,
    pub per_page: i64,
    pub runs: Vec<Run>,
}

/// `GET /api/v1/runs`: a page of runs, newest first, optionally of one
/// contributor or challenge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// Only this contributor's runs; empty means all; an unknown name is a 404
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributor: Option<String>,
    /// Only this challenge's runs; empty means all
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Challenge>"))]
    pub challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = crate::paging::MAX_PAGE)))]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = crate::paging::MAX_PER_PAGE)))]
    pub per_page: Option<i64>,
}

/// `POST /api/v1/runs/{id}/start` and `/end` (admin): the window's edge,
/// now when `at` is absent (an empty body is the same).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(
        description = "The edge's time: at most 60 s ahead of and 24 h behind the server's clock; an end must come after the start. Empty means now."
    )
)]
#[serde(deny_unknown_fields)]
pub struct WindowEdge {
    /// RFC 3339.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "String", extend("format" = "date-time"))
    )]
    pub at: Option<String>,
}

/// `POST /api/v1/runs/{id}/score` (admin): score (again) under these
/// rules; the current ones when absent. Only records under the current
/// rules rank.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "i64", range(min = 1, max = chaos_domain::scoring::RULES_VERSION))
    )]
    pub rules_version: Option<i64>,
}

/// `POST /api/v1/runs/{id}/interrupt` (admin): the client abandons the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Interrupt {
    /// Why: 1 to 500 characters, not only white space, no control characters.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "String", pattern(r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]{1,500}$"))
    )]
    pub reason: Option<String>,
}
