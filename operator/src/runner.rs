//! Wiring: the two controllers, their watches and predicates, leader
//! election, and shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, WatchStreamExt, predicates, watcher};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::crd::{ChallengeRun, Contributor};
use crate::{contributor, run};

/// Runs both controllers until `stop` is cancelled.
pub async fn controllers(ctx: Arc<Context>, platform_namespace: &str, stop: CancellationToken) {
    let client: Client = ctx.client.clone();

    // Only spec changes (a new generation) start a reconcile of the
    // resource itself: the operator's own status writes do not loop.
    let (contributors, writer) = reflector::store();
    let contributor_stream = watcher(
        Api::<Contributor>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(writer)
    .applied_objects()
    .predicate_filter(predicates::generation, Default::default());
    let contributor_ctl = Controller::for_stream(contributor_stream, contributors)
        // Readiness of the two Deployments moves the Contributor's phase.
        // Not `owns`: the owner is cluster-scoped and its children are
        // namespaced, and `owns` would look the owner up in the child's
        // namespace. The contributor label names it instead.
        .watches(
            Api::<Deployment>::all(client.clone()),
            watcher::Config::default().labels(crate::labels::CONTRIBUTOR),
            |d: Deployment| {
                d.labels()
                    .get(crate::labels::CONTRIBUTOR)
                    .map(|name| ObjectRef::<Contributor>::new(name))
            },
        )
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(
            contributor::reconcile,
            contributor::error_policy,
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "contributor controller");
            }
        });

    let runs_api = Api::<ChallengeRun>::namespaced(client.clone(), platform_namespace);
    let (runs, writer) = reflector::store();
    let run_stream = watcher(runs_api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    let store = runs.clone();
    let run_ctl = Controller::for_stream(run_stream, runs)
        .owns(
            Api::<Job>::namespaced(client.clone(), platform_namespace),
            watcher::Config::default().labels(crate::labels::RUN_ID),
        )
        // A Contributor's change (Ready, deleted) concerns the runs naming it.
        .watches(
            Api::<Contributor>::all(client.clone()),
            watcher::Config::default(),
            move |c: Contributor| {
                let name = kube::ResourceExt::name_any(&c);
                store
                    .state()
                    .into_iter()
                    .filter(|r| r.spec.contributor == name)
                    .map(|r| ObjectRef::from(r.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(run::reconcile, run::error_policy, ctx.clone())
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "challengerun controller");
            }
        });

    ctx.metrics.ready.store(true, Ordering::Relaxed);
    tokio::join!(contributor_ctl, run_ctl);
    ctx.metrics.ready.store(false, Ordering::Relaxed);
}
