use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chaos_domain::{Challenge, ChallengeProfile};
use clap::Parser;
use loadgen::cli::{Cli, Command, Common, EXIT_THRESHOLD, Output, ProfileArgs, RunArgs};
use loadgen::profile::{ProfileRun, Scale};
use loadgen::schedule::RatePlan;
use loadgen::target::{RequestTemplate, Target, parse_header};
use loadgen::tracker::TrackerTarget;
use loadgen::{ExecOptions, Job, Load, RunSpec, Thresholds, printer};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Profiles => {
            for c in Challenge::ALL {
                let p = ChallengeProfile::current(c);
                println!(
                    "{:<28} {:>5.0} s  peak {:>6.0} req/s  {} chaos steps\n    {}",
                    p.versioned_name(),
                    p.duration_s(),
                    p.peak_rps(),
                    p.chaos.len(),
                    p.description
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => {
            let job = run_job(&args).await?;
            finish(job, &args.common, None).await
        }
        Command::Profile(args) => {
            let (job, challenge) = profile_job(&args).await?;
            finish(job, &args.common, Some(challenge)).await
        }
    }
}

fn threads(common: &Common) -> usize {
    common
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1)
}

async fn run_job(args: &RunArgs) -> anyhow::Result<Job> {
    let target = Target::parse(&args.url)?;
    let addr = target.resolve().await?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.as_bytes().to_vec()),
        (None, Some(path)) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --body-file {}", path.display()))?,
        ),
        (None, None) => None,
    };
    let method = args.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        anyhow::bail!("--method {:?} is not an HTTP method", args.method);
    }
    if args.connections == 0 {
        anyhow::bail!("--connections must be at least 1");
    }
    let request = RequestTemplate::new(&method, &target, &headers, body.as_deref());
    let load = match (&args.stages, args.rate) {
        (Some(stages), _) => Load::Open {
            plan: RatePlan::parse(stages)?,
            connections: args.connections,
            max_connections: args
                .max_connections
                .unwrap_or(args.connections)
                .max(args.connections),
        },
        (None, Some(rate)) => {
            if !(rate.is_finite() && rate > 0.0) {
                anyhow::bail!("--rate must be a positive number of requests per second");
            }
            Load::Open {
                plan: RatePlan::constant(rate, args.duration.unwrap_or(Duration::from_secs(10))),
                connections: args.connections,
                max_connections: args
                    .max_connections
                    .unwrap_or(args.connections)
                    .max(args.connections),
            }
        }
        (None, None) => Load::Closed {
            connections: args.connections,
            duration: args.duration.or(if args.requests.is_some() {
                None
            } else {
                Some(Duration::from_secs(10))
            }),
            max_requests: args.requests,
        },
    };
    Ok(Job {
        spec: RunSpec {
            addr,
            requests: vec![request],
            answers: None,
            load,
            threads: threads(&args.common),
            timeout: args.common.timeout,
        },
        target_url: target.url.clone(),
        method,
        profile: None,
    })
}

async fn profile_job(args: &ProfileArgs) -> anyhow::Result<(Job, Challenge)> {
    let base = Target::parse(&args.target)?;
    let addr = base.resolve().await?;
    let official = ChallengeProfile::current(args.challenge);
    let duration_scale = match args.duration {
        Some(d) => d.as_secs_f64() / official.duration_s(),
        None => args.duration_scale,
    };
    for (name, v) in [
        ("duration scale", duration_scale),
        ("--rate-scale", args.rate_scale),
    ] {
        if !(v.is_finite() && v > 0.0) {
            anyhow::bail!("{name} must be a positive number, got {v}");
        }
    }
    let corpus_base = args
        .corpus_base
        .clone()
        .unwrap_or_else(|| args.target.clone());
    let key = match &args.corpus_key_hex {
        Some(hex) => chaos_domain::corpus::CorpusKey::from_hex(hex)
            .ok_or_else(|| anyhow::anyhow!("--corpus-key-hex must be 64 hex digits"))?,
        None => corpus_key(args)?,
    };
    let run = ProfileRun::new(
        args.challenge,
        &base,
        &corpus_base,
        Scale {
            duration: duration_scale,
            rate: args.rate_scale,
        },
        key,
    )?;
    if duration_scale != 1.0 || args.rate_scale != 1.0 {
        eprintln!(
            "note: {} scaled (duration x{duration_scale:.3}, rate x{:.3}): an unofficial run",
            run.profile.versioned_name(),
            args.rate_scale
        );
    }
    let job = run.job(addr, threads(&args.common), Some(args.common.timeout));
    Ok((job, args.challenge))
}

/// The corpus key from --corpus-key or its file, else the public key.
fn corpus_key(args: &ProfileArgs) -> anyhow::Result<chaos_domain::corpus::CorpusKey> {
    Ok(
        match chaos_domain::token::resolve(
            "--corpus-key",
            args.corpus_key.as_deref(),
            args.corpus_key_file.as_deref(),
            |p| std::fs::read_to_string(p),
        )? {
            Some(secret) => chaos_domain::corpus::CorpusKey::from_secret(&secret),
            None => chaos_domain::corpus::CorpusKey::public(),
        },
    )
}

async fn finish(
    job: Job,
    common: &Common,
    challenge: Option<Challenge>,
) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let stop = stop.clone();
        async move {
            // Ctrl-C, or SIGTERM from Kubernetes or compose: the run stops
            // early, the requests in flight finish, and the report is printed.
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
            eprintln!("\nstopping: finishing the requests in flight");
            stop.store(true, Ordering::Relaxed);
        }
    });
    let opts = ExecOptions {
        metrics_addr: common.metrics_addr,
        metrics_wait: common.metrics_wait,
        metrics_linger: common.metrics_linger,
        progress: !common.no_progress && std::io::stderr().is_terminal(),
        stop,
    };
    let mut report = loadgen::execute(job, opts).await?;
    let passed = report.check(&Thresholds {
        max_error_rate_pct: common.max_error_rate,
        max_p95: common.max_p95,
        max_p99: common.max_p99,
        min_rps: common.min_rps,
    });
    let text = match common.output {
        Output::Text if report.fell_behind() => {
            // `run` has --max-connections; a profile's connections are its own.
            let advice = if challenge.is_some() {
                "  advice      give it more threads (--threads) or a quieter machine; --rate-scale below 1 for a practice run\n"
            } else {
                "  advice      raise --max-connections or --threads, or check whether the target is saturated\n"
            };
            printer::summary(&report) + advice
        }
        Output::Text => printer::summary(&report),
        Output::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    write_stdout(&text)?;
    if let Some(url) = &common.tracker.tracker_url {
        let t = &common.tracker;
        let (Some(api_key), Some(user)) = (t.api_key.clone(), t.user.clone()) else {
            eprintln!(
                "tracker: --api-key (LOCAL_TRACKER_API_KEY) and --user (LOCAL_TRACKER_USER_ID) are needed to report; not reported"
            );
            return Ok(exit(passed));
        };
        let target = TrackerTarget {
            url: url.clone(),
            api_key,
            user,
            session: t
                .session
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            commit: t.commit.clone(),
            target_name: t.target_name.clone(),
            challenge: challenge
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "custom".to_owned()),
        };
        match loadgen::tracker::send(&report, &target).await {
            Ok(msg) => eprintln!("tracker: {msg}"),
            Err(msg) => eprintln!("tracker: {msg}"),
        }
    }
    Ok(exit(passed))
}

/// Writes to stdout; a closed pipe (`loadgen ... | head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn exit(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}
