//! Contributors: the people (and their apps) who compete.

use chaos_domain::Challenge;
use serde::{Deserialize, Serialize};

use crate::wire::no_null;

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

/// `POST /api/v1/contributors` (admin): a new account, answered with its
/// API key once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterContributor {
    #[cfg_attr(
        feature = "schema",
        schemars(
            pattern(chaos_domain::contributor::NAME_PATTERN),
            length(max = chaos_domain::contributor::NAME_MAX_LEN)
        )
    )]
    pub name: String,
    /// Shown on the leaderboard (the name when absent).
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "display_name_schema"))]
    pub display_name: Option<String>,
    /// The challenge the account starts in.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Challenge"))]
    pub challenge: Option<String>,
    /// The controller registering the account (e.g. `chaos-operator`); only
    /// it may later recover the account. Absent: registered by hand.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "String", pattern(chaos_domain::contributor::MANAGER_PATTERN))
    )]
    pub manager: Option<String>,
}

/// `PATCH /api/v1/contributors/{name}` (admin): what may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateContributor {
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "display_name_schema"))]
    pub display_name: Option<String>,
    /// Hands the account over to this controller.
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "String", pattern(chaos_domain::contributor::MANAGER_PATTERN))
    )]
    pub manager: Option<String>,
}

/// `?manager=` on the calls a controller makes for an account it manages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AsManager {
    /// The controller acting: the account must be the one it registered
    /// (or was handed), otherwise 409
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(pattern(chaos_domain::contributor::MANAGER_PATTERN))
    )]
    pub manager: Option<String>,
}

/// `PUT /api/v1/contributors/{name}/challenge`, with the contributor's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SwitchChallenge {
    #[cfg_attr(feature = "schema", schemars(with = "Challenge"))]
    pub challenge: String,
}

/// `POST /api/v1/register-influencer`: the earlier platform's switch, as
/// its `switch_challenge.py` sends it (other fields are ignored, as they
/// were there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LegacySwitch {
    #[cfg_attr(feature = "schema", schemars(with = "Challenge"))]
    pub challenge_type: String,
}

#[cfg(feature = "schema")]
fn display_name_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "minLength": 1,
        "pattern": chaos_domain::contributor::display_name_pattern(),
        "description": "1 to 100 characters, no leading or trailing white space, and none of: control characters, Unicode format characters (bidi overrides and isolates, zero-width characters, the BOM, tags), line and paragraph separators, private-use characters (docs/API.md, display names)",
    })
}
