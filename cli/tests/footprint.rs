//! What chaosctl carries: the playground runs on SQLite, so no PostgreSQL
//! driver is built into it (docs/PERFORMANCE.md, "First start").

use std::process::Command;

#[test]
fn chaosctl_builds_no_postgres_driver() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--package",
            "chaosctl",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--locked",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut crates: Vec<&str> = tree
        .lines()
        .map(|l| l.trim_end_matches(" (*)"))
        .filter(|l| !l.is_empty())
        .collect();
    crates.sort_unstable();
    crates.dedup();
    println!("chaosctl carries {} crates", crates.len());
    let has = |name: &str| crates.iter().any(|c| c.starts_with(&format!("{name} v")));
    // The SQLite driver is there, so the tree read is the real one.
    assert!(has("sqlx-sqlite"), "no sqlx-sqlite in:\n{tree}");
    assert!(!has("sqlx-postgres"), "chaosctl builds sqlx-postgres");
}
