//! The custom resources: `Contributor` (cluster-scoped: it owns a
//! namespace) and `ChallengeRun` (namespaced, in the platform's namespace).
//! Every field's doc comment is what `kubectl explain` shows.

use chaos_domain::Challenge;
use chaos_domain::contributor::{NAME_MAX_LEN, NAME_PATTERN};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "srechaos.dev";
pub const VERSION: &str = "v1alpha1";

/// The contributor-name rule of the domain crate, as a CEL rule on a
/// Contributor's name (it becomes a namespace and a leaderboard entry).
fn contributor_name_rule() -> kube::core::Rule {
    kube::core::Rule::new(format!(
        "self.metadata.name.size() <= {NAME_MAX_LEN} && self.metadata.name.matches('{NAME_PATTERN}')"
    ))
    .message(kube::core::Message::Message(format!(
        "the name must be {} (a GitHub user name)",
        chaos_domain::contributor::NAME_RULE
    )))
}

/// A competitor. The operator gives them a namespace `contributor-<name>`
/// with the platform's url-anvil, runs their app in front of it, and
/// registers them with the API server.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "srechaos.dev",
    version = "v1alpha1",
    kind = "Contributor",
    doc = "A competitor of SRE Chaos Challenge: the operator gives them a namespace with the platform's url-anvil, runs their app in front of it and registers them with the API server.",
    status = "ContributorStatus",
    shortname = "ctb",
    category = "srechaos",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.ready"}"#,
    printcolumn = r#"{"name":"Challenge","type":"string","jsonPath":".spec.challenge"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = contributor_name_rule()
)]
#[serde(rename_all = "camelCase")]
pub struct ContributorSpec {
    /// The name shown on the leaderboard (the resource's name when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub display_name: Option<String>,
    /// The challenge the contributor competes in: robust-service, graceful-degradation or longest-upkeep. Changing it switches the contributor's active challenge on the API server.
    pub challenge: Challenge,
    /// A single app in front of url-anvil: the shorthand for one component named `app`, whose `http` port receives the load. Give either `app` or `components`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSpec>,
    /// The contributor's infrastructure: 1 to 6 components (a proxy, a cache, a second tier...), each a Deployment with a Service of its name, reachable by that name inside the namespace, as url-anvil is at http://url-anvil:8080. All of them together must fit the platform's per-contributor budget (replicas x cpuMillis, replicas x memoryMib, pods); a spec over budget is refused whole, with the sums in the Refused condition. Give either `app` or `components`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 6))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub components: Option<Vec<ComponentSpec>>,
    /// Which component and port receive the challenge load (with `components`; the first component's first port when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntrySpec>,
}

pub use chaos_domain::topology::{
    AppSpec, ComponentSpec, EntrySpec, EnvSpec, FileSpec, MAX_COMPONENTS, PortSpec, ReadinessSpec,
    ScratchSpec,
};

/// Where a Contributor stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ContributorPhase {
    Pending,
    Ready,
    Degraded,
    Failed,
}

/// What the operator observed and did for a Contributor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContributorStatus {
    /// Pending (being set up), Ready (app and url-anvil available), Degraded (was ready, is not now) or Failed (cannot be set up; see conditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ContributorPhase>,
    /// Ready, Registered and Applied conditions, with reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The app's address inside the cluster, which the challenge load is sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The contributor's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The generation the objects were last applied for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A digest of the applied objects, so unchanged specs are not applied again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_digest: Option<String>,
    /// When the contributor first became Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_since: Option<Time>,
    /// The Secret (in the contributor's namespace) holding their API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
    /// The challenge last set on the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_challenge: Option<Challenge>,
    /// The display name last set on the API server (what the boards show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_display_name: Option<String>,
    /// Each component's replicas, ready and wanted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentStatus>,
    /// Ready replicas over wanted, over every component (the READY column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
}

/// One component as the cluster runs it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// The component's name.
    pub name: String,
    /// Replicas ready to receive traffic.
    pub ready_replicas: i32,
    /// Replicas wanted.
    pub replicas: i32,
}

/// A scored challenge run against a Contributor's app. It waits for the
/// contributor to be Ready, queues first-in first-out behind other runs,
/// drives the challenge's load and chaos, and shows the score.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "srechaos.dev",
    version = "v1alpha1",
    kind = "ChallengeRun",
    namespaced,
    doc = "A scored challenge run against a Contributor's app: it waits for the contributor to be Ready, queues behind other runs, drives the challenge's load profile and chaos schedule, and shows the score.",
    status = "ChallengeRunStatus",
    shortname = "crun",
    category = "srechaos",
    printcolumn = r#"{"name":"Contributor","type":"string","jsonPath":".spec.contributor"}"#,
    printcolumn = r#"{"name":"Challenge","type":"string","jsonPath":".spec.challenge"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Score","type":"number","jsonPath":".status.score"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.message","priority":1}"#,
    validation = kube::core::Rule::new("self.spec == oldSelf.spec").message("a ChallengeRun cannot be changed; create a new one"),
    validation = kube::core::Rule::new("self.spec.challenge != 'longest-upkeep' || !has(self.spec.durationScale) || self.spec.durationScale >= 0.1").message("longest-upkeep cannot be judged below durationScale 0.1 (60 s): its uptime is counted in 10 s slots between url-anvil's kills")
)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRunSpec {
    /// The Contributor whose app is loaded.
    #[schemars(length(min = 1, max = NAME_MAX_LEN), pattern(NAME_PATTERN))]
    pub contributor: String,
    /// The challenge: robust-service, graceful-degradation or longest-upkeep.
    pub challenge: Challenge,
    /// Squeeze the profile (load and chaos) in time, for rehearsals: 0.05 to 1. Official runs leave it unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.05, max = 1.0))]
    pub duration_scale: Option<f64>,
}

impl ChallengeRunSpec {
    /// The profile's time scale, within what the schema admits (an object
    /// written before the schema's bounds is read the same way).
    pub fn scale(&self) -> f64 {
        self.duration_scale.unwrap_or(1.0).clamp(0.05, 1.0)
    }
}

/// Where a ChallengeRun stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RunPhase {
    Pending,
    Queued,
    Running,
    Scoring,
    Succeeded,
    Failed,
}

impl RunPhase {
    pub fn is_finished(self) -> bool {
        matches!(self, RunPhase::Succeeded | RunPhase::Failed)
    }
}

/// What happened to a ChallengeRun, and its result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRunStatus {
    /// Pending (waiting for the contributor), Queued, Running, Scoring, Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RunPhase>,
    /// A condition per phase reached, with reasons (Failed says why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// What is happening now, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The run's id on the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The load Job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// When the run joined the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<Time>,
    /// When the load started: the clock starts only once the contributor is Ready and the run's turn has come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the load ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Time>,
    /// How many steps of the profile's chaos schedule were carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos_applied: Option<u32>,
    /// The names of the challenge's three statistics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 3))]
    pub statistics: Vec<String>,
    /// Statistic 1 (see statistics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat1: Option<f64>,
    /// Statistic 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat2: Option<f64>,
    /// Statistic 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat3: Option<f64>,
    /// The score, as ranked on the leaderboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The run's page, with its evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// The challenge's leaderboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaderboard_url: Option<String>,
}
