//! The OpenAPI document of every JSON endpoint, checked against the
//! server by schemathesis in CI. Nothing in it is written by hand: the
//! paths and methods are the router's own (`app::api_routes`, built with
//! aide), the parameters and bodies come from the extractors the handlers
//! take, the success answers from the types they return, and each route
//! adds what only it knows (who may call it, the statuses its own checks
//! answer). The schemas are generated from the contract's types, answers
//! as the server writes them and requests as it reads them.

use aide::generate::GenContext;
use aide::openapi::{
    MediaType, OpenApi, Operation, ReferenceOr, RequestBody, Response, SchemaObject,
    SecurityScheme, StatusCode as Code,
};
use aide::operation::{ParamLocation, add_parameters, parameters_from_schema, set_body};
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::response::IntoResponse;
use chaos_contract as contract;
use indexmap::IndexMap;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

use crate::error::ErrorBody;
use crate::state::AppState;

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

/// Every schema of the document, by component name: answers as the
/// server writes them, requests as the server reads them.
pub fn schemas() -> Map<String, Value> {
    let mut answers = generator(Contract::Serialize);
    for _ in [
        answers.subschema_for::<contract::Run>(),
        answers.subschema_for::<contract::RunList>(),
        answers.subschema_for::<contract::Contributor>(),
        answers.subschema_for::<contract::Registered>(),
        answers.subschema_for::<contract::ContributorList>(),
        answers.subschema_for::<contract::Leaderboard>(),
        answers.subschema_for::<contract::ImportReport>(),
        answers.subschema_for::<ErrorBody>(),
        answers.subschema_for::<crate::app::Status>(),
        answers.subschema_for::<crate::contributors::api::NotHere>(),
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
        requests.subschema_for::<crate::contributors::import::JsonImport>(),
    ] {}
    for (name, schema) in requests.take_definitions(true) {
        schemas.entry(name).or_insert(schema);
    }
    schemas
}

/// `content` holding one media type with the schema given.
pub fn content(media: &str, json_schema: schemars::Schema) -> IndexMap<String, MediaType> {
    IndexMap::from_iter([(
        media.to_owned(),
        MediaType {
            schema: Some(SchemaObject {
                json_schema,
                example: None,
                external_docs: None,
            }),
            ..Default::default()
        },
    )])
}

/// A JSON answer of type `T`.
pub fn json_response<T: JsonSchema>(ctx: &mut GenContext, description: &str) -> Response {
    Response {
        description: description.into(),
        content: content("application/json", ctx.schema.subschema_for::<T>()),
        ..Default::default()
    }
}

/// `{"error": "..."}`, as every error is.
pub fn error_response(ctx: &mut GenContext, description: &str) -> Response {
    json_response::<ErrorBody>(ctx, description)
}

/// A JSON body of type `T`.
pub fn json_body<T: JsonSchema>(ctx: &mut GenContext, operation: &mut Operation, required: bool) {
    let content = content("application/json", ctx.schema.subschema_for::<T>());
    set_body(
        ctx,
        operation,
        RequestBody {
            description: None,
            content,
            required,
            extensions: IndexMap::default(),
        },
    );
}

/// The fields of `T` as path or query parameters.
pub fn parameters<T: JsonSchema>(
    ctx: &mut GenContext,
    operation: &mut Operation,
    location: ParamLocation,
) {
    let schema = ctx.schema.subschema_for::<T>();
    let params = parameters_from_schema(ctx, schema, location);
    add_parameters(ctx, operation, params);
}

fn set_response(op: &mut Operation, code: u16, response: Response) {
    op.responses
        .get_or_insert_with(Default::default)
        .responses
        .insert(Code::Code(code), ReferenceOr::Item(response));
}

/// What a route adds to what its extractors and answer say.
pub trait Describe: Sized {
    /// Answers `code` with `{"error": ...}` when `description` happens.
    fn fails(self, code: u16, description: &str) -> Self;
    /// Answers `code` with a `T`.
    fn answers<T: JsonSchema>(self, code: u16, description: &str) -> Self;
    /// Names the success the answer type already documents (200).
    fn ok(self, description: &str) -> Self;
    /// Needs the admin token.
    fn admin(self) -> Self;
    /// Needs the contributor's own API key.
    fn api_key(self) -> Self;
}

impl Describe for TransformOperation<'_> {
    fn fails(mut self, code: u16, description: &str) -> Self {
        let response = aide::generate::in_context(|ctx| error_response(ctx, description));
        set_response(self.inner_mut(), code, response);
        self
    }

    fn answers<T: JsonSchema>(mut self, code: u16, description: &str) -> Self {
        let response = aide::generate::in_context(|ctx| json_response::<T>(ctx, description));
        set_response(self.inner_mut(), code, response);
        self
    }

    fn ok(mut self, description: &str) -> Self {
        let described = self
            .inner_mut()
            .responses
            .as_mut()
            .and_then(|r| r.responses.get_mut(&Code::Code(200)));
        match described {
            Some(ReferenceOr::Item(r)) => r.description = description.into(),
            // A route whose answer type says nothing must say `answers`;
            // the document's test builds every route, so this never ships.
            _ => debug_assert!(false, "ok({description:?}) on a route with no 200 answer"),
        }
        self
    }

    fn admin(self) -> Self {
        self.security_requirement("adminToken")
            .fails(401, "Missing or malformed credentials")
            .fails(403, "Wrong credentials, or admin actions disabled")
    }

    fn api_key(self) -> Self {
        self.security_requirement("apiKey")
            .fails(401, "Missing or malformed credentials")
            .fails(403, "Wrong credentials, or admin actions disabled")
    }
}

/// The whole document, from the router.
pub fn document() -> Value {
    let mut api = OpenApi::default();
    aide::generate::in_context(|ctx| ctx.schema = generator(Contract::Deserialize));
    let _ = crate::app::api_routes().finish_api_with(&mut api, |doc| {
        doc.title("SRE Chaos Challenge API")
            .version("1.0.0")
            .description(
                "Contributors, run windows, scoring and the leaderboard. Admin actions need \
                 `Authorization: Bearer <admin token>`; a contributor's own actions need \
                 `Authorization: Bearer <API key>`. Every error is `{\"error\": \"message\"}`.",
            )
            .security_scheme("adminToken", bearer("The platform's admin token"))
            .security_scheme("apiKey", bearer("A contributor's API key (sck_...)"))
    });
    aide::generate::reset_context();
    let mut doc = serde_json::to_value(&api)
        .unwrap_or_else(|e| serde_json::json!({ "error": format!("the document: {e}") }));
    // Replaced whole: aide's generator reads every type one way, and an
    // answer is written differently from how a request is read.
    doc["components"]["schemas"] = Value::Object(schemas());
    doc
}

fn bearer(description: &str) -> SecurityScheme {
    SecurityScheme::Http {
        scheme: "bearer".into(),
        bearer_format: None,
        description: Some(description.into()),
        extensions: IndexMap::default(),
    }
}

/// The document as it is for this server: without `--prometheus-url` a run
/// can only be measured by the built-in scraper, whose metrics URLs are
/// then required, so the document says so rather than promise `prometheus`.
/// The profile versions that exist are listed from the domain crate.
pub fn for_server(has_prometheus: bool) -> String {
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(document);
    let mut doc = DOCUMENT.clone();
    let create = &mut doc["components"]["schemas"]["NewRun"];
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

/// The operation ids and paths, for the tests.
#[cfg(test)]
fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((
                path.clone(),
                method.clone(),
                op["operationId"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_every_route_is_described() {
        let doc = document();
        if let Ok(path) = std::env::var("DUMP_OPENAPI") {
            std::fs::write(path, doc.to_string()).expect("dump");
        }
        assert_eq!(doc["openapi"], "3.1.0", "{doc}");
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        let ops = operations(&doc);
        assert_eq!(ops.len(), 20, "{ops:#?}");
        for (path, method, id) in &ops {
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            let op = &doc["paths"][path][method];
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{method} {path} documents no success"
            );
            for (code, r) in responses {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {code} has no description"
                );
            }
            for name in path.split('{').skip(1).filter_map(|p| p.split('}').next()) {
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(declared, "{method} {path} does not declare {{{name}}}");
            }
        }
    }

    #[test]
    fn the_answers_say_what_the_server_sends() {
        let schemas = schemas();
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
        let create = &schemas["NewRun"];
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
        // What each route reads and answers is the handler's own type.
        let paths = &doc["paths"];
        let body = |path: &str, method: &str| {
            paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .clone()
        };
        assert_eq!(body("/api/v1/runs", "post"), "#/components/schemas/NewRun");
        assert_eq!(
            body("/api/v1/runs/{id}/end", "post"),
            "#/components/schemas/WindowEdge"
        );
        assert_ne!(
            paths["/api/v1/runs/{id}/end"]["post"]["requestBody"]["required"],
            true
        );
        assert_eq!(
            paths["/api/v1/runs/{id}/end"]["post"]["security"],
            serde_json::json!([{ "adminToken": [] }])
        );
        assert_eq!(
            paths["/api/v1/runs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/RunList"
        );
        let params = paths["/api/v1/contributors/{name}"]["delete"]["parameters"]
            .as_array()
            .expect("parameters");
        let manager = params
            .iter()
            .find(|p| p["name"] == "manager")
            .expect("manager");
        assert_eq!(manager["in"], "query");
        assert_eq!(
            manager["schema"]["pattern"],
            chaos_domain::contributor::MANAGER_PATTERN
        );
    }
}
