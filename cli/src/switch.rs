//! `chaosctl challenge switch`: the earlier switch_challenge.py.

use std::path::PathBuf;

use anyhow::Context;
use chaos_domain::Challenge;
use chaos_domain::contributor::{NAME_RULE, is_valid_name};
use clap::Args;

use crate::dotenv;
use crate::platform::ApiArgs;

#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// The contributor.
    #[arg(long)]
    pub user: String,
    /// robust-service, graceful-degradation or longest-upkeep.
    #[arg(long)]
    pub challenge: Challenge,
    /// The contributor's API key [default: CHAOS_API_KEY_<USER> from the environment or .env].
    #[arg(long, env = "CHAOS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
    /// The .env file `chaosctl contributor create` wrote the key into.
    #[arg(long, default_value = ".env")]
    pub env_file: PathBuf,
}

pub async fn switch(args: SwitchArgs) -> anyhow::Result<()> {
    if !is_valid_name(&args.user) {
        anyhow::bail!(
            "--user {:?} is not a contributor name ({NAME_RULE})",
            args.user
        );
    }
    let var = dotenv::api_key_var(&args.user);
    let key = match args.api_key.clone().filter(|k| !k.is_empty()) {
        Some(k) => k,
        None => match std::env::var(&var).ok().filter(|k| !k.is_empty()) {
            Some(k) => k,
            None => dotenv::get(&args.env_file, &var)?.with_context(|| {
                format!(
                    "no API key for {}: pass --api-key, or set {var} (in the environment or {})",
                    args.user,
                    args.env_file.display()
                )
            })?,
        },
    };
    let contributor = args
        .api
        .client()?
        .switch_challenge(&args.user, &key, args.challenge)
        .await
        .with_context(|| format!("cannot switch {}'s challenge", args.user))?;
    println!(
        "{} now competes in {}.",
        contributor.name,
        contributor
            .active_challenge
            .map_or("no challenge", |c| c.as_str())
    );
    Ok(())
}
