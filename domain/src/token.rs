//! Secret tokens (admin tokens, url-anvil's fault token) given as a flag,
//! an environment variable or a file. Every binary applies the same rule,
//! so a token accepted by one is accepted by all.

use std::path::Path;

/// Shorter tokens are refused everywhere: a token guards admin actions
/// reachable over the network, so it must not be guessable.
pub const MIN_LEN: usize = 16;

/// The token of an `Authorization: Bearer <token>` header value, trimmed;
/// `None` for any other scheme. One rule for every server of the platform.
pub fn bearer(authorization: &str) -> Option<&str> {
    authorization.strip_prefix("Bearer ").map(str::trim)
}

/// Why a token was refused. `flag` names where it came from, so the
/// message tells the user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read {flag}-file {path}: {source}")]
    Unreadable {
        flag: String,
        path: String,
        source: std::io::Error,
    },
    #[error("{flag} must be at least {MIN_LEN} characters (it has {len})")]
    TooShort { flag: String, len: usize },
}

/// The token from `value` (a flag or environment variable), else from
/// `file`, read with `read` so that this crate stays free of I/O. Both
/// are trimmed. `Ok(None)` when neither is given.
pub fn resolve(
    flag: &str,
    value: Option<&str>,
    file: Option<&Path>,
    read: impl FnOnce(&Path) -> std::io::Result<String>,
) -> Result<Option<String>, TokenError> {
    let raw = match (value, file) {
        (Some(v), _) => v.to_owned(),
        (None, Some(path)) => read(path).map_err(|source| TokenError::Unreadable {
            flag: flag.to_owned(),
            path: path.display().to_string(),
            source,
        })?,
        (None, None) => return Ok(None),
    };
    let token = raw.trim();
    let len = token.chars().count();
    if len < MIN_LEN {
        return Err(TokenError::TooShort {
            flag: flag.to_owned(),
            len,
        });
    }
    Ok(Some(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_header_gives_a_token() {
        assert_eq!(bearer("Bearer abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("bearer abc"), None);
        assert_eq!(bearer("Bearer "), Some(""));
    }

    fn no_file(_: &Path) -> std::io::Result<String> {
        Err(std::io::Error::other("not read"))
    }

    #[test]
    fn a_value_wins_over_a_file_and_is_trimmed() {
        let t = resolve(
            "--admin-token",
            Some("  0123456789abcdef \n"),
            None,
            no_file,
        );
        assert_eq!(t.expect("ok").as_deref(), Some("0123456789abcdef"));
        let t = resolve(
            "--admin-token",
            Some("0123456789abcdef"),
            Some(Path::new("/x")),
            no_file,
        );
        assert_eq!(t.expect("ok").as_deref(), Some("0123456789abcdef"));
    }

    #[test]
    fn a_file_is_read_when_no_value_is_given() {
        let t = resolve("--t", None, Some(Path::new("/secret")), |p| {
            assert_eq!(p, Path::new("/secret"));
            Ok("from-the-file-0123456\n".into())
        });
        assert_eq!(t.expect("ok").as_deref(), Some("from-the-file-0123456"));
    }

    #[test]
    fn nothing_given_is_none() {
        assert!(resolve("--t", None, None, no_file).expect("ok").is_none());
    }

    #[test]
    fn short_empty_and_unreadable_tokens_are_refused_by_name() {
        let e = resolve("--admin-token", Some("s3cret"), None, no_file).expect_err("short");
        assert_eq!(
            e.to_string(),
            "--admin-token must be at least 16 characters (it has 6)"
        );
        let e = resolve("--t", Some("   \n"), None, no_file).expect_err("empty");
        assert!(e.to_string().contains("(it has 0)"), "{e}");
        let e = resolve(
            "--anvil-admin-token",
            None,
            Some(Path::new("/nope")),
            no_file,
        )
        .expect_err("unreadable");
        assert_eq!(
            e.to_string(),
            "cannot read --anvil-admin-token-file /nope: not read"
        );
    }
}
