//! url-anvil's corpus and the answer it gives for it: one definition, so
//! url-anvil serves exactly the bytes the load generator checks against.
//!
//! Two corpora exist:
//! - the **public corpus**, documents 1..=[`PUBLIC_DOCUMENTS`], the same
//!   bytes everywhere (the earlier clients' `/api/sample-urls` and local
//!   tries use it);
//! - a **run corpus**, named in a corpus URL by a run nonce
//!   (`/corpus/{id}?run={nonce}`). Its documents come from a keyed hash of
//!   the platform's corpus key, the nonce and the id, so nobody without the
//!   key can know what they hold before url-anvil serves them, and every
//!   run asks for content no earlier run saw. Knowing one document tells
//!   nothing about another (each has its own SHA-256-derived state).

use sha2::{Digest, Sha256};

/// Documents of the public corpus are numbered 1..=PUBLIC_DOCUMENTS.
pub const PUBLIC_DOCUMENTS: u32 = 100;
/// Documents of a run corpus are numbered 1..=RUN_DOCUMENTS.
pub const RUN_DOCUMENTS: u32 = 100_000_000;
/// What url-anvil puts between the bodies it hashes (the earlier url-anvil's join).
pub const HASH_SEPARATOR: &[u8] = b"\n---\n";

/// The secret that makes run corpora unpredictable. Everyone who must
/// produce or check answers (url-anvil, the platform's load generator)
/// holds the same key; a competitor's app never does.
#[derive(Clone, PartialEq, Eq)]
pub struct CorpusKey([u8; 32]);

impl std::fmt::Debug for CorpusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself.
        f.write_str(if *self == CorpusKey::public() {
            "CorpusKey(public)"
        } else {
            "CorpusKey(secret)"
        })
    }
}

impl CorpusKey {
    /// The key used when none is configured: anyone can compute its run
    /// corpora, so it is only for local tries, never for a competition.
    pub fn public() -> CorpusKey {
        CorpusKey::from_secret("")
    }

    /// A key from a secret text (a configured key, or url-anvil's admin
    /// token), so the platform has one secret to hand out, not two.
    pub fn from_secret(secret: &str) -> CorpusKey {
        let mut h = Sha256::new();
        h.update(b"url-anvil corpus key v1\0");
        h.update(secret.trim().as_bytes());
        CorpusKey(h.finalize().into())
    }

    pub fn is_public(&self) -> bool {
        *self == CorpusKey::public()
    }

    /// The key itself, for a process that must check answers but must not
    /// hold the secret it came from (the load Job gets this, not url-anvil's
    /// admin token).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<CorpusKey> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(CorpusKey(key))
    }
}

/// A run nonce as it may appear in a corpus URL: 8 to 64 characters of
/// `[0-9a-zA-Z_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunNonce(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run nonce {0:?} must be 8 to 64 characters of 0-9, a-z, A-Z, '_' and '-'")]
pub struct BadNonce(pub String);

impl RunNonce {
    pub fn parse(raw: &str) -> Result<RunNonce, BadNonce> {
        let ok = (8..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(RunNonce(raw.to_owned()))
        } else {
            Err(BadNonce(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which corpus a document comes from.
#[derive(Debug, Clone, Copy)]
pub enum CorpusOf<'a> {
    Public,
    Run(&'a CorpusKey, &'a RunNonce),
}

/// The URL path and query of a document, as url-anvil serves it.
pub fn document_path(id: u32, nonce: Option<&RunNonce>) -> String {
    match nonce {
        Some(n) => format!("/corpus/{id}?run={}", n.as_str()),
        None => format!("/corpus/{id}"),
    }
}

/// Whether `id` names a document of that corpus.
pub fn exists(id: u32, corpus: CorpusOf<'_>) -> bool {
    let last = match corpus {
        CorpusOf::Public => PUBLIC_DOCUMENTS,
        CorpusOf::Run(..) => RUN_DOCUMENTS,
    };
    (1..=last).contains(&id)
}

/// Document `id` of a corpus: 1 to 16 KiB of words. `None` when it does not exist.
pub fn document(id: u32, corpus: CorpusOf<'_>) -> Option<Vec<u8>> {
    if !exists(id, corpus) {
        return None;
    }
    let state = match corpus {
        // The public corpus is what url-anvil always served: pinned by a test.
        CorpusOf::Public => u64::from(id),
        CorpusOf::Run(key, nonce) => {
            let mut h = Sha256::new();
            h.update(key.0);
            h.update((nonce.0.len() as u32).to_le_bytes());
            h.update(nonce.0.as_bytes());
            h.update(id.to_le_bytes());
            let d = h.finalize();
            let mut first = [0u8; 8];
            first.copy_from_slice(&d[..8]);
            u64::from_le_bytes(first)
        }
    };
    Some(words(id, state))
}

/// The `content_hash` url-anvil answers for these bodies, in order.
pub fn content_hash<B: AsRef<[u8]>>(bodies: &[B]) -> String {
    let mut h = Sha256::new();
    for (i, b) in bodies.iter().enumerate() {
        if i > 0 {
            h.update(HASH_SEPARATOR);
        }
        h.update(b.as_ref());
    }
    hex(&h.finalize())
}

/// Lower-case hex, as url-anvil writes its hashes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

const WORDS: &[&str] = &[
    "anvil",
    "latency",
    "budget",
    "replica",
    "queue",
    "shed",
    "retry",
    "timeout",
    "probe",
    "quorum",
    "cache",
    "backoff",
    "canary",
    "rollout",
    "paging",
    "toil",
    "error",
    "signal",
    "saturation",
    "traffic",
    "uptime",
    "incident",
    "postmortem",
    "circuit",
    "breaker",
    "throttle",
    "jitter",
    "failover",
    "capacity",
    "headroom",
    "percentile",
    "histogram",
];

/// splitmix64: small and fast; the secrecy of a run corpus comes from the
/// keyed starting state, not from this generator.
pub(crate) fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn words(id: u32, mut state: u64) -> Vec<u8> {
    let target_len = 1024 + (next(&mut state) % (15 * 1024)) as usize;
    let mut text = format!("url-anvil corpus document {id}\n").into_bytes();
    text.reserve(target_len + 16);
    while text.len() < target_len {
        let word = WORDS[(next(&mut state) % WORDS.len() as u64) as usize];
        text.extend_from_slice(word.as_bytes());
        text.push(if next(&mut state).is_multiple_of(12) {
            b'\n'
        } else {
            b' '
        });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(s: &str) -> RunNonce {
        RunNonce::parse(s).expect("valid nonce")
    }

    #[test]
    fn public_document_one_never_changes() {
        // Pinned: changing the generator changes every earlier client's hashes.
        let doc = document(1, CorpusOf::Public).expect("exists");
        assert_eq!(
            content_hash(&[&doc]),
            "759ad8360ecfcf3eb36640f6f6d04fd6eba02508cf12684dada82108c0b73ef3"
        );
        assert!(document(0, CorpusOf::Public).is_none());
        assert!(document(PUBLIC_DOCUMENTS + 1, CorpusOf::Public).is_none());
    }

    #[test]
    fn run_documents_depend_on_key_nonce_and_id() {
        let (k1, k2) = (CorpusKey::from_secret("a"), CorpusKey::from_secret("b"));
        let (n1, n2) = (nonce("0123456789abcdef"), nonce("0123456789abcdeg"));
        let d = |k, n, id| document(id, CorpusOf::Run(k, n)).expect("exists");
        let base = d(&k1, &n1, 7);
        assert_eq!(base, d(&k1, &n1, 7), "deterministic");
        assert_ne!(base, d(&k2, &n1, 7), "the key matters");
        assert_ne!(base, d(&k1, &n2, 7), "the nonce matters");
        assert_ne!(base, d(&k1, &n1, 8), "the id matters");
        assert_ne!(base, document(7, CorpusOf::Public).expect("exists"));
        assert!(document(RUN_DOCUMENTS, CorpusOf::Run(&k1, &n1)).is_some());
        assert!(document(RUN_DOCUMENTS + 1, CorpusOf::Run(&k1, &n1)).is_none());
        for id in [1, 2, 99, 12_345, RUN_DOCUMENTS] {
            let len = d(&k1, &n1, id).len();
            assert!((1024..=16 * 1024 + 16).contains(&len), "doc {id}: {len}");
        }
    }

    #[test]
    fn the_hash_joins_bodies_as_the_earlier_url_anvil_did() {
        let mut joined = b"a".to_vec();
        joined.extend_from_slice(HASH_SEPARATOR);
        joined.extend_from_slice(b"b");
        assert_eq!(content_hash(&[b"a", b"b"]), content_hash(&[&joined]));
        assert_eq!(
            content_hash::<&[u8]>(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn nonces_are_bounded_and_url_safe() {
        assert!(RunNonce::parse("abcd1234").is_ok());
        assert!(RunNonce::parse(&"a".repeat(64)).is_ok());
        for bad in [
            "short",
            &"a".repeat(65),
            "abc def12",
            "abcdefgh&x=1",
            "ünïcödé1",
        ] {
            assert!(RunNonce::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(document_path(3, None), "/corpus/3");
        assert_eq!(
            document_path(3, Some(&nonce("abcd1234"))),
            "/corpus/3?run=abcd1234"
        );
        assert_eq!(
            format!("{:?}", CorpusKey::from_secret("x")),
            "CorpusKey(secret)"
        );
        let k = CorpusKey::from_secret("x");
        assert_eq!(CorpusKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(CorpusKey::from_hex("abc"), None);
        assert_eq!(CorpusKey::from_hex(&"g".repeat(64)), None);
    }
}
