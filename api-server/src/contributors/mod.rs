//! Contributors: registration and API keys, lookup, challenge switch,
//! deregistration and reactivation, the import of the earlier platform's
//! contributors, and a contributor's page.

pub mod api;
pub mod import;
pub mod page;
pub mod store;
pub mod wire;
