//! Contributors: the people (and their apps) who compete.

use chaos_domain::Challenge;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Contributor {
    pub name: String,
    pub display_name: String,
    pub active_challenge: Option<Challenge>,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub created_at: String,
    /// Deregistered contributors keep their scores but cannot start runs.
    pub deregistered: bool,
}

/// A contributor and their API key, which the server shows only once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Registered {
    pub contributor: Contributor,
    /// Shown once; stored only as a salted hash.
    pub api_key: String,
}

/// `GET /api/v1/contributors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContributorList {
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    pub contributors: Vec<Contributor>,
}
