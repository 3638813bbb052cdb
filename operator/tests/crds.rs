//! crds/ holds exactly what crdgen writes, and every schema is one a
//! real API server accepts as structural.

use serde_json::Value;

#[test]
fn crds_on_disk_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    for (name, yaml) in chaos_operator::crdgen::documents().expect("generates") {
        let on_disk = std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|e| {
            panic!("crds/{name}: {e}; run `cargo run -p chaos-operator --bin crdgen`")
        });
        assert!(
            on_disk == yaml,
            "crds/{name} is out of date: run `cargo run -p chaos-operator --bin crdgen`"
        );
    }
}

/// Walks a schema: every node has a type (or an allowed escape), no
/// untyped anyOf/oneOf, no $ref, every field described.
fn check(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else { return };
    let escape = obj.contains_key("x-kubernetes-int-or-string")
        || obj.contains_key("x-kubernetes-preserve-unknown-fields");
    if !obj.contains_key("type") && !escape {
        problems.push(format!("{path}: no type"));
    }
    for bad in ["$ref", "anyOf", "oneOf", "allOf"] {
        if obj.contains_key(bad) {
            problems.push(format!("{path}: {bad}"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let p = format!("{path}.{k}");
            // Condition's fields come from k8s-openapi.
            if !path.ends_with("conditions[]")
                && !v.as_object().is_some_and(|o| o.contains_key("description"))
            {
                problems.push(format!(
                    "{p}: no description (kubectl explain would be empty)"
                ));
            }
            check(v, &p, problems);
        }
    }
    if let Some(items) = obj.get("items") {
        check(items, &format!("{path}[]"), problems);
    }
    if obj.get("type").and_then(Value::as_str) == Some("object")
        && !obj.contains_key("properties")
        && !escape
        && !obj.contains_key("additionalProperties")
    {
        problems.push(format!("{path}: an object with no properties"));
    }
}

#[test]
fn schemas_are_structural_and_documented() {
    for (name, yaml) in chaos_operator::crdgen::documents().expect("generates") {
        let crd: Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
        for version in crd["spec"]["versions"].as_array().expect("versions") {
            let schema = &version["schema"]["openAPIV3Schema"];
            assert!(
                schema["description"]
                    .as_str()
                    .is_some_and(|d| !d.contains("Auto-generated"))
            );
            let mut problems = Vec::new();
            check(schema, "", &mut problems);
            assert!(problems.is_empty(), "{name}: {problems:#?}");
            assert_eq!(version["subresources"]["status"], serde_json::json!({}));
        }
    }
}

#[test]
fn printer_columns_show_phase_and_score() {
    let docs = chaos_operator::crdgen::documents().expect("generates");
    let columns = |file: &str| -> Vec<String> {
        let (_, yaml) = docs.iter().find(|(n, _)| n == file).expect("crd");
        let crd: Value = serde_yaml_ng::from_str(yaml).expect("yaml");
        crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .expect("columns")
            .iter()
            .filter(|c| c.get("priority").is_none())
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        columns("contributors.srechaos.dev.yaml"),
        ["Phase", "Ready", "Challenge", "Endpoint", "Age"]
    );
    assert_eq!(
        columns("challengeruns.srechaos.dev.yaml"),
        ["Contributor", "Challenge", "Phase", "Score", "Age"]
    );
}
