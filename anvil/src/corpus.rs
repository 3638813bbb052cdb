//! The corpus url-anvil serves and hashes: the public documents, built
//! once at start, and run corpora, built on demand from the corpus key
//! (`chaos_domain::corpus` says what each holds).

use bytes::Bytes;
use chaos_domain::corpus::{self, CorpusKey, CorpusOf, PUBLIC_DOCUMENTS, RunNonce};

#[derive(Debug, Clone)]
pub struct Corpus {
    public: Vec<Bytes>,
    key: CorpusKey,
}

impl Corpus {
    pub fn new(key: CorpusKey) -> Corpus {
        Corpus {
            public: (1..=PUBLIC_DOCUMENTS)
                .filter_map(|id| corpus::document(id, CorpusOf::Public))
                .map(Bytes::from)
                .collect(),
            key,
        }
    }

    /// Document `id` of the public corpus, or of the run corpus `run` names.
    pub fn get(&self, id: u32, run: Option<&RunNonce>) -> Option<Bytes> {
        match run {
            None => {
                let index = usize::try_from(id.checked_sub(1)?).ok()?;
                self.public.get(index).cloned()
            }
            Some(nonce) => corpus::document(id, CorpusOf::Run(&self.key, nonce)).map(Bytes::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_run_documents_are_served_from_the_shared_definition() {
        let key = CorpusKey::from_secret("s3cret");
        let c = Corpus::new(key.clone());
        let nonce = RunNonce::parse("run-0123456789").expect("valid");
        assert_eq!(
            c.get(1, None).map(|b| b.to_vec()),
            corpus::document(1, CorpusOf::Public)
        );
        assert!(c.get(0, None).is_none() && c.get(PUBLIC_DOCUMENTS + 1, None).is_none());
        assert_eq!(
            c.get(5_000, Some(&nonce)).map(|b| b.to_vec()),
            corpus::document(5_000, CorpusOf::Run(&key, &nonce))
        );
    }
}
