//! What a Contributor should have, as pure functions of its spec and the
//! platform's settings: the namespace and everything in it.

use std::hash::{Hash, Hasher};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::topology::{Component, Topology};
use crate::crd::Contributor;
use crate::labels::{self, Role};
use crate::settings::Settings;

/// Port url-anvil listens on in every contributor namespace.
pub const ANVIL_PORT: u16 = 8080;
/// The Secret with url-anvil's admin token, key `token`.
pub const ANVIL_SECRET: &str = "url-anvil-admin";
/// The Secret the contributor's API key is kept in, key `api-key`.
pub const API_KEY_SECRET: &str = "chaos-api-key";
pub const ANVIL: &str = "url-anvil";
/// The network policy every pod of the namespace starts from: nothing in,
/// nothing out but DNS.
const DEFAULT_DENY: &str = "default-deny";
/// The network policy of the contributor's components among themselves.
const COMPONENTS_POLICY: &str = "components";
/// The ConfigMap of every component's files, key `<component>.file-<i>`.
pub const FILES: &str = "contributor-files";
/// The single component of the `app` shorthand.
pub const APP: &str = "app";
/// Room in the quota for url-anvil (its default resources) and for one
/// extra pod of the largest size while a component rolls.
const ANVIL_ROOM: (u64, u64) = (500, 256);

/// Everything the operator applies for one contributor, namespace first.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub namespace: Namespace,
    pub quota: ResourceQuota,
    pub limits: LimitRange,
    pub policies: Vec<NetworkPolicy>,
    pub anvil_secret: Secret,
    pub anvil: Deployment,
    pub anvil_service: Service,
    /// Every component's config files, when any has some: one object for
    /// all of them, so a Contributor's config costs the API server one
    /// write, however many components it has.
    pub files: Option<ConfigMap>,
    /// The contributor's components, in the order of the spec.
    pub components: Vec<ComponentObjects>,
}

/// What one component is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentObjects {
    pub name: String,
    pub deployment: Deployment,
    pub service: Service,
}

impl Desired {
    /// Changes whenever any desired object changes. (std's hasher may
    /// differ between Rust releases: a rebuilt operator re-applies once.)
    pub fn digest(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for v in [
            serde_json::to_string(&self.namespace),
            serde_json::to_string(&self.quota),
            serde_json::to_string(&self.limits),
            serde_json::to_string(&self.policies),
            serde_json::to_string(&self.anvil_secret),
            serde_json::to_string(&self.anvil),
            serde_json::to_string(&self.anvil_service),
            serde_json::to_string(&self.files),
        ] {
            v.unwrap_or_default().hash(&mut h);
        }
        for c in &self.components {
            for v in [
                serde_json::to_string(&c.deployment),
                serde_json::to_string(&c.service),
            ] {
                v.unwrap_or_default().hash(&mut h);
            }
        }
        format!("{:016x}", h.finish())
    }
}

/// `contributor-<name>`.
pub fn namespace_name(contributor: &str) -> String {
    format!("contributor-{contributor}")
}

/// Where the challenge load is sent: the entry component's Service.
pub fn endpoint(contributor: &str, component: &str, port: u16) -> String {
    format!(
        "http://{component}.{}.svc:{port}",
        namespace_name(contributor)
    )
}

/// Where a run of this Contributor sends its load: its entry, as the spec
/// says (a run only starts once the contributor is Ready, so its spec was
/// accepted), else as last recorded.
pub fn target(c: &Contributor) -> String {
    entry_endpoint(c)
        .or_else(|| c.status.as_ref().and_then(|s| s.endpoint.clone()))
        .unwrap_or_default()
}

/// The endpoint of a Contributor whose spec can be built.
pub fn entry_endpoint(c: &Contributor) -> Option<String> {
    let t = super::topology::read(&c.spec).ok()?;
    let name = c.metadata.name.clone().unwrap_or_default();
    Some(endpoint(&name, &t.entry_component, t.entry_port))
}

/// url-anvil's address from the platform namespace (metrics, fault API).
pub fn anvil_url(contributor: &str) -> String {
    format!(
        "http://{ANVIL}.{}.svc:{ANVIL_PORT}",
        namespace_name(contributor)
    )
}

pub fn desired(c: &Contributor, t: &Topology, s: &Settings) -> Result<Desired, serde_json::Error> {
    let name = c.metadata.name.clone().unwrap_or_default();
    let ns = namespace_name(&name);
    let owner = owner(c);
    let base = labels::base(&name);
    let meta = |object: &str, extra: Value| -> Value {
        let mut labels = base.clone();
        if let (Value::Object(l), Value::Object(e)) = (&mut labels, extra) {
            l.extend(e);
        }
        json!({"name": object, "namespace": ns, "labels": labels, "ownerReferences": [owner]})
    };
    let platform = &s.platform_namespace;

    let mut ns_labels = base.clone();
    if let Value::Object(l) = &mut ns_labels {
        for mode in ["enforce", "audit", "warn"] {
            l.insert(
                format!("pod-security.kubernetes.io/{mode}"),
                json!("restricted"),
            );
            l.insert(
                format!("pod-security.kubernetes.io/{mode}-version"),
                json!("latest"),
            );
        }
    }
    let namespace = typed(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": ns_labels, "ownerReferences": [owner]},
    }))?;

    // The budget (the same for everyone), one extra pod of the largest
    // size while a component rolls, and url-anvil. Never more than the
    // budget runs: the operator sets every replica count, and nothing in
    // the namespace may create pods. Nothing may be exposed outside the
    // cluster or keep storage. Objects the operator alone creates
    // (Services, Secrets, ConfigMaps) are not counted: a counted kind
    // costs the API server a quota write with every object made, 7 of a
    // three-component Contributor's ~40 writes, for a limit no one else
    // could reach.
    let b = s.budget;
    let cpu = b.cpu_millis + 1000 + ANVIL_ROOM.0;
    let memory = b.memory_mib + 512 + ANVIL_ROOM.1;
    let quota = typed(json!({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": meta("contributor-quota", json!({})),
        "spec": {"hard": {
            "pods": (b.pods + 2).to_string(),
            "requests.cpu": format!("{cpu}m"), "limits.cpu": format!("{cpu}m"),
            "requests.memory": format!("{memory}Mi"), "limits.memory": format!("{memory}Mi"),
            "persistentvolumeclaims": "0", "services.loadbalancers": "0", "services.nodeports": "0",
        }},
    }))?;
    let limits = typed(json!({
        "apiVersion": "v1", "kind": "LimitRange",
        "metadata": meta("contributor-limits", json!({})),
        "spec": {"limits": [{
            "type": "Container",
            "default": {"cpu": "250m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "250m", "memory": "128Mi"},
            "max": {"cpu": "1", "memory": "512Mi"},
        }]},
    }))?;

    let from_platform = |roles: &[Role]| {
        json!({
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": platform}},
            "podSelector": {"matchExpressions": [{
                "key": labels::ROLE, "operator": "In",
                "values": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            }]},
        })
    };
    let component = |c: &str| json!({"matchLabels": {labels::COMPONENT: c}});
    let tier = json!({"matchLabels": {labels::TIER: labels::CONTRIBUTOR_TIER}});
    let entry_port = t.entry_port;
    // Policies selecting the same pods are one object each (one write, one
    // watch event, one object for the CNI to compile, not two).
    let mut policies = vec![
        // Nothing in, nothing out but DNS, for every pod of the namespace.
        typed(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(DEFAULT_DENY, json!({})),
            "spec": {
                "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                "egress": [{
                    "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }],
            },
        }))?,
        // The components reach each other and url-anvil, nothing else.
        typed(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(COMPONENTS_POLICY, json!({})),
            "spec": {
                "podSelector": tier, "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": tier}]}],
                "egress": [
                    {"to": [{"podSelector": tier}]},
                    {"to": [{"podSelector": component(ANVIL)}], "ports": [{"protocol": "TCP", "port": ANVIL_PORT}]},
                ],
            },
        }))?,
        typed(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta("url-anvil-ingress", json!({})),
            "spec": {
                "podSelector": component(ANVIL), "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [{"podSelector": tier}, from_platform(&[Role::Prometheus, Role::Operator])],
                    "ports": [{"protocol": "TCP", "port": ANVIL_PORT}],
                }],
            },
        }))?,
        // The load enters at the entry, and only there; Prometheus reaches
        // only the ports declared as metrics ports (below).
        typed(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta("entry-ingress", json!({})),
            "spec": {
                "podSelector": component(&t.entry_component), "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [from_platform(&[Role::Load])],
                    "ports": [{"protocol": "TCP", "port": entry_port}],
                }],
            },
        }))?,
    ];
    for part in &t.components {
        let Some(metrics) = part
            .metrics_port
            .as_deref()
            .and_then(|m| part.port(Some(m)))
        else {
            continue;
        };
        policies.push(typed(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(&format!("metrics-{}", part.name), json!({})),
            "spec": {
                "podSelector": component(&part.name), "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [from_platform(&[Role::Prometheus])],
                    "ports": [{"protocol": "TCP", "port": metrics.port}],
                }],
            },
        }))?);
    }

    let anvil_secret = typed(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": meta(ANVIL_SECRET, json!({})),
        "type": "Opaque",
        "stringData": {"token": s.anvil_admin_token},
    }))?;

    let restricted = json!({
        "runAsNonRoot": true,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    });
    let anvil_labels = json!({labels::COMPONENT: ANVIL, labels::NAME: ANVIL});
    let anvil = typed(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(ANVIL, anvil_labels.clone()),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {labels::COMPONENT: ANVIL}},
            // One url-anvil at a time: two would double the capacity.
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {
                    "labels": merged(&base, &anvil_labels),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": ANVIL_PORT.to_string(),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": ANVIL,
                        "image": s.anvil_image,
                        "env": [
                            {"name": "ANVIL_LISTEN", "value": format!("0.0.0.0:{ANVIL_PORT}")},
                            {"name": "ANVIL_PUBLIC_URL", "value": format!("http://{ANVIL}:{ANVIL_PORT}")},
                            {"name": "ANVIL_CAPACITY", "value": chaos_domain::CapacityProfile::STANDARD_V1.versioned_name()},
                            {"name": "ANVIL_ON_CRASH", "value": "restart"},
                            {"name": "ANVIL_ADMIN_TOKEN_FILE", "value": "/run/secrets/url-anvil/token"},
                            {"name": "ANVIL_LOG_FORMAT", "value": "json"},
                        ],
                        "ports": [{"name": "http", "containerPort": ANVIL_PORT}],
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 2},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 6},
                        "resources": s.anvil_resources,
                        "securityContext": restricted,
                        "volumeMounts": [{"name": "admin-token", "mountPath": "/run/secrets/url-anvil", "readOnly": true}],
                    }],
                    "volumes": [{"name": "admin-token", "secret": {"secretName": ANVIL_SECRET}}],
                },
            },
        },
    }))?;
    let anvil_service = typed(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(ANVIL, anvil_labels),
        "spec": {
            "selector": {labels::COMPONENT: ANVIL},
            "ports": [{"name": "http", "port": ANVIL_PORT, "targetPort": "http"}],
        },
    }))?;

    let components = t
        .components
        .iter()
        .map(|part| component_objects(part, &meta, &base, &restricted))
        .collect::<Result<Vec<_>, _>>()?;
    let data: serde_json::Map<String, Value> = t
        .components
        .iter()
        .flat_map(|part| {
            part.files
                .iter()
                .enumerate()
                .map(|(i, (_, content))| (file_key(&part.name, i), json!(content)))
        })
        .collect();
    let files = if data.is_empty() {
        None
    } else {
        let tier_label = json!({labels::TIER: labels::CONTRIBUTOR_TIER});
        Some(typed::<ConfigMap>(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(FILES, tier_label),
            "data": data,
        }))?)
    };
    Ok(Desired {
        namespace,
        quota,
        limits,
        policies,
        anvil_secret,
        anvil,
        anvil_service,
        files,
        components,
    })
}

/// The key of a component's `i`th file in the files ConfigMap (a
/// component's name is a DNS label, so the key is a valid one).
fn file_key(component: &str, i: usize) -> String {
    format!("{component}.file-{i}")
}

/// One component: its Deployment and Service.
fn component_objects(
    part: &Component,
    meta: &dyn Fn(&str, Value) -> Value,
    base: &Value,
    restricted: &Value,
) -> Result<ComponentObjects, serde_json::Error> {
    let name = part.name.as_str();
    let own = json!({
        labels::COMPONENT: name,
        labels::NAME: name,
        labels::TIER: labels::CONTRIBUTOR_TIER,
    });
    // A change to the files changes this component's pod template, and
    // only its: it rolls, the others do not.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    part.files.hash(&mut h);
    let files_digest = format!("{:016x}", h.finish());

    let mut mounts = vec![json!({"name": "tmp", "mountPath": "/tmp"})];
    // A read-only root: /tmp is scratch space for every component (nginx's pid and temp files).
    let mut volumes = vec![json!({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}})];
    if let Some(scratch) = &part.scratch {
        mounts.push(json!({"name": "scratch", "mountPath": scratch.path}));
        volumes.push(
            json!({"name": "scratch", "emptyDir": {"sizeLimit": format!("{}Mi", scratch.size_mib)}}),
        );
    }
    if !part.files.is_empty() {
        // Only this component's keys are projected into its pods.
        let keys: Vec<String> = (0..part.files.len()).map(|i| file_key(name, i)).collect();
        let items: Vec<Value> = keys.iter().map(|k| json!({"key": k, "path": k})).collect();
        volumes.push(json!({"name": "files", "configMap": {"name": FILES, "items": items}}));
        for ((path, _), key) in part.files.iter().zip(&keys) {
            mounts.push(
                json!({"name": "files", "mountPath": path, "subPath": key, "readOnly": true}),
            );
        }
    }
    let probe_port = part
        .port(part.readiness.port.as_deref())
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let period = part.readiness.period_seconds.unwrap_or(2);
    let readiness = match &part.readiness.http_path {
        Some(path) => {
            json!({"httpGet": {"path": path, "port": probe_port}, "periodSeconds": period})
        }
        None => json!({"tcpSocket": {"port": probe_port}, "periodSeconds": period}),
    };
    let mut annotations = json!({"srechaos.dev/files-digest": files_digest});
    if let Some(m) = part
        .metrics_port
        .as_deref()
        .and_then(|m| part.port(Some(m)))
        && let Value::Object(a) = &mut annotations
    {
        a.insert("prometheus.io/scrape".into(), json!("true"));
        a.insert("prometheus.io/port".into(), json!(m.port.to_string()));
        a.insert("prometheus.io/path".into(), json!("/metrics"));
    }
    let (cpu, memory) = (part.cpu_millis, part.memory_mib);
    let mut container = json!({
        "name": name,
        "image": part.image,
        "ports": part.ports.iter().map(|p| json!({"name": p.name, "containerPort": p.port})).collect::<Vec<_>>(),
        "env": part.env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "readinessProbe": readiness,
        "resources": {
            "requests": {"cpu": format!("{cpu}m"), "memory": format!("{memory}Mi")},
            "limits": {"cpu": format!("{cpu}m"), "memory": format!("{memory}Mi")},
        },
        "securityContext": restricted,
        "volumeMounts": mounts,
    });
    if !part.args.is_empty() {
        container["args"] = json!(part.args);
    }
    let deployment = typed(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(name, own.clone()),
        "spec": {
            "replicas": part.replicas,
            "selector": {"matchLabels": {labels::COMPONENT: name}},
            // One extra pod at a time while rolling, which the quota has room for.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": merged(base, &own), "annotations": annotations},
                "spec": {
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }))?;
    let service = typed(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(name, own),
        "spec": {
            "selector": {labels::COMPONENT: name},
            "ports": part.ports.iter().map(|p| json!({"name": p.name, "port": p.port, "targetPort": p.name})).collect::<Vec<_>>(),
        },
    }))?;
    Ok(ComponentObjects {
        name: name.to_owned(),
        deployment,
        service,
    })
}

/// The Secret that keeps the contributor's API key.
pub fn api_key_secret(c: &Contributor, key: &str) -> Result<Secret, serde_json::Error> {
    let name = c.metadata.name.clone().unwrap_or_default();
    typed(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": API_KEY_SECRET, "namespace": namespace_name(&name),
            "labels": labels::base(&name), "ownerReferences": [owner(c)],
        },
        "type": "Opaque",
        "stringData": {"api-key": key},
    }))
}

fn owner(c: &Contributor) -> OwnerReference {
    c.controller_owner_ref(&()).unwrap_or_default()
}

fn merged(a: &Value, b: &Value) -> Value {
    let mut out = a.clone();
    if let (Value::Object(o), Value::Object(b)) = (&mut out, b) {
        o.extend(b.clone());
    }
    out
}

fn typed<T: DeserializeOwned>(v: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn contributor(name: &str) -> Contributor {
        let mut c = crate::fixtures::contributor(name);
        let app = c.spec.app.as_mut().expect("app");
        app.port = 8081;
        app.replicas = 2;
        app.cpu_millis = Some(500);
        c
    }

    fn build(c: &Contributor, s: &Settings) -> Result<Desired, serde_json::Error> {
        let t = super::super::topology::read(&c.spec).expect("reads");
        desired(c, &t, s)
    }

    fn settings() -> Settings {
        Settings {
            platform_namespace: "sre-chaos".into(),
            anvil_image: "sre-chaos/url-anvil:1".into(),
            anvil_admin_token: "0123456789abcdef0123".into(),
            anvil_resources: crate::Config::defaults().anvil_resources,
            budget: crate::contributor::topology::Budget::DEFAULT,
        }
    }

    fn pod(d: &Deployment) -> &PodSpec {
        d.spec.template.spec.as_ref().expect("pod spec")
    }

    fn container(d: &Deployment) -> &Container {
        &pod(d).containers[0]
    }

    #[test]
    fn everything_lives_in_the_contributors_namespace_and_is_owned_by_it() {
        let d = build(&contributor("ada"), &settings()).expect("builds");
        assert_eq!(
            d.namespace.metadata.name.as_deref(),
            Some("contributor-ada")
        );
        let owners = |m: &kube::api::ObjectMeta| {
            m.owner_references
                .as_ref()
                .map(|o| (o[0].kind.clone(), o[0].name.clone(), o[0].controller))
        };
        let expected = Some(("Contributor".to_owned(), "ada".to_owned(), Some(true)));
        assert_eq!(owners(&d.namespace.metadata), expected);
        for m in [
            &d.quota.metadata,
            &d.limits.metadata,
            &d.anvil_secret.metadata,
            &d.anvil.metadata,
            &d.anvil_service.metadata,
            &d.components[0].deployment.metadata,
            &d.components[0].service.metadata,
        ]
        .into_iter()
        .chain(d.policies.iter().map(|p| &p.metadata))
        {
            assert_eq!(
                m.namespace.as_deref(),
                Some("contributor-ada"),
                "{:?}",
                m.name
            );
            assert_eq!(owners(m), expected, "{:?}", m.name);
            assert_eq!(
                m.labels
                    .as_ref()
                    .and_then(|l| l.get(labels::CONTRIBUTOR))
                    .map(String::as_str),
                Some("ada")
            );
        }
    }

    #[test]
    fn the_namespace_enforces_the_restricted_pod_security_standard() {
        let d = build(&contributor("ada"), &settings()).expect("builds");
        let l = d.namespace.metadata.labels.expect("labels");
        assert_eq!(l["pod-security.kubernetes.io/enforce"], "restricted");
    }

    #[test]
    fn pods_run_locked_down() {
        let d = build(&contributor("ada"), &settings()).expect("builds");
        for dep in [&d.anvil, &d.components[0].deployment] {
            let p = pod(dep);
            assert_eq!(p.automount_service_account_token, Some(false));
            let sc = container(dep)
                .security_context
                .as_ref()
                .expect("security context");
            assert_eq!(sc.run_as_non_root, Some(true));
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            assert_eq!(sc.read_only_root_filesystem, Some(true));
            assert_eq!(
                sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
                Some(vec!["ALL".to_owned()])
            );
        }
    }

    #[test]
    fn url_anvil_is_the_platforms_and_the_same_for_everyone() {
        let a = build(&contributor("ada"), &settings()).expect("builds");
        let b = build(&contributor("bob"), &settings()).expect("builds");
        assert_eq!(container(&a.anvil), container(&b.anvil));
        let c = container(&a.anvil);
        assert_eq!(c.image.as_deref(), Some("sre-chaos/url-anvil:1"));
        let env: Vec<(String, String)> = c
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
            .collect();
        assert!(
            env.contains(&("ANVIL_CAPACITY".into(), "standard-v1".into())),
            "{env:?}"
        );
        assert_eq!(a.anvil.spec.replicas, Some(1));
        let annotations = a
            .anvil
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .expect("annotations");
        assert_eq!(annotations["prometheus.io/scrape"], "true");
    }

    #[test]
    fn the_app_gets_its_image_port_replicas_and_bounded_resources() {
        let d = build(&contributor("ada"), &settings()).expect("builds");
        let c = container(&d.components[0].deployment);
        assert_eq!(c.image.as_deref(), Some("ghcr.io/ada/app:1"));
        assert_eq!(c.ports.as_ref().map(|p| p[0].container_port), Some(8081));
        assert_eq!(d.components[0].deployment.spec.replicas, Some(2));
        let limits = c
            .resources
            .as_ref()
            .and_then(|r| r.limits.clone())
            .expect("limits");
        assert_eq!(limits["cpu"].0, "500m");
        assert_eq!(limits["memory"].0, "128Mi");
        assert_eq!(
            d.components[0]
                .service
                .spec
                .as_ref()
                .and_then(|s| s.ports.as_ref())
                .map(|p| p[0].port),
            Some(8081)
        );
        assert_eq!(
            endpoint("ada", "app", 8081),
            "http://app.contributor-ada.svc:8081"
        );
    }

    #[test]
    fn network_policies_deny_by_default_and_open_only_the_needed_paths() {
        let d = build(&contributor("ada"), &settings()).expect("builds");
        let names: Vec<_> = d
            .policies
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "default-deny",
                "components",
                "url-anvil-ingress",
                "entry-ingress"
            ]
        );
        // Every pod: nothing in, and nothing out but DNS.
        let deny = serde_json::to_value(&d.policies[0]).expect("json");
        assert_eq!(deny["spec"]["podSelector"], json!({}));
        assert_eq!(deny["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert!(deny["spec"].get("ingress").is_none(), "{deny}");
        let out = deny["spec"]["egress"].as_array().expect("egress");
        assert_eq!(out.len(), 1, "{deny}");
        assert_eq!(
            out[0]["ports"],
            json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}])
        );
        assert_eq!(
            out[0]["to"][0]["podSelector"]["matchLabels"]["k8s-app"],
            "kube-dns"
        );
        // The components: to and from each other, out to url-anvil's port.
        let parts = serde_json::to_value(&d.policies[1]).expect("json");
        assert_eq!(
            parts["spec"]["podSelector"]["matchLabels"][labels::TIER],
            "contributor"
        );
        assert_eq!(parts["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(
            parts["spec"]["ingress"],
            json!([{"from": [{"podSelector": {"matchLabels": {labels::TIER: "contributor"}}}]}])
        );
        assert_eq!(
            parts["spec"]["egress"][1]["to"][0]["podSelector"]["matchLabels"][labels::COMPONENT],
            ANVIL
        );
        assert_eq!(parts["spec"]["egress"][1]["ports"][0]["port"], 8080);
        // Only the platform's load Jobs reach the entry, on its port.
        let app_in = serde_json::to_value(&d.policies[3]).expect("json");
        assert_eq!(
            app_in["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "sre-chaos"
        );
        assert_eq!(
            app_in["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"],
            json!(["load"])
        );
        assert_eq!(app_in["spec"]["ingress"][0]["ports"][0]["port"], 8081);
    }

    #[test]
    fn the_digest_follows_the_spec() {
        let a = build(&contributor("ada"), &settings()).expect("builds");
        let mut changed = contributor("ada");
        changed.spec.app.as_mut().expect("app").image = "ghcr.io/ada/app:2".into();
        let b = build(&changed, &settings()).expect("builds");
        assert_eq!(
            a.digest(),
            build(&contributor("ada"), &settings()).expect("b").digest()
        );
        assert_ne!(a.digest(), b.digest());
    }

    fn three(last_conf: &str) -> Contributor {
        use crate::crd::{ComponentSpec, EntrySpec, FileSpec, PortSpec};
        let part = |name: &str, port: u16, conf: &str| ComponentSpec {
            cpu_millis: Some(200),
            memory_mib: Some(64),
            files: vec![FileSpec {
                path: "/etc/nginx/conf.d/default.conf".into(),
                content: conf.into(),
            }],
            ..ComponentSpec::new(name, "nginx:1", port)
        };
        let mut c = crate::fixtures::contributor("ada");
        c.spec.app = None;
        let mut edge = part("edge", 8080, "edge");
        edge.ports.push(PortSpec {
            name: "metrics".into(),
            port: 9113,
        });
        edge.metrics_port = Some("metrics".into());
        c.spec.components = Some(vec![
            edge,
            part("mid", 8081, "mid"),
            part("last", 8082, last_conf),
        ]);
        c.spec.entry = Some(EntrySpec {
            component: "edge".into(),
            port: Some("http".into()),
        });
        c
    }

    #[test]
    fn each_component_gets_its_files_its_service_and_only_its_own_roll() {
        let a = build(&three("last"), &settings()).expect("builds");
        let names: Vec<&str> = a.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["edge", "mid", "last"]);
        let last = &a.components[2];
        // One ConfigMap holds every component's files, one key each.
        let files = a.files.as_ref().expect("a ConfigMap");
        assert_eq!(files.metadata.name.as_deref(), Some(FILES));
        let data = files.data.as_ref().expect("data");
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["edge.file-0", "last.file-0", "mid.file-0"]);
        assert_eq!(data.get("last.file-0").map(String::as_str), Some("last"));
        let c = container(&last.deployment);
        let mount = c
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.mount_path == "/etc/nginx/conf.d/default.conf")
            .expect("mounted");
        assert_eq!(mount.sub_path.as_deref(), Some("last.file-0"));
        assert_eq!(mount.read_only, Some(true));
        // Its pods get only its own files.
        let volume = pod(&last.deployment)
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == "files")
            .and_then(|v| v.config_map.as_ref())
            .expect("the files volume");
        assert_eq!(volume.name, FILES);
        let projected: Vec<&str> = volume
            .items
            .iter()
            .flatten()
            .map(|i| i.key.as_str())
            .collect();
        assert_eq!(projected, ["last.file-0"]);
        let tier = |d: &Deployment| {
            d.spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.as_ref())
                .and_then(|l| l.get(labels::TIER).cloned())
        };
        assert_eq!(tier(&last.deployment), Some("contributor".into()));
        assert_eq!(tier(&a.anvil), None, "url-anvil is not a component");
        // The entry and its metrics port.
        let names: Vec<_> = a
            .policies
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        assert!(names.contains(&"metrics-edge".to_owned()), "{names:?}");
        let entry = serde_json::to_value(&a.policies[3]).expect("json");
        assert_eq!(entry["metadata"]["name"], "entry-ingress");
        assert_eq!(
            entry["spec"]["podSelector"]["matchLabels"][labels::COMPONENT],
            "edge"
        );
        // A change to last's file changes last's pod template, and only it.
        let b = build(&three("last, changed"), &settings()).expect("builds");
        for (x, y) in a.components.iter().zip(&b.components) {
            assert_eq!(
                x.deployment == y.deployment,
                x.name != "last",
                "{} rolled when it should not, or did not when it should",
                x.name
            );
        }
        assert_ne!(a.digest(), b.digest());
        // The quota is the budget plus url-anvil and one rolling pod.
        let hard = a
            .quota
            .spec
            .as_ref()
            .and_then(|s| s.hard.clone())
            .expect("hard");
        assert_eq!(hard["limits.cpu"].0, "4500m");
        assert_eq!(hard["pods"].0, "8");
        assert_eq!(hard["persistentvolumeclaims"].0, "0");
        assert_eq!(hard["services.nodeports"].0, "0");
        assert_eq!(hard["services.loadbalancers"].0, "0");
        for uncounted in ["services", "secrets", "configmaps"] {
            assert!(!hard.contains_key(uncounted), "{uncounted} counted");
        }
    }
}
