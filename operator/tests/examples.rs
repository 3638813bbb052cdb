//! The example manifests in examples/ are valid resources of this version.

use chaos_operator::crd::{ChallengeRun, Contributor};

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_example_contributor_parses() {
    let c: Contributor = serde_yaml_ng::from_str(&read("contributor.yaml")).expect("a Contributor");
    assert_eq!(c.metadata.name.as_deref(), Some("ada"));
    assert_eq!(c.spec.app.as_ref().expect("app").replicas, 2);
}

#[test]
fn there_is_a_challengerun_example_per_challenge() {
    for challenge in chaos_domain::Challenge::ALL {
        let r: ChallengeRun =
            serde_yaml_ng::from_str(&read(&format!("challengerun-{challenge}.yaml")))
                .expect("a ChallengeRun");
        assert_eq!(r.spec.challenge, challenge);
        assert_eq!(r.spec.contributor, "ada");
    }
}

/// The reference topologies read, build and fit the default budget.
#[test]
fn the_reference_topologies_fit_the_budget() {
    use chaos_operator::contributor::topology::{self, Budget};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contributors");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/contributors") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let c: Contributor =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let t = topology::read(&c.spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        topology::within(&t, Budget::DEFAULT).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            t.components.iter().all(|p| !p.files.is_empty()),
            "{}: the config is in the manifest",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 3, "{seen} reference topologies");
}
