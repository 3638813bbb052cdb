//! A small typed client of the API server (`chaos-api`): the calls that
//! chaosctl and the operator make, with the server's JSON errors turned
//! into [`Error`] values that say whether retrying can help.

pub mod anvil;

use std::time::Duration;

use chaos_domain::Challenge;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use chaos_contract::{
    Contributor, EarlierKey, Entry, ImportLine, ImportOutcome, ImportReport, Leaderboard, NewRun,
    Outcome, Registered, Run, RunLinks, RunList, RunState, Score, Source, Statistic, Window,
};
use chaos_contract::{
    Interrupt, RegisterContributor, RunQuery, ScoreRequest, SwitchChallenge, UpdateContributor,
    WindowEdge,
};

/// What went wrong talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the API server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the API server answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("the API server's answer could not be read: {0}")]
    Decode(String),
    #[error("no admin token: this call needs the platform's admin token")]
    NoAdminToken,
    #[error("run {id} was still {state} after {waited:?}")]
    Timeout {
        id: String,
        state: RunState,
        waited: Duration,
    },
}

impl Error {
    /// The HTTP status of a refused call.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the same call may succeed later (server down or failing),
    /// as opposed to a refusal that repeats until the input changes.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable { .. } | Error::Timeout { .. } => true,
            Error::Api { status, .. } => *status >= 500 || *status == 429,
            Error::Decode(_) | Error::NoAdminToken => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A client of one API server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    admin_token: Option<String>,
    /// The controller this client acts as: it registers accounts as their
    /// manager and may recover only those (`?manager=` on the server).
    manager: Option<String>,
}

impl Client {
    /// `base` is the server's root, e.g. `http://127.0.0.1:8081`.
    pub fn new(base: &str) -> Result<Client> {
        let parsed = reqwest::Url::parse(base)
            .map_err(|e| Error::Decode(format!("{base:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Decode(format!("{base:?} is not an http(s) URL")));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            http,
            admin_token: None,
            manager: None,
        })
    }

    /// Acts as the controller `manager` (e.g. `chaos-operator`): the
    /// accounts it registers are its own, and the server refuses it any
    /// other account (reactivation, a new key, deregistration, an update).
    pub fn as_manager(mut self, manager: impl Into<String>) -> Client {
        self.manager = Some(manager.into());
        self
    }

    /// `path` with `?manager=` when this client acts as a manager.
    fn managed(&self, path: String) -> String {
        match &self.manager {
            Some(m) => format!("{path}?manager={}", segment(m)),
            None => path,
        }
    }

    pub fn with_admin_token(mut self, token: impl Into<String>) -> Client {
        self.admin_token = Some(token.into());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /healthz`.
    pub async fn healthy(&self) -> Result<()> {
        let r = self.send(self.request(Method::GET, "/healthz")).await?;
        check(r).await.map(drop)
    }

    pub async fn register_contributor(
        &self,
        name: &str,
        display_name: Option<&str>,
        challenge: Option<Challenge>,
    ) -> Result<Registered> {
        let body = RegisterContributor {
            name: name.to_owned(),
            display_name: display_name.map(str::to_owned),
            challenge: challenge.map(|c| c.as_str().to_owned()),
            manager: self.manager.clone(),
        };
        self.admin(Method::POST, "/api/v1/contributors", Some(&body))
            .await
    }

    /// Hands an account over to a controller, which may then recover it
    /// (admin; an admin's explicit act, never a controller's own).
    pub async fn hand_over(&self, name: &str, manager: &str) -> Result<Contributor> {
        let path = format!("/api/v1/contributors/{}", segment(name));
        let body = UpdateContributor {
            manager: Some(manager.to_owned()),
            ..UpdateContributor::default()
        };
        self.admin(Method::PATCH, &path, Some(&body)).await
    }

    /// A new display name for a contributor, as the boards show it (admin;
    /// as a manager, only for its own accounts).
    pub async fn set_display_name(&self, name: &str, display_name: &str) -> Result<Contributor> {
        let path = self.managed(format!("/api/v1/contributors/{}", segment(name)));
        let body = UpdateContributor {
            display_name: Some(display_name.to_owned()),
            ..UpdateContributor::default()
        };
        self.admin(Method::PATCH, &path, Some(&body)).await
    }

    pub async fn contributor(&self, name: &str) -> Result<Contributor> {
        self.public(&format!("/api/v1/contributors/{}", segment(name)))
            .await
    }

    /// Takes a deregistered contributor back, with a new key (admin).
    pub async fn reactivate_contributor(&self, name: &str) -> Result<Registered> {
        let path = self.managed(format!("/api/v1/contributors/{}/reactivate", segment(name)));
        self.admin(Method::POST, &path, Some(&json!({}))).await
    }

    /// A new key for an active contributor; the old one stops working (admin).
    pub async fn rotate_contributor_key(&self, name: &str) -> Result<Registered> {
        let path = self.managed(format!("/api/v1/contributors/{}/key", segment(name)));
        self.admin(Method::POST, &path, Some(&json!({}))).await
    }

    /// Imports the earlier platform's contributors from its `api_keys`
    /// export (`text/csv` with a header row, or `application/json`).
    pub async fn import_contributors(
        &self,
        export: Vec<u8>,
        content_type: &str,
        dry_run: bool,
    ) -> Result<ImportReport> {
        let req = self
            .authorized(Method::POST, "/api/v1/contributor-imports")?
            .query(&[("dry_run", dry_run)])
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(export);
        decode(check(self.send(req).await?).await?)
    }

    /// Deregisters; an unknown name counts as done.
    pub async fn deregister_contributor(&self, name: &str) -> Result<()> {
        let path = self.managed(format!("/api/v1/contributors/{}", segment(name)));
        let req = self.authorized(Method::DELETE, &path)?;
        let r = self.send(req).await?;
        match check(r).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Switches the contributor's active challenge with their own API key.
    pub async fn switch_challenge(
        &self,
        name: &str,
        api_key: &str,
        challenge: Challenge,
    ) -> Result<Contributor> {
        let path = format!("/api/v1/contributors/{}/challenge", segment(name));
        let req = self
            .request(Method::PUT, &path)
            .bearer_auth(api_key)
            .json(&SwitchChallenge {
                challenge: challenge.as_str().to_owned(),
            });
        decode(check(self.send(req).await?).await?)
    }

    /// Registers a run; the same `id` again returns the same run.
    pub async fn register_run(&self, run: &NewRun) -> Result<Run> {
        self.admin(Method::POST, "/api/v1/runs", Some(run)).await
    }

    /// Abandons a run: it is closed as `interrupted`, never scored.
    pub async fn interrupt_run(&self, id: &str, reason: &str) -> Result<Run> {
        self.admin(
            Method::POST,
            &format!("/api/v1/runs/{}/interrupt", segment(id)),
            Some(&Interrupt {
                reason: Some(reason.to_owned()),
            }),
        )
        .await
    }

    /// Opens the run's window now, or at `at` (RFC 3339).
    pub async fn start_run(&self, id: &str, at: Option<&str>) -> Result<Run> {
        let body = WindowEdge {
            at: at.map(str::to_owned),
        };
        self.admin(
            Method::POST,
            &format!("/api/v1/runs/{}/start", segment(id)),
            Some(&body),
        )
        .await
    }

    pub async fn end_run(&self, id: &str, at: Option<&str>) -> Result<Run> {
        let body = WindowEdge {
            at: at.map(str::to_owned),
        };
        self.admin(
            Method::POST,
            &format!("/api/v1/runs/{}/end", segment(id)),
            Some(&body),
        )
        .await
    }

    /// Queues the run for scoring (the server scores it from measurements).
    pub async fn score_run(&self, id: &str) -> Result<Run> {
        self.admin(
            Method::POST,
            &format!("/api/v1/runs/{}/score", segment(id)),
            Some(&ScoreRequest::default()),
        )
        .await
    }

    pub async fn run(&self, id: &str) -> Result<Run> {
        self.public(&format!("/api/v1/runs/{}", segment(id))).await
    }

    /// The newest runs, filtered by contributor and challenge.
    pub async fn runs(
        &self,
        contributor: Option<&str>,
        challenge: Option<Challenge>,
    ) -> Result<Vec<Run>> {
        let req = self.request(Method::GET, "/api/v1/runs").query(&RunQuery {
            contributor: contributor.map(str::to_owned),
            challenge: challenge.map(|c| c.as_str().to_owned()),
            ..RunQuery::default()
        });
        let page: RunList = decode(check(self.send(req).await?).await?)?;
        Ok(page.runs)
    }

    /// Polls the run until it is scored, has no data or failed.
    pub async fn wait_for_outcome(&self, id: &str, within: Duration) -> Result<Run> {
        let start = tokio::time::Instant::now();
        loop {
            let run = self.run(id).await?;
            if run.is_finished() {
                return Ok(run);
            }
            if start.elapsed() >= within {
                return Err(Error::Timeout {
                    id: id.to_owned(),
                    state: run.state,
                    waited: within,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn leaderboard(
        &self,
        challenge: Challenge,
        page: u32,
        per_page: u32,
    ) -> Result<Leaderboard> {
        let req = self
            .request(
                Method::GET,
                &format!("/api/v1/leaderboard/{}", challenge.as_str()),
            )
            .query(&[("page", page), ("per_page", per_page)]);
        decode(check(self.send(req).await?).await?)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    fn authorized(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        let token = self.admin_token.as_deref().ok_or(Error::NoAdminToken)?;
        Ok(self.request(method, path).bearer_auth(token))
    }

    async fn admin<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let mut req = self.authorized(method, path)?;
        if let Some(b) = body {
            req = req.json(b);
        }
        decode(check(self.send(req).await?).await?)
    }

    async fn public<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let req = self.request(Method::GET, path);
        decode(check(self.send(req).await?).await?)
    }

    async fn send(&self, req: RequestBuilder) -> Result<reqwest::Response> {
        req.send().await.map_err(|e| Error::Unreachable {
            url: self.base.clone(),
            reason: without_url(e),
        })
    }
}

/// A path segment with anything outside the safe set escaped, so a name
/// can never change the route it is sent to.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// reqwest's messages repeat the URL, which [`Error::Unreachable`] names already.
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

async fn check(r: reqwest::Response) -> Result<Vec<u8>> {
    let status = r.status();
    let body = r.bytes().await.map_err(|e| Error::Decode(without_url(e)))?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    Err(Error::Api {
        status: status.as_u16(),
        message: message(status, &body),
    })
}

/// The server's `{"error": ...}`, or the body itself when it is not ours
/// (a proxy in between, say).
fn message(status: StatusCode, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("no message").to_owned()
            } else {
                text.chars().take(200).collect()
            }
        })
}

fn decode<T: DeserializeOwned>(body: Vec<u8>) -> Result<T> {
    serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_escape_their_route() {
        assert_eq!(segment("ada"), "ada");
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("a b?c"), "a%20b%3Fc");
    }

    #[test]
    fn messages_come_from_the_json_error_or_the_body() {
        assert_eq!(
            message(StatusCode::CONFLICT, br#"{"error":"name taken"}"#),
            "name taken"
        );
        assert_eq!(
            message(StatusCode::BAD_GATEWAY, b"upstream down"),
            "upstream down"
        );
        assert_eq!(message(StatusCode::BAD_GATEWAY, b""), "Bad Gateway");
    }

    #[test]
    fn refusals_are_not_transient_but_outages_are() {
        let api = |status| Error::Api {
            status,
            message: String::new(),
        };
        assert!(!api(409).is_transient());
        assert!(!api(422).is_transient());
        assert!(api(503).is_transient());
        assert!(
            Error::Unreachable {
                url: String::new(),
                reason: String::new()
            }
            .is_transient()
        );
    }

    #[test]
    fn only_http_bases_are_accepted() {
        assert!(Client::new("http://127.0.0.1:8081/").is_ok());
        assert!(Client::new("ftp://x").is_err());
        assert!(Client::new("not a url").is_err());
    }
}
