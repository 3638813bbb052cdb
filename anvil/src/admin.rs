//! The fault-injection API. It exists only when an admin token is
//! configured, and every call must carry that token.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chaos_domain::{FaultKind, FaultSpec};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::faults::ActiveFault;
use crate::state::AppState;

/// Compares digests rather than tokens, so the comparison takes the same
/// time whatever the length or content of the guess.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = state
        .shared
        .settings
        .admin_token_digest
        .ok_or_else(|| ApiError::not_found("no such route"))?;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(chaos_domain::token::bearer)
        .ok_or_else(|| {
            ApiError::unauthenticated("the fault API needs Authorization: Bearer <admin token>")
        })?;
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    if bool::from(digest.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(ApiError::forbidden("the admin token is wrong"))
    }
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ActiveFault>>, ApiError> {
    authorize(&state, &headers)?;
    Ok(Json(state.faults.list()))
}

pub async fn inject(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<FaultSpec>, JsonRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let Json(spec) = body?;
    spec.validate().map_err(|e| ApiError::unprocessable(e.0))?;
    tracing::info!(kind = spec.kind.as_str(), ?spec, "chaos: fault injected");
    if spec.kind == FaultKind::Crash {
        let crashed = state.crashed.clone();
        // Answer first, then go down.
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            crashed.cancel();
        });
        return Ok((StatusCode::ACCEPTED, Json(json!({ "status": "crashing" }))).into_response());
    }
    state.faults.inject(&spec);
    Ok((StatusCode::CREATED, Json(state.faults.list())).into_response())
}

pub async fn clear(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    state.faults.clear();
    tracing::warn!("faults cleared");
    Ok(StatusCode::NO_CONTENT)
}
