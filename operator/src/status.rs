//! Status writes shared by both controllers: server-side apply of the
//! status subresource, on the condition that the object is still the
//! version the decision was made from.
//!
//! A reconcile may start from a cached object that is older than the
//! cluster (a watch event not yet delivered). A forced apply without a
//! resourceVersion then overwrote a newer status: a run written back to
//! Queued after it was Running, a key Secret's name dropped. With the
//! resourceVersion in the patch the API server refuses such a write with
//! 409, and the next pass starts from the newer object.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde_json::json;

use crate::apply::Scoped;
use crate::context::Context;
use crate::error::Error;
use crate::labels::MANAGER;

/// How soon a pass whose status write lost the race looks again.
pub const AFTER_STALE: Duration = Duration::from_millis(500);

/// Writes `status` unless it equals `old`. `Err(Error::Stale)` when the
/// object changed since it was read.
pub async fn write<K, S>(ctx: &Context, obj: &K, old: &S, status: &S) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::Scope: Scoped,
    S: Serialize + PartialEq,
{
    if old == status {
        return Ok(());
    }
    let api: Api<K> = K::Scope::api(ctx.client.clone(), obj.meta().namespace.as_deref());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch(obj, status)),
    )
    .await
    .map(|_| ())
    .map_err(|e| match e {
        kube::Error::Api(s) if s.code == 409 => Error::Stale(obj.name_any()),
        other => Error::Kube(other),
    })
}

/// The apply body: the status, and the resourceVersion it was decided from.
pub fn patch<K, S>(obj: &K, status: &S) -> serde_json::Value
where
    K: Resource<DynamicType = ()>,
    S: Serialize,
{
    let mut body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    if let Some(rv) = obj.meta().resource_version.as_deref() {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::ChallengeRunStatus;

    #[test]
    fn the_patch_carries_the_version_it_was_decided_from() {
        let mut r = crate::fixtures::run("r1");
        r.metadata.resource_version = None;
        let s = ChallengeRunStatus::default();
        assert!(patch(&r, &s).get("metadata").is_none());
        r.metadata.resource_version = Some("41".into());
        let p = patch(&r, &s);
        assert_eq!(p["metadata"]["resourceVersion"], "41");
        assert_eq!(p["kind"], "ChallengeRun");
    }
}
