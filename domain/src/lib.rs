//! The shared vocabulary of SRE Chaos Challenge.
//!
//! Every binary of the platform (url-anvil, loadgen, the API server, the
//! operator, chaosctl) speaks in these types, so that a challenge name, a
//! capacity profile or a fault means the same thing everywhere. The crate
//! holds data and pure functions only: no I/O, no async.

pub mod capacity;
pub mod challenge;
pub mod contributor;
pub mod corpus;
pub mod duration;
pub mod fault;
pub mod profile;
pub mod run_clock;
pub mod scoring;
pub mod token;
pub mod topology;

pub use capacity::CapacityProfile;
pub use challenge::{Challenge, UnknownChallenge};
pub use fault::{FaultKind, FaultSpec, FaultSpecError};
pub use profile::{ChallengeProfile, ChaosStep, RateStage};
