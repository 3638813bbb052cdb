//! `GET /api/v1/leaderboard/{challenge}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chaos_contract as contract;
use chaos_domain::Challenge;
use chaos_domain::scoring::{RULES_VERSION, statistic_names};

use crate::error::{ApiError, ApiResult};
use crate::http::{ApiPath, ApiQuery, ChallengePath, PageRange, Paging};
use crate::leaderboard::store as scores;
use crate::openapi::Describe;
use crate::state::AppState;
use aide::transform::TransformOperation;

pub fn challenge_path(value: &str) -> Result<Challenge, ApiError> {
    value.parse().map_err(|e: chaos_domain::UnknownChallenge| {
        ApiError::not_found(format!("no leaderboard: {e}"))
    })
}

/// Served from the response cache when fresh (see `cache.rs`).
pub async fn get(
    State(state): State<AppState>,
    ApiPath(ChallengePath { challenge }): ApiPath<ChallengePath>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Response> {
    let challenge = challenge_path(&challenge)?;
    let (limit, offset, page) = paging.resolve()?;
    let key = format!("api:{challenge}:{limit}:{offset}");
    let body = match state.cache.get(&key) {
        Some(body) => body,
        None => {
            let generation = state.cache.generation();
            let body = Bytes::from(
                serde_json::to_string(&render(&state, challenge, limit, offset, page).await?)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            );
            state.cache.put(key, generation, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn render(
    state: &AppState,
    challenge: Challenge,
    limit: i64,
    offset: i64,
    page: i64,
) -> ApiResult<contract::Leaderboard> {
    let (entries, total) = scores::leaderboard(&state.db, challenge, limit, offset).await?;
    let earlier = scores::earlier_rules(&state.db, challenge, 50).await?;
    Ok(contract::Leaderboard {
        challenge,
        title: challenge.title().to_owned(),
        rules_version: i64::from(RULES_VERSION),
        statistics: statistic_names(challenge).map(str::to_owned).to_vec(),
        page,
        per_page: limit,
        total,
        entries,
        earlier_rules: earlier,
    })
}

pub fn docs(op: TransformOperation) -> TransformOperation {
    op.id("leaderboard")
        .summary("The leaderboard of a challenge: best scored run per contributor")
        .answers::<contract::Leaderboard>(200, "OK")
        .fails(404, "No such challenge")
}
