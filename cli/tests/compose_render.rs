//! `chaosctl contributor compose` on every reference topology: the binary
//! renders each manifest of examples/contributors/ into an override that
//! follows the Compose specification (check-jsonschema, PyPI) and mounts
//! only files it wrote; a broken manifest is refused naming the problem.

use std::path::Path;
use std::process::Command;

use chaos_testkit::{skip, temp_dir};

const BIN: &str = env!("CARGO_BIN_EXE_chaosctl");

fn examples() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contributors");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/contributors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_reference_topology_renders_to_a_valid_override() {
    let checker = Command::new("check-jsonschema")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let manifests = examples();
    assert!(manifests.len() >= 3, "{manifests:?}");
    for manifest in manifests {
        let root = temp_dir("chaosctl-compose-render");
        let out = Command::new(BIN)
            .args(["contributor", "compose"])
            .arg(&manifest)
            .arg("--root")
            .arg(&root)
            .args(["--port", "8101"])
            .output()
            .expect("runs");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {said}{}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("chaosctl run --compose")
                && said.contains("--target http://127.0.0.1:8101"),
            "{said}"
        );
        let file = root.join("compose-files/docker-compose.ada.yml");
        let text = std::fs::read_to_string(&file).expect("written");
        let doc: serde_json::Value = serde_yaml_ng::from_str(&text).expect("yaml");
        for (name, service) in doc["services"].as_object().expect("services") {
            for v in service["volumes"].as_array().into_iter().flatten() {
                let host = v
                    .as_str()
                    .expect("a string")
                    .split(':')
                    .next()
                    .expect("host");
                assert!(
                    root.join(host).is_file(),
                    "{name} mounts {host}, which was not written"
                );
            }
        }
        if checker {
            let o = Command::new("check-jsonschema")
                .args(["--builtin-schema", "vendor.compose-spec"])
                .arg(&file)
                .output()
                .expect("runs");
            assert!(
                o.status.success(),
                "{}: {}{}",
                manifest.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(root);
    }
    if !checker {
        skip("check-jsonschema (PyPI): the overrides were rendered, not validated");
    }
}

#[test]
fn a_manifest_that_cannot_be_built_is_refused_naming_the_field() {
    let root = temp_dir("chaosctl-compose-refused");
    let manifest = root.join("contributor.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: srechaos.dev/v1alpha1\nkind: Contributor\nmetadata: {name: ada}\nspec:\n  challenge: robust-service\n  components:\n    - {name: edge, image: nginx, ports: [{name: http, port: 8080}]}\n  entry: {component: cache}\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["contributor", "compose"])
        .arg(&manifest)
        .arg("--root")
        .arg(&root)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("entry.component") && err.contains("\"cache\""),
        "{err}"
    );
    assert!(!root.join("compose-files").exists(), "nothing written");
    let _ = std::fs::remove_dir_all(root);
}
