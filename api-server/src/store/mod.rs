//! Everything the server reads and writes in its database.

pub mod contributors;
pub mod runs;
pub mod scores;
