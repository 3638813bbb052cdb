//! `?page=&per_page=` on every list.

use serde::{Deserialize, Serialize};

/// The last page a list may be asked for.
pub const MAX_PAGE: i64 = 1_000_000;
/// The most rows a page may be asked to hold.
pub const MAX_PER_PAGE: i64 = 200;

/// Which page of a list, from 1; 50 per page unless asked (at most 200).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Paging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = crate::paging::MAX_PAGE)))]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = crate::paging::MAX_PER_PAGE)))]
    pub per_page: Option<i64>,
}
