//! `chaosctl leaderboard`: the standings in a terminal, or as JSON.

use chaos_domain::Challenge;
use clap::Args;

use crate::output::Output;
use crate::platform::ApiArgs;
use crate::report;

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    /// One challenge [default: all three].
    #[arg(long)]
    pub challenge: Option<Challenge>,
    /// How many places to show (1 to 200).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub top: u32,
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub async fn show(args: LeaderboardArgs) -> anyhow::Result<()> {
    let client = args.api.client()?;
    let challenges = match args.challenge {
        Some(c) => vec![c],
        None => Challenge::ALL.to_vec(),
    };
    let mut boards = Vec::new();
    for c in challenges {
        boards.push(client.leaderboard(c, 1, args.top).await?);
    }
    match args.output {
        Output::Json if args.challenge.is_some() => {
            println!("{}", serde_json::to_string_pretty(&boards[0])?);
        }
        Output::Json => println!("{}", serde_json::to_string_pretty(&boards)?),
        Output::Text => {
            for (i, b) in boards.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print!("{}", report::table(b));
            }
            println!("\n{}/", client.base_url());
        }
    }
    Ok(())
}
