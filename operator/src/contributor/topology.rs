//! A Contributor's infrastructure, read by the rules of
//! `chaos_domain::topology` (the same chaosctl renders a compose file by).

pub use chaos_domain::topology::{Budget, Component, Refusal, Topology, Usage, within};

use crate::crd::ContributorSpec;

/// The spec read into one shape, or every reason it cannot be built.
pub fn read(spec: &ContributorSpec) -> Result<Topology, Refusal> {
    chaos_domain::topology::read(chaos_domain::topology::Spec {
        app: spec.app.as_ref(),
        components: spec.components.as_deref(),
        entry: spec.entry.as_ref(),
    })
}
