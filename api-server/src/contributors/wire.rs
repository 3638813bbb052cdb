//! A contributor as the contract's type (`chaos-contract`).

use chaos_contract as contract;

use crate::contributors::store::Contributor;
use crate::error::{ApiError, ApiResult};

pub fn contributor(c: Contributor) -> ApiResult<contract::Contributor> {
    let active_challenge = c
        .active_challenge
        .as_deref()
        .map(|a| {
            ApiError::stored_challenge(&format!("contributor {}", c.name), "active_challenge", a)
        })
        .transpose()?;
    Ok(contract::Contributor {
        name: c.name,
        display_name: c.display_name,
        active_challenge,
        created_at: c.created_at,
        deregistered: c.deregistered,
    })
}
