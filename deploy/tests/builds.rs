//! Promises about the build itself: the declared minimum Rust version is
//! the real one, and chaosctl's dependency tree on macOS holds no
//! Linux-only crate (so `cargo install --path cli` works there).

use std::process::Command;

fn cargo(args: &[&str]) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `1.94` and `1.94.0` are the same version.
fn version(v: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.resize(3, 0);
    parts
}

#[test]
fn rust_version_is_the_highest_any_dependency_needs() {
    let meta: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--locked"]))
            .expect("metadata");
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let packages = meta["packages"].as_array().expect("packages");
    // What the dependencies need: the highest rust-version among them.
    let needed = packages
        .iter()
        .filter(|p| !members.contains(&p["id"].as_str().unwrap_or_default()))
        .filter_map(|p| Some((p["rust_version"].as_str()?, p["name"].as_str()?)))
        .max_by(|a, b| version(a.0).cmp(&version(b.0)))
        .expect("some dependency declares a rust-version");
    // What the workspace declares, on every member.
    for p in packages
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or_default()))
    {
        let declared = p["rust_version"].as_str().unwrap_or("none");
        assert_eq!(
            version(declared),
            version(needed.0),
            "{} declares rust-version {declared}; {} needs {}",
            p["name"],
            needed.1,
            needed.0
        );
    }
}

#[test]
fn chaosctl_on_macos_pulls_no_linux_only_crate() {
    let tree = cargo(&[
        "tree",
        "--locked",
        "-p",
        "chaosctl",
        "-e",
        "normal",
        "--target",
        "x86_64-apple-darwin",
        "--prefix",
        "none",
    ]);
    for linux_only in ["procfs", "procfs-core", "inotify", "linux-raw-sys "] {
        assert!(
            !tree.lines().any(|l| l.starts_with(linux_only)),
            "{linux_only} is in chaosctl's macOS tree"
        );
    }
    // The same tree on Linux does hold procfs: the check looks at the right thing.
    let linux = cargo(&[
        "tree", "--locked", "-p", "chaosctl", "-e", "normal", "--prefix", "none",
    ]);
    assert!(linux.lines().any(|l| l.starts_with("procfs ")));
}
