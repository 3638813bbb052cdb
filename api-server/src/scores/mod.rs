//! Scores as records: what scoring a run decided, kept with its evidence,
//! and each contributor's best recomputed in the same transaction. Scoring
//! writes here; the leaderboard and the run pages only read.

pub mod store;
