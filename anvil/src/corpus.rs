//! The built-in corpus: documents that are the same on every url-anvil,
//! so the standard workload needs no outside network and hashes the same
//! bytes everywhere.

use bytes::Bytes;

/// Documents are numbered 1..=CORPUS_SIZE.
pub const CORPUS_SIZE: u32 = 100;

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

/// The documents, generated once at start.
#[derive(Debug, Clone)]
pub struct Corpus {
    docs: Vec<Bytes>,
}

impl Corpus {
    pub fn generate() -> Corpus {
        Corpus {
            docs: (1..=CORPUS_SIZE).map(document).collect(),
        }
    }

    /// Document `id`, if it exists.
    pub fn get(&self, id: u32) -> Option<&Bytes> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.docs.get(index)
    }
}

/// splitmix64: a tiny, well-known generator; only determinism matters here.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Document `id`: 1 to 16 KiB of words, the same bytes on every machine.
fn document(id: u32) -> Bytes {
    let mut state = u64::from(id);
    let target_len = 1024 + (next(&mut state) % (15 * 1024)) as usize;
    let mut text = format!("url-anvil corpus document {id}\n");
    while text.len() < target_len {
        let word = WORDS[(next(&mut state) % WORDS.len() as u64) as usize];
        text.push_str(word);
        text.push(if next(&mut state).is_multiple_of(12) {
            '\n'
        } else {
            ' '
        });
    }
    Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn documents_are_deterministic_and_bounded() {
        let a = Corpus::generate();
        let b = Corpus::generate();
        for id in 1..=CORPUS_SIZE {
            let doc = a.get(id).expect("exists");
            assert_eq!(Some(doc), b.get(id));
            assert!(
                (1024..=16 * 1024 + 16).contains(&doc.len()),
                "doc {id}: {}",
                doc.len()
            );
        }
        assert!(a.get(0).is_none());
        assert!(a.get(CORPUS_SIZE + 1).is_none());
    }

    #[test]
    fn document_one_never_changes() {
        // Pinned: changing the generator changes every competitor's hashes.
        let digest = Sha256::digest(Corpus::generate().get(1).expect("exists"));
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, PINNED_DOC1_SHA256);
    }

    const PINNED_DOC1_SHA256: &str =
        "759ad8360ecfcf3eb36640f6f6d04fd6eba02508cf12684dada82108c0b73ef3";
}
