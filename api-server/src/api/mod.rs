//! The JSON API (`/api/v1/...`).

pub mod contributors;
pub mod import;
pub mod leaderboard;
pub mod runs;

use serde::Deserialize;

use crate::error::ApiError;

/// `?page=&per_page=`, validated.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub const MAX_PER_PAGE: i64 = 200;

impl Paging {
    /// `(limit, offset, page)`.
    pub fn resolve(&self) -> Result<(i64, i64, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=1_000_000).contains(&page) {
            return Err(ApiError::bad_request("page must be between 1 and 1000000"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        Ok((per_page, (page - 1) * per_page, page))
    }
}

/// Parses a challenge from a request field, or says which ones exist.
pub fn challenge_field(field: &str, value: &str) -> Result<chaos_domain::Challenge, ApiError> {
    value.parse().map_err(|e: chaos_domain::UnknownChallenge| {
        ApiError::unprocessable(format!("{field}: {e}"))
    })
}
