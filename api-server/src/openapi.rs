//! The OpenAPI document of every JSON endpoint, checked against the
//! server by schemathesis in CI. The schemas of every JSON body, both
//! the requests the server reads and the answers it writes, are generated
//! from the contract's types (`chaos-contract`), so they cannot drift
//! from what is sent; the paths, their parameters and the earlier
//! platform's import row are written in `openapi.base.json`.

use axum::extract::State;
use axum::response::IntoResponse;
use chaos_contract as contract;
use schemars::SchemaGenerator;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value};

use crate::state::AppState;

const BASE: &str = include_str!("../openapi.base.json");

/// A generator whose references point into the document's components.
fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.contract = contract;
        })
        .into_generator()
}

/// The contract's schemas, by component name: answers as the server
/// writes them, a new run as the server reads it.
pub fn contract_schemas() -> Map<String, Value> {
    let mut answers = generator(Contract::Serialize);
    for _ in [
        answers.subschema_for::<contract::Run>(),
        answers.subschema_for::<contract::RunList>(),
        answers.subschema_for::<contract::Contributor>(),
        answers.subschema_for::<contract::Registered>(),
        answers.subschema_for::<contract::ContributorList>(),
        answers.subschema_for::<contract::Leaderboard>(),
        answers.subschema_for::<contract::ImportReport>(),
    ] {}
    let mut schemas = answers.take_definitions(true);
    let mut requests = generator(Contract::Deserialize);
    for _ in [
        requests.subschema_for::<contract::NewRun>(),
        requests.subschema_for::<contract::RegisterContributor>(),
        requests.subschema_for::<contract::UpdateContributor>(),
        requests.subschema_for::<contract::SwitchChallenge>(),
        requests.subschema_for::<contract::LegacySwitch>(),
        requests.subschema_for::<contract::WindowEdge>(),
        requests.subschema_for::<contract::ScoreRequest>(),
        requests.subschema_for::<contract::Interrupt>(),
    ] {}
    for (name, schema) in requests.take_definitions(true) {
        // The document has always called it CreateRun.
        let name = if name == "NewRun" {
            "CreateRun".to_owned()
        } else {
            name
        };
        schemas.entry(name).or_insert(schema);
    }
    schemas
}

/// The whole document.
pub fn document() -> Value {
    let mut doc: Value = match serde_json::from_str(BASE) {
        Ok(doc) => doc,
        // A test reads the same file: a broken one never ships.
        Err(e) => serde_json::json!({ "error": format!("openapi.base.json: {e}") }),
    };
    if let Some(components) = doc["components"]["schemas"].as_object_mut() {
        components.extend(contract_schemas());
    }
    doc
}

/// The document as it is for this server: without `--prometheus-url` a run
/// can only be measured by the built-in scraper, whose metrics URLs are
/// then required, so the document says so rather than promise `prometheus`.
/// The profile versions that exist are listed from the domain crate.
pub fn for_server(has_prometheus: bool) -> String {
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(document);
    let mut doc = DOCUMENT.clone();
    let create = &mut doc["components"]["schemas"]["CreateRun"];
    let mut versions: Vec<u32> = chaos_domain::Challenge::ALL
        .iter()
        .map(|c| chaos_domain::ChallengeProfile::current(*c).version)
        .collect();
    versions.sort_unstable();
    versions.dedup();
    create["properties"]["profile_version"]["enum"] = serde_json::json!(versions);
    if !has_prometheus {
        create["properties"]["source"] =
            serde_json::json!({ "type": "string", "enum": ["builtin"] });
        if let Some(required) = create["required"].as_array_mut() {
            required.push("loadgen_metrics_url".into());
            required.push("anvil_metrics_url".into());
        }
    }
    // Listed, not a range: JSON Schema's integer admits 1.0, which the
    // server reads as a mistake.
    let rules: Vec<u32> = (1..=chaos_domain::scoring::RULES_VERSION).collect();
    doc["components"]["schemas"]["ScoreRequest"]["properties"]["rules_version"]["enum"] =
        serde_json::json!(rules);
    doc.to_string()
}

pub async fn document_handler(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        for_server(state.scoring.has_prometheus()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_nothing_is_defined_twice() {
        let doc = document();
        assert!(doc["openapi"].is_string(), "{doc}");
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        let base: Value = serde_json::from_str(BASE).expect("openapi.base.json parses");
        for name in contract_schemas().keys() {
            assert!(
                base["components"]["schemas"].get(name).is_none(),
                "{name} is generated from the contract; remove it from openapi.base.json"
            );
        }
    }

    #[test]
    fn the_answers_say_what_the_server_sends() {
        let schemas = contract_schemas();
        let run = &schemas["Run"];
        let state = &schemas["RunState"];
        let mut states: Vec<&str> = state["oneOf"]
            .as_array()
            .expect("one of")
            .iter()
            .flat_map(|v| match (v["enum"].as_array(), v["const"].as_str()) {
                (Some(values), _) => values.iter().filter_map(Value::as_str).collect(),
                (None, Some(one)) => vec![one],
                (None, None) => vec![],
            })
            .collect();
        states.sort_unstable();
        let mut expected: Vec<&str> = contract::RunState::ALL.iter().map(|s| s.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(states, expected, "{state}");
        assert_eq!(
            run["properties"]["state"]["$ref"],
            "#/components/schemas/RunState"
        );
        let score = &schemas["Score"];
        assert!(score["properties"]["statistics"].is_object(), "{score}");
        let create = &schemas["CreateRun"];
        assert_eq!(create["additionalProperties"], false, "{create}");
        assert_eq!(
            create["properties"]["loadgen_selector"]["maxProperties"],
            10
        );
    }

    #[test]
    fn the_requests_say_what_the_server_reads() {
        let doc: Value = serde_json::from_str(&for_server(true)).expect("document");
        let schemas = &doc["components"]["schemas"];
        let rules = &schemas["ScoreRequest"]["properties"]["rules_version"]["enum"];
        let current = chaos_domain::scoring::RULES_VERSION;
        assert_eq!(
            rules.as_array().map(Vec::len),
            Some(current as usize),
            "{rules}"
        );
        assert_eq!(rules[current as usize - 1], current, "{rules}");
        let register = &schemas["RegisterContributor"];
        assert_eq!(register["additionalProperties"], false, "{register}");
        assert_eq!(
            register["required"],
            serde_json::json!(["name"]),
            "{register}"
        );
        assert_eq!(
            register["properties"]["display_name"]["pattern"],
            chaos_domain::contributor::display_name_pattern()
        );
        assert_eq!(
            register["properties"]["name"]["pattern"],
            chaos_domain::contributor::NAME_PATTERN
        );
        // The earlier platform's switch ignores fields it does not know.
        assert_ne!(schemas["LegacySwitch"]["additionalProperties"], false);
        for name in [
            "SwitchChallenge",
            "UpdateContributor",
            "WindowEdge",
            "Interrupt",
        ] {
            assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
        }
    }
}
