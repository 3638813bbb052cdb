//! Label keys the operator sets and selects on. Prometheus's relabelling
//! (the Helm chart) turns `srechaos.dev/contributor` and
//! `srechaos.dev/run-id` into the `contributor` and `run_id` labels the
//! API server's selectors use.

use serde_json::{Value, json};

pub const CONTRIBUTOR: &str = "srechaos.dev/contributor";
pub const RUN_ID: &str = "srechaos.dev/run-id";
pub const ROLE: &str = "srechaos.dev/role";
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// On every pod of a contributor's own components (not url-anvil): the
/// network policies let these talk to each other.
pub const TIER: &str = "srechaos.dev/tier";
pub const CONTRIBUTOR_TIER: &str = "contributor";
pub const NAME: &str = "app.kubernetes.io/name";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The operator's name wherever it signs its work: the managed-by label,
/// the field manager of its server-side applies, its name as the API
/// server's account manager.
pub const MANAGER: &str = "chaos-operator";

/// What a platform pod is for; network policies admit pods by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Load,
    Prometheus,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Load => "load",
            Role::Prometheus => "prometheus",
            Role::Operator => "operator",
        }
    }
}

/// The labels on everything made for one contributor.
pub fn base(contributor: &str) -> Value {
    json!({ MANAGED_BY: MANAGER, CONTRIBUTOR: contributor })
}
