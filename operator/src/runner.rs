//! Wiring: the two controllers, their watches and predicates, leader
//! election, and shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::Resource;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, WatchStreamExt, controller, watcher};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::crd::{ChallengeRun, Contributor};
use crate::{contributor, run};

/// Runs both controllers until `stop` is cancelled.
pub async fn controllers(ctx: Arc<Context>, platform_namespace: &str, stop: CancellationToken) {
    let client: Client = ctx.client.clone();

    // Only spec and lifecycle changes start a reconcile of the resource
    // itself: the operator's own status writes do not loop.
    let (contributors, writer) = reflector::store();
    // The cache holds what reconciles read; managedFields are not read and
    // are often the larger part of an object.
    let contributor_stream = watcher(
        Api::<Contributor>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|c: &mut Contributor| c.managed_fields_mut().clear())
    .reflect(writer)
    .applied_objects()
    .predicate_filter(spec_or_lifecycle, Default::default());
    let bounded = controller::Config::default().concurrency(ctx.concurrency);
    let contributor_ctl = Controller::for_stream(contributor_stream, contributors)
        .with_config(bounded.clone())
        // Readiness of the two Deployments moves the Contributor's phase.
        // Not `owns`: the owner is cluster-scoped and its children are
        // namespaced, and `owns` would look the owner up in the child's
        // namespace. The contributor label names it instead.
        // Only their labels are read (the reconcile GETs the Deployments
        // it judges), so a metadata-only watch: a thousand contributors'
        // Deployments are not held or decoded in full.
        .watches_stream(
            watcher(
                Api::<PartialObjectMeta<Deployment>>::all(client.clone()),
                watcher::Config::default().labels(crate::labels::CONTRIBUTOR),
            )
            .default_backoff()
            .touched_objects(),
            |d: PartialObjectMeta<Deployment>| {
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
        .modify(|r: &mut ChallengeRun| r.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(spec_or_lifecycle, Default::default());
    let store = runs.clone();
    let _ = ctx.runs_cache.set(runs.clone());
    let run_ctl = Controller::for_stream(run_stream, runs)
        .with_config(bounded)
        .owns(
            Api::<Job>::namespaced(client.clone(), platform_namespace),
            watcher::Config::default().labels(crate::labels::RUN_ID),
        )
        // A Contributor's change (Ready, deleted) concerns the runs naming it.
        .watches_stream(
            watcher(
                Api::<PartialObjectMeta<Contributor>>::all(client.clone()),
                watcher::Config::default(),
            )
            .default_backoff()
            .touched_objects(),
            move |c: PartialObjectMeta<Contributor>| {
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
    ctx.metrics.set_leading(true);
    tokio::join!(contributor_ctl, run_ctl);
    ctx.metrics.set_leading(false);
    ctx.metrics.ready.store(false, Ordering::Relaxed);
}

/// What a change must touch to start a reconcile: the spec (generation),
/// the finalizers, or the deletion mark. Adding the finalizer changes no
/// generation, and a filter on the generation alone dropped the event
/// that should start the first real pass: a new Contributor got its
/// finalizer and nothing else until something else changed. Status writes
/// touch none of the three, so they still do not loop.
pub fn spec_or_lifecycle<K: Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = obj.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.finalizers.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::contributor;

    #[test]
    fn the_finalizer_and_deletion_pass_the_filter_and_status_does_not() {
        let bare = contributor("ada");
        let mut finalized = bare.clone();
        finalized.metadata.finalizers = Some(vec!["srechaos.dev/cleanup".into()]);
        assert_ne!(
            spec_or_lifecycle(&bare),
            spec_or_lifecycle(&finalized),
            "adding the finalizer must start the next pass"
        );
        let mut deleting = finalized.clone();
        deleting.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        assert_ne!(spec_or_lifecycle(&finalized), spec_or_lifecycle(&deleting));
        let mut new_spec = finalized.clone();
        new_spec.metadata.generation = Some(2);
        assert_ne!(spec_or_lifecycle(&finalized), spec_or_lifecycle(&new_spec));
        let mut with_status = finalized.clone();
        with_status.status = Some(Default::default());
        with_status.metadata.resource_version = Some("42".into());
        assert_eq!(
            spec_or_lifecycle(&finalized),
            spec_or_lifecycle(&with_status),
            "the operator's own status writes do not loop"
        );
    }
}
