//! The API server's contract: the JSON its endpoints accept and answer,
//! with real enums for states, outcomes and sources. The server
//! serializes these types, its client (`chaos-client`, used by chaosctl
//! and the operator) reads them, and the OpenAPI document's schemas are
//! generated from them (feature `schema`), so a field is added in one
//! place.
//!
//! The local tracker's payload (`tracker`) is here too: the earlier
//! platform's wire format, which loadgen sends and the tracker reads.
//!
//! Responses ignore unknown fields when read, so a newer server can add
//! fields without breaking an older client; requests refuse them, so a
//! misspelt field is an error rather than silently dropped.

pub mod contributors;
pub mod imports;
pub mod leaderboard;
pub mod paging;
pub mod runs;
pub mod scores;
pub mod tracker;
mod wire;

pub use chaos_domain::Challenge;
pub use contributors::{
    AsManager, Contributor, ContributorList, LegacySwitch, RegisterContributor, Registered,
    SwitchChallenge, UpdateContributor,
};
pub use imports::{EarlierKey, ImportLine, ImportOutcome, ImportReport};
pub use leaderboard::{EarlierRulesEntry, Entry, Leaderboard};
pub use paging::Paging;
pub use runs::{
    Interrupt, NewRun, Run, RunLinks, RunList, RunQuery, RunState, ScoreRequest, Selector, Source,
    Window, WindowEdge,
};
pub use scores::{Outcome, Score, Statistic};
pub use tracker::{RunDetails, TrackPayload};
pub use wire::no_null;
