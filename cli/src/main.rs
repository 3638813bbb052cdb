//! chaosctl: the command line of SRE Chaos Challenge.

mod chaos;
mod output;
mod try_run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// chaosctl: onboarding, challenge runs and the local playground of SRE Chaos Challenge.
#[derive(Debug, Parser)]
#[command(name = "chaosctl", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Exit status: 0 success, 1 error (the message says what), 2 bad usage.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Try a challenge profile, chaos included, against a url-anvil started
    /// in this process; nothing is stored or scored.
    #[command(after_help = TRY_EXAMPLES)]
    Try(try_run::TryArgs),
}

const TRY_EXAMPLES: &str = "\
Examples:
  chaosctl try                                   # robust-service, 30 s
  chaosctl try --challenge graceful-degradation --duration 60s
  chaosctl try --challenge all --rate-scale 0.5 --output json";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // chaosctl reports injected faults itself.
                .unwrap_or_else(|_| "warn,url_anvil::admin=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaosctl: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Try(args) => try_run::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaosctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
