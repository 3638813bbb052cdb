//! `chaosctl try`: a challenge profile against a url-anvil started in
//! this process, chaos included. Nothing is stored or scored; it shows
//! what a challenge does and what loadgen measures.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chaos_domain::{CapacityProfile, Challenge, ChallengeProfile};
use clap::Args;
use loadgen::profile::{ProfileRun, Scale};
use loadgen::target::Target;
use loadgen::{ExecOptions, printer};
use serde::Serialize;

use crate::chaos::{ChaosEvent, ChaosLog, carry_out};
use crate::output::Output;

#[derive(Debug, Args)]
pub struct TryArgs {
    /// The challenge to try, or `all` for the three in turn.
    #[arg(long, default_value = "robust-service", value_parser = parse_choice)]
    pub challenge: Choice,
    /// How long each challenge runs (the official profiles run 160 s to 10 min).
    #[arg(long, value_parser = chaos_domain::duration::parse, default_value = "30s")]
    pub duration: Duration,
    /// Multiply the profile's arrival rates (lower it on a slow machine).
    #[arg(long, default_value_t = 1.0)]
    pub rate_scale: f64,
    /// Port for the embedded url-anvil (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub anvil_port: u16,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    One(Challenge),
    All,
}

fn parse_choice(s: &str) -> Result<Choice, String> {
    if s == "all" {
        return Ok(Choice::All);
    }
    s.parse()
        .map(Choice::One)
        .map_err(|e: chaos_domain::UnknownChallenge| format!("{e}, or all"))
}

#[derive(Debug, Serialize)]
struct TryResult {
    challenge: Challenge,
    report: loadgen::RunReport,
    chaos: Vec<ChaosEvent>,
}

pub async fn run(args: TryArgs) -> anyhow::Result<()> {
    if !(args.rate_scale.is_finite() && args.rate_scale > 0.0) {
        anyhow::bail!("--rate-scale must be a positive number");
    }
    if args.duration < Duration::from_secs(5) {
        anyhow::bail!("--duration must be at least 5s");
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut config = url_anvil::Config::defaults();
    config.listen = ([127, 0, 0, 1], args.anvil_port).into();
    config.capacity = CapacityProfile::STANDARD_V1;
    config.on_crash = url_anvil::CrashMode::Restart;
    config.admin_token = Some(token.clone());
    let anvil = url_anvil::spawn(config).await?;
    let base = anvil.base_url();
    let text = args.output == Output::Text;
    if text {
        println!(
            "url-anvil ({}) is serving on {base}",
            CapacityProfile::STANDARD_V1.versioned_name()
        );
    }
    let challenges = match args.challenge {
        Choice::One(c) => vec![c],
        Choice::All => Challenge::ALL.to_vec(),
    };
    let stop = crate::stop_on_ctrl_c();
    let mut results = Vec::new();
    for challenge in challenges {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let official = ChallengeProfile::current(challenge);
        let scale = Scale {
            duration: args.duration.as_secs_f64() / official.duration_s(),
            rate: args.rate_scale,
        };
        let target = Target::parse(&base)?;
        let run = ProfileRun::new(
            challenge,
            &target,
            &base,
            scale,
            chaos_domain::corpus::CorpusKey::from_secret(&token),
        )?;
        if text {
            println!(
                "\n== {} ({}, squeezed into {} s; an unofficial try)\n   {}",
                challenge.title(),
                run.profile.versioned_name(),
                args.duration.as_secs(),
                official.description
            );
        }
        let job = run.job(anvil.addr, 2, None);
        let log = ChaosLog::default();
        let chaos = tokio::spawn(carry_out(
            run.profile.chaos.clone(),
            base.clone(),
            token.clone(),
            Instant::now(),
            log.clone(),
        ));
        let opts = ExecOptions {
            progress: text && std::io::stderr().is_terminal(),
            stop: stop.clone(),
            ..ExecOptions::default()
        };
        let report = loadgen::execute(job, opts).await?;
        chaos.abort();
        let events = std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()));
        if text {
            print!("{}", printer::summary(&report));
            if report.fell_behind() {
                println!(
                    "  advice      the load generator shares this machine with the app: close other work, \
                     or try a lower --rate-scale"
                );
            }
            for e in &events {
                let mark = if e.applied { "" } else { " (not applied)" };
                println!("  chaos       at {:>5.1} s: {}{mark}", e.at_s, e.detail);
            }
        }
        results.push(TryResult {
            challenge,
            report,
            chaos: events,
        });
        // Let a crashed url-anvil come back before the next challenge.
        wait_healthy(&base, Duration::from_secs(10)).await;
    }
    anvil.stop().await?;
    if !text {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        println!(
            "\nThese numbers come from loadgen alone. Scores come from the platform's own Prometheus"
        );
        println!("measurements over a registered run window; see docs/SCORING.md.");
    }
    Ok(())
}

async fn wait_healthy(base: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let client = reqwest::Client::new();
    while Instant::now() < deadline {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
