//! `chaosctl contributor create`: a new contributor's starter app, the
//! compose override that runs it, and their registration (or, for
//! Kubernetes, the Contributor manifest the operator acts on).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use chaos_domain::Challenge;
use chaos_domain::contributor::{NAME_RULE, is_valid_name};
use clap::Args;

use crate::manifest::Manifest;
use crate::platform::{AdminArgs, ApiArgs};
use crate::{dotenv, secrets};

const DOCKERFILE: &str = include_str!("../templates/contributor/Dockerfile");
const NGINX_CONF: &str = include_str!("../templates/contributor/nginx.conf");
const INDEX_HTML: &str = include_str!("../templates/contributor/index.html");
const NGINX_LOCAL_CONF: &str = include_str!("../templates/contributor/nginx.local.conf");
const RUN_LOCAL: &str = include_str!("../templates/contributor/run-local.sh");

/// Host ports of contributor apps in the compose playground start here.
const FIRST_APP_PORT: u16 = 8101;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The contributor's name: your GitHub user name in lower case.
    pub user: String,
    /// The name shown on the leaderboard [default: the user name].
    #[arg(long)]
    pub display_name: Option<String>,
    /// The challenge to start in (switch any time with `chaosctl challenge switch`).
    #[arg(long, default_value = "robust-service")]
    pub challenge: Challenge,
    /// The checkout's root: contributors/, compose-files/ and .env are written here.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The app's port on this machine (run-local.sh, and the compose playground) [default: the first free from 8101].
    #[arg(long)]
    pub port: Option<u16>,
    /// url-anvil as this machine reaches it: the upstream of run-local.sh (`chaosctl up`'s by default).
    #[arg(long, env = "CHAOS_ANVIL_URL", default_value = "http://127.0.0.1:8080")]
    pub anvil_url: String,
    /// Which playground the printed next steps are for [default: embedded when <data-dir> holds chaosctl up's database, else compose].
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Kubernetes: write and print a Contributor manifest for the operator instead of registering here.
    #[arg(long)]
    pub k8s: bool,
    /// With --k8s: the image of your app.
    #[arg(long, requires = "k8s")]
    pub image: Option<String>,
    /// With --k8s: `kubectl apply` the manifest instead of only printing it.
    #[arg(long, requires = "k8s")]
    pub apply: bool,
}

/// The playground a new contributor's app runs next to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// `chaosctl up`: the app runs on this machine (run-local.sh), no Docker.
    Embedded,
    /// The docker-compose playground: the app runs as a compose service.
    Compose,
}

/// `host:port` of url-anvil for nginx's upstream, from its URL.
fn upstream(anvil_url: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(anvil_url)
        .with_context(|| format!("--anvil-url {anvil_url:?} is not a URL"))?;
    let host = url
        .host_str()
        .with_context(|| format!("--anvil-url {anvil_url:?} has no host"))?;
    let port = url
        .port_or_known_default()
        .with_context(|| format!("--anvil-url {anvil_url:?} has no port"))?;
    if url.scheme() != "http" {
        anyhow::bail!("--anvil-url {anvil_url:?}: url-anvil speaks plain http");
    }
    Ok(format!("{host}:{port}"))
}

pub async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let user = args.user.as_str();
    if !is_valid_name(user) {
        anyhow::bail!("{user:?} is not a valid contributor name: use {NAME_RULE}");
    }
    let anvil = upstream(&args.anvil_url)?;
    let app_dir = args.root.join("contributors").join(user);
    if app_dir.exists() {
        anyhow::bail!(
            "{} already exists: contributor {user:?} was created before (remove the directory to start over)",
            app_dir.display()
        );
    }
    if args.k8s {
        return kubernetes(&args, &app_dir, &anvil);
    }
    let compose = args
        .root
        .join("compose-files")
        .join(format!("docker-compose.{user}.yml"));
    if compose.exists() {
        anyhow::bail!("{} already exists", compose.display());
    }
    let compose_dir = args.root.join("compose-files");
    fs::create_dir_all(compose_dir.join("targets"))
        .with_context(|| format!("cannot create {}", compose_dir.display()))?;
    let port = match args.port {
        Some(p) => p,
        None => free_app_port(&compose_dir)?,
    };

    // Registering first: when the server refuses, nothing has been written.
    let client = args.api.client()?.with_admin_token(args.admin.token()?);
    let registered = client
        .register_contributor(user, args.display_name.as_deref(), Some(args.challenge))
        .await
        .map_err(|e| match e.status() {
            Some(409) => anyhow::anyhow!(
                "contributor {user:?} is already registered on {}",
                client.base_url()
            ),
            _ => anyhow::Error::new(e).context("cannot register the contributor"),
        })?;
    let key = registered.api_key;
    let env_file = args.root.join(".env");
    let manifest_file = app_dir.join("contributor.yaml");
    let written = (|| -> anyhow::Result<()> {
        scaffold(&app_dir, user, port, &anvil)?;
        // The same file the cluster takes: the compose override is rendered
        // from it, and rendered again after every change to it.
        let manifest = Manifest::starter(
            user,
            args.display_name.as_deref(),
            args.challenge,
            &format!("sre-chaos/app-{user}:dev"),
        );
        write_new(
            &manifest_file,
            &manifest.to_yaml(&manifest_header(user, false))?,
        )?;
        crate::compose_render::render(&manifest, &manifest_file, &args.root, Some(port))?;
        dotenv::set(&env_file, &dotenv::api_key_var(user), &key, false)?;
        // Where the earlier platform kept it: its switch_challenge.py reads it there.
        secrets::write_private(&earlier_key_file(&app_dir), &key)?;
        dotenv::set(&env_file, "CHAOS_CONTRIBUTOR", user, true)?;
        Ok(())
    })();
    if let Err(e) = written {
        // The key exists nowhere else: show it rather than lose it.
        anyhow::bail!(
            "{user:?} is registered, but writing the files failed: {e:#}\nKeep this API key, it is shown once: {key}"
        );
    }
    println!("Contributor {user} is registered for {}.", args.challenge);
    println!(
        "  API key (shown once, saved in {} as {}):",
        env_file.display(),
        dotenv::api_key_var(user)
    );
    println!("    {key}");
    println!(
        "  also in:   {} (for the earlier switch_challenge.py)",
        earlier_key_file(&app_dir).display()
    );
    println!(
        "  your app:  {}/ (nginx.conf, nginx.local.conf, run-local.sh, Dockerfile, index.html)",
        app_dir.display()
    );
    println!(
        "  manifest:  {} (your infrastructure: the compose override is rendered from it; `chaosctl contributor compose {}` after a change)",
        manifest_file.display(),
        manifest_file.display()
    );
    println!("  compose:   {}", compose.display());
    // `chaosctl up` keeps its database in its data directory; the compose
    // playground keeps its tokens in .env and its data in a volume.
    let mode = args
        .mode
        .unwrap_or(if args.admin.data_dir.join("chaos.db").is_file() {
            Mode::Embedded
        } else {
            Mode::Compose
        });
    let run_local = app_dir.join("run-local.sh");
    match mode {
        Mode::Embedded => {
            println!(
                "\nStart it on this machine, next to `chaosctl up` (no Docker; needs nginx), in another terminal:"
            );
            println!("  {}", run_local.display());
        }
        Mode::Compose => {
            println!("\nStart it in the compose playground:");
            println!(
                "  docker compose -f docker-compose.yml -f compose-files/docker-compose.{user}.yml up --build -d --no-deps app-{user}"
            );
        }
    }
    println!("then run a challenge against it (http://127.0.0.1:{port}):");
    // The compose playground's containers see url-anvil and this machine by
    // other names: the run must say so (--compose), or every answer fails.
    let compose_flag = if mode == Mode::Compose {
        " --compose"
    } else {
        ""
    };
    println!(
        "  chaosctl run{compose_flag} --challenge {} --target http://127.0.0.1:{port} --contributor {user}",
        args.challenge
    );
    match mode {
        Mode::Embedded => println!(
            "(With the compose playground instead: docker compose -f docker-compose.yml -f compose-files/docker-compose.{user}.yml up --build -d --no-deps app-{user}, and add --compose to the run.)"
        ),
        Mode::Compose => println!(
            "(Without Docker, next to `chaosctl up`: {}.)",
            run_local.display()
        ),
    }
    Ok(())
}

fn kubernetes(args: &CreateArgs, app_dir: &Path, anvil: &str) -> anyhow::Result<()> {
    let user = args.user.as_str();
    let image = args
        .image
        .clone()
        .unwrap_or_else(|| format!("ghcr.io/{user}/sre-chaos-app:latest"));
    if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
        anyhow::bail!("--image {image:?} is not an image reference");
    }
    let manifest = Manifest::starter(user, args.display_name.as_deref(), args.challenge, &image)
        .to_yaml(&manifest_header(user, true))?;
    scaffold(app_dir, user, args.port.unwrap_or(FIRST_APP_PORT), anvil)?;
    let file = app_dir.join("contributor.yaml");
    write_new(&file, &manifest)?;
    if args.apply {
        let mut child = Command::new("kubectl")
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .context("cannot run kubectl (is it installed and on PATH?)")?;
        child
            .stdin
            .take()
            .context("kubectl's input")?
            .write_all(manifest.as_bytes())?;
        let status = child.wait()?;
        if !status.success() {
            anyhow::bail!(
                "kubectl apply failed ({status}); the manifest is in {}",
                file.display()
            );
        }
    } else {
        print!("{manifest}");
        eprintln!(
            "\nWritten to {}. Build and push your app's image, then: kubectl apply -f {}",
            file.display(),
            file.display()
        );
    }
    Ok(())
}

/// What the starter manifest says of itself.
fn manifest_header(user: &str, k8s: bool) -> String {
    let image = if k8s {
        "# The image must be one the cluster can pull: build it from this\n\
         # directory's Dockerfile and push it.\n"
    } else {
        "# In the compose playground the image is built from this directory's\n\
         # Dockerfile. For a cluster, push it and put its name here.\n"
    };
    format!(
        "# {user}'s infrastructure: a Contributor, the same file on the laptop\n\
         # (`chaosctl contributor compose` renders it into a compose override)\n\
         # and on a cluster (`kubectl apply -f`). One app now; `components`\n\
         # describes several (docs/KUBERNETES.md, examples/contributors/).\n{image}"
    )
}

/// `contributors/<user>/private/api_key.txt`, the earlier platform's place
/// for a contributor's key (kept out of the image by `.dockerignore`).
pub fn earlier_key_file(app_dir: &Path) -> PathBuf {
    app_dir.join("private").join("api_key.txt")
}

/// The starter app: the proxy as a container (Dockerfile, nginx.conf) and
/// on this machine (nginx.local.conf, run-local.sh), and its page.
fn scaffold(dir: &Path, user: &str, port: u16, anvil: &str) -> anyhow::Result<()> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in [
        ("Dockerfile", DOCKERFILE),
        ("nginx.conf", NGINX_CONF),
        ("nginx.local.conf", NGINX_LOCAL_CONF),
        ("run-local.sh", RUN_LOCAL),
        ("index.html", INDEX_HTML),
        (
            ".dockerignore",
            "# The API key and the local run's files stay out of the image's build context.\nprivate/\ntmp/\n",
        ),
        (".gitignore", "private/\ntmp/\n"),
    ] {
        let text = text
            .replace("{{user}}", user)
            .replace("{{port}}", &port.to_string())
            .replace("{{anvil}}", anvil);
        write_new(&dir.join(name), &text)?;
    }
    make_executable(&dir.join("run-local.sh"))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The first port from [`FIRST_APP_PORT`] no override file uses yet.
pub(crate) fn free_app_port(compose_dir: &Path) -> anyhow::Result<u16> {
    let mut used = Vec::new();
    if let Ok(entries) = fs::read_dir(compose_dir) {
        for entry in entries.flatten() {
            if let Ok(text) = fs::read_to_string(entry.path()) {
                used.extend(text.lines().filter_map(|l| {
                    l.trim()
                        .trim_start_matches("- ")
                        .trim_matches(['"', '\''])
                        .strip_prefix("127.0.0.1:")
                        .and_then(|rest| rest.split([':', '-']).next())
                        .and_then(|p| p.parse::<u16>().ok())
                }));
            }
        }
    }
    (FIRST_APP_PORT..u16::MAX)
        .find(|p| !used.contains(p))
        .context("no free port left for the app")
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_skip_those_taken_by_other_overrides() {
        let d = std::env::temp_dir().join(format!("chaosctl-ports-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&d).expect("dir");
        assert_eq!(free_app_port(&d).expect("port"), 8101);
        fs::write(
            d.join("docker-compose.ada.yml"),
            "services:\n  app-ada:\n    ports:\n    - 127.0.0.1:8101:8080\n",
        )
        .expect("w");
        fs::write(
            d.join("docker-compose.bob.yml"),
            "services:\n  edge-bob:\n    ports:\n    - '127.0.0.1:8102-8103:8080'\n",
        )
        .expect("w");
        assert_eq!(free_app_port(&d).expect("port"), 8103);
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn the_manifest_reads_back_as_written() {
        let text = Manifest::starter(
            "ada",
            Some("Ada: the first"),
            Challenge::LongestUpkeep,
            "reg/ada:1",
        )
        .to_yaml(&manifest_header("ada", true))
        .expect("yaml");
        let back: Manifest = serde_yaml_ng::from_str(&text).expect("reads");
        assert_eq!(back.metadata.name, "ada");
        assert_eq!(back.spec.display_name.as_deref(), Some("Ada: the first"));
        assert_eq!(back.spec.challenge, Challenge::LongestUpkeep);
        assert_eq!(
            back.spec.app.as_ref().map(|a| a.image.as_str()),
            Some("reg/ada:1")
        );
        assert!(text.starts_with("# ada's infrastructure"), "{text}");
        assert!(text.contains("apiVersion: srechaos.dev/v1alpha1"), "{text}");
    }

    #[test]
    fn the_upstream_comes_from_the_anvil_url() {
        assert_eq!(
            upstream("http://127.0.0.1:8080").expect("ok"),
            "127.0.0.1:8080"
        );
        assert_eq!(
            upstream("http://anvil.local").expect("ok"),
            "anvil.local:80"
        );
        assert!(upstream("127.0.0.1:8080").is_err());
        assert!(upstream("https://127.0.0.1:8080").is_err());
    }

    #[test]
    fn templates_name_the_user() {
        let d = std::env::temp_dir().join(format!("chaosctl-scaffold-{}", uuid::Uuid::new_v4()));
        let app = d.join("contributors").join("ada");
        scaffold(&app, "ada", 8101, "127.0.0.1:8080").expect("scaffold");
        let html = fs::read_to_string(app.join("index.html")).expect("html");
        assert!(html.contains("ada's app") && !html.contains("{{"));
        let local = fs::read_to_string(app.join("nginx.local.conf")).expect("local");
        assert!(!local.contains("{{"), "{local}");
        assert!(
            local.contains("listen 127.0.0.1:8101;") && local.contains("server 127.0.0.1:8080;")
        );
        let script = fs::read_to_string(app.join("run-local.sh")).expect("script");
        assert!(!script.contains("{{") && script.contains("http://127.0.0.1:8101"));
        assert!(
            scaffold(&app, "ada", 8101, "127.0.0.1:8080").is_err(),
            "never overwrites"
        );
        let _ = fs::remove_dir_all(d);
    }
}
