//! Every url-anvil endpoint and every error, driven in process.

mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chaos_domain::CapacityProfile;
use chaos_domain::corpus::{self, CorpusKey, CorpusOf, RunNonce};
use sha2::{Digest, Sha256};
use support::*;
use url_anvil::corpus::Corpus;

fn uncapped() -> url_anvil::Config {
    let mut c = config();
    c.capacity = CapacityProfile::UNCAPPED;
    c
}

#[tokio::test]
async fn the_index_page_is_html() {
    let (app, _) = app(&uncapped());
    let r = get(&app, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    assert!(r.text().contains("url-anvil"));
}

#[tokio::test]
async fn sample_urls_are_a_bare_array_as_before_and_the_hash_joins_bodies_as_before() {
    let (app, _) = app(&uncapped());
    let samples = get(&app, "/api/sample-urls").await;
    assert_eq!(samples.status, StatusCode::OK);
    let urls = samples.json();
    let list = urls
        .as_array()
        .expect("a bare array, as the earlier url-anvil answered");
    assert_eq!(list.len(), 5);
    assert_eq!(list[0], "http://127.0.0.1:8080/corpus/1");

    // What the earlier public solutions do: post {"urls": <that answer>}.
    let body = serde_json::json!({ "urls": urls }).to_string();
    let r = post_json(&app, "/api/test", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let result = r.json();
    let corpus = Corpus::new(CorpusKey::public());
    let mut hasher = Sha256::new();
    for id in 1..=5 {
        if id > 1 {
            hasher.update(b"\n---\n");
        }
        hasher.update(corpus.get(id, None).expect("doc"));
    }
    let expected: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(result["content_hash"], expected);
    assert_eq!(result["urls_tested"], 5);
    for field in ["total_fetch_time_ms", "average_fetch_time_ms"] {
        let v = result[field].as_f64().expect(field);
        assert!(v >= 0.0);
        assert_eq!((v * 100.0).round() / 100.0, v, "two decimals, as before");
    }
    let ts = result["timestamp"].as_str().expect("timestamp");
    assert!(
        ts.parse::<jiff::Timestamp>().is_ok() && ts.ends_with('Z'),
        "{ts}"
    );

    // The object form, ready to post as it is.
    let ready = get(&app, "/api/sample-urls?format=request").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["urls"], urls);
    let r = post_json(&app, "/api/test", &ready.text()).await;
    assert_eq!(r.json()["content_hash"], expected);
    let bad = get(&app, "/api/sample-urls?format=xml").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["error"]
            .as_str()
            .expect("error")
            .contains("request")
    );
}

/// The earlier url-anvil (Node, `responses.map(r => r.data).join('\n---\n')`
/// hashed with SHA-256), run unchanged against this url-anvil's corpus
/// documents 1 and 2, answered this hash. A single URL hashed the same on
/// both before; two did not.
const EARLIER_HASH_OF_DOCS_1_AND_2: &str =
    "0fe71429c3acbda14b43b5630694eb3d863158a391b52e465a4080ac499602f5";

#[tokio::test]
async fn content_hash_of_two_urls_is_the_earlier_url_anvils() {
    let (app, _) = app(&uncapped());
    let body = r#"{"urls":["http://127.0.0.1:8080/corpus/1","http://127.0.0.1:8080/corpus/2"]}"#;
    let r = post_json(&app, "/api/test", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["content_hash"], EARLIER_HASH_OF_DOCS_1_AND_2);
}

#[tokio::test]
async fn history_keeps_the_last_ten_tests_newest_first() {
    let (app, _) = app(&uncapped());
    assert_eq!(
        get(&app, "/api/history").await.json(),
        serde_json::json!([])
    );
    for id in 1..=12 {
        let body = format!(r#"{{"urls":["http://127.0.0.1:8080/corpus/{id}"]}}"#);
        assert_eq!(
            post_json(&app, "/api/test", &body).await.status,
            StatusCode::OK
        );
    }
    let history = get(&app, "/api/history").await.json();
    let entries = history.as_array().expect("array");
    assert_eq!(entries.len(), 10);
    let corpus = Corpus::new(CorpusKey::public());
    let newest: String = Sha256::digest(corpus.get(12, None).expect("doc"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(entries[0]["content_hash"], newest);
}

#[tokio::test]
async fn corpus_documents_are_served_and_bad_ids_are_json_errors() {
    let (app, _) = app(&uncapped());
    let r = get(&app, "/corpus/42").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        Corpus::new(CorpusKey::public())
            .get(42, None)
            .expect("doc")
            .to_vec()
    );
    assert_eq!(get(&app, "/corpus/0").await.status, StatusCode::NOT_FOUND);
    let missing = get(&app, "/corpus/101").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.error().contains("101"));
    let bad = get(&app, "/corpus/abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.error().is_empty());
    let bad = get(&app, "/corpus/1?run=short").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.error().contains("nonce"), "{}", bad.error());
}

/// A run corpus is keyed: url-anvil serves and hashes exactly what the
/// shared definition says for its key, and another key gives other bytes.
#[tokio::test]
async fn run_corpora_follow_the_key_and_answer_what_the_load_generator_expects() {
    let mut c = uncapped();
    c.admin_token = Some(TOKEN.to_owned());
    let (app, _) = app(&c);
    let nonce = RunNonce::parse("9f8e7d6c5b4a39281706f5e4d3c2b1a0").expect("valid");
    let key = CorpusKey::from_secret(TOKEN);
    let id = 4_000_123;
    let doc = corpus::document(id, CorpusOf::Run(&key, &nonce)).expect("exists");
    let r = get(&app, &format!("/corpus/{id}?run={}", nonce.as_str())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, doc);
    let body = format!(
        r#"{{"urls":["http://127.0.0.1:8080/corpus/{id}?run={}"]}}"#,
        nonce.as_str()
    );
    let answer = post_json(&app, "/api/test", &body).await.json();
    assert_eq!(answer["urls_tested"], 1);
    assert_eq!(answer["content_hash"], corpus::content_hash(&[&doc]));
    let other = corpus::document(id, CorpusOf::Run(&CorpusKey::public(), &nonce)).expect("exists");
    assert_ne!(answer["content_hash"], corpus::content_hash(&[&other]));

    // An explicit corpus key wins over the admin token.
    c.corpus_key = Some("a-separate-corpus-key".to_owned());
    let (keyed, _) = support::app(&c);
    let answer = post_json(&keyed, "/api/test", &body).await.json();
    let separate = CorpusKey::from_secret("a-separate-corpus-key");
    let doc = corpus::document(id, CorpusOf::Run(&separate, &nonce)).expect("exists");
    assert_eq!(answer["content_hash"], corpus::content_hash(&[&doc]));
}

/// Reading a document takes a capacity slot like a test does: an app
/// cannot read the corpus for free and hash it itself.
#[tokio::test]
async fn reading_the_corpus_costs_capacity() {
    let mut c = config();
    c.max_concurrency = Some(1);
    c.queue_depth = Some(0);
    c.service_time_ms = Some(300);
    let (app, _) = app(&c);
    let first = tokio::spawn({
        let app = app.clone();
        async move { get(&app, "/corpus/1").await.status }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let second = get(&app, "/corpus/2").await;
    assert_eq!(
        second.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        second.text()
    );
    assert_eq!(first.await.expect("joined"), StatusCode::OK);
}

#[tokio::test]
async fn health_readiness_and_unknown_routes() {
    let (app, state) = app(&uncapped());
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    state
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        get(&app, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let r = get(&app, "/wp-login.php").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().contains("/wp-login.php"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let (app, _) = app(&uncapped());
    get(&app, "/api/sample-urls").await;
    get(&app, "/corpus/999").await;
    let r = get(&app, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    assert!(
        text.contains(
            r#"anvil_http_requests_total{method="GET",route="/api/sample-urls",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"anvil_http_requests_total{method="GET",route="/corpus/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"anvil_capacity_profile_info{profile="uncapped""#));
}

#[tokio::test]
async fn bad_test_requests_get_clear_json_errors() {
    let (app, _) = app(&uncapped());
    let many: Vec<String> = (1..=21)
        .map(|i| format!("http://127.0.0.1:8080/corpus/{i}"))
        .collect();
    let too_many = serde_json::json!({ "urls": many }).to_string();
    let huge = format!(r#"{{"urls":["{}"]}}"#, "a".repeat(70 * 1024));
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("not JSON", "{urls:".into(), StatusCode::BAD_REQUEST, ""),
        (
            "empty list",
            r#"{"urls":[]}"#.into(),
            StatusCode::BAD_REQUEST,
            "at least one",
        ),
        ("too many", too_many, StatusCode::BAD_REQUEST, "at most 20"),
        (
            "wrong type",
            r#"{"urls":"http://x"}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "urls",
        ),
        (
            "missing field",
            r#"{"links":[]}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "urls",
        ),
        (
            "ftp",
            r#"{"urls":["ftp://127.0.0.1/x"]}"#.into(),
            StatusCode::BAD_REQUEST,
            "scheme",
        ),
        (
            "not a URL",
            r#"{"urls":["::::"]}"#.into(),
            StatusCode::BAD_REQUEST,
            "not a valid URL",
        ),
        (
            "SSRF",
            r#"{"urls":["http://169.254.169.254/"]}"#.into(),
            StatusCode::FORBIDDEN,
            "not allowed",
        ),
        (
            "huge body",
            huge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (name, body, status, needle) in cases {
        let r = post_json(&app, "/api/test", &body).await;
        assert_eq!(r.status, status, "{name}: {}", r.text());
        assert!(r.error().contains(needle), "{name}: {}", r.error());
    }
    let no_type = send(
        &app,
        axum::http::Request::post("/api/test")
            .body(axum::body::Body::from(r#"{"urls":[]}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(no_type.error().contains("application/json"));
    // None of the refused requests reached the history.
    assert_eq!(
        get(&app, "/api/history").await.json(),
        serde_json::json!([])
    );
}

/// A little upstream with slow, huge and failing documents.
async fn upstream() -> std::net::SocketAddr {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/ok", get(|| async { "hello" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route("/huge", get(|| async { vec![b'x'; 2 * 1024 * 1024] }))
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "gone") }),
        )
        .route(
            "/redirect",
            get(|| async { axum::response::Redirect::temporary("http://169.254.169.254/") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn allow_listed_upstreams_are_fetched_with_time_and_size_limits() {
    let up = upstream().await;
    let mut c = uncapped();
    c.allow_hosts = vec![format!("127.0.0.1:{}", up.port())];
    c.fetch_timeout_ms = 300;
    let (app, _) = app(&c);
    let body = |path: &str| format!(r#"{{"urls":["http://127.0.0.1:{}/{path}"]}}"#, up.port());

    let ok = post_json(&app, "/api/test", &body("ok")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let hello: String = Sha256::digest(b"hello")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(ok.json()["content_hash"], hello);

    let started = Instant::now();
    let slow = post_json(&app, "/api/test", &body("slow")).await;
    assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT, "{}", slow.text());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(slow.error().contains("timed out"));

    let huge = post_json(&app, "/api/test", &body("huge")).await;
    assert_eq!(huge.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(huge.error().contains("larger than"));

    let missing = post_json(&app, "/api/test", &body("missing")).await;
    assert_eq!(missing.status, StatusCode::BAD_GATEWAY);
    assert!(missing.error().contains("404"));

    let redirect = post_json(&app, "/api/test", &body("redirect")).await;
    assert_eq!(
        redirect.status,
        StatusCode::BAD_GATEWAY,
        "redirects are not followed"
    );
}

#[tokio::test]
async fn over_capacity_requests_are_shed_with_503_and_retry_after() {
    let mut c = config();
    c.max_concurrency = Some(1);
    c.queue_depth = Some(0);
    c.service_time_ms = Some(300);
    let (app, state) = app(&c);
    let body = r#"{"urls":["http://127.0.0.1:8080/corpus/1"]}"#;
    let first = tokio::spawn({
        let app = app.clone();
        async move { post_json(&app, "/api/test", body).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = post_json(&app, "/api/test", body).await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.headers["retry-after"], "1");
    assert!(second.error().contains("over capacity"));
    assert_eq!(first.await.expect("joins").status, StatusCode::OK);
    assert_eq!(state.limiter.shed_total(), 1);
}

#[tokio::test]
async fn the_standard_profile_makes_latency_grow_with_load() {
    let (app, _) = app(&config());
    let body = r#"{"urls":["http://127.0.0.1:8080/corpus/1"]}"#;
    let started = Instant::now();
    assert_eq!(
        post_json(&app, "/api/test", body).await.status,
        StatusCode::OK
    );
    let alone = started.elapsed();
    assert!(
        alone >= Duration::from_millis(25),
        "service time is applied: {alone:?}"
    );
    // 48 at once on 16 slots: the last ones wait for two rounds.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..48 {
        let app = app.clone();
        tasks.spawn(async move { post_json(&app, "/api/test", body).await.status });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("joins"), StatusCode::OK);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(75),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_fault_api_does_not_exist_without_a_token() {
    let (app, _) = app(&uncapped());
    let r = admin(&app, "GET", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = admin(&app, "POST", Some(TOKEN), Some(r#"{"kind":"crash"}"#)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_fault_api_needs_the_right_token_and_a_valid_spec() {
    let mut c = uncapped();
    c.admin_token = Some(TOKEN.into());
    let (app, _) = app(&c);
    assert_eq!(
        admin(&app, "GET", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        admin(&app, "GET", Some("wrong-token"), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin(&app, "GET", Some(TOKEN), None).await.json(),
        serde_json::json!([])
    );
    let invalid = admin(
        &app,
        "POST",
        Some(TOKEN),
        Some(r#"{"kind":"latency","duration_s":5}"#),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.error().contains("latency_ms"));
    let unknown = admin(&app, "POST", Some(TOKEN), Some(r#"{"kind":"meteor"}"#)).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!unknown.error().is_empty());
}

#[tokio::test]
async fn injected_latency_errors_and_freeze_change_what_clients_see() {
    let mut c = uncapped();
    c.admin_token = Some(TOKEN.into());
    let (app, _) = app(&c);

    let r = admin(
        &app,
        "POST",
        Some(TOKEN),
        Some(r#"{"kind":"latency","latency_ms":200,"duration_s":30}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let started = Instant::now();
    assert_eq!(get(&app, "/api/sample-urls").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));

    let r = admin(
        &app,
        "POST",
        Some(TOKEN),
        Some(r#"{"kind":"errors","error_rate":1.0,"status":502,"duration_s":30}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let failed = get(&app, "/api/history").await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
    assert!(failed.error().contains("injected"));
    let listed = admin(&app, "GET", Some(TOKEN), None).await.json();
    assert_eq!(listed.as_array().expect("array").len(), 2);
    assert_eq!(
        admin(&app, "DELETE", Some(TOKEN), None).await.status,
        StatusCode::NO_CONTENT
    );
    let started = Instant::now();
    assert_eq!(get(&app, "/api/history").await.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(150));

    let r = admin(
        &app,
        "POST",
        Some(TOKEN),
        Some(r#"{"kind":"freeze","duration_s":1}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let started = Instant::now();
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "health is frozen too"
    );
    let m = get(&app, "/metrics").await.text();
    assert!(
        m.contains(r#"anvil_fault_active{kind="freeze"} 0"#),
        "the freeze has ended"
    );
}
