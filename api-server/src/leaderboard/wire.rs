//! Board entries as the contract's types (`chaos-contract`).

use chaos_contract as contract;

use crate::leaderboard::store::{EarlierRules, Entry};

pub fn entry(e: Entry) -> contract::Entry {
    contract::Entry {
        rank: e.rank,
        contributor: e.contributor,
        display_name: e.display_name,
        deregistered: e.deregistered,
        stat1: e.stat1,
        stat2: e.stat2,
        stat3: e.stat3,
        score: e.score,
        run_id: e.run_id,
        run_end: e.run_end,
        scored_at: e.scored_at,
        rules_version: e.rules_version,
    }
}

pub fn earlier(e: EarlierRules) -> contract::EarlierRulesEntry {
    contract::EarlierRulesEntry {
        contributor: e.contributor,
        display_name: e.display_name,
        deregistered: e.deregistered,
        stat1: e.stat1,
        stat2: e.stat2,
        stat3: e.stat3,
        score: e.score,
        run_id: e.run_id,
        run_end: e.run_end,
        rules_version: e.rules_version,
    }
}
