//! What a ChallengeRun pass does to the world: the load pod's state,
//! chaos, stopping a run and its Job. Status writes and Events are
//! shared with the Contributor controller (`status`, `events`).

use chaos_client::anvil::FaultApi;
use chaos_domain::FaultKind;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ListParams};

use super::desired;
use super::phase::{LoadPod, Next, fail};
use crate::context::Context;
use crate::contributor::desired::{ANVIL, anvil_url, namespace_name};
use crate::crd::{ChallengeRun, ChallengeRunStatus};
use crate::error::Error;
use crate::labels;

pub(super) async fn load_pod(ctx: &Context, ns: &str, job: &str) -> Result<LoadPod, Error> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await?;
    // Running, or ran and ended: a container that has finished its profile
    // before the Job says Complete started all the same (a full-length
    // longest-upkeep ends 600 s after its Job, past START_WITHIN).
    let started = list.items.iter().find_map(|p| {
        p.status
            .as_ref()?
            .container_statuses
            .as_ref()?
            .iter()
            .find_map(|c| {
                let state = c.state.as_ref()?;
                match (&state.running, &state.terminated) {
                    (Some(r), _) => r.started_at.clone(),
                    (None, Some(t)) => t.started_at.clone(),
                    (None, None) => None,
                }
            })
    });
    let unschedulable = list.items.iter().find_map(|p| {
        p.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find_map(|c| {
                (c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable"))
                .then(|| {
                    c.message
                        .clone()
                        .unwrap_or_else(|| "no reason given".into())
                })
            })
    });
    Ok(LoadPod {
        started: started.map(|t| {
            let wait = k8s_openapi::jiff::SignedDuration::from_secs(
                desired::METRICS_WAIT.as_secs() as i64,
            );
            Time(t.0.checked_add(wait).unwrap_or(t.0))
        }),
        unschedulable,
    })
}

/// Carries out one chaos step; never fails the run (a fault that could
/// not be injected is reported as such).
pub(super) async fn inject(
    ctx: &Context,
    contributor: &str,
    step: &chaos_domain::ChaosStep,
) -> String {
    let ns = namespace_name(contributor);
    if step.fault.kind == FaultKind::Crash {
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        let selector = format!("{}={ANVIL}", labels::COMPONENT);
        return match pods
            .delete_collection(
                &DeleteParams::default(),
                &ListParams::default().labels(&selector),
            )
            .await
        {
            Ok(_) => format!("at {} s: deleted url-anvil's pod", step.at_s.round()),
            Err(e) => format!(
                "at {} s: could not delete url-anvil's pod: {e}",
                step.at_s.round()
            ),
        };
    }
    let api = FaultApi::new(
        ctx.http.clone(),
        &anvil_url(contributor),
        ctx.settings.anvil_admin_token.as_str(),
    );
    match api.inject(&step.fault).await {
        Ok(()) => format!("at {} s: injected {}", step.at_s.round(), step.fault),
        Err(e) => format!("at {} s: {e}", step.at_s.round()),
    }
}

/// Ends a run that cannot go on: its Job (when given) is deleted so no
/// load outlives it, its window is closed on the API server as
/// interrupted (best effort: the run fails either way), and it is marked
/// Failed.
#[allow(clippy::too_many_arguments)]
pub(super) async fn stop(
    ctx: &Context,
    run: &ChallengeRun,
    s: ChallengeRunStatus,
    run_id: &str,
    job: Option<(&Api<Job>, &str)>,
    reason: &str,
    message: &str,
    now: Time,
) -> Result<Next, Error> {
    if let Some((jobs, name)) = job {
        delete_job(jobs, name).await?;
    }
    // Interrupted, not ended: a run cut short is never scored.
    let _ = ctx.platform.interrupt_run(run_id, message).await;
    Ok(fail(run, s, reason, message, now))
}

pub(super) async fn delete_job(jobs: &Api<Job>, name: &str) -> Result<(), Error> {
    match jobs.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
