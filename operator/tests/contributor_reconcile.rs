//! Contributor reconcile scenarios against the mocked Kubernetes API and a
//! real API server: create, the idempotent second pass, an update, delete.

mod support;

use chaos_domain::Challenge;
use std::sync::Arc;

use chaos_operator::contributor::{self, FINALIZER};
use chaos_operator::crd::{AppSpec, ComponentSpec, Contributor, ContributorSpec, EntrySpec};
use serde_json::{Value, json};
use support::*;

const CONTRIBUTOR_PATH: &str = "/apis/srechaos.dev/v1alpha1/contributors/ada";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/contributor-ada/deployments";

fn ada(generation: i64) -> Contributor {
    let mut c = Contributor::new(
        "ada",
        ContributorSpec {
            display_name: Some("Ada L.".into()),
            challenge: Challenge::RobustService,
            app: Some(AppSpec::new("ghcr.io/ada/app:1", 8080)),
            components: None,
            entry: None,
        },
    );
    c.metadata.uid = Some("ada-uid".into());
    c.metadata.generation = Some(generation);
    c.metadata.finalizers = Some(vec![FINALIZER.into()]);
    c.metadata.resource_version = Some("1".into());
    c
}

/// The Contributor as the fake now holds it (status and resourceVersion
/// written by the last pass), as a watch event would bring it.
fn stored(fake: &FakeKube, base: &Contributor) -> Contributor {
    let mut c = base.clone();
    let Some(now) = fake.get(CONTRIBUTOR_PATH) else {
        return c;
    };
    if let Some(s) = now.get("status").cloned() {
        c.status = serde_json::from_value(s).expect("status");
    }
    c.metadata.resource_version = now["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned);
    c.metadata.finalizers = serde_json::from_value(now["metadata"]["finalizers"].clone()).ok();
    c
}

/// `kubectl delete`: the Contributor marked for deletion, then one pass.
async fn delete(fake: &FakeKube, ctx: &Arc<chaos_operator::context::Context>, c: &Contributor) {
    let mut doomed = stored(fake, c);
    doomed.metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
    );
    fake.put(
        CONTRIBUTOR_PATH,
        serde_json::to_value(&doomed).expect("json"),
    );
    contributor::reconcile(Arc::new(doomed), ctx.clone())
        .await
        .expect("cleaned up");
}

fn make_available(fake: &FakeKube) {
    for name in ["app", "url-anvil"] {
        let path = format!("{DEPLOYMENTS}/{name}");
        let mut d = fake.get(&path).expect("applied");
        d["status"] = json!({"availableReplicas": 1, "readyReplicas": 1, "replicas": 1});
        fake.put(&path, d);
    }
}

#[tokio::test]
async fn create_then_ready_then_nothing_to_do() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));

    // First pass: everything is applied, the contributor is registered, Pending.
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    let applied: Vec<String> = calls
        .iter()
        .filter(|c| c.method == "PATCH" && !c.path.ends_with("/status"))
        .map(|c| c.path.clone())
        .collect();
    // Everything, each once; the namespace first; the quota, limits,
    // policies and url-anvil's secret before any Deployment or Service (a
    // pod must never start unconfined); the key, once registered, last.
    let mut want = vec![
        "/api/v1/namespaces/contributor-ada",
        "/api/v1/namespaces/contributor-ada/resourcequotas/contributor-quota",
        "/api/v1/namespaces/contributor-ada/limitranges/contributor-limits",
        "/apis/networking.k8s.io/v1/namespaces/contributor-ada/networkpolicies/default-deny",
        "/apis/networking.k8s.io/v1/namespaces/contributor-ada/networkpolicies/components",
        "/apis/networking.k8s.io/v1/namespaces/contributor-ada/networkpolicies/url-anvil-ingress",
        "/apis/networking.k8s.io/v1/namespaces/contributor-ada/networkpolicies/entry-ingress",
        "/api/v1/namespaces/contributor-ada/secrets/url-anvil-admin",
        "/apis/apps/v1/namespaces/contributor-ada/deployments/url-anvil",
        "/api/v1/namespaces/contributor-ada/services/url-anvil",
        "/apis/apps/v1/namespaces/contributor-ada/deployments/app",
        "/api/v1/namespaces/contributor-ada/services/app",
        "/api/v1/namespaces/contributor-ada/secrets/chaos-api-key",
    ];
    assert_eq!(applied.first().map(String::as_str), Some(want[0]));
    assert_eq!(applied.last().map(String::as_str), want.last().copied());
    let first_pod_object = applied
        .iter()
        .position(|p| p.contains("/deployments/") || p.contains("/services/"))
        .expect("Deployments and Services applied");
    let last_guard = applied
        .iter()
        .rposition(|p| {
            [
                "/resourcequotas/",
                "/limitranges/",
                "/networkpolicies/",
                "/secrets/url-anvil-admin",
            ]
            .iter()
            .any(|k| p.contains(k))
        })
        .expect("guards applied");
    assert!(last_guard < first_pod_object, "{applied:#?}");
    let mut sorted = applied.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want);
    // A new Contributor has nothing to prune and no Deployment that could
    // be available yet: nothing in its namespace is read.
    let reads: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path.contains("/namespaces/contributor-ada/"))
        .collect();
    assert!(reads.is_empty(), "{reads:#?}");
    // Server-side apply, forced, under one field manager.
    for call in calls.iter().filter(|c| c.method == "PATCH") {
        assert!(
            call.query.contains("fieldManager=chaos-operator"),
            "{call:?}"
        );
        assert!(call.query.contains("force=true"), "{call:?}");
    }
    let key = calls
        .iter()
        .find(|c| c.path.ends_with("/secrets/chaos-api-key"))
        .expect("key secret applied");
    assert!(
        key.body["stringData"]["api-key"]
            .as_str()
            .is_some_and(|k| k.starts_with("sck_"))
    );
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    assert_eq!(status["phase"], "Pending");
    assert_eq!(status["endpoint"], "http://app.contributor-ada.svc:8080");
    assert_eq!(status["apiKeySecret"], "chaos-api-key");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(condition(&status, "Registered")["status"], "True");
    assert_eq!(condition(&status, "Ready")["status"], "False");
    // The API server has the contributor, in the spec's challenge.
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    let registered = platform.contributor("ada").await.expect("registered");
    assert_eq!(registered.display_name, "Ada L.");
    assert_eq!(registered.active_challenge, Some(Challenge::RobustService));

    // The Deployments become available: Ready, with one status write.
    make_available(&fake);
    let c2 = stored(&fake, &c);
    contributor::reconcile(Arc::new(c2), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    let writes: Vec<&Call> = calls.iter().filter(|c| c.writes()).collect();
    assert!(
        writes
            .iter()
            .all(|c| c.path == format!("{CONTRIBUTOR_PATH}/status") || c.path.contains("/events")),
        "{writes:#?}"
    );
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    assert_eq!(status["phase"], "Ready");
    assert!(status["readySince"].is_string());

    // A third pass over the same state writes nothing at all.
    let c3 = stored(&fake, &c);
    contributor::reconcile(Arc::new(c3), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    assert!(calls.iter().all(|c| !c.writes()), "{calls:#?}");
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_new_spec_is_applied_and_the_challenge_switched() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("first");
    make_available(&fake);
    fake.take_calls();

    let mut updated = stored(&fake, &c);
    updated.metadata.generation = Some(2);
    updated.spec.app.as_mut().expect("app").image = "ghcr.io/ada/app:2".into();
    updated.spec.challenge = Challenge::LongestUpkeep;
    updated.spec.display_name = Some("Ada Lovelace".into());
    contributor::reconcile(Arc::new(updated), ctx.clone())
        .await
        .expect("update");
    let app = fake.get(&format!("{DEPLOYMENTS}/app")).expect("deployment");
    assert_eq!(
        app["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/ada/app:2"
    );
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(status["registeredChallenge"], "longest-upkeep");
    // Registered and switched are two facts, each its own condition.
    let switched = condition(&status, "ChallengeSwitched");
    assert_eq!(
        (switched["status"].as_str(), switched["reason"].as_str()),
        (Some("True"), Some("Switched"))
    );
    assert_eq!(condition(&status, "Registered")["status"], "True");
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    assert_eq!(
        platform
            .contributor("ada")
            .await
            .expect("ada")
            .active_challenge,
        Some(Challenge::LongestUpkeep)
    );
    // The new display name reaches the boards.
    assert_eq!(
        platform.contributor("ada").await.expect("ada").display_name,
        "Ada Lovelace"
    );
    assert_eq!(status["registeredDisplayName"], "Ada Lovelace");
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Objects an earlier operator made and this one no longer does (the
/// separate DNS and component policies, a files ConfigMap per component)
/// are deleted by the pass that applies the new version; the new objects
/// and anything not the operator's are left alone.
#[tokio::test]
async fn what_an_earlier_version_made_is_pruned() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let ns = "/api/v1/namespaces/contributor-ada";
    let policies = "/apis/networking.k8s.io/v1/namespaces/contributor-ada/networkpolicies";
    let ours = json!({"app.kubernetes.io/managed-by": "chaos-operator", "srechaos.dev/contributor": "ada"});
    let mut tier = ours.clone();
    tier["srechaos.dev/tier"] = json!("contributor");
    let object = |kind: &str, name: &str, labels: &Value| json!({"kind": kind, "metadata": {"name": name, "namespace": "contributor-ada", "labels": labels}});
    for old in ["allow-dns", "components-egress", "components-ingress"] {
        fake.put(
            &format!("{policies}/{old}"),
            object("NetworkPolicy", old, &ours),
        );
    }
    fake.put(
        &format!("{policies}/someone-elses"),
        object("NetworkPolicy", "someone-elses", &json!({})),
    );
    fake.put(
        &format!("{ns}/configmaps/app-files"),
        object("ConfigMap", "app-files", &tier),
    );
    // Applied before, by the earlier version: not a new Contributor.
    let mut c = ada(1);
    c.status = Some(
        serde_json::from_value(json!({"appliedDigest": "from-an-earlier-version"}))
            .expect("status"),
    );
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c), ctx.clone())
        .await
        .expect("reconciles");
    let mut deleted = paths(&fake.take_calls(), "DELETE");
    deleted.sort();
    assert_eq!(
        deleted,
        [
            format!("{ns}/configmaps/app-files"),
            format!("{policies}/allow-dns"),
            format!("{policies}/components-egress"),
            format!("{policies}/components-ingress"),
        ]
    );
    assert!(fake.get(&format!("{policies}/someone-elses")).is_some());
    assert!(fake.get(&format!("{policies}/default-deny")).is_some());
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn delete_deregisters_removes_the_namespace_and_the_finalizer() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("created");
    fake.take_calls();

    delete(&fake, &ctx, &c).await;
    let calls = fake.take_calls();
    assert_eq!(
        paths(&calls, "DELETE"),
        ["/api/v1/namespaces/contributor-ada"]
    );
    // Its last finalizer gone, the API server lets the marked object go.
    let left = fake.get(CONTRIBUTOR_PATH);
    assert!(left.is_none(), "finalizer left: {left:?}");
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    let gone = platform.contributor("ada").await.expect_err("deregistered");
    assert_eq!(gone.status(), Some(404));
    assert!(gone.to_string().contains("deregistered"), "{gone}");
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_new_contributor_first_gets_the_finalizer() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let mut c = ada(1);
    c.metadata.finalizers = None;
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    assert_eq!(paths(&calls, "PATCH"), [CONTRIBUTOR_PATH]);
    assert_eq!(
        fake.get(CONTRIBUTOR_PATH).expect("stored")["metadata"]["finalizers"],
        json!([FINALIZER])
    );
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unreachable_api_server_leaves_a_condition_and_a_retry() {
    let (fake, client) = FakeKube::start();
    let dead = format!("http://127.0.0.1:{}", chaos_testkit::free_port());
    let ctx = context(client, &dead, 1);
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    let action = contributor::reconcile(Arc::new(c), ctx.clone())
        .await
        .expect("reconciles");
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    let registered = condition(&status, "Registered");
    assert_eq!(registered["status"], "False");
    assert_eq!(registered["reason"], "ApiServerUnavailable");
    // The objects were still applied; registration is retried.
    assert!(fake.get(&format!("{DEPLOYMENTS}/app")).is_some());
    assert!(
        format!("{action:?}").contains("requeue_after: Some"),
        "{action:?}"
    );
}

/// A registration retry's delay starts afresh once the API server has
/// answered: after an outage during a challenge switch it once kept
/// growing, so the next outage waited as long as the last one ended.
#[tokio::test]
async fn the_registration_backoff_starts_afresh_after_a_switch() {
    use kube::runtime::controller::Action;
    use std::time::Duration;
    let port = chaos_testkit::free_port();
    let dir = chaos_testkit::temp_dir("chaos-operator-test");
    let api = platform_in(port, &dir).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &format!("http://127.0.0.1:{port}"), 1);
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("registered");
    api.stop().await;

    // Each pass starts from the object as stored (its status and version).
    let pass = |generation: i64, display_name: &str| {
        let mut next = stored(&fake, &c);
        next.metadata.generation = Some(generation);
        next.spec.challenge = Challenge::LongestUpkeep;
        next.spec.display_name = Some(display_name.into());
        let ctx = ctx.clone();
        async move {
            contributor::reconcile(Arc::new(next), ctx)
                .await
                .expect("reconciles")
        }
    };
    // A new challenge while the API server is away: retried, each time later.
    let five = Action::requeue(Duration::from_secs(5));
    assert_eq!(pass(2, "Ada L.").await, five);
    assert_eq!(
        pass(2, "Ada L.").await,
        Action::requeue(Duration::from_secs(10))
    );
    // Back: the switch goes through.
    let api = platform_in(port, &dir).await;
    pass(2, "Ada L.").await;
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    assert_eq!(status["registeredChallenge"], "longest-upkeep", "{status}");
    api.stop().await;
    // Away again for a new display name: the first retry is 5 s again.
    assert_eq!(pass(3, "Ada Lovelace").await, five);
    let _ = std::fs::remove_dir_all(dir);
}

fn condition(status: &Value, type_: &str) -> Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_).cloned())
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

/// The key the last pass applied in the contributor's key Secret.
fn applied_key(calls: &[Call]) -> Option<String> {
    calls
        .iter()
        .filter(|c| c.method == "PATCH" && c.path.ends_with("/secrets/chaos-api-key"))
        .filter_map(|c| c.body["stringData"]["api-key"].as_str().map(str::to_owned))
        .next_back()
}

async fn key_works(api: &chaos_api::Running, key: &str) -> bool {
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    platform
        .switch_challenge("ada", key, chaos_domain::Challenge::RobustService)
        .await
        .is_ok()
}

/// A name the API server knows but this operator did not register is
/// someone else's account: the Contributor is refused (NameTaken, Failed,
/// so no run of it can score for that account), no key is made or written,
/// the owner's key keeps working, and deleting the Contributor leaves the
/// account alone. Only after an admin hands the account over does the
/// operator recover it: a lost key is replaced, a deregistered contributor
/// (a Contributor deleted and created again) is taken back, a held key is
/// kept.
#[tokio::test]
async fn a_name_registered_before_is_refused_until_handed_over() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let admin = chaos_client::Client::new(&api.base_url())
        .expect("client")
        .with_admin_token(support::ADMIN);
    let lost = admin
        .register_contributor("ada", None, None)
        .await
        .expect("registered by hand")
        .api_key;

    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("reconciles");
    make_available(&fake);
    contributor::reconcile(Arc::new(stored(&fake, &c)), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    assert_eq!(applied_key(&calls), None, "no key taken: {calls:#?}");
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    let registered = condition(&status, "Registered");
    assert_eq!(registered["status"], "False", "{status}");
    assert_eq!(registered["reason"], "NameTaken", "{status}");
    assert!(
        registered["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not register")),
        "{status}"
    );
    assert_eq!(
        status["phase"], "Failed",
        "available, but never Ready: {status}"
    );
    assert!(key_works(&api, &lost).await, "the owner's key still works");

    // Deleting the refused Contributor leaves the owner's account alone.
    delete(&fake, &ctx, &c).await;
    assert!(
        !admin
            .contributor("ada")
            .await
            .expect("still there")
            .deregistered
    );
    assert!(key_works(&api, &lost).await, "and its key still works");

    // An admin hands the account over to the operator.
    admin
        .hand_over("ada", chaos_operator::labels::MANAGER)
        .await
        .expect("handed over");
    fake.take_calls();

    // The key was lost: the operator gets a new one; the old one stops.
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    let first = applied_key(&calls).expect("a new key in the Secret");
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    assert_eq!(status["apiKeySecret"], "chaos-api-key", "{status}");
    assert_eq!(condition(&status, "Registered")["status"], "True");
    assert!(key_works(&api, &first).await, "the new key works");
    assert!(!key_works(&api, &lost).await, "the lost key is dead");

    // Deleted (deregistered: scores kept) and created again under the same name,
    // after competing elsewhere than the spec says.
    chaos_client::Client::new(&api.base_url())
        .expect("client")
        .switch_challenge("ada", &first, chaos_domain::Challenge::LongestUpkeep)
        .await
        .expect("switched");
    admin
        .deregister_contributor("ada")
        .await
        .expect("deregistered");
    let again = ada(1);
    fake.put(
        CONTRIBUTOR_PATH,
        serde_json::to_value(&again).expect("json"),
    );
    contributor::reconcile(Arc::new(again.clone()), ctx.clone())
        .await
        .expect("reconciles");
    let second = applied_key(&fake.take_calls()).expect("a key for the new Contributor");
    let back = admin.contributor("ada").await.expect("active again");
    assert!(!back.deregistered);
    assert_eq!(
        back.active_challenge,
        Some(Challenge::RobustService),
        "in the spec's challenge"
    );
    assert!(
        key_works(&api, &second).await,
        "reactivated with a working key"
    );

    // A key the operator holds that still works is kept, not rotated.
    let held = k8s_openapi::api::core::v1::Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("chaos-api-key".into()),
            namespace: Some("contributor-ada".into()),
            ..Default::default()
        },
        data: Some(
            [(
                "api-key".to_owned(),
                k8s_openapi::ByteString(second.clone().into_bytes()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    fake.put(
        "/api/v1/namespaces/contributor-ada/secrets/chaos-api-key",
        serde_json::to_value(&held).expect("json"),
    );
    let fresh = ada(1);
    fake.put(
        CONTRIBUTOR_PATH,
        serde_json::to_value(&fresh).expect("json"),
    );
    contributor::reconcile(Arc::new(fresh), ctx.clone())
        .await
        .expect("reconciles");
    assert_eq!(applied_key(&fake.take_calls()), None, "no new key");
    assert!(key_works(&api, &second).await);
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A child deleted by hand comes back with the next resync pass, and a
/// Ready contributor is looked at again on that schedule, not never.
#[tokio::test]
async fn a_child_deleted_by_hand_is_restored_by_the_resync() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let mut ctx = bare_context(client, &api.base_url(), 1);
    ctx.resync = std::time::Duration::from_millis(300);
    let ctx = Arc::new(ctx);
    let c = ada(1);
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&c).expect("json"));
    contributor::reconcile(Arc::new(c.clone()), ctx.clone())
        .await
        .expect("first");
    make_available(&fake);
    let action = contributor::reconcile(Arc::new(stored(&fake, &c)), ctx.clone())
        .await
        .expect("ready");
    assert_eq!(
        format!(
            "{:?}",
            fake.get(CONTRIBUTOR_PATH).expect("stored")["status"]["phase"]
        ),
        "String(\"Ready\")"
    );
    assert_ne!(
        action,
        kube::runtime::controller::Action::await_change(),
        "a Ready contributor is resynced"
    );
    let policy =
        "/apis/networking.k8s.io/v1/namespaces/contributor-ada/networkpolicies/default-deny";
    let quota = "/api/v1/namespaces/contributor-ada/resourcequotas/contributor-quota";
    // A resync that finds everything as applied only reads.
    fake.take_calls();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    contributor::reconcile(Arc::new(stored(&fake, &c)), ctx.clone())
        .await
        .expect("quiet resync");
    let calls = fake.take_calls();
    assert!(
        calls.iter().any(|c| c.path == quota),
        "the resync looked: {calls:#?}"
    );
    assert!(
        calls.iter().all(|c| c.method == "GET"),
        "nothing changed, nothing written: {calls:#?}"
    );
    assert_eq!(ctx.metrics.apply_passes("contributor"), 1);

    // The quota raised by hand goes back to the platform's.
    let wanted = fake.get(quota).expect("quota");
    let mut raised = wanted.clone();
    raised["spec"]["hard"]["limits.cpu"] = serde_json::json!("64");
    fake.put(quota, raised);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    contributor::reconcile(Arc::new(stored(&fake, &c)), ctx.clone())
        .await
        .expect("resync after an edit");
    assert_eq!(
        fake.get(quota).expect("quota")["spec"],
        wanted["spec"],
        "restored"
    );

    fake.objects.lock().expect("objects").remove(policy);
    fake.objects.lock().expect("objects").remove(quota);
    fake.take_calls();
    // The resync period (300 ms here, up to a fifth more) passes.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    contributor::reconcile(Arc::new(stored(&fake, &c)), ctx.clone())
        .await
        .expect("resync");
    assert!(fake.get(policy).is_some(), "the NetworkPolicy is back");
    assert!(fake.get(quota).is_some(), "the ResourceQuota is back");
    // Nothing else changed: the status is not written again.
    let calls = fake.take_calls();
    assert!(
        !calls.iter().any(|c| c.path.ends_with("/status")),
        "{calls:#?}"
    );
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

fn part(name: &str, port: u16, replicas: i32, cpu: u32) -> ComponentSpec {
    ComponentSpec {
        replicas,
        cpu_millis: Some(cpu),
        ..ComponentSpec::new(name, "nginx:1.27", port)
    }
}

fn with_components(mut c: Contributor, parts: Vec<ComponentSpec>) -> Contributor {
    c.spec.app = None;
    c.spec.components = Some(parts);
    c.spec.entry = Some(EntrySpec {
        component: "edge".into(),
        port: None,
    });
    c
}

/// A topology over the budget is refused whole: nothing applied, the sums
/// said on the Refused condition. Brought within it, it is applied.
#[tokio::test]
async fn a_spec_over_the_budget_is_refused_whole_and_nothing_is_applied() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    // 4 x 500m + 2 x 1000m = 4000m, over the default 3000m.
    let over = with_components(
        ada(1),
        vec![part("edge", 8080, 4, 500), part("cache", 8081, 2, 1000)],
    );
    fake.put(CONTRIBUTOR_PATH, serde_json::to_value(&over).expect("json"));
    contributor::reconcile(Arc::new(over.clone()), ctx.clone())
        .await
        .expect("reconciles");
    let calls = fake.take_calls();
    let writes: Vec<&str> = calls
        .iter()
        .filter(|c| c.method != "GET" && !c.path.ends_with("/status"))
        .map(|c| c.path.as_str())
        .filter(|p| !p.contains("/events"))
        .collect();
    assert!(writes.is_empty(), "nothing is applied: {writes:#?}");
    assert!(
        calls
            .iter()
            .any(|c| c.path.contains("/events") && c.body["reason"] == "Refused"),
        "a Warning event says why"
    );
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    let refused = condition(&status, "Refused");
    assert_eq!(refused["status"], "True", "{status}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(message.contains("cpu 4000m > 3000m"), "{message}");
    assert_eq!(status["phase"], "Failed");

    // Within the budget: three components, each its Deployment and Service.
    let mut fits = with_components(
        stored(&fake, &over),
        vec![
            part("edge", 8080, 2, 500),
            part("cache", 8081, 1, 500),
            part("tier", 8082, 2, 250),
        ],
    );
    fits.metadata.generation = Some(2);
    contributor::reconcile(Arc::new(fits.clone()), ctx.clone())
        .await
        .expect("applies");
    for name in ["edge", "cache", "tier"] {
        assert!(
            fake.get(&format!("{DEPLOYMENTS}/{name}")).is_some(),
            "{name}"
        );
    }
    let status = fake.get(CONTRIBUTOR_PATH).expect("stored")["status"].clone();
    assert_eq!(condition(&status, "Refused")["status"], "False", "{status}");
    assert_eq!(status["endpoint"], "http://edge.contributor-ada.svc:8080");
    assert_eq!(status["ready"], "0/5");

    // A component taken out of the spec goes, with its Service.
    let mut fewer = with_components(
        stored(&fake, &fits),
        vec![part("edge", 8080, 2, 500), part("cache", 8081, 1, 500)],
    );
    fewer.metadata.generation = Some(3);
    contributor::reconcile(Arc::new(fewer), ctx.clone())
        .await
        .expect("applies");
    assert!(fake.get(&format!("{DEPLOYMENTS}/tier")).is_none());
    assert!(
        fake.get("/api/v1/namespaces/contributor-ada/services/tier")
            .is_none()
    );
    assert!(fake.get(&format!("{DEPLOYMENTS}/edge")).is_some());
    // url-anvil is never a component's to remove.
    assert!(fake.get(&format!("{DEPLOYMENTS}/url-anvil")).is_some());
    let _ = std::fs::remove_dir_all(dir);
}
