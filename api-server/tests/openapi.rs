//! The OpenAPI document against the server: schemathesis (PyPI)
//! generates requests for every operation, valid and invalid, and fails
//! on any 5xx, any response that breaks the document, a valid request
//! refused or an invalid one accepted. Skipped where schemathesis is not
//! installed, unless CHAOS_REQUIRE_TOOLS=1 (as in CI).

mod support;

use std::process::Command;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Ok(version) = Command::new("schemathesis").arg("--version").output() else {
        skip("schemathesis (pip install schemathesis)");
        return;
    };
    assert!(version.status.success());
    let s = server(&config(&sqlite_db())).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    // A run on the list, so that the run answers are checked against
    // their schema (schemathesis cannot guess a contributor's name).
    let r = c
        .admin_post(
            "/api/v1/runs",
            serde_json::json!({"id": "seeded", "contributor": "ada", "challenge": "robust-service",
                "target": "http://app", "source": "builtin",
                "loadgen_metrics_url": "http://127.0.0.1:9/metrics",
                "anvil_metrics_url": "http://127.0.0.1:9/metrics"}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    let spec = format!("{}/api/openapi.json", s.base_url());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .args(["run", &spec])
            // Every check: no 5xx, responses as documented, valid requests
            // accepted, invalid ones refused, deleted resources gone.
            .args(["--checks", "all"])
            .args(["-H", &format!("Authorization: Bearer {ADMIN}")])
            .args(["-n", "25", "--generation-deterministic"])
            // How fast the test machine generates data (a busy CI runner)
            // is not a property of the API: that health check is off.
            .args(["--suppress-health-check", "too_slow"])
            .env("NO_COLOR", "1")
            .output()
    })
    .await
    .expect("joins")
    .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "{report}");
    println!("{report}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_json_route() {
    let s = server(&config(&sqlite_db())).await;
    let doc: serde_json::Value = reqwest::get(format!("{}/api/openapi.json", s.base_url()))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    for path in [
        "/api/v1/contributors",
        "/api/v1/contributors/{name}",
        "/api/v1/contributors/{name}/challenge",
        "/api/v1/register-influencer",
        "/api/v1/runs",
        "/api/v1/runs/{id}",
        "/api/v1/runs/{id}/start",
        "/api/v1/runs/{id}/end",
        "/api/v1/runs/{id}/score",
        "/api/v1/runs/{id}/interrupt",
        "/api/v1/contributors/{name}/reactivate",
        "/api/v1/contributors/{name}/key",
        "/api/v1/contributor-imports",
        "/api/v1/leaderboard/{challenge}",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is missing from the OpenAPI document"
        );
    }
    s.stop().await;
}
