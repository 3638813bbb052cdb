//! A mocked Kubernetes API server on tower-test's mock service: a small
//! in-memory object store answering GET, LIST, WATCH, server-side apply,
//! JSON patch, DELETE and Event POSTs, recording every request so
//! scenarios can assert exactly what the reconciler asked for. A watch
//! streams every later change to an object of its collection, so the real
//! controllers (their watches, filters and mappers) run against it too.
//! The API server side (contributors, runs, scores) is a real chaos-api on
//! SQLite.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chaos_operator::context::Context;
use chaos_operator::settings::{RunSettings, Settings};
use chaos_operator::telemetry::Metrics;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// What the fake answers with: a whole JSON document, or a watch's stream.
type FakeBody = UnsyncBoxBody<Bytes, std::convert::Infallible>;

pub const ADMIN: &str = "operator-test-admin-token";
pub const ANVIL_TOKEN: &str = "operator-test-anvil-token";
pub const PLATFORM_NS: &str = "sre-chaos";

/// One request the reconciler made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Call {
    pub fn writes(&self) -> bool {
        self.method != "GET"
    }
}

#[derive(Clone, Default)]
pub struct FakeKube {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub objects: Arc<Mutex<BTreeMap<String, Value>>>,
    watches: Arc<Mutex<Vec<Watch>>>,
}

/// An open watch: its collection, label selector and stream.
struct Watch {
    collection: String,
    selector: Vec<(String, Option<String>)>,
    events: mpsc::UnboundedSender<Bytes>,
}

impl FakeKube {
    /// A client whose every request this fake answers.
    pub fn start() -> (FakeKube, Client) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<FakeBody>>();
        let fake = FakeKube::default();
        let me = fake.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let path = parts.uri.path().to_owned();
                let query = parts.uri.query().unwrap_or_default().to_owned();
                me.calls.lock().expect("calls").push(Call {
                    method: parts.method.to_string(),
                    path: path.clone(),
                    query: query.clone(),
                    body: body.clone(),
                });
                if parts.method == http::Method::GET && is_watch(&query) {
                    send.send_response(me.watch(&path, &query));
                    continue;
                }
                let (status, answer) = me.answer(parts.method.as_str(), &path, &query, body);
                let response = Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(
                        Full::new(Bytes::from(serde_json::to_vec(&answer).unwrap_or_default()))
                            .boxed_unsync(),
                    )
                    .expect("response");
                send.send_response(response);
            }
        });
        (fake, Client::new(service, "default"))
    }

    /// Stores an object as a client of the API server would (a user, the
    /// kubelet): open watches see it.
    pub fn put(&self, path: &str, object: Value) {
        let before = self
            .objects
            .lock()
            .expect("objects")
            .insert(path.to_owned(), object.clone());
        let kind = if before.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.notify(kind, path, &object);
    }

    /// How many watches are open on `collection`.
    pub fn watching(&self, collection: &str) -> usize {
        self.watches
            .lock()
            .expect("watches")
            .iter()
            .filter(|w| w.collection == collection && !w.events.is_closed())
            .count()
    }

    fn watch(&self, path: &str, query: &str) -> Response<FakeBody> {
        let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
        self.watches.lock().expect("watches").push(Watch {
            collection: path.to_owned(),
            selector: label_selector(query),
            events: tx,
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            let line = rx.recv().await?;
            Some((Ok::<_, std::convert::Infallible>(Frame::data(line)), rx))
        });
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(StreamBody::new(stream).boxed_unsync())
            .expect("response")
    }

    /// Tells every watch of the object's collection what happened to it.
    fn notify(&self, kind: &str, path: &str, object: &Value) {
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        let line = Bytes::from(line);
        self.watches.lock().expect("watches").retain(|w| {
            if in_collection(&w.collection, path) && matches(object, &w.selector) {
                w.events.send(line.clone()).is_ok()
            } else {
                !w.events.is_closed()
            }
        });
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.objects.lock().expect("objects").get(path).cloned()
    }

    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("calls"))
    }

    fn answer(&self, method: &str, path: &str, query: &str, body: Value) -> (u16, Value) {
        let mut objects = self.objects.lock().expect("objects");
        match method {
            "GET" => {
                if let Some(o) = objects.get(path) {
                    return (200, o.clone());
                }
                // A collection: every stored object right under the path.
                let selector = label_selector(query);
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|(k, _)| in_collection(path, k))
                    .map(|(_, v)| v.clone())
                    .filter(|v| matches(v, &selector))
                    .collect();
                if items.is_empty() && !looks_like_collection(path) {
                    return not_found(path);
                }
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
                )
            }
            "PATCH" => {
                let (object_path, status) = match path.strip_suffix("/status") {
                    Some(p) => (p.to_owned(), true),
                    None => (path.to_owned(), false),
                };
                if body.is_array() {
                    // A JSON patch (the finalizer helper).
                    let Some(mut current) = objects.get(&object_path).cloned() else {
                        return not_found(path);
                    };
                    // Like the real server, a missing field tests equal to null.
                    let body = Value::Array(
                        body.as_array()
                            .into_iter()
                            .flatten()
                            .filter(|op| {
                                !(op["op"] == "test"
                                    && op["value"].is_null()
                                    && op["path"]
                                        .as_str()
                                        .is_some_and(|p| current.pointer(p).is_none()))
                            })
                            .cloned()
                            .collect(),
                    );
                    let Ok(ops) = serde_json::from_value::<json_patch::Patch>(body) else {
                        return (
                            422,
                            json!({"kind": "Status", "code": 422, "message": "bad patch"}),
                        );
                    };
                    if json_patch::patch(&mut current, &ops).is_err() {
                        return (
                            422,
                            json!({"kind": "Status", "code": 422, "message": "patch test failed"}),
                        );
                    }
                    bump(&mut current);
                    // Like the real server, an object marked for deletion
                    // goes when its last finalizer does.
                    if current["metadata"]["deletionTimestamp"].is_string()
                        && current["metadata"]["finalizers"]
                            .as_array()
                            .is_none_or(Vec::is_empty)
                    {
                        objects.remove(&object_path);
                        self.notify("DELETED", &object_path, &current);
                        return (200, current);
                    }
                    self.notify("MODIFIED", &object_path, &current);
                    objects.insert(object_path, current.clone());
                    return (200, current);
                }
                let mut body = body;
                // Like the real server, a Secret's stringData is stored as base64 data.
                if let Some(Value::Object(plain)) = body.get("stringData").cloned() {
                    let data: serde_json::Map<String, Value> = plain
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                json!(base64(v.as_str().unwrap_or_default().as_bytes())),
                            )
                        })
                        .collect();
                    body["data"] = Value::Object(data);
                    if let Some(o) = body.as_object_mut() {
                        o.remove("stringData");
                    }
                }
                // Like the real server, a resourceVersion in the patch is a
                // precondition: an older one is refused with 409.
                if let (Some(want), Some(have)) = (
                    body["metadata"]["resourceVersion"].as_str(),
                    objects
                        .get(&object_path)
                        .and_then(|o| o["metadata"]["resourceVersion"].as_str().map(str::to_owned)),
                ) && want != have
                {
                    return (
                        409,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                               "message": format!("the object has been modified: {want} is not {have}")}),
                    );
                }
                let mut current = objects.get(&object_path).cloned().unwrap_or_else(|| {
                    let mut b = body.clone();
                    b["metadata"]["uid"] = json!(format!("uid-{}", object_path.len()));
                    b["metadata"]["resourceVersion"] = json!("1");
                    b
                });
                if status {
                    current["status"] = body["status"].clone();
                } else {
                    let keep_status = current.get("status").cloned();
                    let meta = current["metadata"].clone();
                    current = body;
                    current["metadata"]["uid"] = meta["uid"].clone();
                    current["metadata"]["resourceVersion"] = meta["resourceVersion"].clone();
                    if let Some(s) = keep_status {
                        current["status"] = s;
                    }
                }
                bump(&mut current);
                let kind = if objects.contains_key(&object_path) {
                    "MODIFIED"
                } else {
                    "ADDED"
                };
                self.notify(kind, &object_path, &current);
                objects.insert(object_path, current.clone());
                (200, current)
            }
            "POST" => {
                // Events.
                (201, body)
            }
            "DELETE" => {
                if let Some(o) = objects.get_mut(path) {
                    // Like the real server, finalizers hold the object,
                    // marked, until they are gone.
                    if o["metadata"]["finalizers"]
                        .as_array()
                        .is_some_and(|f| !f.is_empty())
                    {
                        if !o["metadata"]["deletionTimestamp"].is_string() {
                            o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
                            bump(o);
                            let o = o.clone();
                            self.notify("MODIFIED", path, &o);
                        }
                        return (200, o.clone());
                    }
                }
                if let Some(o) = objects.remove(path) {
                    self.notify("DELETED", path, &o);
                    return (200, o);
                }
                let prefix = format!("{path}/");
                let selector = label_selector(query);
                let doomed: Vec<String> = objects
                    .iter()
                    .filter(|(k, v)| k.starts_with(&prefix) && matches(v, &selector))
                    .map(|(k, _)| k.clone())
                    .collect();
                if doomed.is_empty() && !looks_like_collection(path) {
                    return not_found(path);
                }
                let items: Vec<Value> = doomed
                    .iter()
                    .filter_map(|k| {
                        let o = objects.remove(k)?;
                        self.notify("DELETED", k, &o);
                        Some(o)
                    })
                    .collect();
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}),
                )
            }
            _ => (405, json!({"kind": "Status", "code": 405})),
        }
    }
}

/// Every write moves an object's resourceVersion on, as on a real server.
fn bump(object: &mut Value) {
    let next = object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    object["metadata"]["resourceVersion"] = json!(next.to_string());
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn is_watch(query: &str) -> bool {
    query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1")
}

/// Whether the object at `object` belongs to the list at `collection`:
/// right under it (`.../namespaces/ns/jobs` holds `.../namespaces/ns/jobs/x`),
/// or across namespaces (`/apis/apps/v1/deployments` holds
/// `/apis/apps/v1/namespaces/ns/deployments/x`).
fn in_collection(collection: &str, object: &str) -> bool {
    if let Some(rest) = object
        .strip_prefix(collection)
        .and_then(|r| r.strip_prefix('/'))
    {
        return !rest.is_empty() && !rest.contains('/');
    }
    let Some((group, plural)) = collection.rsplit_once('/') else {
        return false;
    };
    let Some(rest) = object
        .strip_prefix(group)
        .and_then(|r| r.strip_prefix("/namespaces/"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts.as_slice(), [_, p, _] if *p == plural)
}

fn looks_like_collection(path: &str) -> bool {
    // .../namespaces/{ns}/{plural} or /apis/{group}/{version}/{plural}
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(parts.as_slice(), [.., "namespaces", _, _])
        || (parts.first() == Some(&"apis") && parts.len() == 4)
}

fn label_selector(query: &str) -> Vec<(String, Option<String>)> {
    query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("labelSelector="))
        .flat_map(|s| {
            let decoded = s
                .replace("%3D", "=")
                .replace("%2F", "/")
                .replace("%2C", ",");
            decoded
                .split(',')
                .map(|term| match term.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (term.to_owned(), None),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn matches(v: &Value, selector: &[(String, Option<String>)]) -> bool {
    selector.iter().all(|(k, want)| {
        let have = v["metadata"]["labels"].get(k).and_then(Value::as_str);
        match want {
            Some(w) => have == Some(w.as_str()),
            None => have.is_some(),
        }
    })
}

fn not_found(path: &str) -> (u16, Value) {
    (
        404,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
               "message": format!("{path} not found")}),
    )
}

/// A real API server on SQLite, with a Prometheus URL nobody answers
/// (runs are registered with the Prometheus source, as on a cluster).
pub async fn platform() -> (chaos_api::Running, std::path::PathBuf) {
    platform_at(0).await
}

/// The same on a given port (0: any), for a server that comes back where
/// a client expects it.
pub async fn platform_at(port: u16) -> (chaos_api::Running, std::path::PathBuf) {
    let dir = chaos_testkit::temp_dir("chaos-operator-test");
    (platform_in(port, &dir).await, dir)
}

/// An API server on `port` over the database in `dir`: the same server
/// again, after a stop.
pub async fn platform_in(port: u16, dir: &std::path::Path) -> chaos_api::Running {
    let mut c = chaos_api::Config::defaults();
    c.listen = ([127, 0, 0, 1], port).into();
    c.database = dir.join("chaos.db").display().to_string();
    c.admin_token = Some(ADMIN.into());
    c.prometheus_url = Some(format!("http://127.0.0.1:{}", chaos_testkit::free_port()));
    c.scoring_settle = Duration::from_secs(3600);
    let listener = tokio::net::TcpListener::bind(c.listen).await.expect("bind");
    chaos_api::start(&c, listener).await.expect("chaos-api")
}

pub fn context(client: Client, platform_url: &str, max_concurrent: u32) -> Arc<Context> {
    Arc::new(bare_context(client, platform_url, max_concurrent))
}

/// A context to adjust before sharing it (e.g. a short resync period).
pub fn bare_context(client: Client, platform_url: &str, max_concurrent: u32) -> Context {
    Context::new(
        client,
        chaos_client::Client::new(platform_url)
            .expect("url")
            .with_admin_token(ADMIN)
            .as_manager(chaos_operator::labels::MANAGER),
        Settings {
            platform_namespace: PLATFORM_NS.into(),
            anvil_image: "sre-chaos/url-anvil:test".into(),
            anvil_admin_token: ANVIL_TOKEN.into(),
            anvil_resources: chaos_operator::Config::defaults().anvil_resources,
            budget: chaos_operator::contributor::topology::Budget::DEFAULT,
        },
        RunSettings {
            loadgen_image: "sre-chaos/loadgen:test".into(),
            corpus_key: chaos_domain::corpus::CorpusKey::from_secret(ANVIL_TOKEN),
            loadgen_resources: chaos_operator::Config::defaults().loadgen_resources,
            max_concurrent,
            job_ttl: Duration::from_secs(600),
            unschedulable_after: Duration::from_secs(180),
        },
        Metrics::default(),
    )
}

pub fn paths(calls: &[Call], method: &str) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.method == method)
        .map(|c| c.path.clone())
        .collect()
}

/// Whether the opt-in real-cluster tests run (`CHAOS_KUBE_E2E=1`).
pub fn e2e_enabled() -> bool {
    std::env::var("CHAOS_KUBE_E2E").as_deref() == Ok("1")
}

/// Polls `f` every half second until it gives a value, failing the test
/// after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The CRDs, applied the way the chart installs them, once the API server
/// has established them.
pub async fn install_crds(client: &Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::ResourceExt;
    use kube::api::{Api, Patch, PatchParams};
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, yaml) in chaos_operator::crdgen::documents().expect("crds") {
        let crd: CustomResourceDefinition = serde_yaml_ng::from_str(&yaml).expect("yaml");
        crds.patch(
            &crd.name_any(),
            &PatchParams::apply("chaos-e2e").force().validation_strict(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("the API server accepts the CRD");
        let n = crd.name_any();
        eventually("the CRD to be established", Duration::from_secs(30), || {
            let crds = crds.clone();
            let n = n.clone();
            async move {
                let c = crds.get(&n).await.ok()?;
                c.status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
            }
        })
        .await;
    }
}
