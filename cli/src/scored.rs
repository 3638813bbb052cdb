//! A scored run from this machine: the run's window is registered with
//! the API server, loadgen drives the challenge's profile at the target
//! while the chaos schedule is carried out on url-anvil, and the server
//! scores the window from what its built-in scraper read (loadgen's and
//! url-anvil's `/metrics`), never from loadgen's own report.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;
use chaos_client::{Client, NewRun, Run, Source};
use chaos_domain::Challenge;
use chaos_domain::corpus::CorpusKey;
use loadgen::profile::{ProfileRun, Scale};
use loadgen::target::Target;
use loadgen::{ExecOptions, RunReport};

use crate::chaos::{ChaosEvent, ChaosLog, carry_out};

/// Loadgen's metrics are served this long before the first request and
/// after the last, so the scraper sees counters start at zero and end.
const METRICS_EDGE: Duration = Duration::from_secs(2);

/// How long the server may take to score once the window is closed.
const SCORING_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct Plan {
    pub challenge: Challenge,
    pub contributor: String,
    /// The contributor's app, as this machine reaches it.
    pub target: String,
    /// url-anvil as this machine reaches it (its metrics and admin API).
    pub anvil_url: String,
    /// url-anvil as the app reaches it: the corpus URLs in each request.
    pub corpus_base: String,
    /// url-anvil's admin token; needed when the profile injects faults.
    pub anvil_token: Option<String>,
    /// url-anvil's corpus key, to check every answer [default: the admin
    /// token, which is url-anvil's own default].
    pub corpus_key: Option<String>,
    /// url-anvil's metrics as the API server reaches them [default: anvil_url/metrics].
    pub anvil_metrics_url: Option<String>,
    /// This machine as the API server reaches it, for loadgen's metrics.
    pub metrics_host: String,
    pub scale: Scale,
    pub threads: usize,
    pub progress: bool,
    pub stop: Arc<AtomicBool>,
    /// A Prometheus file_sd directory (the compose playground's) where the
    /// load's metrics are announced for the length of the run.
    pub announce_in: Option<PathBuf>,
}

/// The load's metrics announced to Prometheus through a file_sd file,
/// withdrawn when dropped (the run ended, failed or was interrupted).
struct Announced(Option<PathBuf>);

impl Announced {
    fn write(dir: Option<&Path>, id: &str, contributor: &str, target: &str) -> Announced {
        let Some(dir) = dir else {
            return Announced(None);
        };
        let file = dir.join(format!("{id}.json"));
        let groups = serde_json::json!([{
            "targets": [target],
            "labels": { "job": "loadgen", "run_id": id, "contributor": contributor },
        }]);
        // Written whole, then renamed: Prometheus watches the directory.
        let tmp = dir.join(format!(".{id}.tmp"));
        let written = fs::create_dir_all(dir)
            .and_then(|()| fs::write(&tmp, format!("{groups:#}\n")))
            .and_then(|()| fs::rename(&tmp, &file));
        match written {
            Ok(()) => Announced(Some(file)),
            Err(e) => {
                // Scoring does not need it (the API server scrapes the load
                // itself); only the dashboards miss this run.
                eprintln!(
                    "chaosctl: cannot announce the load's metrics to Prometheus in {}: {e}",
                    dir.display()
                );
                Announced(None)
            }
        }
    }
}

impl Drop for Announced {
    fn drop(&mut self) {
        if let Some(file) = self.0.take() {
            let _ = fs::remove_file(file);
        }
    }
}

#[derive(Debug)]
pub struct Finished {
    pub run: Run,
    pub report: RunReport,
    pub chaos: Vec<ChaosEvent>,
}

/// The target did not answer before the window opened: nothing was registered or injected.
#[derive(Debug, thiserror::Error)]
#[error(
    "{url} does not answer HTTP ({reason}): start your app, or check --target; no run was registered and no fault injected"
)]
pub struct TargetDown {
    pub url: String,
    pub reason: String,
}

/// How long the target has to answer before a run is refused.
const PREFLIGHT: Duration = Duration::from_secs(3);

/// Any HTTP answer counts (a 404 from the root is fine); no answer does not.
async fn preflight(url: &str) -> Result<(), TargetDown> {
    let http = reqwest::Client::builder()
        .timeout(PREFLIGHT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TargetDown {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    match http.get(url).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(TargetDown {
            url: url.to_owned(),
            reason: if e.is_timeout() {
                format!("no answer within {} s", PREFLIGHT.as_secs())
            } else if e.is_connect() {
                "connection refused or unreachable".into()
            } else {
                e.without_url().to_string()
            },
        }),
    }
}

/// What to do about a run left open: said whenever a run fails after it was registered.
fn left_open(client: &Client, id: &str) -> String {
    format!(
        "run {id} may still be open on {base}.\n  inspect it:  {base}/runs/{id}\n  close it:    curl -X POST -H \"Authorization: Bearer $(cat .chaos/admin-token)\" {base}/api/v1/runs/{id}/interrupt\n  (the server closes it as interrupted by itself once its profile's length and grace have passed)",
        base = client.base_url()
    )
}

pub async fn execute(client: &Client, plan: Plan) -> anyhow::Result<Finished> {
    let target = Target::parse(&plan.target)
        .with_context(|| format!("--target {:?} is not a usable URL", plan.target))?;
    preflight(&plan.target).await?;
    let key = match plan.corpus_key.as_ref().or(plan.anvil_token.as_ref()) {
        Some(secret) => CorpusKey::from_secret(secret),
        None => CorpusKey::public(),
    };
    let profile_run = ProfileRun::new(plan.challenge, &target, &plan.corpus_base, plan.scale, key)?;
    if !profile_run.profile.chaos.is_empty() && plan.anvil_token.is_none() {
        anyhow::bail!(
            "the {} profile injects faults into url-anvil: give its admin token with --anvil-admin-token \
             (chaosctl up keeps it in <data-dir>/anvil-token)",
            profile_run.profile.versioned_name()
        );
    }
    let addr = target
        .resolve()
        .await
        .with_context(|| format!("cannot resolve {}", plan.target))?;
    let metrics_port = free_port().context("no free port for loadgen's metrics")?;
    let local = plan.metrics_host == "127.0.0.1" || plan.metrics_host == "localhost";
    // Reachable from a container only when not bound to loopback.
    let metrics_ip = if local { [127, 0, 0, 1] } else { [0, 0, 0, 0] };
    let anvil_url = plan.anvil_url.trim_end_matches('/');
    let id = format!("cli-{}", uuid::Uuid::new_v4().simple());
    client
        .register_run(&NewRun {
            id: Some(id.clone()),
            profile_version: Some(i64::from(profile_run.profile.version)),
            duration_scale: Some(plan.scale.duration),
            rate_scale: Some(plan.scale.rate),
            source: Some(Source::Builtin),
            loadgen_metrics_url: Some(format!(
                "http://{}:{metrics_port}/metrics",
                plan.metrics_host
            )),
            anvil_metrics_url: Some(
                plan.anvil_metrics_url
                    .clone()
                    .unwrap_or_else(|| format!("{anvil_url}/metrics")),
            ),
            ..NewRun::new(&plan.contributor, plan.challenge, &plan.target)
        })
        .await
        .context("cannot register the run")?;
    let _announced = Announced::write(
        plan.announce_in.as_deref(),
        &id,
        &plan.contributor,
        &format!("{}:{metrics_port}", plan.metrics_host),
    );
    client.start_run(&id, None).await.map_err(|e| {
        eprintln!("{}", left_open(client, &id));
        anyhow::Error::new(e).context("cannot open the run's window")
    })?;

    let job = profile_run.job(addr, plan.threads, None);
    let log = ChaosLog::default();
    let chaos = plan.anvil_token.clone().map(|token| {
        tokio::spawn(carry_out(
            profile_run.profile.chaos.clone(),
            anvil_url.to_owned(),
            token,
            // The profile's clock starts with the first request.
            Instant::now() + METRICS_EDGE,
            log.clone(),
        ))
    });
    let opts = ExecOptions {
        metrics_addr: Some((metrics_ip, metrics_port).into()),
        metrics_wait: METRICS_EDGE,
        metrics_linger: METRICS_EDGE,
        progress: plan.progress,
        stop: plan.stop.clone(),
    };
    let report = loadgen::execute(job, opts).await;
    if let Some(chaos) = chaos {
        chaos.abort();
    }
    // Stopped early: the run is abandoned, never scored as if complete.
    if plan.stop.load(std::sync::atomic::Ordering::Relaxed) {
        client
            .interrupt_run(
                &id,
                "stopped by its client (Ctrl-C) before the profile's end",
            )
            .await
            .map_err(|e| {
                eprintln!("{}", left_open(client, &id));
                anyhow::Error::new(e).context("cannot mark the run interrupted")
            })?;
        anyhow::bail!(
            "interrupted: run {id} was closed as interrupted; it is not scored and does not rank ({}/runs/{id})",
            client.base_url()
        );
    }
    // The window is closed and scored even when loadgen failed part-way:
    // what url-anvil saw is still measured (the server judges it practice).
    client.end_run(&id, None).await.map_err(|e| {
        eprintln!("{}", left_open(client, &id));
        anyhow::Error::new(e).context("cannot close the run's window")
    })?;
    client.score_run(&id).await.map_err(|e| {
        eprintln!("{}", left_open(client, &id));
        anyhow::Error::new(e).context("cannot ask for the score")
    })?;
    let report = report.context("loadgen failed")?;
    let events = std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()));
    let run = client
        .wait_for_outcome(&id, SCORING_WAIT)
        .await
        .with_context(|| {
            format!(
                "run {id} was not scored yet; see {}/runs/{id}",
                client.base_url()
            )
        })?;
    Ok(Finished {
        run,
        report,
        chaos: events,
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod announce_tests {
    use super::*;

    #[test]
    fn the_load_is_announced_for_the_run_and_withdrawn_after() {
        let dir = std::env::temp_dir().join(format!("chaosctl-announce-{}", std::process::id()));
        let load = dir.join("load");
        let id = "cli-0123456789abcdef0123456789abcdef";
        let announced = Announced::write(Some(&load), id, "ada", "host.docker.internal:41234");
        let file = load.join(format!("{id}.json"));
        let groups: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&file).expect("written")).expect("json");
        assert_eq!(groups[0]["targets"][0], "host.docker.internal:41234");
        assert_eq!(groups[0]["labels"]["job"], "loadgen");
        assert_eq!(groups[0]["labels"]["run_id"], id);
        drop(announced);
        assert!(!file.exists(), "withdrawn when the run is over");
        // Nowhere to write: the run goes on, unannounced.
        let blocked = dir.join("a-file");
        fs::write(&blocked, "").expect("file");
        let none = Announced::write(Some(&blocked.join("load")), id, "ada", "h:1");
        assert!(none.0.is_none());
        let _ = fs::remove_dir_all(dir);
    }
}
