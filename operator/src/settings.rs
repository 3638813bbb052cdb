//! The platform's settings for what the controllers make, read once at
//! start (`Config`). A leaf: the pure `desired` builders and the shared
//! `Context` both read these, and neither depends on the other for them.

use std::time::Duration;

use k8s_openapi::api::core::v1::ResourceRequirements;

/// The platform's side of a contributor's objects.
#[derive(Debug, Clone)]
pub struct Settings {
    pub platform_namespace: String,
    pub anvil_image: String,
    pub anvil_admin_token: String,
    /// url-anvil's container resources, the same for every contributor
    /// (`--anvil-resources`).
    pub anvil_resources: ResourceRequirements,
    /// What every contributor's components may use in all, the same for
    /// everyone (`--budget-*`).
    pub budget: crate::contributor::topology::Budget,
}

/// How ChallengeRuns are carried out.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub loadgen_image: String,
    /// The load Job's container resources (`--loadgen-resources`).
    pub loadgen_resources: ResourceRequirements,
    pub max_concurrent: u32,
    pub job_ttl: Duration,
    /// How long the load Job's pod may stay unschedulable.
    pub unschedulable_after: Duration,
    /// The key behind url-anvil's run corpora (derived from url-anvil's
    /// admin token, which is url-anvil's default), so the load Job checks
    /// every answer without holding the admin token itself.
    pub corpus_key: chaos_domain::corpus::CorpusKey,
}
