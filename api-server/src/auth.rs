//! Secrets: the admin token and contributor API keys, always compared in
//! constant time. API keys are shown once and stored only as a salted
//! SHA-256 (they are 256-bit random, so a slow hash would add nothing).

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Key prefix, so leaked keys are easy to recognise and scan for.
const KEY_PREFIX: &str = "sck_";

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    chaos_domain::token::bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// A secret kept only as its SHA-256. Digests are compared, in constant
/// time, so a check takes the same time whatever the guess's length or content.
#[derive(Debug, Clone)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(secret: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(digest.ct_eq(&self.0))
    }
}

/// The admin token, or `None` when admin actions are disabled.
#[derive(Debug, Clone)]
pub struct AdminToken(Option<SecretDigest>);

impl AdminToken {
    pub fn new(token: Option<&str>) -> AdminToken {
        AdminToken(token.map(SecretDigest::of))
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.0 else {
            return Err(ApiError::forbidden(
                "admin actions are disabled: start chaos-api with --admin-token or CHAOS_ADMIN_TOKEN",
            ));
        };
        let presented = bearer(headers).ok_or_else(|| {
            ApiError::unauthenticated("this action needs Authorization: Bearer <admin token>")
        })?;
        if expected.matches(presented) {
            Ok(())
        } else {
            Err(ApiError::forbidden("the admin token is wrong"))
        }
    }
}

/// A new API key for a contributor: `(key shown once, salt, hash)`.
pub fn new_api_key(contributor_id: &str) -> anyhow::Result<(String, String, String)> {
    let secret = random_hex(32)?;
    let salt = random_hex(16)?;
    let hash = key_hash(&salt, &secret);
    Ok((format!("{KEY_PREFIX}{contributor_id}_{secret}"), salt, hash))
}

/// Splits a presented key into the contributor id and the secret.
pub fn parse_api_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.rsplit_once('_')?;
    (!id.is_empty() && secret.len() == 64).then_some((id, secret))
}

/// The lookup digest of an earlier platform's API key: the earlier keys
/// were `str(uuid.uuid4())`, 122 random bits, so only random (version 4)
/// UUIDs qualify, and any spelling of one gives the same digest.
pub fn earlier_key_digest(key: &str) -> Option<String> {
    let uuid = uuid::Uuid::try_parse(key.trim()).ok()?;
    (uuid.get_version_num() == 4)
        .then(|| hex(&Sha256::digest(uuid.hyphenated().to_string().as_bytes())))
}

pub fn key_hash(salt: &str, secret: &str) -> String {
    hex(&Sha256::digest(format!("{salt}:{secret}").as_bytes()))
}

pub fn key_matches(salt: &str, stored_hash: &str, secret: &str) -> bool {
    bool::from(
        key_hash(salt, secret)
            .as_bytes()
            .ct_eq(stored_hash.as_bytes()),
    )
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(hex(&buf))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn keys_verify_only_with_their_own_salt_and_secret() {
        let (key, salt, hash) = new_api_key("abc123").expect("random");
        let (id, secret) = parse_api_key(&key).expect("well formed");
        assert_eq!(id, "abc123");
        assert!(key_matches(&salt, &hash, secret));
        assert!(!key_matches(&salt, &hash, &"0".repeat(64)));
        let (_, other_salt, _) = new_api_key("abc123").expect("random");
        assert!(!key_matches(&other_salt, &hash, secret));
        assert!(parse_api_key("sck_abc_short").is_none());
        assert!(parse_api_key("nope").is_none());
    }

    #[test]
    fn earlier_keys_are_random_uuids_in_any_spelling() {
        let key = "3f1b2c4d-aaaa-4bbb-8ccc-123456789abc";
        let d = earlier_key_digest(key).expect("a v4 uuid");
        assert_eq!(earlier_key_digest(&key.to_uppercase()), Some(d.clone()));
        assert_eq!(earlier_key_digest(&key.replace('-', "")), Some(d));
        // Not random (version 1), and the earlier seed data's weak keys.
        assert_eq!(
            earlier_key_digest("3f1b2c4d-aaaa-1bbb-8ccc-123456789abc"),
            None
        );
        assert_eq!(earlier_key_digest("key1"), None);
    }

    #[test]
    fn the_admin_token_is_checked() {
        let admin = AdminToken::new(Some("a-long-admin-token"));
        let mut h = HeaderMap::new();
        assert_eq!(
            admin.check(&h).map_err(|e| e.status()),
            Err(StatusCode::UNAUTHORIZED)
        );
        h.insert(
            header::AUTHORIZATION,
            "Bearer wrong".parse().expect("header"),
        );
        assert_eq!(
            admin.check(&h).map_err(|e| e.status()),
            Err(StatusCode::FORBIDDEN)
        );
        h.insert(
            header::AUTHORIZATION,
            "Bearer a-long-admin-token".parse().expect("header"),
        );
        assert!(admin.check(&h).is_ok());
        assert_eq!(
            AdminToken::new(None).check(&h).map_err(|e| e.status()),
            Err(StatusCode::FORBIDDEN)
        );
    }
}
