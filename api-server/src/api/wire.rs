//! Stored rows as the contract's types (`chaos-contract`), the only shape
//! the JSON API answers in. A stored value that does not read back (an
//! unknown challenge or outcome) is an error naming the record and the
//! field, never a default.

use chaos_contract as contract;
use chaos_domain::Challenge;
use chaos_domain::scoring::Rules;

use crate::app::AppState;
use crate::db::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::store::contributors::Contributor;
use crate::store::runs::Run;
use crate::store::scores::{EarlierRules, Entry, Score};

fn corrupt(what: &str, field: &str, value: &str) -> ApiError {
    sqlx::Error::Decode(format!("{what}: {field} is corrupt: {value:?}").into()).into()
}

fn challenge(what: &str, field: &str, value: &str) -> ApiResult<Challenge> {
    value.parse().map_err(|_| corrupt(what, field, value))
}

pub fn run(state: &AppState, run: &Run, score: Option<Score>) -> ApiResult<contract::Run> {
    let what = format!("run {}", run.id);
    Ok(contract::Run {
        id: run.id.clone(),
        contributor: run.contributor.clone(),
        challenge: challenge(&what, "challenge", &run.challenge)?,
        profile_version: run.profile_version,
        duration_scale: run.duration_scale,
        rate_scale: run.rate_scale,
        target: run.target.clone(),
        source: run.source,
        loadgen_selector: run.loadgen_selector.clone(),
        anvil_selector: run.anvil_selector.clone(),
        loadgen_metrics_url: run.loadgen_metrics_url.clone(),
        anvil_metrics_url: run.anvil_metrics_url.clone(),
        state: run.state,
        attempts: run.attempts,
        last_error: run.last_error.clone(),
        window: contract::Window {
            start: run.window_start_ms.map(rfc3339),
            end: run.window_end_ms.map(rfc3339),
        },
        created_at: rfc3339(run.created_ms),
        score: score.map(self::score).transpose()?,
        links: contract::RunLinks {
            this: format!("{}/api/v1/runs/{}", state.public_url, run.id),
            page: format!("{}/runs/{}", state.public_url, run.id),
            leaderboard: format!("{}/leaderboard/{}", state.public_url, run.challenge),
        },
    })
}

pub fn score(s: Score) -> ApiResult<contract::Score> {
    let what = format!("score record {}", s.id);
    let challenge = challenge(&what, "challenge", &s.challenge)?;
    let rules = u32::try_from(s.rules_version)
        .ok()
        .and_then(Rules::from_version)
        .ok_or_else(|| corrupt(&what, "rules_version", &s.rules_version.to_string()))?;
    let outcome = contract::Outcome::parse(&s.outcome)
        .ok_or_else(|| corrupt(&what, "outcome", &s.outcome))?;
    let statistics = rules
        .statistic_names(challenge)
        .iter()
        .zip([s.stat1, s.stat2, s.stat3])
        .map(|(name, value)| contract::Statistic {
            name: (*name).to_owned(),
            value,
        })
        .collect();
    Ok(contract::Score {
        id: s.id,
        run_id: s.run_id,
        challenge,
        rules_version: s.rules_version,
        outcome,
        reason: s.reason,
        stat1: s.stat1,
        stat2: s.stat2,
        stat3: s.stat3,
        statistics,
        score: s.score,
        official: s.official,
        practice_reasons: s.practice_reasons,
        run_end: s.run_end,
        scored_at: s.scored_at,
        evidence: s.evidence,
    })
}

pub fn contributor(c: Contributor) -> ApiResult<contract::Contributor> {
    let active_challenge = c
        .active_challenge
        .as_deref()
        .map(|a| challenge(&format!("contributor {}", c.name), "active_challenge", a))
        .transpose()?;
    Ok(contract::Contributor {
        name: c.name,
        display_name: c.display_name,
        active_challenge,
        created_at: c.created_at,
        deregistered: c.deregistered,
    })
}

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
