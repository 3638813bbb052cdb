//! `chaosctl run`: a scored challenge run against a contributor's app.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chaos_client::RunState;
use chaos_domain::{Challenge, ChallengeProfile};
use clap::Args;
use loadgen::profile::Scale;
use serde::Serialize;

use crate::output::Output;
use crate::place;
use crate::platform::{AdminArgs, ApiArgs};
use crate::scored::{self, Plan};
use crate::{dotenv, report};

/// The compose playground's Prometheus targets, under its project directory.
const COMPOSE_TARGETS: &str = "compose-files/targets";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The challenge: robust-service, graceful-degradation or longest-upkeep.
    #[arg(long)]
    pub challenge: Challenge,
    /// Your app's base URL (the profile sends POST /api/test to it).
    #[arg(long)]
    pub target: String,
    /// Whose run it is [default: CHAOS_CONTRIBUTOR, from the environment or .env].
    #[arg(long, env = "CHAOS_CONTRIBUTOR")]
    pub contributor: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// url-anvil as this machine reaches it (its metrics and fault API).
    #[arg(long, env = "CHAOS_ANVIL_URL", default_value = "http://127.0.0.1:8080")]
    pub anvil_url: String,
    /// url-anvil as your app reaches it, for the corpus URLs in each request [default: --anvil-url].
    #[arg(long)]
    pub corpus_base: Option<String>,
    /// url-anvil's admin token, for the profile's faults [default: <data-dir>/anvil-token].
    #[arg(long, env = "ANVIL_ADMIN_TOKEN", hide_env_values = true)]
    pub anvil_admin_token: Option<String>,
    /// url-anvil's corpus key, when it has one apart from its admin token,
    /// so every answer can be checked [default: the admin token].
    #[arg(long, env = "CHAOS_CORPUS_KEY", hide_env_values = true)]
    pub corpus_key: Option<String>,
    /// This machine as the API server reaches it, for loadgen's metrics (host.docker.internal for the compose playground).
    #[arg(long, default_value = "127.0.0.1")]
    pub metrics_host: String,
    /// url-anvil's /metrics as the API server reaches it [default: <anvil-url>/metrics].
    #[arg(long)]
    pub anvil_metrics_url: Option<String>,
    /// The docker-compose playground: --corpus-base http://url-anvil:8080, --metrics-host
    /// host.docker.internal, --anvil-metrics-url http://url-anvil:8080/metrics.
    #[arg(long)]
    pub compose: bool,
    /// Squeeze the profile into this time [default: the profile's own length].
    #[arg(long, value_parser = chaos_domain::duration::parse)]
    pub duration: Option<Duration>,
    /// Multiply the profile's arrival rates (below 1 on a slow machine).
    #[arg(long, default_value_t = 1.0)]
    pub rate_scale: f64,
    /// loadgen's worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// The .env file that names the default contributor.
    #[arg(long, default_value = ".env")]
    pub env_file: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Serialize)]
struct Answer<'a> {
    run_id: &'a str,
    state: RunState,
    challenge: Challenge,
    contributor: &'a str,
    statistics: [&'static str; 3],
    stat1: Option<f64>,
    stat2: Option<f64>,
    stat3: Option<f64>,
    score: Option<f64>,
    /// Ranks on the leaderboard; otherwise `practice_reasons` says why not.
    official: bool,
    practice_reasons: &'a [String],
    page: &'a str,
    leaderboard: &'a str,
    /// The contributor's place on the board after the run and before it.
    place: Option<place::Place>,
    place_before: Option<place::Place>,
    report: &'a loadgen::RunReport,
}

/// Exit status 3: the run finished but has no score (no data, or failed).
pub const NOT_SCORED: u8 = 3;

pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    if !(args.rate_scale.is_finite() && args.rate_scale > 0.0) {
        anyhow::bail!("--rate-scale must be a positive number");
    }
    if args.threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    let contributor = match args.contributor.clone() {
        Some(c) => c,
        None => dotenv::get(&args.env_file, "CHAOS_CONTRIBUTOR")?.with_context(|| {
            format!(
                "whose run is it? Pass --contributor, or set CHAOS_CONTRIBUTOR (in the environment or {})",
                args.env_file.display()
            )
        })?,
    };
    if !chaos_domain::contributor::is_valid_name(&contributor) {
        anyhow::bail!(
            "--contributor {contributor:?} is not a contributor name ({})",
            chaos_domain::contributor::NAME_RULE
        );
    }
    let official = ChallengeProfile::current(args.challenge).duration_s();
    let duration_scale = match args.duration {
        Some(d) if d < Duration::from_secs(5) => anyhow::bail!("--duration must be at least 5s"),
        Some(d) if d.as_secs_f64() > official => anyhow::bail!(
            "--duration {} is longer than the {} profile ({official} s): a run is never stretched",
            chaos_domain::duration::format(d),
            args.challenge
        ),
        Some(d) => d.as_secs_f64() / official,
        None => 1.0,
    };
    let shortest = ChallengeProfile::current(args.challenge).shortest_judged_scale();
    if duration_scale < shortest {
        anyhow::bail!(
            "--duration is too short to judge {}: the shortest run that can be judged lasts {} s \
             (longest-upkeep counts uptime in 10 s slots between url-anvil's kills)",
            args.challenge,
            (official * shortest).ceil()
        );
    }
    if args.rate_scale > 4.0 {
        anyhow::bail!("--rate-scale must be at most 4");
    }
    let client = args.api.client()?.with_admin_token(args.admin.token()?);
    client
        .contributor(&contributor)
        .await
        .with_context(|| format!("contributor {contributor:?}"))?;
    let text = args.output == Output::Text;
    let stop = crate::stop_on_ctrl_c();
    if text {
        println!(
            "{} for {contributor} against {} ({} s{})",
            args.challenge.title(),
            args.target,
            (official * duration_scale).round(),
            if duration_scale == 1.0 && args.rate_scale == 1.0 {
                String::new()
            } else {
                format!(
                    ", squeezed ×{duration_scale:.2}, rates ×{}",
                    args.rate_scale
                )
            }
        );
    }
    let (corpus_default, metrics_host, anvil_metrics_url) = if args.compose {
        (
            "http://url-anvil:8080".to_owned(),
            "host.docker.internal".to_owned(),
            Some("http://url-anvil:8080/metrics".to_owned()),
        )
    } else {
        (
            args.anvil_url.clone(),
            args.metrics_host.clone(),
            args.anvil_metrics_url.clone(),
        )
    };
    let plan = Plan {
        challenge: args.challenge,
        contributor: contributor.clone(),
        target: args.target.clone(),
        anvil_url: args.anvil_url.clone(),
        corpus_base: args.corpus_base.clone().unwrap_or(corpus_default),
        anvil_token: args.admin.anvil_token(args.anvil_admin_token.as_deref())?,
        corpus_key: args.corpus_key.clone(),
        anvil_metrics_url: args.anvil_metrics_url.clone().or(anvil_metrics_url),
        metrics_host,
        scale: Scale {
            duration: duration_scale,
            rate: args.rate_scale,
        },
        threads: args.threads,
        progress: text && std::io::stderr().is_terminal(),
        stop,
        // The compose playground's Prometheus reads its targets there
        // (`chaosctl contributor create` makes the directory).
        announce_in: (args.compose && Path::new(COMPOSE_TARGETS).is_dir())
            .then(|| Path::new(COMPOSE_TARGETS).join("load")),
    };
    let before = place::of(&client, args.challenge, &contributor).await;
    let done = match scored::execute(&client, plan).await {
        Ok(done) => done,
        Err(e) => match e.downcast::<scored::TargetDown>() {
            Ok(down) => {
                eprintln!("chaosctl: {down}");
                return Ok(NOT_SCORED);
            }
            Err(e) => return Err(e),
        },
    };
    // Only an official score can move the place.
    let after = if done.run.is_official() {
        place::of(&client, args.challenge, &contributor).await
    } else {
        before
    };
    if text {
        print!("{}", loadgen::printer::summary(&done.report));
        if done.report.fell_behind() {
            println!(
                "  advice      the load generator shares this machine with your app: close other work, \
                 or give it more threads (--threads)"
            );
        }
        for e in &done.chaos {
            let mark = if e.applied { "" } else { " (not applied)" };
            println!("  chaos       at {:>5.1} s: {}{mark}", e.at_s, e.detail);
        }
        println!();
        print!("{}", report::scored_run(&done.run));
        if done.run.state == RunState::Scored {
            println!("  board        {}", place::describe(before, after));
        }
    } else {
        let score = done.run.score.as_ref();
        let answer = Answer {
            run_id: &done.run.id,
            state: done.run.state,
            challenge: done.run.challenge,
            contributor: &done.run.contributor,
            statistics: chaos_domain::scoring::statistic_names(args.challenge),
            stat1: score.and_then(|s| s.stat1),
            stat2: score.and_then(|s| s.stat2),
            stat3: score.and_then(|s| s.stat3),
            score: score.and_then(|s| s.score),
            official: done.run.is_official(),
            practice_reasons: score.map_or(&[], |s| s.practice_reasons.as_slice()),
            page: &done.run.links.page,
            leaderboard: &done.run.links.leaderboard,
            place: after,
            place_before: before,
            report: &done.report,
        };
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(if done.run.state == RunState::Scored {
        0
    } else {
        NOT_SCORED
    })
}
