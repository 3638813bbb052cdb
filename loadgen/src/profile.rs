//! Challenge profiles turned into runs: the standard request, the
//! profile's arrival rates, and the overrides for quick local tries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chaos_domain::corpus::CorpusKey;
use chaos_domain::{Challenge, ChallengeProfile};

use crate::Job;
use crate::answers::AnswerPlan;
use crate::report::ProfileRef;
use crate::schedule::RatePlan;
use crate::target::{RequestTemplate, Target};
use crate::work::{Load, RunSpec};

/// How a profile is stretched for a local try. Official runs use 1 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub duration: f64,
    pub rate: f64,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            duration: 1.0,
            rate: 1.0,
        }
    }
}

/// A profile, ready to run against a target.
#[derive(Debug, Clone)]
pub struct ProfileRun {
    pub profile: ChallengeProfile,
    pub target: Target,
    /// The first request, as an example; the run sends `answers`' requests.
    pub requests: Vec<RequestTemplate>,
    /// Every request of the run and its right answer.
    pub answers: Arc<AnswerPlan>,
    pub load: Load,
}

impl ProfileRun {
    /// `base` is where the contributor's app (or url-anvil) listens;
    /// `corpus_base` is url-anvil's own address as the service behind the
    /// app knows it (the corpus URLs inside each request); `key` is the
    /// corpus key url-anvil holds, so every answer can be checked.
    pub fn new(
        challenge: Challenge,
        base: &Target,
        corpus_base: &str,
        scale: Scale,
        key: CorpusKey,
    ) -> anyhow::Result<ProfileRun> {
        let profile = ChallengeProfile::current(challenge).scaled(scale.duration, scale.rate);
        let target = base.with_path("/api/test");
        let answers = Arc::new(AnswerPlan::random(
            target.clone(),
            corpus_base,
            profile.clone(),
            key,
        )?);
        let (first, _) = answers.request(0);
        let requests = vec![RequestTemplate {
            method: "POST".to_owned(),
            bytes: first,
        }];
        let load = Load::Open {
            plan: RatePlan::new(profile.stages.clone()),
            connections: profile.connections,
            max_connections: profile.max_connections,
        };
        Ok(ProfileRun {
            profile,
            target,
            requests,
            answers,
            load,
        })
    }

    /// The run as a job against `addr` (the app's address, resolved), its
    /// every answer checked; `timeout` at most the profile's own.
    pub fn job(&self, addr: SocketAddr, threads: usize, timeout: Option<Duration>) -> Job {
        let own = Duration::from_millis(self.profile.timeout_ms);
        Job {
            spec: RunSpec {
                addr,
                requests: self.requests.clone(),
                answers: Some(self.answers.clone()),
                load: self.load.clone(),
                threads,
                timeout: timeout.map_or(own, |t| t.min(own)),
            },
            target_url: self.target.url.clone(),
            method: "POST".to_owned(),
            profile: Some(self.reference()),
        }
    }

    pub fn reference(&self) -> ProfileRef {
        ProfileRef {
            name: self.profile.challenge.as_str().to_owned(),
            version: self.profile.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_request_asks_for_a_document_of_this_runs_corpus() {
        let base = Target::parse("http://127.0.0.1:9000").expect("valid");
        let plan = || {
            ProfileRun::new(
                Challenge::RobustService,
                &base,
                "http://url-anvil:8080/",
                Scale::default(),
                CorpusKey::public(),
            )
            .expect("plan")
        };
        let run = plan();
        assert_eq!(run.target.url, "http://127.0.0.1:9000/api/test");
        let first = String::from_utf8(run.requests[0].bytes.to_vec()).expect("utf8");
        assert!(first.starts_with("POST /api/test HTTP/1.1\r\n"));
        let nonce = run.answers.nonce().as_str();
        assert!(
            first.contains(r#"{"urls":["http://url-anvil:8080/corpus/"#)
                && first.ends_with(&format!(r#"?run={nonce}"]}}"#)),
            "{first}"
        );
        let again = plan();
        assert_ne!(
            again.answers.nonce(),
            run.answers.nonce(),
            "a new corpus every run"
        );
        let Load::Open { plan, .. } = &run.load else {
            panic!("profiles are open loop")
        };
        assert_eq!(plan.duration().as_secs(), 200);
    }

    #[test]
    fn scaling_shortens_the_run() {
        let base = Target::parse("http://127.0.0.1:9000").expect("valid");
        let run = ProfileRun::new(
            Challenge::LongestUpkeep,
            &base,
            "http://127.0.0.1:9000",
            Scale {
                duration: 0.05,
                rate: 0.1,
            },
            CorpusKey::public(),
        )
        .expect("plan");
        let Load::Open { plan, .. } = &run.load else {
            panic!("open loop")
        };
        assert_eq!(plan.duration().as_secs(), 30);
        assert_eq!(run.profile.chaos[0].at_s, 6.0);
    }
}
