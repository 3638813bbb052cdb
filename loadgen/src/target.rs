//! What to send: the target URL and the request bytes, built once.

use std::net::SocketAddr;

use bytes::Bytes;

/// A parsed `http://host[:port]/path` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    /// `host[:port]` as sent in the Host header.
    pub authority: String,
    pub host: String,
    pub port: u16,
    /// Path and query.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{0:?} is not an http:// URL (https is not supported: measure the plain HTTP hop)")]
    Scheme(String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error("{0:?} has an invalid port")]
    Port(String),
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, String),
    #[error("invalid header {0:?}: expected `Name: value`")]
    Header(String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| TargetError::Scheme(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(TargetError::NoHost(url.to_owned()));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| TargetError::Port(url.to_owned()))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(TargetError::NoHost(url.to_owned()));
        }
        Ok(Target {
            url: url.to_owned(),
            authority: authority.to_owned(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The same host with another path (`/api/test` under a base URL).
    pub fn with_path(&self, path: &str) -> Target {
        let base = self
            .url
            .trim_end_matches(self.path.as_str())
            .trim_end_matches('/');
        Target {
            url: format!("{base}{path}"),
            path: path.to_owned(),
            ..self.clone()
        }
    }

    /// Resolves the host once, before the run, so DNS is not measured.
    pub async fn resolve(&self) -> Result<SocketAddr, TargetError> {
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| TargetError::Resolve(self.authority.clone(), e.to_string()))?;
        addrs
            .next()
            .ok_or_else(|| TargetError::Resolve(self.authority.clone(), "no address".into()))
    }
}

/// A request, serialized once and written as is on every send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTemplate {
    pub method: String,
    pub bytes: Bytes,
}

impl RequestTemplate {
    pub fn new(
        method: &str,
        target: &Target,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> RequestTemplate {
        let mut text = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\n",
            target.path, target.authority
        );
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if !has("user-agent") {
            text.push_str(concat!(
                "User-Agent: loadgen/",
                env!("CARGO_PKG_VERSION"),
                "\r\n"
            ));
        }
        if body.is_some() && !has("content-type") {
            text.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            text.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        text.push_str("\r\n");
        let mut bytes = text.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b);
        }
        RequestTemplate {
            method: method.to_owned(),
            bytes: Bytes::from(bytes),
        }
    }
}

/// Parses `Name: value`.
pub fn parse_header(raw: &str) -> Result<(String, String), TargetError> {
    let (k, v) = raw
        .split_once(':')
        .ok_or_else(|| TargetError::Header(raw.to_owned()))?;
    let k = k.trim();
    let valid = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
    if !valid || v.contains(['\r', '\n']) {
        return Err(TargetError::Header(raw.to_owned()));
    }
    Ok((k.to_owned(), v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_into_authority_and_path() {
        let t = Target::parse("http://127.0.0.1:8080/api/test?x=1").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 8080, "/api/test?x=1")
        );
        let t = Target::parse("http://example.com").expect("valid");
        assert_eq!(
            (t.port, t.path.as_str(), t.authority.as_str()),
            (80, "/", "example.com")
        );
        let t = Target::parse("http://[::1]:9000/").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
        assert_eq!(t.with_path("/api/test").url, "http://[::1]:9000/api/test");
    }

    #[test]
    fn unsupported_urls_are_named() {
        assert!(matches!(
            Target::parse("https://x/"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("http:///x"),
            Err(TargetError::NoHost(_))
        ));
        assert!(matches!(
            Target::parse("http://x:99999/"),
            Err(TargetError::Port(_))
        ));
    }

    #[test]
    fn the_request_is_serialized_once_with_length_and_host() {
        let t = Target::parse("http://h:1/p").expect("valid");
        let r = RequestTemplate::new("POST", &t, &[("X-Run".into(), "7".into())], Some(b"{}"));
        let text = String::from_utf8(r.bytes.to_vec()).expect("utf8");
        assert!(text.starts_with("POST /p HTTP/1.1\r\nHost: h:1\r\n"));
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.contains("X-Run: 7\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
    }

    #[test]
    fn headers_with_line_breaks_are_refused() {
        assert!(parse_header("X-A: b").is_ok());
        assert!(parse_header("X-A b").is_err());
        assert!(parse_header("X-A: b\r\nEvil: 1").is_err());
        assert!(parse_header(": b").is_err());
    }
}
