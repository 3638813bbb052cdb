//! Leader election on a Lease, for running more than one operator replica.
//!
//! kube-lease-manager keeps the Lease; on its own, a standby sleeps until
//! the lease it last saw expires, so a leader that releases the Lease on
//! shutdown still leaves the operator without a leader for up to the lease
//! duration. The standby here also watches the Lease and competes again as
//! soon as it is released, so a rolling update hands over in about a
//! second instead of 15.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::telemetry::Metrics;

pub const LEASE_NAME: &str = "chaos-operator";
const DURATION_SECS: u64 = 15;
const GRACE_SECS: u64 = 5;
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Held while this replica leads; losing the Lease cancels `stop` and
/// `deposed`.
pub struct Leadership {
    follower: JoinHandle<()>,
    manager: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
    deposed: CancellationToken,
}

/// Waits until this replica holds the Lease, or `stop` is cancelled first
/// (then `None`).
pub async fn acquire(
    client: Client,
    namespace: &str,
    identity: &str,
    metrics: &Metrics,
    stop: &CancellationToken,
) -> anyhow::Result<Option<Leadership>> {
    let build = || {
        LeaseManagerBuilder::new(client.clone(), LEASE_NAME)
            .with_namespace(namespace)
            .with_identity(identity)
            .with_duration(DURATION_SECS)
            .with_grace(GRACE_SECS)
            .build()
    };
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let mut updates = watcher(
        leases,
        watcher::Config::default().fields(&format!("metadata.name={LEASE_NAME}")),
    )
    .default_backoff()
    .applied_objects()
    .boxed();
    let mut manager = build().await?;
    tracing::info!("waiting to lead");
    metrics.ready.store(true, Ordering::Relaxed);
    loop {
        let released = async {
            while let Some(update) = updates.next().await {
                match update {
                    Ok(lease) if is_free(&lease) => return,
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "watching the lease"),
                }
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            leading = manager.changed() => {
                if leading? {
                    break;
                }
            }
            () = released => {
                // The manager's view of the Lease is what it read last;
                // a fresh one reads it again and takes it if still free.
                tracing::info!("the lease was released; competing for it");
                manager = build().await?;
            }
            () = stop.cancelled() => return Ok(None),
        }
    }
    tracing::info!("leading");
    let (mut leading, task) = manager.watch().await;
    let lost = stop.clone();
    let deposed = CancellationToken::new();
    let out = deposed.clone();
    let follower = tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = leading.changed() => {
                    if changed.is_err() || !*leading.borrow() {
                        tracing::warn!("lost the lease; stopping");
                        out.cancel();
                        lost.cancel();
                        return;
                    }
                }
                // Shutting down: dropping the receiver lets the manager
                // release the Lease.
                () = lost.cancelled() => return,
            }
        }
    });
    Ok(Some(Leadership {
        follower,
        manager: task,
        deposed,
    }))
}

/// Runs `work` (the controllers) while this replica leads. A shutdown lets
/// it drain its in-flight reconciles, since the Lease is still held; a lost
/// Lease drops it at once, so nothing more is written or injected beside
/// the new leader. True when it was deposed.
pub async fn while_leading(
    work: impl std::future::Future<Output = ()>,
    deposed: &CancellationToken,
) -> bool {
    tokio::select! {
        () = work => false,
        () = deposed.cancelled() => {
            tracing::warn!("deposed: in-flight reconciles are abandoned, not drained");
            true
        }
    }
}

impl Leadership {
    /// Cancelled when the Lease is lost (not on a shutdown).
    pub fn deposed(&self) -> CancellationToken {
        self.deposed.clone()
    }

    /// Gives the Lease back, so that a standby takes over at once rather
    /// than after it expires. Call after `stop` is cancelled.
    pub async fn release(self) {
        let _ = self.follower.await;
        match tokio::time::timeout(RELEASE_WAIT, self.manager).await {
            Ok(Ok(Ok(_))) => tracing::info!("lease released"),
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "releasing the lease"),
            Ok(Err(e)) => tracing::warn!(error = %e, "lease task"),
            Err(_) => tracing::warn!("the lease was not released in time; it expires by itself"),
        }
    }
}

fn is_free(lease: &Lease) -> bool {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lease(spec: serde_json::Value) -> Lease {
        serde_json::from_value(json!({"metadata": {"name": LEASE_NAME}, "spec": spec}))
            .expect("lease")
    }

    #[tokio::test]
    async fn a_deposed_leader_stops_at_once_and_a_stopping_one_drains() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        // A reconcile in flight: it would write after 5 s.
        let wrote = Arc::new(AtomicBool::new(false));
        let in_flight = |wrote: Arc<AtomicBool>| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            wrote.store(true, Ordering::Relaxed);
        };
        let deposed = CancellationToken::new();
        let fired = deposed.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            fired.cancel();
        });
        let started = std::time::Instant::now();
        assert!(while_leading(in_flight(wrote.clone()), &deposed).await);
        assert!(started.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !wrote.load(Ordering::Relaxed),
            "nothing written once deposed"
        );
        // Not deposed: the work runs to its end.
        let quick = Arc::new(AtomicBool::new(false));
        let done = quick.clone();
        let work = async move { done.store(true, Ordering::Relaxed) };
        assert!(!while_leading(work, &CancellationToken::new()).await);
        assert!(quick.load(Ordering::Relaxed));
    }

    #[test]
    fn a_lease_without_a_holder_is_free() {
        assert!(is_free(&lease(json!({}))));
        assert!(is_free(&lease(json!({"holderIdentity": ""}))));
        assert!(!is_free(&lease(json!({"holderIdentity": "replica-a"}))));
    }
}
