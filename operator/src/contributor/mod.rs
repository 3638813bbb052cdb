//! The Contributor controller: applies the desired objects, registers the
//! contributor with the API server, follows readiness, and on delete
//! deregisters and removes what it made (scores stay on the server).

mod children;
pub mod desired;
pub mod topology;

use chaos_domain::Challenge;
use std::sync::Arc;
use std::time::Duration;

use chaos_domain::contributor::{NAME_RULE, is_valid_name};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event, finalizer};

use crate::apply::apply_one;
use crate::conditions;
use crate::context::Context;
use crate::crd::{ComponentStatus, Contributor, ContributorPhase, ContributorStatus};
use crate::error::Error;
use crate::events::publish;
use desired::{API_KEY_SECRET, Desired, namespace_name};

pub const FINALIZER: &str = "srechaos.dev/cleanup";
pub const CONTROLLER: &str = "contributor";

pub async fn reconcile(c: Arc<Contributor>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.start(CONTROLLER);
    let api: Api<Contributor> = Api::all(ctx.client.clone());
    let result = finalizer(&api, FINALIZER, c, |event| async {
        match event {
            Event::Apply(c) => apply(&c, &ctx).await,
            Event::Cleanup(c) => cleanup(&c, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    timer.done();
    result
}

pub fn error_policy(c: Arc<Contributor>, error: &Error, ctx: Arc<Context>) -> Action {
    if error.is_stale() {
        tracing::debug!(contributor = %c.name_any(), "changed under this pass; looking again");
        return Action::requeue(crate::status::AFTER_STALE);
    }
    ctx.metrics.failed(CONTROLLER);
    let wait = ctx.backoff(&format!("contributor/{}", c.name_any()));
    tracing::warn!(contributor = %c.name_any(), %error, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

async fn apply(c: &Contributor, ctx: &Context) -> Result<Action, Error> {
    let name = c.name_any();
    let generation = c.metadata.generation;
    let now = conditions::now();
    let old = c.status.clone().unwrap_or_default();
    let mut status = old.clone();

    if !is_valid_name(&name) {
        status.phase = Some(ContributorPhase::Failed);
        conditions::set(
            &mut status.conditions,
            "Ready",
            false,
            "InvalidName",
            format!("{name:?} is not a contributor name: use {NAME_RULE}"),
            generation,
            now,
        );
        crate::status::write(ctx, c, &old, &status).await?;
        return Ok(Action::await_change());
    }

    let ns = namespace_name(&name);
    // A spec that cannot be built, or is over the budget, is refused
    // whole: nothing of it is applied, what runs keeps running.
    let topology =
        topology::read(&c.spec).and_then(|t| topology::within(&t, ctx.settings.budget).map(|()| t));
    let topology = match topology {
        Ok(t) => {
            conditions::set(
                &mut status.conditions,
                "Refused",
                false,
                "Accepted",
                format!(
                    "{} component(s), within the budget",
                    c.spec.components.as_ref().map_or(1, Vec::len)
                ),
                generation,
                now.clone(),
            );
            t
        }
        Err(refusal) => {
            if status.phase.is_none() {
                status.phase = Some(ContributorPhase::Failed);
            }
            conditions::set(
                &mut status.conditions,
                "Refused",
                true,
                "Refused",
                refusal.to_string(),
                generation,
                now,
            );
            if old
                .conditions
                .iter()
                .all(|o| o.type_ != "Refused" || o.message != refusal.0)
            {
                publish(ctx, c, EventType::Warning, "Refused", &refusal.0).await;
            }
            crate::status::write(ctx, c, &old, &status).await?;
            return Ok(Action::await_change());
        }
    };
    let want: Desired = desired::desired(c, &topology, &ctx.settings)?;
    let digest = want.digest();
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let recorded = status.applied_digest.as_deref() == Some(digest.as_str())
        && status.observed_generation == generation;
    let unapplied = !(recorded || ctx.has_applied(&name, &digest));
    // A Contributor never applied whose spec never changed has nothing to
    // prune (all it ever got came from this one spec), and its Deployments
    // are made by this very pass, so none can be available yet: neither is
    // read, which spares a thousand new Contributors seven thousand reads.
    let fresh = unapplied && old.applied_digest.is_none() && generation == Some(1);
    // A spec never applied is applied whatever the Deployments are: they
    // are read once, after (not at all when the Contributor is new).
    let (mut anvil, mut parts) = if unapplied {
        (None, vec![None; topology.components.len()])
    } else {
        deployments_now(&deployments, &topology).await?
    };
    let mut stale = unapplied || anvil.is_none() || parts.iter().any(Option::is_none);
    // Checked on a schedule too: a child deleted or changed by hand (its
    // NetworkPolicy, its ResourceQuota) is restored. The check reads; it
    // writes only when something differs from what this process applied
    // (after a restart it has no record, and applies once).
    if !stale && ctx.resync_due(&name) {
        let unchanged = match ctx.applied_children(&name) {
            Some(before) => children::current(ctx, &want).await? == before,
            None => false,
        };
        if unchanged {
            ctx.resynced(&name);
        } else {
            stale = true;
        }
    }
    if stale {
        let children = children::apply_all(ctx, &want).await?;
        if !fresh {
            let pruned = children::prune(ctx, &ns, &want).await?;
            if pruned > 0 {
                tracing::info!(contributor = %name, pruned, "removed the objects the spec no longer makes");
            }
        }
        ctx.applied(&name, &digest, children);
        ctx.metrics.applied(CONTROLLER);
        if !fresh {
            (anvil, parts) = deployments_now(&deployments, &topology).await?;
        }
        status.applied_digest = Some(digest);
        status.observed_generation = generation;
        conditions::set(
            &mut status.conditions,
            "Applied",
            true,
            "Applied",
            format!("namespace {ns} and its objects are applied"),
            generation,
            now.clone(),
        );
    }
    status.namespace = Some(ns.clone());
    status.endpoint = Some(desired::endpoint(
        &name,
        &topology.entry_component,
        topology.entry_port,
    ));
    status.components = topology
        .components
        .iter()
        .zip(&parts)
        .map(|(part, d)| ComponentStatus {
            name: part.name.clone(),
            replicas: part.replicas,
            ready_replicas: ready_replicas(d.as_ref()),
        })
        .collect();
    status.ready = Some(format!(
        "{}/{}",
        status
            .components
            .iter()
            .map(|c| c.ready_replicas)
            .sum::<i32>(),
        status.components.iter().map(|c| c.replicas).sum::<i32>()
    ));

    let mut retry = None;
    if let Err(wait) = register(c, ctx, &mut status, now.clone()).await? {
        retry = Some(wait);
    }

    let anvil_up = available(anvil.as_ref());
    let app_up = parts.iter().all(|d| available(d.as_ref()));
    // A contributor the API server refused (its name is someone else's
    // account) can never be Ready: a run of it would score for that account.
    let refused = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Registered" && c.status == "False")
        .filter(|c| matches!(c.reason.as_str(), "NameTaken" | "Refused"))
        .map(|c| (c.reason.clone(), c.message.clone()));
    let (phase, reason, message) = match (anvil_up, app_up) {
        _ if refused.is_some() => {
            let (reason, message) = refused.unwrap_or_default();
            (
                ContributorPhase::Failed,
                if reason == "NameTaken" {
                    "NameTaken"
                } else {
                    "RegistrationRefused"
                },
                message,
            )
        }
        (true, true) => (
            ContributorPhase::Ready,
            "Available",
            "url-anvil and every component are available".to_owned(),
        ),
        _ => {
            let down: Vec<&str> = topology
                .components
                .iter()
                .zip(&parts)
                .filter(|(_, d)| !available(d.as_ref()))
                .map(|(p, _)| p.name.as_str())
                .collect();
            let waiting = match (anvil_up, down.is_empty()) {
                (false, true) => "url-anvil".to_owned(),
                (false, false) => format!("url-anvil and {}", down.join(", ")),
                _ => down.join(", "),
            };
            let phase = if status.ready_since.is_some() {
                ContributorPhase::Degraded
            } else {
                ContributorPhase::Pending
            };
            (
                phase,
                "Unavailable",
                format!("waiting for {waiting} to become available"),
            )
        }
    };
    if phase == ContributorPhase::Ready && status.ready_since.is_none() {
        status.ready_since = Some(now.clone());
    }
    if status.phase != Some(phase) && old.phase.is_some() {
        publish(ctx, c, EventType::Normal, &format!("{phase:?}"), &message).await;
    }
    status.phase = Some(phase);
    conditions::set(
        &mut status.conditions,
        "Ready",
        phase == ContributorPhase::Ready,
        reason,
        message,
        generation,
        now,
    );
    crate::status::write(ctx, c, &old, &status).await?;
    ctx.succeeded(&format!("contributor/{name}"));
    // Deployment changes wake the controller up; besides, one pass per
    // resync period re-applies the children.
    Ok(match retry {
        Some(wait) => Action::requeue(wait),
        None => Action::requeue(ctx.resync_period(&name)),
    })
}

/// url-anvil's Deployment and each component's, as the cluster has them,
/// read together.
async fn deployments_now(
    api: &Api<Deployment>,
    topology: &topology::Topology,
) -> Result<(Option<Deployment>, Vec<Option<Deployment>>), Error> {
    Ok(tokio::try_join!(
        api.get_opt(desired::ANVIL),
        futures::future::try_join_all(topology.components.iter().map(|p| api.get_opt(&p.name))),
    )?)
}

/// Registers the contributor (once) and keeps their active challenge in
/// step with the spec. `Ok(Err(wait))`: the API server could not be
/// reached; the rest of the reconcile goes on and this is retried.
async fn register(
    c: &Contributor,
    ctx: &Context,
    status: &mut ContributorStatus,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Result<Result<(), Duration>, Error> {
    let name = c.name_any();
    let generation = c.metadata.generation;
    let challenge = c.spec.challenge;
    let set =
        |status: &mut ContributorStatus, type_: &str, ok: bool, reason: &str, message: String| {
            conditions::set(
                &mut status.conditions,
                type_,
                ok,
                reason,
                message,
                generation,
                now.clone(),
            );
        };
    let mark = |status: &mut ContributorStatus, ok: bool, reason: &str, message: String| {
        set(status, "Registered", ok, reason, message);
    };
    // Whether the account competes in the spec's challenge: apart from
    // Registered, which stays True for an account that exists.
    let switched = |status: &mut ContributorStatus, ok: bool, reason: &str, message: String| {
        set(status, "ChallengeSwitched", ok, reason, message);
    };
    let display_name = c.spec.display_name.clone().unwrap_or_else(|| name.clone());
    if status.registered_challenge.is_none() {
        let display = c.spec.display_name.as_deref();
        let registered = match ctx
            .platform
            .register_contributor(&name, display, Some(challenge))
            .await
        {
            // Registered before: by an earlier pass whose status was lost, by
            // a Contributor of the same name deleted since, or by hand. A key
            // the operator holds is kept; otherwise it gets one, never
            // leaving the contributor without a key it can use.
            Err(e) if e.status() == Some(409) => recover_key(ctx, &name, challenge)
                .await
                .map(|key| (key, false)),
            other => other.map(|reg| (Some(reg), true)),
        };
        match registered {
            Ok((new_key, fresh)) => {
                // `None`: the key the operator holds still works.
                if let Some(reg) = &new_key {
                    let secret = desired::api_key_secret(c, &reg.api_key)?;
                    apply_one(ctx, &secret).await?;
                }
                status.api_key_secret = Some(API_KEY_SECRET.into());
                status.registered_challenge = Some(challenge);
                // A recovered account may show an older name: set on the next pass.
                status.registered_display_name = fresh.then(|| display_name.clone());
                mark(
                    status,
                    true,
                    "Registered",
                    format!("registered with the API server; API key in Secret {API_KEY_SECRET}"),
                );
                switched(
                    status,
                    true,
                    "Switched",
                    format!("competing in {challenge}"),
                );
                if new_key.is_some() {
                    publish(
                        ctx,
                        c,
                        EventType::Normal,
                        "Registered",
                        "registered with the API server",
                    )
                    .await;
                }
            }
            Err(e) if e.is_transient() => {
                mark(status, false, "ApiServerUnavailable", e.to_string());
                return Ok(Err(ctx.backoff(&format!("register/{name}"))));
            }
            Err(e) => {
                // 409 here: the name is an account this operator did not
                // register (by hand, an import, another manager). It is
                // never re-keyed or reactivated for this Contributor.
                let (reason, message) = if e.status() == Some(409) {
                    (
                        "NameTaken",
                        format!(
                            "the API server already has a contributor named {name:?} that this operator did not register, so it is not taken over: {e}"
                        ),
                    )
                } else {
                    ("Refused", e.to_string())
                };
                mark(status, false, reason, message.clone());
                publish(ctx, c, EventType::Warning, "RegistrationRefused", &message).await;
            }
        }
        ctx.succeeded(&format!("register/{name}"));
        return Ok(Ok(()));
    }
    if status.registered_display_name.as_deref() != Some(display_name.as_str()) {
        match ctx.platform.set_display_name(&name, &display_name).await {
            Ok(_) => status.registered_display_name = Some(display_name),
            Err(e) if e.is_transient() => {
                return Ok(Err(ctx.backoff(&format!("register/{name}"))));
            }
            Err(e) => {
                mark(status, false, "DisplayNameRefused", e.to_string());
                return Ok(Ok(()));
            }
        }
    }
    if status.registered_challenge != Some(challenge) {
        let Some(key) = api_key(ctx, &name).await? else {
            switched(status, false, "NoApiKey", "the operator does not hold this contributor's API key, so it cannot switch the challenge".into());
            return Ok(Ok(()));
        };
        match ctx.platform.switch_challenge(&name, &key, challenge).await {
            Ok(_) => {
                status.registered_challenge = Some(challenge);
                switched(
                    status,
                    true,
                    "Switched",
                    format!("competing in {challenge}"),
                );
            }
            Err(e) if e.is_transient() => {
                switched(status, false, "ApiServerUnavailable", e.to_string());
                return Ok(Err(ctx.backoff(&format!("register/{name}"))));
            }
            Err(e) => {
                switched(status, false, "SwitchRefused", e.to_string());
            }
        }
    }
    // Everything asked of the API server was answered: a later outage
    // starts its backoff afresh.
    ctx.succeeded(&format!("register/{name}"));
    Ok(Ok(()))
}

/// A contributor the API server knows already: `None` when the key the
/// operator holds still works; otherwise a new key, by reactivating a
/// deregistered contributor (a Contributor deleted and created again) or
/// by rotating an active one's key (its key was lost).
async fn recover_key(
    ctx: &Context,
    name: &str,
    challenge: Challenge,
) -> Result<Option<chaos_client::Registered>, chaos_client::Error> {
    // Switching to the spec's challenge with the held key proves it works.
    if let Ok(Some(key)) = api_key(ctx, name).await {
        match ctx.platform.switch_challenge(name, &key, challenge).await {
            Ok(_) => return Ok(None),
            Err(e) if matches!(e.status(), Some(401 | 403 | 404)) => {}
            Err(e) => return Err(e),
        }
    }
    let reg = match ctx.platform.reactivate_contributor(name).await {
        Ok(reg) => reg,
        // Active: its key is what was lost.
        Err(e) if e.status() == Some(409) => ctx.platform.rotate_contributor_key(name).await?,
        Err(e) => return Err(e),
    };
    // A reactivated contributor competes in what the spec says now.
    ctx.platform
        .switch_challenge(name, &reg.api_key, challenge)
        .await?;
    Ok(Some(reg))
}

async fn api_key(ctx: &Context, name: &str) -> Result<Option<String>, Error> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace_name(name));
    let Some(secret) = secrets.get_opt(API_KEY_SECRET).await? else {
        return Ok(None);
    };
    Ok(secret
        .data
        .and_then(|d| d.get("api-key").cloned())
        .and_then(|b| String::from_utf8(b.0).ok()))
}

async fn cleanup(c: &Contributor, ctx: &Context) -> Result<Action, Error> {
    let name = c.name_any();
    ctx.forget(&name);
    // Deregistering first: should it fail, the namespace is still there
    // and the finalizer stays until the API server answers.
    match ctx.platform.deregister_contributor(&name).await {
        Ok(()) => {}
        // Not this operator's account (a Contributor refused as NameTaken):
        // its owner keeps it.
        Err(e) if e.status() == Some(409) => {
            tracing::info!(contributor = %name, "not deregistered: the account is not this operator's");
        }
        Err(e) => return Err(e.into()),
    }
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    match namespaces
        .delete(&namespace_name(&name), &DeleteParams::background())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    publish(
        ctx,
        c,
        EventType::Normal,
        "Deleted",
        "deregistered; its namespace is being removed (scores stay)",
    )
    .await;
    Ok(Action::await_change())
}

fn ready_replicas(d: Option<&Deployment>) -> i32 {
    d.and_then(|d| d.status.as_ref())
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

fn available(d: Option<&Deployment>) -> bool {
    d.and_then(|d| d.status.as_ref())
        .and_then(|s| s.available_replicas)
        .is_some_and(|n| n >= 1)
}
