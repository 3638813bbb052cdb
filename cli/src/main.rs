//! chaosctl: the command line of SRE Chaos Challenge.

mod chaos;
mod compose_render;
mod contributor;
mod dotenv;
mod import;
mod leaderboard;
mod manifest;
mod output;
mod place;
mod platform;
mod playground;
mod port_holder;
mod proxy;
mod report;
mod run;
mod scored;
mod secrets;
mod switch;
mod try_run;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// chaosctl: the playground, onboarding, challenge runs and the leaderboard of SRE Chaos Challenge.
#[derive(Debug, Parser)]
#[command(name = "chaosctl", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Getting started:
  chaosctl up                       # the playground: leaderboard on http://127.0.0.1:8081
  chaosctl leaderboard

Exit status: 0 success; 1 error (the message says what); 2 bad usage;
3 `chaosctl run` finished but the run has no score (no data, or failed).";

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the embedded playground: url-anvil, the API server and
    /// leaderboard on SQLite, an example contributor, no Docker needed.
    #[command(after_help = UP_EXAMPLES)]
    Up(playground::UpArgs),
    /// A scored challenge run against your app, from this machine.
    #[command(after_help = RUN_EXAMPLES)]
    Run(run::RunArgs),
    /// Contributors: create one, or import the earlier platform's.
    #[command(subcommand)]
    Contributor(ContributorCommand),
    /// Challenges: switch the one a contributor competes in.
    #[command(subcommand)]
    Challenge(ChallengeCommand),
    /// The leaderboard in the terminal.
    #[command(after_help = LEADERBOARD_EXAMPLES)]
    Leaderboard(leaderboard::LeaderboardArgs),
    /// Try a challenge profile, chaos included, against a url-anvil started
    /// in this process; nothing is stored or scored.
    #[command(after_help = TRY_EXAMPLES)]
    Try(try_run::TryArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum ContributorCommand {
    /// Scaffold contributors/<user>/ and its compose override, register the
    /// contributor and keep its API key in .env (or, with --k8s, write a
    /// Contributor manifest).
    #[command(after_help = CREATE_EXAMPLES)]
    Create(contributor::CreateArgs),
    /// Bring contributors over from the earlier platform's database export
    /// (its api_keys table, CSV or JSON): each gets a new key, shown once;
    /// an earlier key that was a random UUID keeps working.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(import::ImportArgs),
    /// Render a Contributor manifest (contributor.yaml, the file a cluster
    /// takes) into the compose playground's override: the same components,
    /// config files, healthchecks and budget.
    #[command(after_help = COMPOSE_EXAMPLES)]
    Compose(compose_render::ComposeArgs),
}

#[derive(Debug, Subcommand)]
enum ChallengeCommand {
    /// Switch a contributor's active challenge with their API key.
    #[command(after_help = SWITCH_EXAMPLES)]
    Switch(switch::SwitchArgs),
}

const UP_EXAMPLES: &str = "\
Examples:
  chaosctl up                                    # :8080 url-anvil, :8081 leaderboard, :8090 example app
  chaosctl up --tracker                          # and the local tracker on :8082
  chaosctl up --data-dir /tmp/pg --api-port 9081 --anvil-port 9080 --example-port 9090
  chaosctl up --no-example                       # no example contributor, no example runs";

const RUN_EXAMPLES: &str = "\
Examples:
  chaosctl run --challenge robust-service --target http://127.0.0.1:8090 --contributor example
  chaosctl run --challenge longest-upkeep --target http://127.0.0.1:8101 --duration 2m
  chaosctl run --challenge graceful-degradation --target http://127.0.0.1:8101 --output json
  chaosctl run --challenge robust-service --target http://127.0.0.1:8101 \\
      --api-url http://platform:8081 --anvil-url http://platform:8080 --corpus-base http://url-anvil:8080";

const CREATE_EXAMPLES: &str = "\
Examples:
  chaosctl contributor create ada                # needs the API server (chaosctl up)
  chaosctl contributor create ada --challenge longest-upkeep --display-name \"Ada L.\"
  chaosctl contributor create ada --k8s --image ghcr.io/ada/app:1     # print the manifest
  chaosctl contributor create ada --k8s --image ghcr.io/ada/app:1 --apply";

const IMPORT_EXAMPLES: &str = "\
Examples:
  psql \"$EARLIER_DB\" -c \"\\copy api_keys TO 'keys.csv' CSV HEADER\"   # on the earlier platform
  chaosctl contributor import keys.csv --dry-run     # what would happen
  chaosctl contributor import keys.csv               # register them; keys shown once
Names are mapped onto this platform's rule (lower case, '_' and '.' to '-'),
and every renamed contributor is listed.";

const COMPOSE_EXAMPLES: &str = "\
Examples:
  chaosctl contributor compose contributors/ada/contributor.yaml     # after editing it
  chaosctl contributor compose examples/contributors/two-tiers.yaml  # a reference topology
Writes compose-files/docker-compose.<name>.yml (replacing it), the config
files it mounts, and Prometheus's targets; prints how to start it.";

const SWITCH_EXAMPLES: &str = "\
Examples:
  chaosctl challenge switch --user ada --challenge longest-upkeep     # key from .env
  CHAOS_API_KEY=sck_… chaosctl challenge switch --user ada --challenge robust-service";

const LEADERBOARD_EXAMPLES: &str = "\
Examples:
  chaosctl leaderboard
  chaosctl leaderboard --challenge robust-service --top 5
  chaosctl leaderboard --challenge longest-upkeep --output json";

const TRY_EXAMPLES: &str = "\
Examples:
  chaosctl try                                   # robust-service, 30 s
  chaosctl try --challenge graceful-degradation --duration 60s
  chaosctl try --challenge all --rate-scale 0.5 --output json";

const COMPLETION_EXAMPLES: &str = "\
Examples:
  chaosctl completions bash > ~/.local/share/bash-completion/completions/chaosctl
  chaosctl completions zsh > \"${fpath[1]}/_chaosctl\"
  chaosctl completions fish > ~/.config/fish/completions/chaosctl.fish";

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "chaosctl",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // chaosctl reports injected faults itself; url-anvil's
                // crashes and restarts are expected events, told at INFO.
                .unwrap_or_else(|_| "warn,url_anvil::admin=off,url_anvil::server=info".into()),
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
            Command::Up(args) => playground::up(args).await.map(|()| 0),
            Command::Run(args) => run::run(args).await,
            Command::Contributor(ContributorCommand::Create(args)) => {
                contributor::create(args).await.map(|()| 0)
            }
            Command::Contributor(ContributorCommand::Import(args)) => {
                import::import(args).await.map(|()| 0)
            }
            Command::Contributor(ContributorCommand::Compose(args)) => {
                compose_render::compose(args).map(|()| 0)
            }
            Command::Challenge(ChallengeCommand::Switch(args)) => {
                switch::switch(args).await.map(|()| 0)
            }
            Command::Leaderboard(args) => leaderboard::show(args).await.map(|()| 0),
            Command::Try(args) => try_run::run(args).await.map(|()| 0),
            Command::Completions { .. } => Ok(0),
        }
    });
    // The runtime may hold tasks (a scraper, a lingering exporter): don't wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("chaosctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A flag set at the first Ctrl-C, for loadgen to stop early.
fn stop_on_ctrl_c() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
