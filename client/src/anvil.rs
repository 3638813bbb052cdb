//! url-anvil's fault API (`POST /admin/faults`): the one way a chaos
//! schedule reaches url-anvil, whether chaosctl or the operator carries it
//! out.

use chaos_domain::FaultSpec;

/// Why a fault was not injected. The run goes on either way: the caller
/// records it next to the run.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("url-anvil refused the fault ({0})")]
    Refused(reqwest::StatusCode),
    #[error("url-anvil unreachable: {0}")]
    Unreachable(String),
}

/// One url-anvil's admin API.
#[derive(Debug, Clone)]
pub struct FaultApi {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl FaultApi {
    /// `base` is url-anvil as the caller reaches it (`http://host:port`);
    /// `http` carries the timeouts the caller wants.
    pub fn new(http: reqwest::Client, base: &str, token: impl Into<String>) -> FaultApi {
        FaultApi {
            http,
            url: format!("{}/admin/faults", base.trim_end_matches('/')),
            token: token.into(),
        }
    }

    pub async fn inject(&self, fault: &FaultSpec) -> Result<(), FaultError> {
        let answer = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(fault)
            .send()
            .await
            .map_err(|e| FaultError::Unreachable(e.to_string()))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(FaultError::Refused(answer.status()))
        }
    }
}
