//! `GET /api/v1/leaderboard/{challenge}`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chaos_domain::Challenge;
use chaos_domain::scoring::{RULES_VERSION, statistic_names};
use serde_json::{Value, json};

use super::Paging;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::store::scores;

pub fn challenge_path(value: &str) -> Result<Challenge, ApiError> {
    value.parse().map_err(|e: chaos_domain::UnknownChallenge| {
        ApiError::not_found(format!("no leaderboard: {e}"))
    })
}

pub async fn get(
    State(state): State<AppState>,
    challenge: Result<Path<String>, PathRejection>,
    paging: Result<Query<Paging>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Path(challenge) = challenge?;
    let challenge = challenge_path(&challenge)?;
    let Query(paging) = paging?;
    let (limit, offset, page) = paging.resolve()?;
    let (entries, total) = scores::leaderboard(&state.db, challenge, limit, offset).await?;
    Ok(Json(json!({
        "challenge": challenge,
        "title": challenge.title(),
        "rules_version": RULES_VERSION,
        "statistics": statistic_names(challenge),
        "page": page,
        "per_page": limit,
        "total": total,
        "entries": entries,
    })))
}
