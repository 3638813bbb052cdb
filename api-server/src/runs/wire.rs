//! Runs and their scores as the contract's types (`chaos-contract`), the
//! only shape the JSON API answers in. A stored value that does not read
//! back is an error naming the record and the field, never a default.

use chaos_contract as contract;
use chaos_domain::scoring::Rules;

use crate::db::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::runs::store::Run;
use crate::scores::store::Score;
use crate::state::AppState;

pub fn run(state: &AppState, run: &Run, score: Option<Score>) -> ApiResult<contract::Run> {
    let what = format!("run {}", run.id);
    Ok(contract::Run {
        id: run.id.clone(),
        contributor: run.contributor.clone(),
        challenge: ApiError::stored_challenge(&what, "challenge", &run.challenge)?,
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
    let challenge = ApiError::stored_challenge(&what, "challenge", &s.challenge)?;
    let rules = u32::try_from(s.rules_version)
        .ok()
        .and_then(Rules::from_version)
        .ok_or_else(|| ApiError::corrupt(&what, "rules_version", &s.rules_version.to_string()))?;
    let outcome = contract::Outcome::parse(&s.outcome)
        .ok_or_else(|| ApiError::corrupt(&what, "outcome", &s.outcome))?;
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
