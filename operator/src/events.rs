//! Events on the operator's own resources, for `kubectl describe`.

use kube::Resource;
use kube::runtime::events::{Event, EventType};

use crate::context::Context;

/// Longest note sent: the API server refuses an Event whose note is over
/// 1 kB, and a refused Event would be lost rather than shortened.
const NOTE_LIMIT: usize = 1000;

/// An Event from a reconcile pass.
pub async fn publish<K>(ctx: &Context, obj: &K, type_: EventType, reason: &str, note: &str)
where
    K: Resource<DynamicType = ()>,
{
    publish_as(ctx, obj, type_, reason, "Reconcile", note).await;
}

/// An Event with its own action. Events with the same reason and action
/// on one object are folded into a series by the recorder, so steps that
/// must each be seen (a run's chaos steps) name themselves in `action`.
pub async fn publish_as<K>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    action: &str,
    note: &str,
) where
    K: Resource<DynamicType = ()>,
{
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note.chars().take(NOTE_LIMIT).collect()),
        action: action.into(),
        secondary: None,
    };
    // An Event is a courtesy to whoever reads `describe`: losing one must
    // not fail the pass that made it.
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::debug!(error = %e, "event not recorded");
    }
}
