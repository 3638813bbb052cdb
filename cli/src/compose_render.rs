//! A Contributor manifest as a compose override: the components a cluster
//! would run, as compose services of the playground, from the same file.
//!
//! Each component is a service `<component>-<user>`, reachable from the
//! other components by its own name (an alias on the contributor's own
//! network, so two contributors may both have an `edge`); url-anvil is
//! `url-anvil`, as in the cluster. Config files are written beside the
//! override and mounted read-only; readiness becomes a healthcheck (HTTP
//! only: a TCP check needs a tool the image may not have); each replica
//! gets its cpu and memory as compose limits, and the whole must fit the
//! same per-contributor budget as on the cluster. Unlike the cluster, the
//! playground does not isolate: the components are also on the default
//! network, where Prometheus and the compose loadgen reach them.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chaos_domain::topology::{Budget, Component, Topology, within};
use clap::Args;
use serde_json::{Value, json};

use crate::manifest::Manifest;

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The Contributor manifest, e.g. contributors/ada/contributor.yaml.
    pub manifest: PathBuf,
    /// The checkout's root: compose-files/ is written here.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The entry's port on this machine [default: the one the override already has, else the first free from 8101].
    #[arg(long)]
    pub port: Option<u16>,
}

/// What rendering wrote.
#[derive(Debug)]
pub struct Rendered {
    pub user: String,
    pub file: PathBuf,
    pub port: u16,
    pub services: Vec<String>,
    pub entry_service: String,
}

pub fn compose(args: ComposeArgs) -> anyhow::Result<()> {
    let m = Manifest::read(&args.manifest)?;
    let r = render(&m, &args.manifest, &args.root, args.port)?;
    println!(
        "{} component(s) of {} written to {}",
        r.services.len(),
        r.user,
        r.file.display()
    );
    println!("Start them in the compose playground:");
    println!(
        "  docker compose -f docker-compose.yml -f compose-files/docker-compose.{}.yml up --build -d --no-deps {}",
        r.user,
        r.services.join(" ")
    );
    println!(
        "then run a challenge against its entry, {} (http://127.0.0.1:{}):",
        r.entry_service, r.port
    );
    println!(
        "  chaosctl run --compose --challenge {} --target http://127.0.0.1:{} --contributor {}",
        m.spec.challenge, r.port, r.user
    );
    Ok(())
}

/// The service of a component.
pub fn service_name(component: &str, user: &str) -> String {
    format!("{component}-{user}")
}

/// Writes the override (replacing an earlier one), its files and its
/// Prometheus targets.
pub fn render(
    m: &Manifest,
    manifest_path: &Path,
    root: &Path,
    port: Option<u16>,
) -> anyhow::Result<Rendered> {
    let user = m.metadata.name.clone();
    let t = m
        .topology()
        .map_err(|r| anyhow::anyhow!("{}: {r}", manifest_path.display()))?;
    within(&t, Budget::DEFAULT).map_err(|r| {
        anyhow::anyhow!(
            "{}: {r} (the same budget as the cluster's default)",
            manifest_path.display()
        )
    })?;
    let compose_dir = root.join("compose-files");
    let file = compose_dir.join(format!("docker-compose.{user}.yml"));
    let port = match port {
        Some(p) => p,
        None => match fs::read_to_string(&file).ok().and_then(|t| host_port(&t)) {
            Some(p) => p,
            None => crate::contributor::free_app_port(&compose_dir)?,
        },
    };
    let files_dir = compose_dir.join(&user);
    if files_dir.exists() {
        fs::remove_dir_all(&files_dir)
            .with_context(|| format!("cannot replace {}", files_dir.display()))?;
    }
    let manifest_dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let network = format!("contributor-{user}");
    let mut services = serde_json::Map::new();
    let mut names = Vec::new();
    for part in &t.components {
        let name = service_name(&part.name, &user);
        let service = component_service(part, &t, &user, &network, port, root, &manifest_dir)?;
        services.insert(name.clone(), service);
        names.push(name);
    }
    let doc = json!({
        "services": services,
        "networks": { network: {} },
    });
    let body = serde_yaml_ng::to_string(&doc).context("the override as YAML")?;
    let header = format!(
        "# {user}'s components, rendered by `chaosctl contributor compose` from\n\
         # {} (edit that file, not this one, and render again). Start them with:\n\
         #   docker compose -f docker-compose.yml -f compose-files/docker-compose.{user}.yml up --build -d --no-deps {}\n",
        manifest_path.display(),
        names.join(" ")
    );
    fs::create_dir_all(compose_dir.join("targets"))
        .with_context(|| format!("cannot create {}", compose_dir.display()))?;
    fs::write(&file, format!("{header}{body}"))
        .with_context(|| format!("cannot write {}", file.display()))?;
    let targets = compose_dir.join("targets").join(format!("{user}.json"));
    fs::write(&targets, file_sd(&user, &t))
        .with_context(|| format!("cannot write {}", targets.display()))?;
    Ok(Rendered {
        user: user.clone(),
        file,
        port,
        entry_service: service_name(&t.entry_component, &user),
        services: names,
    })
}

fn component_service(
    part: &Component,
    t: &Topology,
    user: &str,
    network: &str,
    host_port: u16,
    root: &Path,
    manifest_dir: &Path,
) -> anyhow::Result<Value> {
    let mut s = json!({
        "image": part.image,
        "depends_on": ["url-anvil"],
        "read_only": true,
        "restart": "unless-stopped",
        "labels": {
            "srechaos.dev/contributor": user,
            "srechaos.dev/component": part.name,
        },
        "networks": {
            "default": {},
            network: { "aliases": [part.name] },
        },
        "deploy": {
            "replicas": part.replicas,
            "resources": { "limits": {
                "cpus": format!("{:.3}", f64::from(part.cpu_millis) / 1000.0),
                "memory": format!("{}M", part.memory_mib),
            }},
        },
    });
    if let Some(context) = build_context(part, t, manifest_dir, root) {
        s["build"] = json!({ "context": context });
    }
    if !part.args.is_empty() {
        s["command"] = json!(part.args);
    }
    if !part.env.is_empty() {
        let env: serde_json::Map<String, Value> = part
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        s["environment"] = Value::Object(env);
    }
    let mut tmpfs = vec![json!("/tmp")];
    if let Some(scratch) = &part.scratch {
        tmpfs.push(json!(format!(
            "{}:size={}m",
            scratch.path, scratch.size_mib
        )));
    }
    s["tmpfs"] = json!(tmpfs);
    if !part.files.is_empty() {
        let dir = root.join("compose-files").join(user).join(&part.name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut volumes = Vec::new();
        for (i, (path, content)) in part.files.iter().enumerate() {
            let host = dir.join(format!("file-{i}"));
            fs::write(&host, content)
                .with_context(|| format!("cannot write {}", host.display()))?;
            volumes.push(json!(format!(
                "./compose-files/{user}/{}/file-{i}:{path}:ro",
                part.name
            )));
        }
        s["volumes"] = json!(volumes);
    }
    if let Some(path) = &part.readiness.http_path
        && let Some(p) = part.port(part.readiness.port.as_deref())
    {
        let period = part.readiness.period_seconds.unwrap_or(2);
        s["healthcheck"] = json!({
            "test": ["CMD", "wget", "-q", "-O", "/dev/null", format!("http://127.0.0.1:{}{path}", p.port)],
            "interval": format!("{period}s"),
            "timeout": "2s",
            "retries": 3,
        });
    }
    if part.name == t.entry_component {
        // One host port per replica of the entry; the load reaches the first.
        let last = host_port + u16::try_from(part.replicas.max(1) - 1).unwrap_or(0);
        let published = if last == host_port {
            format!("127.0.0.1:{host_port}:{}", t.entry_port)
        } else {
            format!("127.0.0.1:{host_port}-{last}:{}", t.entry_port)
        };
        s["ports"] = json!([published]);
    }
    Ok(s)
}

/// A directory with a Dockerfile builds the component's image: the
/// component's own directory beside the manifest, or, for a single
/// component, the manifest's directory (the starter app's).
fn build_context(
    part: &Component,
    t: &Topology,
    manifest_dir: &Path,
    root: &Path,
) -> Option<String> {
    let own = manifest_dir.join(&part.name);
    let dir = if own.join("Dockerfile").is_file() {
        own
    } else if t.components.len() == 1 && manifest_dir.join("Dockerfile").is_file() {
        manifest_dir.to_path_buf()
    } else {
        return None;
    };
    let relative = dir
        .strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or(dir.clone());
    Some(format!("./{}", relative.display()))
}

/// The entry's host port in an override written before.
fn host_port(text: &str) -> Option<u16> {
    text.lines().find_map(|l| {
        l.trim()
            .trim_start_matches("- ")
            .trim_matches(['"', '\''])
            .strip_prefix("127.0.0.1:")
            .and_then(|rest| rest.split([':', '-']).next())
            .and_then(|p| p.parse().ok())
    })
}

/// The components the playground's Prometheus scrapes: those that declare
/// a metrics port; the one-app starter keeps its earlier target.
fn file_sd(user: &str, t: &Topology) -> String {
    let mut targets = Vec::new();
    for part in &t.components {
        let port = match part.metrics_port.as_deref() {
            Some(m) => part.port(Some(m)).map(|p| p.port),
            None if t.components.len() == 1 => Some(t.entry_port),
            None => None,
        };
        if let Some(port) = port {
            targets.push(format!("{}:{port}", service_name(&part.name, user)));
        }
    }
    let v = if targets.is_empty() {
        json!([])
    } else {
        json!([{
            "targets": targets,
            "labels": { "contributor": user, "job": "contributor-app" }
        }])
    };
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("chaosctl-render-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn a_reference_topology_renders_with_its_names_files_budget_and_entry() {
        let root = temp();
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contributors/two-tiers.yaml");
        let m = Manifest::read(&example).expect("reads");
        let r = render(&m, &example, &root, Some(8123)).expect("renders");
        assert_eq!(r.services, ["edge-ada", "tier-ada"]);
        assert_eq!(r.entry_service, "edge-ada");
        let text = fs::read_to_string(&r.file).expect("written");
        let doc: Value = serde_yaml_ng::from_str(&text).expect("yaml");
        let edge = &doc["services"]["edge-ada"];
        assert_eq!(
            edge["networks"]["contributor-ada"]["aliases"],
            json!(["edge"])
        );
        assert_eq!(edge["deploy"]["replicas"], 2);
        assert_eq!(edge["deploy"]["resources"]["limits"]["cpus"], "0.350");
        assert_eq!(edge["deploy"]["resources"]["limits"]["memory"], "96M");
        assert_eq!(edge["ports"], json!(["127.0.0.1:8123-8124:8080"]));
        assert_eq!(edge["read_only"], true);
        assert_eq!(
            edge["healthcheck"]["test"][5],
            "http://127.0.0.1:8080/healthz"
        );
        let mount = edge["volumes"][0].as_str().expect("a mount");
        assert_eq!(
            mount,
            "./compose-files/ada/edge/file-0:/etc/nginx/conf.d/default.conf:ro"
        );
        let conf = fs::read_to_string(root.join("compose-files/ada/edge/file-0")).expect("file");
        assert!(conf.contains("server tier:8081"), "{conf}");
        let tier = &doc["services"]["tier-ada"];
        assert!(tier.get("ports").is_none(), "only the entry is published");
        assert_eq!(edge["tmpfs"][1], "/var/cache/edge:size=32m");
        assert_eq!(
            tier["tmpfs"].as_array().map(Vec::len),
            Some(1),
            "no scratch"
        );
        // Rendered again, the port stays.
        let again = render(&m, &example, &root, None).expect("renders");
        assert_eq!(again.port, 8123);
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn a_manifest_over_the_budget_is_refused_with_the_sums() {
        let root = temp();
        let path = root.join("contributor.yaml");
        fs::write(
            &path,
            "apiVersion: srechaos.dev/v1alpha1\nkind: Contributor\nmetadata: {name: ada}\nspec:\n  challenge: robust-service\n  components:\n    - {name: big, image: nginx, ports: [{name: http, port: 8080}], replicas: 6, cpuMillis: 1000}\n",
        )
        .expect("w");
        let m = Manifest::read(&path).expect("reads");
        let e = render(&m, &path, &root, Some(8101)).expect_err("refused");
        assert!(e.to_string().contains("cpu 6000m > 3000m"), "{e}");
        assert!(!root.join("compose-files/docker-compose.ada.yml").exists());
        let _ = fs::remove_dir_all(root);
    }
}
