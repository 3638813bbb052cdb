//! Server-side apply under the operator's field manager, for the children
//! both controllers own (a Contributor's namespace and Deployments, a
//! run's Job), with the API picked by the resource's scope.

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;

use crate::context::Context;
use crate::error::Error;
use crate::labels::MANAGER;

/// Applies `obj` as the operator's field manager, taking over fields
/// another manager set (the operator's desired state wins), and returns
/// the object as the server now has it.
pub async fn apply_one<K>(ctx: &Context, obj: &K) -> Result<K, Error>
where
    K: Resource<DynamicType = ()>
        + Clone
        + Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::Scope: Scoped,
{
    let api: Api<K> = K::Scope::api(ctx.client.clone(), obj.meta().namespace.as_deref());
    let name = obj.meta().name.clone().unwrap_or_default();
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(obj),
        )
        .await?)
}

/// Picks `Api::all` or `Api::namespaced` by the resource's scope.
pub trait Scoped {
    fn api<K>(client: kube::Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = Self>;
}

impl Scoped for k8s_openapi::ClusterResourceScope {
    fn api<K>(client: kube::Client, _: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = Self>,
    {
        Api::all(client)
    }
}

impl Scoped for k8s_openapi::NamespaceResourceScope {
    fn api<K>(client: kube::Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = Self>,
    {
        Api::namespaced(client, namespace.unwrap_or("default"))
    }
}
