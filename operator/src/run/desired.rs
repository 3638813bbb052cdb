//! The load Job of a ChallengeRun, as a pure function.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::contributor::desired::{ANVIL, ANVIL_PORT, target};
use crate::crd::{ChallengeRun, Contributor};
use crate::labels::{self, Role};
use crate::settings::RunSettings;

/// loadgen serves its metrics here for Prometheus.
pub const METRICS_PORT: u16 = 9100;
/// loadgen's counters are served at zero this long before the first request,
/// so a Prometheus scraping every 5 s sees where they start.
pub const METRICS_WAIT: Duration = Duration::from_secs(20);
/// ... and this long after the last, for the final scrape.
pub const METRICS_LINGER: Duration = Duration::from_secs(30);

/// `load-<run name>`, cut to fit a label value.
pub fn job_name(run: &ChallengeRun) -> String {
    let mut n = format!("load-{}", run.name_any());
    n.truncate(63);
    n.trim_end_matches('-').to_owned()
}

pub fn load_job(
    run: &ChallengeRun,
    contributor: &Contributor,
    settings: &RunSettings,
) -> Result<Job, serde_json::Error> {
    let loadgen_image = &settings.loadgen_image;
    let ttl = settings.job_ttl;
    let name = contributor.name_any();
    let run_id = run.uid().unwrap_or_default();
    let challenge = run.spec.challenge;
    let scale = run.spec.scale();
    let profile = chaos_domain::ChallengeProfile::current(challenge).scaled(scale, 1.0);
    let deadline = profile.duration_s() + (METRICS_WAIT + METRICS_LINGER).as_secs_f64() + 300.0;
    let labels = json!({
        labels::MANAGED_BY: labels::MANAGER,
        labels::CONTRIBUTOR: name,
        labels::RUN_ID: run_id,
        labels::ROLE: Role::Load.as_str(),
        labels::COMPONENT: "load",
    });
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": job_name(run),
            "namespace": run.namespace(),
            "labels": labels,
            "ownerReferences": [run.controller_owner_ref(&())],
        },
        "spec": {
            // A retried load would not be the same run.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline.ceil() as i64,
            "ttlSecondsAfterFinished": ttl.as_secs(),
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": METRICS_PORT.to_string(),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "loadgen",
                        "image": loadgen_image,
                        "args": [
                            "profile", challenge.as_str(),
                            "--target", target(contributor),
                            // The corpus as the app's upstream, url-anvil, names itself.
                            "--corpus-base", format!("http://{ANVIL}:{ANVIL_PORT}"),
                            "--duration-scale", scale.to_string(),
                            "--metrics-addr", format!("0.0.0.0:{METRICS_PORT}"),
                            "--metrics-wait", format!("{}s", METRICS_WAIT.as_secs()),
                            "--metrics-linger", format!("{}s", METRICS_LINGER.as_secs()),
                            "--no-progress",
                        ],
                        // Every answer is checked against url-anvil's run corpus.
                        "env": [{"name": "LOADGEN_CORPUS_KEY_HEX", "value": settings.corpus_key.to_hex()}],
                        "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                        "resources": settings.loadgen_resources,
                        "securityContext": {
                            "runAsNonRoot": true,
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }],
                },
            },
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_domain::Challenge;

    pub fn run(name: &str, scale: Option<f64>) -> ChallengeRun {
        let mut r = crate::fixtures::run(name);
        r.spec.challenge = Challenge::GracefulDegradation;
        r.spec.duration_scale = scale;
        r
    }

    fn settings() -> RunSettings {
        RunSettings {
            loadgen_image: "loadgen:1".into(),
            corpus_key: chaos_domain::corpus::CorpusKey::from_secret("0123456789abcdef0123"),
            loadgen_resources: crate::config::container_resources(
                r#"{"requests": {"cpu": "300m"}}"#,
            )
            .expect("valid"),
            max_concurrent: 1,
            job_ttl: Duration::from_secs(600),
            unschedulable_after: Duration::from_secs(180),
        }
    }

    fn contributor() -> Contributor {
        let mut c = crate::fixtures::contributor("ada");
        let app = c.spec.app.as_mut().expect("app");
        app.image = "app:1".into();
        app.port = 8081;
        c
    }

    #[test]
    fn the_job_runs_the_profile_once_against_the_contributors_app() {
        let job = load_job(&run("r1", Some(0.5)), &contributor(), &settings()).expect("builds");
        assert_eq!(job.metadata.name.as_deref(), Some("load-r1"));
        assert_eq!(job.metadata.namespace.as_deref(), Some("sre-chaos"));
        let spec = job.spec.as_ref().expect("spec");
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.ttl_seconds_after_finished, Some(600));
        // 160 s squeezed to 80, plus the metric edges and 5 minutes of slack.
        assert_eq!(spec.active_deadline_seconds, Some(80 + 50 + 300));
        let pod = spec.template.spec.as_ref().expect("pod");
        let args = pod.containers[0].args.clone().expect("args");
        assert_eq!(&args[..2], ["profile", "graceful-degradation"]);
        let target = args.iter().position(|a| a == "--target").expect("target");
        assert_eq!(args[target + 1], "http://app.contributor-ada.svc:8081");
        assert!(args.contains(&"--duration-scale".to_owned()) && args.contains(&"0.5".to_owned()));
        let labels = spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .expect("labels");
        assert_eq!(labels[labels::RUN_ID], "run-uid-1");
        assert_eq!(labels[labels::ROLE], "load");
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(
            job.metadata
                .owner_references
                .as_ref()
                .map(|o| o[0].kind.as_str()),
            Some("ChallengeRun")
        );
    }

    #[test]
    fn the_job_checks_answers_with_the_corpus_key_not_the_admin_token() {
        let job = load_job(&run("r1", None), &contributor(), &settings()).expect("builds");
        let pod = job.spec.and_then(|s| s.template.spec).expect("pod");
        let env = pod.containers[0].env.clone().expect("env");
        let key = env
            .iter()
            .find(|e| e.name == "LOADGEN_CORPUS_KEY_HEX")
            .and_then(|e| e.value.clone())
            .expect("the key");
        assert_eq!(
            chaos_domain::corpus::CorpusKey::from_hex(&key),
            Some(chaos_domain::corpus::CorpusKey::from_secret(
                "0123456789abcdef0123"
            ))
        );
        let spec = serde_json::to_string(&pod).expect("json");
        assert!(
            !spec.contains("0123456789abcdef0123"),
            "no admin token in the Job"
        );
    }

    #[test]
    fn the_job_asks_for_the_configured_resources() {
        let job = load_job(&run("r1", None), &contributor(), &settings()).expect("builds");
        let pod = job.spec.and_then(|s| s.template.spec).expect("pod");
        let resources = pod.containers[0].resources.clone().expect("resources");
        let requests = resources.requests.expect("requests");
        assert_eq!(requests["cpu"].0, "300m");
        assert!(resources.limits.is_none());
    }

    #[test]
    fn long_names_fit_a_label() {
        let name = "r".repeat(80);
        assert_eq!(job_name(&run(&name, None)).len(), 63);
    }
}
