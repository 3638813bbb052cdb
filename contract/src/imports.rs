//! `POST /api/v1/contributor-imports`: the earlier platform's contributors
//! brought over, row by row.

use chaos_domain::Challenge;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    /// The name is already registered here: nothing was changed.
    Exists,
    Refused,
}

impl ImportOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            ImportOutcome::Created => "created",
            ImportOutcome::Exists => "exists",
            ImportOutcome::Refused => "refused",
        }
    }
}

impl std::fmt::Display for ImportOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the contributor's earlier API key still works here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EarlierKey {
    Kept,
    NotKept,
    None,
}

impl EarlierKey {
    pub const fn as_str(self) -> &'static str {
        match self {
            EarlierKey::Kept => "kept",
            EarlierKey::NotKept => "not_kept",
            EarlierKey::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportLine {
    pub earlier_name: String,
    /// The name here; null when nothing usable was left.
    pub name: Option<String>,
    pub renamed: bool,
    pub outcome: ImportOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_challenge: Option<Challenge>,
    /// The new key, shown once (not in a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    pub earlier_key: EarlierKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: u64,
    pub existing: u64,
    pub refused: u64,
    pub contributors: Vec<ImportLine>,
}
