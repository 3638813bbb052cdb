//! The OpenAPI document of every JSON endpoint, written by hand in
//! `openapi.json` and checked against the server by schemathesis in CI.

use axum::response::IntoResponse;

const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([("content-type", "application/json")], DOCUMENT)
}
