//! What a challenge run asks for and what it must get back: url-anvil's
//! standard request built per arrival from the run's corpus, and the check
//! that an answer is url-anvil's right answer to exactly the URLs asked.
//!
//! The load generator holds the corpus key, so it knows every right
//! answer without asking url-anvil; the app under test does not, so it
//! can only give a right answer by getting it from url-anvil (directly,
//! or from a cache of what url-anvil answered earlier in the run).

use std::collections::HashMap;

use bytes::Bytes;
use chaos_domain::ChallengeProfile;
use chaos_domain::corpus::{self, CorpusKey, CorpusOf, RunNonce};
use serde::Deserialize;

use crate::target::{RequestTemplate, Target};

/// The run's requests and their right answers.
#[derive(Debug)]
pub struct AnswerPlan {
    target: Target,
    corpus_base: String,
    nonce: RunNonce,
    key: CorpusKey,
    profile: ChallengeProfile,
    mix: u64,
    /// Right answers of the documents asked for again and again; a fresh
    /// document is asked for once, so its answer is computed when checked.
    hot: HashMap<u32, String>,
}

/// The part of url-anvil's answer that is checked; other fields are free.
#[derive(Deserialize)]
struct Answer<'a> {
    urls_tested: u64,
    #[serde(borrow)]
    content_hash: &'a str,
}

impl AnswerPlan {
    /// `corpus_base` is url-anvil's address as the app's upstream knows it;
    /// `nonce` and `mix` are drawn per run (see [`AnswerPlan::random`]).
    pub fn new(
        target: Target,
        corpus_base: &str,
        profile: ChallengeProfile,
        key: CorpusKey,
        nonce: RunNonce,
        mix: u64,
    ) -> AnswerPlan {
        let hot = (1..=profile.corpus_documents.max(1))
            .map(|id| (id, expected(&key, &nonce, id)))
            .collect();
        AnswerPlan {
            target,
            corpus_base: corpus_base.trim_end_matches('/').to_owned(),
            nonce,
            key,
            profile,
            mix,
            hot,
        }
    }

    /// A plan with a fresh random nonce and mix: what no one can know
    /// before the run starts.
    pub fn random(
        target: Target,
        corpus_base: &str,
        profile: ChallengeProfile,
        key: CorpusKey,
    ) -> anyhow::Result<AnswerPlan> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let nonce = RunNonce::parse(&corpus::hex(&bytes[..16]))?;
        let mut mix = [0u8; 8];
        mix.copy_from_slice(&bytes[16..]);
        Ok(AnswerPlan::new(
            target,
            corpus_base,
            profile,
            key,
            nonce,
            u64::from_le_bytes(mix),
        ))
    }

    pub fn nonce(&self) -> &RunNonce {
        &self.nonce
    }

    /// The request of arrival `n` and the document it asks for.
    pub fn request(&self, n: u64) -> (Bytes, u32) {
        let id = self.profile.document_for(n, self.mix);
        let url = format!(
            "{}{}",
            self.corpus_base,
            corpus::document_path(id, Some(&self.nonce))
        );
        let body = format!(r#"{{"urls":["{url}"]}}"#);
        let r = RequestTemplate::new("POST", &self.target, &[], Some(body.as_bytes()));
        (r.bytes, id)
    }

    /// Whether `body` is url-anvil's right answer to a request for document `id`.
    pub fn is_right(&self, id: u32, body: &[u8]) -> bool {
        let Ok(answer) = serde_json::from_slice::<Answer<'_>>(body) else {
            return false;
        };
        if answer.urls_tested != 1 {
            return false;
        }
        match self.hot.get(&id) {
            Some(h) => h == answer.content_hash,
            None => expected(&self.key, &self.nonce, id) == answer.content_hash,
        }
    }
}

fn expected(key: &CorpusKey, nonce: &RunNonce, id: u32) -> String {
    match corpus::document(id, CorpusOf::Run(key, nonce)) {
        Some(doc) => corpus::content_hash(&[doc]),
        // No such document: nothing is a right answer.
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_domain::Challenge;

    fn plan() -> AnswerPlan {
        AnswerPlan::new(
            Target::parse("http://127.0.0.1:9000/api/test").expect("valid"),
            "http://url-anvil:8080/",
            ChallengeProfile::current(Challenge::RobustService),
            CorpusKey::from_secret("a key for tests only"),
            RunNonce::parse("0123456789abcdef0123456789abcdef").expect("valid"),
            42,
        )
    }

    #[test]
    fn each_arrival_asks_for_one_document_of_the_run_corpus() {
        let p = plan();
        let (bytes, id) = p.request(7);
        let text = String::from_utf8(bytes.to_vec()).expect("utf8");
        assert!(text.starts_with("POST /api/test HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"));
        assert!(
            text.ends_with(&format!(
                r#"{{"urls":["http://url-anvil:8080/corpus/{id}?run=0123456789abcdef0123456789abcdef"]}}"#
            )),
            "{text}"
        );
    }

    #[test]
    fn only_url_anvils_answer_to_exactly_that_url_is_right() {
        let p = plan();
        let key = CorpusKey::from_secret("a key for tests only");
        let nonce = RunNonce::parse("0123456789abcdef0123456789abcdef").expect("valid");
        for id in [3, 5_000_000] {
            let doc = corpus::document(id, CorpusOf::Run(&key, &nonce)).expect("exists");
            let hash = corpus::content_hash(&[&doc]);
            let right = format!(
                r#"{{"urls_tested":1,"total_fetch_time_ms":0.01,"average_fetch_time_ms":0.01,"content_hash":"{hash}","timestamp":"2026-12-07T00:00:00.000Z"}}"#
            );
            assert!(p.is_right(id, right.as_bytes()), "{id}");
            assert!(
                !p.is_right(id + 1, right.as_bytes()),
                "another document's answer"
            );
            let two = right.replace(r#""urls_tested":1"#, r#""urls_tested":2"#);
            assert!(!p.is_right(id, two.as_bytes()));
            let upper = right.replace(&hash, &hash.to_uppercase());
            assert!(!p.is_right(id, upper.as_bytes()));
            let public =
                corpus::content_hash(&[corpus::document(3, CorpusOf::Public).expect("exists")]);
            let stale = right.replace(&hash, &public);
            assert!(
                !p.is_right(id, stale.as_bytes()),
                "the public corpus's answer"
            );
        }
        for junk in [
            &b""[..],
            b"{}",
            b"not json",
            br#"{"urls_tested":1,"content_hash":"0000"}"#,
        ] {
            assert!(!p.is_right(3, junk));
        }
    }
}
