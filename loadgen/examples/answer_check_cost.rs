//! What checking every answer costs the load generator: the same open-loop
//! rate against the same url-anvil, once with every answer checked against
//! the run corpus and once sending fixed requests unchecked, alternating.
//! Prints one line per run: mode, asked rate, achieved / asked, late sends.
//!
//! Usage (bench/answer-check.sh runs it):
//!   cargo run --release -p loadgen --example answer_check_cost -- \
//!       http://127.0.0.1:8080 <corpus secret> [rounds=5] [seconds=10] [rate=1920]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chaos_domain::Challenge;
use chaos_domain::corpus::CorpusKey;
use loadgen::profile::{ProfileRun, Scale};
use loadgen::schedule::RatePlan;
use loadgen::target::{RequestTemplate, Target};
use loadgen::{ExecOptions, Job, Load, RunSpec};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(secret)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: answer_check_cost BASE_URL SECRET [rounds] [seconds] [rate]");
    };
    let num = |i: usize, default: f64| -> anyhow::Result<f64> {
        Ok(match args.get(i) {
            Some(v) => v.parse()?,
            None => default,
        })
    };
    let (rounds, seconds, rate) = (num(3, 5.0)? as usize, num(4, 10.0)?, num(5, 1920.0)?);
    let target = Target::parse(base)?;
    let addr = target.resolve().await?;
    for round in 1..=rounds {
        for checked in [true, false] {
            let run = ProfileRun::new(
                Challenge::RobustService,
                &target,
                base,
                Scale::default(),
                CorpusKey::from_secret(secret),
            )?;
            let plan = RatePlan::constant(rate, Duration::from_secs_f64(seconds));
            let (requests, answers) = if checked {
                (run.requests.clone(), Some(run.answers.clone()))
            } else {
                // The same kind of request, prepared once, never checked.
                let fixed = (0..64)
                    .map(|n| RequestTemplate {
                        method: "POST".into(),
                        bytes: run.answers.request(n).0,
                    })
                    .collect();
                (fixed, None)
            };
            let job = Job {
                spec: RunSpec {
                    addr,
                    requests,
                    answers,
                    load: Load::Open {
                        plan,
                        connections: 64,
                        max_connections: 512,
                    },
                    threads: 2,
                    timeout: Duration::from_secs(2),
                },
                target_url: run.target.url.clone(),
                method: "POST".into(),
                profile: None,
            };
            let opts = ExecOptions {
                stop: Arc::new(AtomicBool::new(false)),
                ..ExecOptions::default()
            };
            let r = loadgen::execute(job, opts).await?;
            let asked = r.rps.target.unwrap_or(rate);
            println!(
                "round {round} {} asked {asked:.1} achieved/asked {:.4} late {:.2} % success {} wrong {} total {}",
                if checked { "checked" } else { "unchecked" },
                r.rps.achieved / asked,
                r.generator.late_pct,
                r.requests.success,
                r.requests.wrong,
                r.requests.total
            );
        }
    }
    Ok(())
}
