//! chaos-operator: the Kubernetes side of SRE Chaos Challenge. A
//! `Contributor` becomes a namespace with the platform's url-anvil and the
//! contributor's app; a `ChallengeRun` becomes a queued, scored run with
//! its load Job and chaos schedule.

pub mod apply;
pub mod conditions;
pub mod config;
pub mod context;
pub mod contributor;
pub mod crd;
pub mod crdgen;
pub mod error;
pub mod events;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod labels;
pub mod leader;
pub mod run;
pub mod runner;
pub mod settings;
pub mod status;
pub mod telemetry;

pub use config::Config;
pub use error::Error;
