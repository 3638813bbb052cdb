//! The OpenAPI document of every JSON endpoint, written by hand in
//! `openapi.json` and checked against the server by schemathesis in CI.

use axum::extract::State;
use axum::response::IntoResponse;

use crate::app::AppState;

const DOCUMENT: &str = include_str!("../openapi.json");

/// The document as it is for this server: without `--prometheus-url` a run
/// can only be measured by the built-in scraper, whose metrics URLs are
/// then required, so the document says so rather than promise `prometheus`.
/// The profile versions that exist are listed from the domain crate.
pub fn for_server(has_prometheus: bool) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(DOCUMENT) else {
        return DOCUMENT.to_owned();
    };
    let create = &mut doc["components"]["schemas"]["CreateRun"];
    let mut versions: Vec<u32> = chaos_domain::Challenge::ALL
        .iter()
        .map(|c| chaos_domain::ChallengeProfile::current(*c).version)
        .collect();
    versions.sort_unstable();
    versions.dedup();
    create["properties"]["profile_version"]["enum"] = serde_json::json!(versions);
    if !has_prometheus {
        create["properties"]["source"]["enum"] = serde_json::json!(["builtin"]);
        if let Some(required) = create["required"].as_array_mut() {
            required.push("loadgen_metrics_url".into());
            required.push("anvil_metrics_url".into());
        }
    }
    doc.to_string()
}

pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        for_server(state.scoring.has_prometheus()),
    )
}
