//! Where the platform is and how chaosctl proves it may act on it: the
//! flags shared by the subcommands that talk to the API server.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chaos_client::Client;
use clap::Args;

use crate::{dotenv, secrets};

/// The default data directory of `chaosctl up`, relative to where it runs.
pub const DATA_DIR: &str = ".chaos";

#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The API server (chaosctl up serves it on :8081).
    #[arg(long, env = "CHAOS_API_URL", default_value = "http://127.0.0.1:8081")]
    pub api_url: String,
}

impl ApiArgs {
    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(&self.api_url).with_context(|| format!("--api-url {:?}", self.api_url))
    }
}

#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The platform's admin token [default: the one in <data-dir>/admin-token].
    #[arg(long, env = "CHAOS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The playground's data directory, where chaosctl up keeps its tokens.
    #[arg(long, env = "CHAOS_DATA_DIR", default_value = DATA_DIR)]
    pub data_dir: PathBuf,
}

impl AdminArgs {
    pub fn token(&self) -> anyhow::Result<String> {
        if let Some(t) = self.admin_token.as_deref().filter(|t| !t.is_empty()) {
            return Ok(t.to_owned());
        }
        let file = self.data_dir.join("admin-token");
        if let Some(t) = secrets::read(&file)? {
            return Ok(t);
        }
        // The compose playground keeps it in .env.
        if let Some(t) =
            dotenv::get(Path::new(".env"), "CHAOS_ADMIN_TOKEN")?.filter(|t| !t.is_empty())
        {
            return Ok(t);
        }
        anyhow::bail!(
            "no admin token: pass --admin-token, set CHAOS_ADMIN_TOKEN (in the environment or .env), \
             or start the playground with `chaosctl up`, which keeps it in {}",
            file.display()
        )
    }

    /// url-anvil's admin token: `explicit`, else the playground's file.
    pub fn anvil_token(&self, explicit: Option<&str>) -> anyhow::Result<Option<String>> {
        if let Some(t) = explicit.filter(|t| !t.is_empty()) {
            return Ok(Some(t.to_owned()));
        }
        if let Some(t) = secrets::read(&self.data_dir.join("anvil-token"))? {
            return Ok(Some(t));
        }
        Ok(dotenv::get(Path::new(".env"), "ANVIL_ADMIN_TOKEN")?.filter(|t| !t.is_empty()))
    }
}
