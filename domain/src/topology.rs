//! A contributor's infrastructure as code: the components a Contributor
//! manifest describes (or the one-app shorthand), read into one shape,
//! checked as a whole (names, ports, the entry, the files) and measured
//! against the per-contributor budget. The operator builds Kubernetes
//! objects from it and chaosctl a compose file, from the same manifest and
//! by the same rules. Pure: a spec is refused before anything is applied,
//! so it is never half applied. Every field's doc comment is what
//! `kubectl explain` shows.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The most components a Contributor may have.
pub const MAX_COMPONENTS: usize = 6;

/// One component of a contributor's infrastructure. It runs locked down:
/// as a non-root user, with a read-only root filesystem (write to /tmp or
/// the scratch volume) and no Kubernetes credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// The component's name, a DNS label: its Service has this name, so the other components reach it at http://<name>:<port>. Not `url-anvil`.
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1, max = 40),
            regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
        )
    )]
    pub name: String,
    /// Container image, e.g. nginx:1.27 or ghcr.io/ada/cache:2.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 512), regex(pattern = r"^[^\s]+$"))
    )]
    pub image: String,
    /// The ports the component listens on (1024 to 65535: it runs as non-root), each with a name.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 4)))]
    #[cfg_attr(feature = "schema", schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])))]
    pub ports: Vec<PortSpec>,
    /// Number of replicas, 1 to 6 (the budget counts them all).
    #[serde(default = "default_replicas")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 6)))]
    pub replicas: i32,
    /// CPU per replica in millicores, 50 to 1000 (default 250); requested and limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 50, max = 1000)))]
    pub cpu_millis: Option<u32>,
    /// Memory per replica in MiB, 32 to 512 (default 128); requested and limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 32, max = 512)))]
    pub memory_mib: Option<u32>,
    /// Environment variables, literal values only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(length(max = 32)))]
    pub env: Vec<EnvSpec>,
    /// Arguments, replacing the image's CMD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(length(max = 32)))]
    pub args: Vec<String>,
    /// Small config files (64 KiB in all), mounted read-only at their paths from a ConfigMap the operator owns. Changing one rolls this component's pods, and only them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(length(max = 16)))]
    pub files: Vec<FileSpec>,
    /// When a replica may receive traffic: an HTTP GET of `httpPath` answering 2xx or 3xx, or (without httpPath) a TCP connection. On the first port unless `port` names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ReadinessSpec>,
    /// A writable scratch directory (a cache's store), size-limited; its contents go with the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch: Option<ScratchSpec>,
    /// The name of a port serving Prometheus metrics at /metrics: the platform's Prometheus may reach it and scrapes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 15)))]
    pub metrics_port: Option<String>,
}

/// A named port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PortSpec {
    /// The port's name (an IANA service name: 1 to 15 lower-case letters, digits and inner hyphens).
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1, max = 15),
            regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
        )
    )]
    pub name: String,
    /// The port number, 1024 to 65535.
    #[cfg_attr(feature = "schema", schemars(range(min = 1024, max = 65535)))]
    pub port: u16,
}

/// An environment variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvSpec {
    /// The variable's name.
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1, max = 128),
            regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$")
        )
    )]
    pub name: String,
    /// Its value, literal.
    #[cfg_attr(feature = "schema", schemars(length(max = 4096)))]
    pub value: String,
}

/// A config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FileSpec {
    /// Where it is mounted: an absolute path, e.g. /etc/nginx/nginx.conf.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 2, max = 255), regex(pattern = r"^/[A-Za-z0-9._/-]+$"))
    )]
    pub path: String,
    /// Its content.
    pub content: String,
}

/// A readiness probe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadinessSpec {
    /// An HTTP path to GET, e.g. /healthz; a TCP connection when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 255), regex(pattern = r"^/[^\s]*$"))
    )]
    pub http_path: Option<String>,
    /// The name of the port to probe (the first port when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Seconds between probes, 1 to 30 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 30)))]
    pub period_seconds: Option<i32>,
}

/// A size-limited scratch directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScratchSpec {
    /// Where it is mounted, e.g. /var/cache/nginx.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 2, max = 255), regex(pattern = r"^/[A-Za-z0-9._/-]+$"))
    )]
    pub path: String,
    /// Its size in MiB, 1 to 256; writing beyond it evicts the pod.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 256)))]
    pub size_mib: u32,
}

/// Where the challenge load goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EntrySpec {
    /// The component's name.
    pub component: String,
    /// The name of its port (its first port when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// The contributor's app (the `app` shorthand). Bounds keep every contributor on equal footing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppSpec {
    /// Container image of the app, e.g. ghcr.io/ada/sre-chaos-app:1. It runs as a non-root user.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 512), regex(pattern = r"^[^\s]+$"))
    )]
    pub image: String,
    /// The HTTP port the app listens on (1024 to 65535: the app runs as non-root).
    #[serde(default = "default_port")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1024, max = 65535)))]
    pub port: u16,
    /// Number of replicas, 1 to 3.
    #[serde(default = "default_replicas")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 3)))]
    pub replicas: i32,
    /// CPU per replica in millicores, 50 to 1000 (default 250); requested and limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 50, max = 1000)))]
    pub cpu_millis: Option<u32>,
    /// Memory per replica in MiB, 32 to 512 (default 128); requested and limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 32, max = 512)))]
    pub memory_mib: Option<u32>,
}

impl ComponentSpec {
    /// One replica of `image` with one port named `http`, every other
    /// field at its default.
    pub fn new(name: &str, image: &str, port: u16) -> Self {
        ComponentSpec {
            name: name.into(),
            image: image.into(),
            ports: vec![PortSpec {
                name: "http".into(),
                port,
            }],
            replicas: default_replicas(),
            cpu_millis: None,
            memory_mib: None,
            env: Vec::new(),
            args: Vec::new(),
            files: Vec::new(),
            readiness: None,
            scratch: None,
            metrics_port: None,
        }
    }
}

impl AppSpec {
    /// One replica of `image` on `port`, resources at their defaults.
    pub fn new(image: &str, port: u16) -> Self {
        AppSpec {
            image: image.into(),
            port,
            replicas: default_replicas(),
            cpu_millis: None,
            memory_mib: None,
        }
    }
}

fn default_port() -> u16 {
    8080
}

fn default_replicas() -> i32 {
    1
}

pub const DEFAULT_CPU_MILLIS: u32 = 250;
pub const DEFAULT_MEMORY_MIB: u32 = 128;
/// Config files of one component, in all (a ConfigMap holds 1 MiB; the
/// files are config, not data).
pub const MAX_FILES_BYTES: usize = 64 * 1024;
/// The names a component may not take: url-anvil's Service, and the
/// components Prometheus's relabelling turns into the platform's own jobs
/// (the chart's `job` rule), whose series a contributor must not write.
const RESERVED: &[&str] = &["url-anvil", "api", "operator", "prometheus", "loadgen"];

/// What every contributor may use, the same for everyone (a chart value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub pods: u64,
}

impl Budget {
    /// Three app replicas at their largest: what a single app could
    /// always ask for, so every single-app manifest still fits.
    pub const DEFAULT: Budget = Budget {
        cpu_millis: 3000,
        memory_mib: 1536,
        pods: 6,
    };
}

/// One component, with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    pub image: String,
    pub ports: Vec<PortSpec>,
    pub replicas: i32,
    pub cpu_millis: u32,
    pub memory_mib: u32,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// `(path, content)`, in the order given.
    pub files: Vec<(String, String)>,
    pub readiness: ReadinessSpec,
    pub scratch: Option<ScratchSpec>,
    pub metrics_port: Option<String>,
}

impl Component {
    /// The port a name refers to; the first when none is named.
    pub fn port(&self, name: Option<&str>) -> Option<&PortSpec> {
        match name {
            None => self.ports.first(),
            Some(n) => self.ports.iter().find(|p| p.name == n),
        }
    }
}

/// The whole infrastructure and where the load enters it.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    pub components: Vec<Component>,
    pub entry_component: String,
    pub entry_port: u16,
    pub entry_port_name: String,
}

/// What the topology asks for, summed over components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub pods: u64,
}

impl Topology {
    pub fn usage(&self) -> Usage {
        let mut u = Usage {
            cpu_millis: 0,
            memory_mib: 0,
            pods: 0,
        };
        for c in &self.components {
            let r = c.replicas.max(0) as u64;
            u.cpu_millis += r * u64::from(c.cpu_millis);
            u.memory_mib += r * u64::from(c.memory_mib);
            u.pods += r;
        }
        u
    }

    /// The largest single pod, for the quota's rollout room.
    pub fn largest_pod(&self) -> (u32, u32) {
        let cpu = self.components.iter().map(|c| c.cpu_millis).max();
        let mem = self.components.iter().map(|c| c.memory_mib).max();
        (cpu.unwrap_or(0), mem.unwrap_or(0))
    }

    pub fn entry(&self) -> Option<&Component> {
        self.components
            .iter()
            .find(|c| c.name == self.entry_component)
    }
}

/// Why a spec is refused: said on the Contributor's `Refused` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse(m: impl Into<String>) -> Refusal {
    Refusal(m.into())
}

/// What a Contributor's spec says of its infrastructure: the `app`
/// shorthand or the `components` list, and the `entry`.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub app: Option<&'a AppSpec>,
    pub components: Option<&'a [ComponentSpec]>,
    pub entry: Option<&'a EntrySpec>,
}

/// The spec read into one shape, or every reason it cannot be built.
pub fn read(spec: Spec<'_>) -> Result<Topology, Refusal> {
    let components: Vec<Component> = match (spec.app, spec.components) {
        (Some(_), Some(_)) => {
            return Err(refuse(
                "give either app (one component) or components, not both",
            ));
        }
        (None, None) => return Err(refuse("give app (one component) or components")),
        (Some(app), None) => vec![Component {
            name: "app".into(),
            image: app.image.clone(),
            ports: vec![PortSpec {
                name: "http".into(),
                port: app.port,
            }],
            replicas: app.replicas,
            cpu_millis: app.cpu_millis.unwrap_or(DEFAULT_CPU_MILLIS),
            memory_mib: app.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB),
            env: Vec::new(),
            args: Vec::new(),
            files: Vec::new(),
            readiness: ReadinessSpec::default(),
            scratch: None,
            metrics_port: None,
        }],
        (None, Some(list)) => list.iter().map(component).collect(),
    };
    if components.is_empty() || components.len() > MAX_COMPONENTS {
        return Err(refuse(format!(
            "components: 1 to {MAX_COMPONENTS}, not {}",
            components.len()
        )));
    }
    let mut names = BTreeSet::new();
    for c in &components {
        check(c)?;
        if !names.insert(c.name.as_str()) {
            return Err(refuse(format!(
                "components: {:?} is named twice; each component's name is its Service's",
                c.name
            )));
        }
    }
    let (entry_component, entry_port) = match spec.entry {
        None => (components[0].name.clone(), None),
        Some(e) => (e.component.clone(), e.port.clone()),
    };
    let Some(entry) = components.iter().find(|c| c.name == entry_component) else {
        return Err(refuse(format!(
            "entry.component: there is no component {entry_component:?} (there are {})",
            names.into_iter().collect::<Vec<_>>().join(", ")
        )));
    };
    let Some(port) = entry.port(entry_port.as_deref()) else {
        return Err(refuse(format!(
            "entry.port: component {entry_component:?} has no port {:?}",
            entry_port.unwrap_or_default()
        )));
    };
    let (entry_port, entry_port_name) = (port.port, port.name.clone());
    Ok(Topology {
        components,
        entry_component,
        entry_port,
        entry_port_name,
    })
}

fn component(c: &ComponentSpec) -> Component {
    Component {
        name: c.name.clone(),
        image: c.image.clone(),
        ports: c.ports.clone(),
        replicas: c.replicas,
        cpu_millis: c.cpu_millis.unwrap_or(DEFAULT_CPU_MILLIS),
        memory_mib: c.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB),
        env: c
            .env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .collect(),
        args: c.args.clone(),
        files: c
            .files
            .iter()
            .map(|f| (f.path.clone(), f.content.clone()))
            .collect(),
        readiness: c.readiness.clone().unwrap_or_default(),
        scratch: c.scratch.clone(),
        metrics_port: c.metrics_port.clone(),
    }
}

/// What the schema cannot say across fields of one component.
fn check(c: &Component) -> Result<(), Refusal> {
    let at = |field: &str| format!("components[{}].{field}", c.name);
    if RESERVED.contains(&c.name.as_str()) {
        return Err(refuse(format!(
            "{}: {:?} is one of the platform's own names",
            at("name"),
            c.name
        )));
    }
    if c.ports.is_empty() {
        return Err(refuse(format!("{}: at least one port", at("ports"))));
    }
    let mut ports = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for p in &c.ports {
        if !ports.insert(p.name.as_str()) || !numbers.insert(p.port) {
            return Err(refuse(format!(
                "{}: {:?} ({}) is listed twice",
                at("ports"),
                p.name,
                p.port
            )));
        }
    }
    if let Some(name) = c.readiness.port.as_deref()
        && c.port(Some(name)).is_none()
    {
        return Err(refuse(format!(
            "{}: there is no port {name:?}",
            at("readiness.port")
        )));
    }
    if let Some(name) = c.metrics_port.as_deref()
        && c.port(Some(name)).is_none()
    {
        return Err(refuse(format!(
            "{}: there is no port {name:?}",
            at("metricsPort")
        )));
    }
    let mut paths = BTreeSet::new();
    let mut bytes = 0;
    for (path, content) in &c.files {
        if !paths.insert(path.as_str()) {
            return Err(refuse(format!("{}: {path} is given twice", at("files"))));
        }
        if path.split('/').any(|part| part == "..") {
            return Err(refuse(format!("{}: {path} must not hold ..", at("files"))));
        }
        bytes += content.len();
    }
    if bytes > MAX_FILES_BYTES {
        return Err(refuse(format!(
            "{}: {bytes} bytes in all; at most {MAX_FILES_BYTES}",
            at("files")
        )));
    }
    if let Some(s) = &c.scratch
        && (s.path == "/tmp" || paths.contains(s.path.as_str()))
    {
        return Err(refuse(format!(
            "{}: {} is taken (/tmp is always writable)",
            at("scratch.path"),
            s.path
        )));
    }
    Ok(())
}

/// The topology if it fits the budget; otherwise the sums, said.
pub fn within(t: &Topology, b: Budget) -> Result<(), Refusal> {
    let u = t.usage();
    let mut over = Vec::new();
    if u.cpu_millis > b.cpu_millis {
        over.push(format!(
            "cpu {}m > {}m (replicas x cpuMillis)",
            u.cpu_millis, b.cpu_millis
        ));
    }
    if u.memory_mib > b.memory_mib {
        over.push(format!(
            "memory {}Mi > {}Mi (replicas x memoryMib)",
            u.memory_mib, b.memory_mib
        ));
    }
    if u.pods > b.pods {
        over.push(format!("pods {} > {} (replicas)", u.pods, b.pods));
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(refuse(format!(
            "over the per-contributor budget: {}; nothing was applied",
            over.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, port: u16, replicas: i32, cpu: u32) -> ComponentSpec {
        ComponentSpec {
            replicas,
            cpu_millis: Some(cpu),
            ..ComponentSpec::new(name, "nginx:1", port)
        }
    }

    /// A spec as a manifest holds it.
    #[derive(Clone)]
    struct Owned {
        app: Option<AppSpec>,
        components: Option<Vec<ComponentSpec>>,
        entry: Option<EntrySpec>,
    }

    impl Owned {
        fn spec(&self) -> Spec<'_> {
            Spec {
                app: self.app.as_ref(),
                components: self.components.as_deref(),
                entry: self.entry.as_ref(),
            }
        }
    }

    fn spec(components: Vec<ComponentSpec>) -> Owned {
        Owned {
            app: None,
            components: Some(components),
            entry: None,
        }
    }

    #[test]
    fn the_app_shorthand_is_one_component_named_app() {
        let s = Owned {
            app: Some(AppSpec {
                image: "ghcr.io/ada/app:1".into(),
                port: 8081,
                replicas: 3,
                cpu_millis: Some(1000),
                memory_mib: Some(512),
            }),
            components: None,
            entry: None,
        };
        let t = read(s.spec()).expect("reads");
        assert_eq!(t.components.len(), 1);
        assert_eq!(t.entry_component, "app");
        assert_eq!(t.entry_port, 8081);
        // Every single app the old bounds allowed fits the default budget.
        assert_eq!(within(&t, Budget::DEFAULT), Ok(()));
    }

    #[test]
    fn the_entry_defaults_to_the_first_component_and_must_exist() {
        let mut s = spec(vec![
            part("edge", 8080, 1, 250),
            part("cache", 8081, 1, 250),
        ]);
        let t = read(s.spec()).expect("reads");
        assert_eq!((t.entry_component.as_str(), t.entry_port), ("edge", 8080));
        s.entry = Some(EntrySpec {
            component: "cache".into(),
            port: Some("http".into()),
        });
        assert_eq!(read(s.spec()).expect("reads").entry_port, 8081);
        s.entry = Some(EntrySpec {
            component: "nope".into(),
            port: None,
        });
        let e = read(s.spec()).expect_err("refused");
        assert!(e.0.contains("entry.component"), "{e}");
        // The names that exist, sorted, so the message is the same every time.
        assert!(e.0.contains("there are cache, edge"), "{e}");
    }

    #[test]
    fn a_spec_that_cannot_be_built_is_refused_with_the_field() {
        let cases: Vec<(Owned, &str)> = vec![
            (
                spec(vec![part("a", 8080, 1, 250), part("a", 8081, 1, 250)]),
                "named twice",
            ),
            (
                spec(vec![part("url-anvil", 8080, 1, 250)]),
                "platform's own",
            ),
            (spec(vec![part("api", 8080, 1, 250)]), "platform's own"),
            (spec(vec![]), "1 to 6"),
            (
                Owned {
                    components: None,
                    ..spec(vec![])
                },
                "give app",
            ),
            (
                {
                    let mut c = part("a", 8080, 1, 250);
                    c.files = vec![FileSpec {
                        path: "/etc/x".into(),
                        content: "x".repeat(MAX_FILES_BYTES + 1),
                    }];
                    spec(vec![c])
                },
                "files",
            ),
            (
                {
                    let mut c = part("a", 8080, 1, 250);
                    c.metrics_port = Some("metrics".into());
                    spec(vec![c])
                },
                "metricsPort",
            ),
        ];
        for (s, says) in cases {
            let e = read(s.spec()).expect_err(says);
            assert!(e.0.contains(says), "{e} should say {says}");
        }
    }

    #[test]
    fn the_budget_counts_every_replica_of_every_component() {
        let b = Budget {
            cpu_millis: 2000,
            memory_mib: 1024,
            pods: 6,
        };
        let fits = spec(vec![
            part("edge", 8080, 2, 250),
            part("cache", 8081, 1, 500),
            part("tier", 8082, 2, 250),
        ]);
        let fits = read(fits.spec()).expect("reads");
        assert_eq!(
            fits.usage(),
            Usage {
                cpu_millis: 1500,
                memory_mib: 640,
                pods: 5
            }
        );
        assert_eq!(within(&fits, b), Ok(()));
        let over = read(
            spec(vec![
                part("edge", 8080, 3, 500),
                part("cache", 8081, 2, 500),
            ])
            .spec(),
        )
        .expect("reads");
        let e = within(&over, b).expect_err("over");
        assert!(e.0.contains("cpu 2500m > 2000m"), "{e}");
        assert!(!e.0.contains("memory"), "{e}");
    }
}
