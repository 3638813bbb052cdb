//! The API server's contract: the JSON its endpoints accept and answer,
//! with real enums for states, outcomes and sources. The server
//! serializes these types, its client (`chaos-client`, used by chaosctl
//! and the operator) reads them, and the OpenAPI document's schemas are
//! generated from them (feature `schema`), so a field is added in one
//! place.
//!
//! Responses ignore unknown fields when read, so a newer server can add
//! fields without breaking an older client; requests refuse them, so a
//! misspelt field is an error rather than silently dropped.

pub mod contributors;
pub mod imports;
pub mod leaderboard;
pub mod runs;
pub mod scores;
mod wire;

pub use chaos_domain::Challenge;
pub use contributors::{Contributor, ContributorList, Registered};
pub use imports::{EarlierKey, ImportLine, ImportOutcome, ImportReport};
pub use leaderboard::{EarlierRulesEntry, Entry, Leaderboard};
pub use runs::{NewRun, Run, RunLinks, RunList, RunState, Selector, Source, Window};
pub use scores::{Outcome, Score, Statistic};
pub use wire::no_null;
