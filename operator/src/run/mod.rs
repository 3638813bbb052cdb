//! The ChallengeRun controller: Pending → Queued → Running → Scoring →
//! Succeeded | Failed. Every phase has a deadline, so a run never hangs;
//! every transition is a condition and an Event.

pub mod desired;
mod effects;
mod phase;
pub mod queue;
pub mod schedule;
mod turn;
mod verdict;

use std::sync::Arc;
use std::time::Duration;

use chaos_domain::ChallengeProfile;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};

use crate::apply::apply_one;
use crate::conditions;
use crate::context::Context;
use crate::crd::{ChallengeRun, ChallengeRunStatus, Contributor, RunPhase};
use crate::error::Error;
use crate::events::{publish, publish_as};
use effects::{delete_job, inject, load_pod, stop};
use phase::{
    Limits, LoadJob, Next, PENDING_LIMIT, UnderLoad, age, pending, platform_trouble, under_load,
    waiting,
};

pub const CONTROLLER: &str = "challengerun";

/// Held by every ChallengeRun until its window on the API server is
/// closed: deleting a run under load interrupts it there (never scored,
/// never left `running`) and stops its Job.
pub const FINALIZER: &str = "srechaos.dev/run-window";

pub async fn reconcile(run: Arc<ChallengeRun>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.start(CONTROLLER);
    let api: Api<ChallengeRun> =
        Api::namespaced(ctx.client.clone(), &run.namespace().unwrap_or_default());
    let key = key(&run);
    let result = finalizer(&api, FINALIZER, run, |event| async {
        match event {
            FinalizerEvent::Apply(r) => step(&r, &ctx).await,
            FinalizerEvent::Cleanup(r) => cleanup(&r, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    timer.done();
    if result.is_ok() {
        ctx.succeeded(&key);
    }
    result
}

/// A deleted run: its Job goes, and a window still open on the API server
/// is closed as interrupted. Should the API server not answer, the
/// finalizer stays and the deletion is retried.
async fn cleanup(run: &ChallengeRun, ctx: &Context) -> Result<Action, Error> {
    let s = run.status.clone().unwrap_or_default();
    let phase = s.phase.unwrap_or(RunPhase::Pending);
    if !matches!(phase, RunPhase::Queued | RunPhase::Running) {
        // Pending: nothing was registered. Scoring or finished: the
        // window is closed and the score is the API server's to keep.
        return Ok(Action::await_change());
    }
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &run.namespace().unwrap_or_default());
    delete_job(
        &jobs,
        &s.job_name.clone().unwrap_or_else(|| desired::job_name(run)),
    )
    .await?;
    let run_id = s
        .run_id
        .clone()
        .unwrap_or_else(|| run.uid().unwrap_or_default());
    match ctx
        .platform
        .interrupt_run(&run_id, "its ChallengeRun was deleted")
        .await
    {
        Ok(_) => {
            publish(
                ctx,
                run,
                EventType::Normal,
                "Interrupted",
                "deleted during the run; its window was closed as interrupted",
            )
            .await;
        }
        // Never registered (404), or already ended (409): nothing to close.
        Err(e) if matches!(e.status(), Some(404 | 409)) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.succeeded(&platform_key(run));
    Ok(Action::await_change())
}

pub fn error_policy(run: Arc<ChallengeRun>, error: &Error, ctx: Arc<Context>) -> Action {
    if error.is_stale() {
        tracing::debug!(run = %run.name_any(), "changed under this pass; looking again");
        return Action::requeue(crate::status::AFTER_STALE);
    }
    ctx.metrics.failed(CONTROLLER);
    let wait = ctx.backoff(&key(&run));
    tracing::warn!(run = %run.name_any(), %error, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

fn key(run: &ChallengeRun) -> String {
    format!(
        "run/{}/{}",
        run.namespace().unwrap_or_default(),
        run.name_any()
    )
}

async fn step(run: &ChallengeRun, ctx: &Context) -> Result<Action, Error> {
    let old = run.status.clone().unwrap_or_default();
    let phase = old.phase.unwrap_or(RunPhase::Pending);
    if phase.is_finished() {
        return Ok(Action::await_change());
    }
    let contributors: Api<Contributor> = Api::all(ctx.client.clone());
    let contributor = contributors.get_opt(&run.spec.contributor).await?;
    let next = match phase {
        RunPhase::Pending => pending(run, &old, contributor.as_ref(), conditions::now()),
        RunPhase::Queued => queued(run, ctx, &old, contributor.as_ref()).await?,
        RunPhase::Running => running(run, ctx, &old, contributor.as_ref()).await?,
        RunPhase::Scoring => scoring(run, ctx, &old).await?,
        RunPhase::Succeeded | RunPhase::Failed => return Ok(Action::await_change()),
    };
    if next.status.phase != old.phase {
        let new = next.status.phase.unwrap_or(RunPhase::Pending);
        let failed = new == RunPhase::Failed;
        publish(
            ctx,
            run,
            if failed {
                EventType::Warning
            } else {
                EventType::Normal
            },
            &format!("{new:?}"),
            next.status.message.as_deref().unwrap_or(""),
        )
        .await;
    }
    let mut next = next;
    let unavailable = next
        .status
        .conditions
        .iter()
        .any(|c| c.type_ == "ApiServerAvailable" && c.status == "False");
    if unavailable && !next.platform_down {
        conditions::set(
            &mut next.status.conditions,
            "ApiServerAvailable",
            true,
            "Available",
            "the API server answered again",
            run.metadata.generation,
            conditions::now(),
        );
    }
    if !next.platform_down {
        // The API server answered (or was not needed): an outage later
        // starts its backoff afresh.
        ctx.succeeded(&platform_key(run));
    }
    crate::status::write(ctx, run, &old, &next.status).await?;
    Ok(next.again.action(|| ctx.backoff(&platform_key(run))))
}

fn platform_key(run: &ChallengeRun) -> String {
    format!("{}/platform", key(run))
}

/// Decide (the contributor, the turn), act (register, create the Job),
/// record (Running). Registering again after a lost status finds the same
/// run (its id is the uid) and the Job is applied, never created twice.
async fn queued(
    run: &ChallengeRun,
    ctx: &Context,
    old: &ChallengeRunStatus,
    c: Option<&Contributor>,
) -> Result<Next, Error> {
    let now = conditions::now();
    let contributor = match turn::contributor(run, old, c, now.clone()) {
        Ok(c) => c,
        Err(failed) => return Ok(*failed),
    };
    // Waiting is decided from the controller's cache (no request); the
    // turn itself is confirmed with a fresh list, since the cache may not
    // yet show a run that has just started.
    let ns = run.namespace().unwrap_or_default();
    if let Some(cache) = ctx.runs_cache.get() {
        let cached: Vec<queue::Entry> = cache
            .state()
            .iter()
            .filter(|r| r.namespace().as_deref() == Some(ns.as_str()))
            .map(|r| queue::Entry::of(r))
            .collect();
        if let Err(position) = queue::turn(&run.name_any(), &cached, ctx.runs.max_concurrent) {
            return Ok(waiting(old.clone(), position));
        }
    }
    let runs: Api<ChallengeRun> = Api::namespaced(ctx.client.clone(), &ns);
    let all: Vec<queue::Entry> = runs
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(queue::Entry::of)
        .collect();
    if let Err(position) = queue::turn(&run.name_any(), &all, ctx.runs.max_concurrent) {
        return Ok(waiting(old.clone(), position));
    }
    // Its turn: the API server learns of the run before any load is sent.
    let registration = turn::registration(run, contributor);
    if let Err(e) = ctx.platform.register_run(&registration).await {
        let give_up = age(run) > PENDING_LIMIT;
        return Ok(platform_trouble(run, old.clone(), &e, give_up, now));
    }
    let job = desired::load_job(run, contributor, &ctx.runs)?;
    apply_one(ctx, &job).await?;
    let run_id = registration.id.unwrap_or_default();
    let job_name = job.metadata.name.unwrap_or_default();
    Ok(turn::job_created(run, old, &run_id, &job_name, now))
}

async fn running(
    run: &ChallengeRun,
    ctx: &Context,
    old: &ChallengeRunStatus,
    c: Option<&Contributor>,
) -> Result<Next, Error> {
    let mut s = old.clone();
    let now = conditions::now();
    let ns = run.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let job_name = s.job_name.clone().unwrap_or_else(|| desired::job_name(run));
    let run_id = s
        .run_id
        .clone()
        .unwrap_or_else(|| run.uid().unwrap_or_default());

    let contributor_gone = c.is_none_or(|c| c.meta().deletion_timestamp.is_some());
    let job = jobs
        .get_opt(&job_name)
        .await?
        .map(|j| LoadJob::of(&j, &now));
    // The pod matters only while the Job runs.
    let pod = match &job {
        Some(j) if !contributor_gone && !j.failed && j.completed.is_none() => {
            Some(load_pod(ctx, &ns, &job_name).await?)
        }
        _ => None,
    };
    let scale = run.spec.scale();
    let profile = ChallengeProfile::current(run.spec.challenge).scaled(scale, 1.0);
    let limits = Limits {
        profile_length: Duration::from_secs_f64(profile.duration_s()),
        unschedulable: ctx.runs.unschedulable_after,
    };
    let (start, elapsed) = match under_load(
        contributor_gone,
        job.as_ref(),
        pod.as_ref(),
        s.started_at.as_ref(),
        limits,
        &now,
    ) {
        UnderLoad::Stop {
            reason,
            message,
            delete_job,
        } => {
            let job = delete_job.then_some((&jobs, job_name.as_str()));
            return stop(ctx, run, s, &run_id, job, reason, &message, now).await;
        }
        UnderLoad::Finished { end } => return finished(run, ctx, s, &run_id, end, now).await,
        UnderLoad::NotStarted { message, recheck } => {
            if message.is_some() {
                s.message = message;
            }
            return Ok(Next::after(s, recheck));
        }
        UnderLoad::Loading { start, elapsed } => (start, elapsed),
    };
    if s.started_at.is_none() {
        // The load has started: its window opens at that moment. Recorded
        // only once the API server has it, so a failed attempt is retried.
        let at = start.0.to_string();
        if let Err(e) = ctx.platform.start_run(&run_id, Some(&at)).await {
            if e.is_transient() {
                return Ok(platform_trouble(run, s, &e, false, now));
            }
            let message = format!("the API server would not open the run's window: {e}");
            let job = Some((&jobs, job_name.as_str()));
            return stop(ctx, run, s, &run_id, job, "ApiServerRefused", &message, now).await;
        }
        s.started_at = Some(start);
        s.message = Some(format!("under load ({} s)", profile.duration_s().round()));
    }
    let applied = s.chaos_applied.unwrap_or(0) as usize;
    let due = schedule::due(&profile.chaos, elapsed, applied);
    let wait = |applied: usize| {
        schedule::next_in(&profile.chaos, elapsed, applied)
            .unwrap_or(Duration::from_secs(15))
            .clamp(Duration::from_millis(500), Duration::from_secs(15))
    };
    if due.is_empty() {
        return Ok(Next::after(s, wait(applied)));
    }
    // Claim, then act: the steps are recorded as applied, on the condition
    // that the run is still the version this pass read, before any is
    // carried out. A pass that loses that write (a newer status, a new
    // leader, a replayed event) injects nothing, so a crash is never
    // injected twice (a second one would kill url-anvil's replacement).
    s.chaos_applied = Some(due.end as u32);
    crate::status::write(ctx, run, old, &s).await?;
    for i in due.clone() {
        let detail = inject(ctx, &run.spec.contributor, &profile.chaos[i]).await;
        // An action per step: Events that share reason and action are
        // folded into one series that keeps only the first note, and each
        // step's note says what was done.
        let action = format!("ChaosStep{}", i + 1);
        publish_as(ctx, run, EventType::Normal, "Chaos", &action, &detail).await;
    }
    // The status is written: the next pass starts from it (returning the
    // old status makes this pass write nothing more).
    Ok(Next::after(old.clone(), wait(due.end)))
}

/// The load finished at `end`: the window closes there and scoring is
/// asked for.
async fn finished(
    run: &ChallengeRun,
    ctx: &Context,
    s: ChallengeRunStatus,
    run_id: &str,
    end: Time,
    now: Time,
) -> Result<Next, Error> {
    let at = end.0.to_string();
    let ended = ctx.platform.end_run(run_id, Some(&at)).await.map(drop);
    if let Some(next) = verdict::window_closed(run, &s, ended.as_ref().copied(), now.clone()) {
        return Ok(next);
    }
    let asked = ctx.platform.score_run(run_id).await.map(drop);
    Ok(verdict::scoring_asked(
        run,
        &s,
        asked.as_ref().copied(),
        end,
        now,
    ))
}

async fn scoring(
    run: &ChallengeRun,
    ctx: &Context,
    old: &ChallengeRunStatus,
) -> Result<Next, Error> {
    let run_id = old
        .run_id
        .clone()
        .unwrap_or_else(|| run.uid().unwrap_or_default());
    let remote = ctx.platform.run(&run_id).await;
    Ok(verdict::scored(
        run,
        old,
        remote.as_ref(),
        conditions::now(),
    ))
}
