//! Challenge profiles turned into runs: the standard request, the
//! profile's arrival rates, and the overrides for quick local tries.

use chaos_domain::{Challenge, ChallengeProfile};

use crate::report::ProfileRef;
use crate::schedule::RatePlan;
use crate::target::{RequestTemplate, Target};
use crate::work::Load;

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
    pub requests: Vec<RequestTemplate>,
    pub load: Load,
}

impl ProfileRun {
    /// `base` is where the contributor's app (or url-anvil) listens;
    /// `corpus_base` is url-anvil's own address as the service behind the
    /// app knows it (the corpus URLs inside each request).
    pub fn new(challenge: Challenge, base: &Target, corpus_base: &str, scale: Scale) -> ProfileRun {
        let profile = ChallengeProfile::current(challenge).scaled(scale.duration, scale.rate);
        let target = base.with_path("/api/test");
        let corpus_base = corpus_base.trim_end_matches('/');
        let requests = (1..=profile.corpus_documents.max(1))
            .map(|doc| {
                let body = serde_json::json!({ "urls": [format!("{corpus_base}/corpus/{doc}")] })
                    .to_string();
                RequestTemplate::new("POST", &target, &[], Some(body.as_bytes()))
            })
            .collect();
        let load = Load::Open {
            plan: RatePlan::new(profile.stages.clone()),
            connections: profile.connections,
            max_connections: profile.max_connections,
        };
        ProfileRun {
            profile,
            target,
            requests,
            load,
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
    fn the_standard_request_rotates_over_corpus_documents() {
        let base = Target::parse("http://127.0.0.1:9000").expect("valid");
        let run = ProfileRun::new(
            Challenge::RobustService,
            &base,
            "http://url-anvil:8080/",
            Scale::default(),
        );
        assert_eq!(run.target.url, "http://127.0.0.1:9000/api/test");
        assert_eq!(run.requests.len(), 20);
        let first = String::from_utf8(run.requests[0].bytes.to_vec()).expect("utf8");
        assert!(first.starts_with("POST /api/test HTTP/1.1\r\n"));
        assert!(
            first.ends_with(r#"{"urls":["http://url-anvil:8080/corpus/1"]}"#),
            "{first}"
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
        );
        let Load::Open { plan, .. } = &run.load else {
            panic!("open loop")
        };
        assert_eq!(plan.duration().as_secs(), 30);
        assert_eq!(run.profile.chaos[0].at_s, 6.0);
    }
}
