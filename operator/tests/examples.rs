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
    assert_eq!(c.spec.app.replicas, 2);
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
