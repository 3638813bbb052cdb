//! The earlier platform's clients against this API server, their requests
//! sent byte for byte as they really send them (chaos_testkit::earlier),
//! each scenario on SQLite and on PostgreSQL.

mod support;

use chaos_testkit::earlier::{TRACK_BODY, send_raw, switch_request, track_request};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

const KEY: &str = "local_dev_key";

scenarios!(
    the_load_tests_tracker_report,
    switch_challenge_py,
    contributors_imported_from_the_earlier_database,
);

/// Ada's key on the earlier platform, as its export holds it.
const ADA_EARLIER_KEY: &str = "3f1b2c4d-aaaa-4bbb-8ccc-123456789abc";

async fn raw(addr: String, request: Vec<u8>) -> chaos_testkit::earlier::RawReply {
    tokio::task::spawn_blocking(move || send_raw(&addr, &request))
        .await
        .expect("join")
        .expect("the request is answered")
}

async fn the_load_tests_tracker_report(db: String) {
    let mut cfg = config(&db);
    cfg.enable_local_tracker = true;
    cfg.tracker_listen = "127.0.0.1:0".parse().expect("addr");
    cfg.tracker_api_key = Some(KEY.into());
    let s = server(&cfg).await;
    let addr = s.tracker_addr.expect("tracker listens").to_string();

    // The earlier client's request as it is: a timestamp without offset.
    let r = raw(addr.clone(), track_request(&addr, Some(KEY), TRACK_BODY)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A second run, a minute later, in a new session against another target.
    let later = TRACK_BODY
        .replace("2026-11-29T19:22:51.641714", "2026-11-29T19:23:51")
        .replace("20261129192251-ca8d98c9", "20261129192351-0b0b0b0b")
        .replace("http://127.0.0.1:18999/", "http://my-app:8080/");
    let r = raw(addr.clone(), track_request(&addr, Some(KEY), &later)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A wrong or missing key is refused as the earlier tracker did.
    let r = raw(
        addr.clone(),
        track_request(&addr, Some("wrong"), TRACK_BODY),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = raw(addr.clone(), track_request(&addr, None, TRACK_BODY)).await;
    assert_eq!(r.status, 401, "{}", r.body);

    let c = Client::new(format!("http://{addr}"));
    // The earlier read shape, on request.
    let earlier = c.get("/api/track/local_dev_user?format=earlier").await;
    assert_eq!(earlier.status, StatusCode::OK, "{}", earlier.text);
    let first = earlier
        .text
        .find("http://my-app:8080/")
        .expect("newer target");
    let second = earlier
        .text
        .find("http://127.0.0.1:18999/")
        .expect("older target");
    assert!(first < second, "newest first: {}", earlier.text);
    let rows = &earlier.body["http://127.0.0.1:18999/"]["20261129192251-ca8d98c9"];
    let row = rows.get(0).unwrap_or_else(|| panic!("{}", earlier.text));
    let mut keys: Vec<&str> = row
        .as_object()
        .expect("row")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "challenge_type",
            "commit_hash",
            "id",
            "labels",
            "metric_name",
            "run_details",
            "schema_version",
            "session_id",
            "target_app",
            "timestamp",
            "user_id",
            "value",
        ],
        "the earlier table's columns"
    );
    // No offset means UTC.
    assert_eq!(row["timestamp"], "2026-11-29T19:22:51.641Z");
    assert_eq!(row["user_id"], "local_dev_user");
    assert_eq!(row["value"], 1);
    assert_eq!(row["commit_hash"], Value::Null);
    assert_eq!(row["labels"], json!({"source": "tracking_client"}));
    let sent: Value = serde_json::from_str(TRACK_BODY).expect("json");
    assert_eq!(row["run_details"], sent["runDetails"], "runDetails as sent");
    assert_eq!(
        earlier.body["http://my-app:8080/"]["20261129192351-0b0b0b0b"][0]["timestamp"],
        "2026-11-29T19:23:51.000Z"
    );

    // Our own shape stays the default.
    let ours = c.get("/api/track/local_dev_user").await;
    assert_eq!(ours.status, StatusCode::OK);
    assert_eq!(ours.body["total"], 2, "{}", ours.text);
    assert!(ours.body["targets"].is_object());
    for bad in [
        "/api/track/local_dev_user?format=xml",
        "/api/track/local_dev_user?format=earlier&page=2",
    ] {
        let r = c.get(bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(!r.error().is_empty());
    }
    s.stop().await;

    // A tracker with no key configured takes the client's post without a
    // key, as the earlier one did.
    let mut open = config(&db);
    open.enable_local_tracker = true;
    open.tracker_listen = "127.0.0.1:0".parse().expect("addr");
    let s = server(&open).await;
    let addr = s.tracker_addr.expect("tracker listens").to_string();
    let r = raw(addr.clone(), track_request(&addr, None, TRACK_BODY)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.stop().await;
}

async fn switch_challenge_py(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    let key = c.register("ada").await;
    let addr = s.addr.to_string();
    let r = raw(
        addr.clone(),
        switch_request(&addr, &key, "graceful-degradation"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ada = c.get("/api/v1/contributors/ada").await;
    assert_eq!(ada.body["active_challenge"], "graceful-degradation");
    // A key the server does not know is refused, as before.
    let unknown = "3f1b2c4d-aaaa-4bbb-8ccc-123456789abc";
    let r = raw(
        addr.clone(),
        switch_request(&addr, unknown, "longest-upkeep"),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    s.stop().await;
}

async fn contributors_imported_from_the_earlier_database(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("taken-name").await;
    // `\copy api_keys TO 'keys.csv' CSV HEADER` of the earlier database.
    let csv = "id,key,user_id,challenge_type\n\
               1,key1,contributor_a,default-challenge\n\
               2,3f1b2c4d-aaaa-4bbb-8ccc-123456789abc,Ada_Lovelace,longest-upkeep\n\
               3,0d9e8f7a-1111-4222-9333-444455556666,grace,robust-service\n\
               4,9a8b7c6d-1111-4222-9333-444455556666,Grace,robust-service\n\
               5,,taken_name,robust-service\n\
               6,,___,robust-service\n";

    let import_csv = |query: &'static str| {
        let c = c.clone();
        async move {
            let path = format!("/api/v1/contributor-imports{query}");
            c.raw(Method::POST, &path, Some("text/csv"), csv.into())
                .await
        }
    };
    let dry = import_csv("?dry_run=true").await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(dry.body["created"], 3, "{}", dry.text);
    assert!(!dry.text.contains("sck_"), "a dry run shows no key");
    assert_eq!(
        c.get("/api/v1/contributors/grace").await.status,
        StatusCode::NOT_FOUND,
        "a dry run writes nothing"
    );

    let r = import_csv("").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["created"], &r.body["existing"], &r.body["refused"]),
        (&json!(3), &json!(1), &json!(2)),
        "{}",
        r.text
    );
    let line = |earlier: &str| -> Value {
        r.body["contributors"]
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["earlier_name"] == earlier)
            .unwrap_or_else(|| panic!("no line for {earlier}: {}", r.text))
            .clone()
    };
    let a = line("contributor_a");
    assert_eq!(a["name"], "contributor-a");
    assert_eq!(a["renamed"], true);
    assert_eq!(a["earlier_key"], "not_kept", "key1 is too weak to keep");
    assert!(
        a["note"]
            .as_str()
            .expect("note")
            .contains("default-challenge")
    );
    let ada = line("Ada_Lovelace");
    assert_eq!(
        (&ada["name"], &ada["outcome"], &ada["earlier_key"]),
        (&json!("ada-lovelace"), &json!("created"), &json!("kept"))
    );
    let new_key = ada["api_key"].as_str().expect("a new key, once").to_owned();
    assert_eq!(line("Grace")["outcome"], "refused", "collides with grace");
    assert_eq!(line("taken_name")["outcome"], "exists");
    assert_eq!(line("___")["outcome"], "refused");

    let got = c.get("/api/v1/contributors/ada-lovelace").await;
    assert_eq!(got.body["display_name"], "Ada_Lovelace");
    assert_eq!(got.body["active_challenge"], "longest-upkeep");

    // The earlier key keeps working with the earlier switch_challenge.py,
    // in any spelling of the UUID; so does the new one.
    let addr = s.addr.to_string();
    for key in [
        ADA_EARLIER_KEY,
        "3F1B2C4D-AAAA-4BBB-8CCC-123456789ABC",
        new_key.as_str(),
    ] {
        let r = raw(addr.clone(), switch_request(&addr, key, "robust-service")).await;
        assert_eq!(r.status, 200, "{key}: {}", r.body);
    }

    // A new key asked for when it no longer applies (a reactivation of an
    // active contributor, as a race between two calls would make it)
    // replaces nothing, and the earlier key keeps working.
    let ada = chaos_api::contributors::store::by_name(&s.state.db, "ada-lovelace")
        .await
        .expect("read")
        .expect("imported");
    let replaced =
        chaos_api::contributors::store::replace_key(&s.state.db, &ada.id, "salt", "hash", true)
            .await
            .expect("runs");
    assert!(!replaced, "ada is active: nothing to reactivate");
    let r = raw(
        addr.clone(),
        switch_request(&addr, ADA_EARLIER_KEY, "robust-service"),
    )
    .await;
    assert_eq!(r.status, 200, "the earlier key still works: {}", r.body);

    // A name registered while an import runs (after its plan, before its
    // insert) is skipped, not a failed import: the others are created.
    use chaos_api::contributors::store::{Imported, insert_imported};
    let row = |id: &str, name: &str| Imported {
        id: id.to_owned(),
        name: name.to_owned(),
        display_name: name.to_owned(),
        challenge: None,
        salt: "salt".into(),
        hash: "hash".into(),
        earlier_key_digest: None,
    };
    let created = insert_imported(
        &s.state.db,
        &[row("race-1", "taken-name"), row("race-2", "fresh-name")],
    )
    .await
    .expect("no error for a name taken meanwhile");
    assert_eq!(created, ["race-2"]);

    // Importing again changes nothing and shows no key.
    let again = import_csv("").await;
    assert_eq!(again.body["created"], 0, "{}", again.text);
    assert_eq!(again.body["existing"], 4, "{}", again.text);
    assert_eq!(
        c.get("/api/v1/contributors/fresh-name").await.status,
        StatusCode::OK
    );
    assert!(!again.text.contains("sck_"));

    // JSON (`SELECT json_agg(t) FROM api_keys t`) works the same.
    let json_import = c
        .admin_post(
            "/api/v1/contributor-imports",
            json!([{"id": 7, "key": null, "user_id": "hopper", "challenge_type": "graceful-degradation"}]),
        )
        .await;
    assert_eq!(json_import.status, StatusCode::OK, "{}", json_import.text);
    assert_eq!(json_import.body["created"], 1);

    // Deregistering stops the earlier key too.
    let gone = c
        .call(
            Method::DELETE,
            "/api/v1/contributors/ada-lovelace",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let r = raw(
        addr.clone(),
        switch_request(&addr, ADA_EARLIER_KEY, "robust-service"),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Bad imports are JSON 4xx and write nothing.
    let before = c.get("/api/v1/contributors").await.body["total"].clone();
    for (ct, body, status) in [
        (
            Some("text/csv"),
            "key\nabc\n",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (Some("application/json"), "[", StatusCode::BAD_REQUEST),
        (
            Some("application/json"),
            "{\"x\": 1}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Some("text/plain"),
            "user_id\nx\n",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let r = c
            .raw(Method::POST, "/api/v1/contributor-imports", ct, body.into())
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(!r.error().is_empty());
    }
    // A header and no rows imports nothing; an unreadable row is refused, not fatal.
    let nothing = c
        .raw(
            Method::POST,
            "/api/v1/contributor-imports",
            Some("text/csv"),
            "user_id\n".into(),
        )
        .await;
    assert_eq!(
        (nothing.status, &nothing.body["created"]),
        (StatusCode::OK, &json!(0))
    );
    let ragged = c
        .raw(
            Method::POST,
            "/api/v1/contributor-imports?dry_run=true",
            Some("text/csv"),
            "key,user_id\nonly-a-key\n,\n".into(),
        )
        .await;
    assert_eq!(ragged.status, StatusCode::OK, "{}", ragged.text);
    assert_eq!(ragged.body["refused"], 2, "{}", ragged.text);
    assert!(ragged.text.contains("has no user_id"), "{}", ragged.text);
    let no_admin = c
        .call(
            Method::POST,
            "/api/v1/contributor-imports",
            None,
            Some(json!([{"user_id": "x"}])),
        )
        .await;
    assert_eq!(no_admin.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.get("/api/v1/contributors").await.body["total"], before);
    s.stop().await;
}
