//! Fetching the URLs of a test: which URLs are allowed, and reading them
//! with a time and size limit.
//!
//! By default url-anvil fetches only its own corpus, so it cannot be
//! turned against the network it runs in (SSRF). Other hosts must be
//! allow-listed by the operator of the platform.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;

use chaos_domain::corpus::RunNonce;

use crate::corpus::Corpus;
use crate::error::ApiError;

/// A host pattern from `--allow-host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower-case host, without the `*.` of a wildcard.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    pub fn parse(raw: &str) -> Result<HostPattern, String> {
        let raw = raw.trim().to_ascii_lowercase();
        let (host, port) = match raw.rsplit_once(':') {
            Some((h, p)) => (
                h.to_owned(),
                Some(
                    p.parse::<u16>()
                        .map_err(|_| format!("bad port in allowed host {raw:?}"))?,
                ),
            ),
            None => (raw.clone(), None),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_owned(), true),
            None => (host, false),
        };
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(format!(
                "allowed host {raw:?} is not a host name, host:port or *.domain"
            ));
        }
        Ok(HostPattern {
            host,
            wildcard,
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        if self.wildcard {
            host.strip_suffix(&self.host)
                .is_some_and(|rest| rest.ends_with('.'))
        } else {
            host == self.host
        }
    }
}

/// Where a test URL's body comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A document of this url-anvil's own corpus, read from memory: the
    /// public corpus, or the run corpus a `?run=` nonce names.
    Corpus(u32, Option<RunNonce>),
    /// An allow-listed URL fetched over the network.
    Remote(Url),
}

/// The run nonce of a corpus URL's query: none, or exactly `run=<nonce>`.
pub fn corpus_run(query: Option<&str>) -> Result<Option<RunNonce>, String> {
    match query {
        None | Some("") => Ok(None),
        Some(q) => match q.strip_prefix("run=") {
            Some(n) if !n.contains('&') => RunNonce::parse(n).map(Some).map_err(|e| e.to_string()),
            _ => Err(format!(
                "a corpus URL's query may only be run=<nonce>, not {:?}",
                q.chars().take(80).collect::<String>()
            )),
        },
    }
}

/// Decides where each URL comes from and fetches the remote ones.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// `(host, port)` pairs that name this url-anvil.
    own_origins: Vec<(String, u16)>,
    allowed: Vec<HostPattern>,
    max_bytes: usize,
}

impl Fetcher {
    pub fn new(
        own_origins: Vec<(String, u16)>,
        allowed: Vec<HostPattern>,
        timeout: Duration,
        max_bytes: usize,
    ) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            // A redirect could lead off the allow-list.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("url-anvil/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            client,
            own_origins,
            allowed,
            max_bytes,
        })
    }

    /// Checks one URL of a test request.
    pub fn classify(&self, raw: &str) -> Result<Source, ApiError> {
        let url = Url::parse(raw)
            .map_err(|e| ApiError::bad_request(format!("{raw:?} is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ApiError::bad_request(format!(
                "{raw:?} uses the scheme {:?}; only http and https are fetched",
                url.scheme()
            )));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(80);
        let own = url.scheme() == "http"
            && self
                .own_origins
                .iter()
                .any(|(h, p)| *h == host && *p == port);
        if own {
            let id = url
                .path()
                .strip_prefix("/corpus/")
                .and_then(|id| id.parse::<u32>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{raw:?} is on this url-anvil but not a /corpus/{{id}} URL"
                    ))
                })?;
            let run = corpus_run(url.query())
                .map_err(|e| ApiError::bad_request(format!("{raw:?}: {e}")))?;
            return Ok(Source::Corpus(id, run));
        }
        if self.allowed.iter().any(|p| p.matches(&host, port)) {
            return Ok(Source::Remote(url));
        }
        Err(ApiError::forbidden(format!(
            "{raw:?}: host {host:?} is not allowed; url-anvil fetches its own corpus and allow-listed hosts only"
        )))
    }

    /// The body of one URL.
    pub async fn fetch(&self, source: &Source, corpus: &Corpus) -> Result<Bytes, ApiError> {
        match source {
            Source::Corpus(id, run) => corpus
                .get(*id, run.as_ref())
                .ok_or_else(|| ApiError::not_found(format!("corpus document {id} does not exist"))),
            Source::Remote(url) => self.fetch_remote(url).await,
        }
    }

    async fn fetch_remote(&self, url: &Url) -> Result<Bytes, ApiError> {
        let upstream_error = |e: reqwest::Error| {
            if e.is_timeout() {
                ApiError::upstream_timeout(format!("fetching {url} timed out"))
            } else {
                ApiError::upstream_failed(format!("fetching {url} failed: {e}"))
            }
        };
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(upstream_error)?;
        if !response.status().is_success() {
            return Err(ApiError::upstream_failed(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let too_large = || {
            ApiError::unprocessable(format!(
                "{url} is larger than the {} byte limit",
                self.max_bytes
            ))
        };
        match response.content_length() {
            Some(n) if n > self.max_bytes as u64 => return Err(too_large()),
            // The length is known and allowed: one read, no copies.
            Some(_) => return response.bytes().await.map_err(upstream_error),
            None => {}
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(upstream_error)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn fetcher(allowed: &[&str]) -> Fetcher {
        Fetcher::new(
            vec![("127.0.0.1".into(), 8080), ("url-anvil".into(), 8080)],
            allowed
                .iter()
                .map(|a| HostPattern::parse(a).expect("pattern"))
                .collect(),
            Duration::from_secs(1),
            1024,
        )
        .expect("client")
    }

    #[test]
    fn own_corpus_urls_are_served_from_memory() {
        let f = fetcher(&[]);
        assert_eq!(
            f.classify("http://127.0.0.1:8080/corpus/7"),
            Ok(Source::Corpus(7, None))
        );
        assert_eq!(
            f.classify("http://URL-ANVIL:8080/corpus/1"),
            Ok(Source::Corpus(1, None))
        );
        let err = f
            .classify("http://127.0.0.1:8080/admin/faults")
            .expect_err("not corpus");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let nonce = RunNonce::parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0").expect("valid");
        assert_eq!(
            f.classify("http://127.0.0.1:8080/corpus/123456?run=0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            Ok(Source::Corpus(123_456, Some(nonce)))
        );
        for bad in [
            "http://127.0.0.1:8080/corpus/1?run=short",
            "http://127.0.0.1:8080/corpus/1?run=abcdefgh&x=1",
            "http://127.0.0.1:8080/corpus/1?seed=abcdefgh",
        ] {
            assert_eq!(
                f.classify(bad).expect_err(bad).status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn other_hosts_need_the_allow_list() {
        let f = fetcher(&["example.com", "*.internal.test", "api.test:9000"]);
        assert!(matches!(
            f.classify("https://example.com/x"),
            Ok(Source::Remote(_))
        ));
        assert!(matches!(
            f.classify("http://a.b.internal.test/"),
            Ok(Source::Remote(_))
        ));
        assert!(matches!(
            f.classify("http://api.test:9000/"),
            Ok(Source::Remote(_))
        ));
        for denied in [
            "http://169.254.169.254/latest/meta-data",
            "http://internal.test/",
            "http://evilinternal.test/",
            "http://api.test:9001/",
            "http://127.0.0.1:8081/corpus/1",
        ] {
            assert_eq!(
                f.classify(denied).expect_err(denied).status,
                StatusCode::FORBIDDEN,
                "{denied}"
            );
        }
    }

    #[test]
    fn bad_urls_and_schemes_are_bad_requests() {
        let f = fetcher(&["example.com"]);
        for bad in [
            "not a url",
            "file:///etc/passwd",
            "ftp://example.com/x",
            "gopher://example.com",
        ] {
            let err = f.classify(bad).expect_err(bad);
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn host_patterns_are_validated() {
        assert!(HostPattern::parse("exa mple.com").is_err());
        assert!(HostPattern::parse("example.com:http").is_err());
        assert!(HostPattern::parse("*.").is_err());
    }
}
