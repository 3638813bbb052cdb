//! Runs: register (idempotent), start, end, score (admin or operator
//! token only), and read (public).

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chaos_domain::ChallengeProfile;
use chaos_domain::scoring::{RULES_VERSION, Rules};

use chaos_contract as contract;

use super::wire;
use crate::contributors::store as contributors;
use crate::db::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::http::{
    ApiPath, ApiQuery, Body, OptionalBody, PageRange, Paging, RunPath, challenge_query,
};
use crate::openapi::Describe;
use crate::runs::store::{self as runs, NewRun, Run, Selector, Source, State as RunState};
use crate::scores::store as scores;
use crate::state::AppState;

/// A profile is never stretched beyond its length (a longer window would
/// only add idle time) ...
const MAX_DURATION_SCALE: f64 = 1.0;
/// ... and its rates at most this far up.
const MAX_RATE_SCALE: f64 = 4.0;

fn scale_field(field: &str, v: Option<f64>, max: f64) -> Result<f64, ApiError> {
    match v {
        None => Ok(1.0),
        Some(x) if x.is_finite() && x > 0.0 && x <= max => Ok(x),
        Some(x) => Err(ApiError::unprocessable(format!(
            "{field} must be above 0 and at most {max} (got {x})"
        ))),
    }
}

fn validate_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "id must be 1 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

fn validate_selector(field: &str, s: &Selector) -> Result<(), ApiError> {
    if s.len() > 10 {
        return Err(ApiError::unprocessable(format!(
            "{field} has more than 10 labels"
        )));
    }
    for (k, v) in s {
        let name_ok = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.len() <= 64
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return Err(ApiError::unprocessable(format!(
                "{field}: {k:?} is not a Prometheus label name"
            )));
        }
        if v.chars().count() > 256 {
            return Err(ApiError::unprocessable(format!(
                "{field}: the value of {k} is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

fn validate_metrics_url(field: &str, u: &str) -> Result<(), ApiError> {
    let ok = (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() <= 2048
        && reqwest::Url::parse(u).is_ok();
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!(
            "{field} must be an http(s) URL"
        )))
    }
}

/// A run as the API answers it, with its score and links.
pub async fn run_json(state: &AppState, run: &Run) -> ApiResult<contract::Run> {
    let score = scores::for_run(&state.db, &run.id).await?;
    wire::run(state, run, score)
}

/// `POST /api/v1/runs` (admin): the same id twice is one run.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Body<contract::NewRun>, ApiError>,
) -> ApiResult<(StatusCode, Json<contract::Run>)> {
    state.admin.check(&headers)?;
    let Body(r) = body?;
    let id =
        r.id.clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    validate_id(&id)?;
    let challenge = r.challenge;
    let current = ChallengeProfile::current(challenge).version;
    let profile_version = r.profile_version.unwrap_or(i64::from(current));
    if u32::try_from(profile_version)
        .ok()
        .and_then(|v| ChallengeProfile::version(challenge, v))
        .is_none()
    {
        return Err(ApiError::unprocessable(format!(
            "profile_version: {challenge} has no profile version {profile_version} (the current one is {current})"
        )));
    }
    let duration_scale = scale_field("duration_scale", r.duration_scale, MAX_DURATION_SCALE)?;
    let rate_scale = scale_field("rate_scale", r.rate_scale, MAX_RATE_SCALE)?;
    if r.target.trim().is_empty() || r.target.chars().count() > 512 {
        return Err(ApiError::unprocessable(
            "target must be 1 to 512 characters",
        ));
    }
    let source = r.source.unwrap_or(if state.scoring.has_prometheus() {
        Source::Prometheus
    } else {
        Source::Builtin
    });
    let loadgen_selector = r.loadgen_selector.clone().unwrap_or_default();
    let anvil_selector = r.anvil_selector.clone().unwrap_or_default();
    validate_selector("loadgen_selector", &loadgen_selector)?;
    validate_selector("anvil_selector", &anvil_selector)?;
    match source {
        Source::Prometheus if !state.scoring.has_prometheus() => {
            return Err(ApiError::unprocessable(
                "source prometheus: this server has no --prometheus-url; use source builtin",
            ));
        }
        Source::Builtin => {
            let (Some(l), Some(a)) = (&r.loadgen_metrics_url, &r.anvil_metrics_url) else {
                return Err(ApiError::unprocessable(
                    "source builtin needs loadgen_metrics_url and anvil_metrics_url",
                ));
            };
            validate_metrics_url("loadgen_metrics_url", l)?;
            validate_metrics_url("anvil_metrics_url", a)?;
        }
        Source::Prometheus => {}
    }
    let contributor = contributors::by_name(&state.db, &r.contributor)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "contributor: no contributor named {:?}",
                r.contributor
            ))
        })?;
    if contributor.deregistered {
        return Err(ApiError::conflict(format!(
            "contributor {:?} is deregistered",
            r.contributor
        )));
    }
    let new = NewRun {
        id: &id,
        contributor_id: &contributor.id,
        challenge: challenge.as_str(),
        profile_version,
        duration_scale,
        rate_scale,
        target: &r.target,
        source,
        loadgen_selector: &loadgen_selector,
        anvil_selector: &anvil_selector,
        loadgen_metrics_url: r.loadgen_metrics_url.as_deref(),
        anvil_metrics_url: r.anvil_metrics_url.as_deref(),
    };
    let inserted = runs::insert(&state.db, &new).await?;
    let run = runs::get(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run vanished"))?;
    if !inserted && (run.contributor_id != contributor.id || run.challenge != challenge.as_str()) {
        return Err(ApiError::conflict(format!(
            "run {id:?} exists for another contributor or challenge"
        )));
    }
    let status = if inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(run_json(&state, &run).await?)))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(RunPath { id }): ApiPath<RunPath>,
) -> ApiResult<Json<contract::Run>> {
    let run = runs::get(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id:?}")))?;
    Ok(Json(run_json(&state, &run).await?))
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::RunQuery>,
) -> ApiResult<Json<contract::RunList>> {
    let (limit, offset, page) = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    // An empty filter is no filter (`?challenge=` from a form left blank).
    let challenge = q
        .challenge
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| challenge_query("challenge", c))
        .transpose()?;
    let contributor_id = match q.contributor.as_ref().filter(|c| !c.is_empty()) {
        Some(name) => match contributors::by_name(&state.db, name).await? {
            Some(c) => Some(c.id),
            None => {
                return Err(ApiError::not_found(format!(
                    "no contributor named {name:?}"
                )));
            }
        },
        None => None,
    };
    let found = runs::list(
        &state.db,
        contributor_id.as_deref(),
        challenge.map(|c| c.as_str()),
        limit,
        offset,
    )
    .await?;
    // Every run's score in one query, without the evidence (each run's
    // own document has it).
    let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
    let mut found_scores = scores::for_runs(&state.db, &ids).await?;
    let runs = found
        .iter()
        .map(|r| wire::run(&state, r, found_scores.remove(&r.id)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(contract::RunList {
        page,
        per_page: limit,
        runs,
    }))
}

/// A window edge's time, and whether the client gave it (`at`) or it is now.
fn edge_time(body: &OptionalBody<contract::WindowEdge>) -> ApiResult<(i64, bool)> {
    let edge = body.read("{\"at\": \"<RFC 3339>\"}")?;
    let now = now_ms();
    let Some(at) = edge.at else {
        return Ok((now, false));
    };
    let t = at
        .parse::<jiff::Timestamp>()
        .map_err(|e| ApiError::unprocessable(format!("at: {at:?} is not an RFC 3339 time: {e}")))?;
    let ms = t.as_millisecond();
    if ms > now + MAX_AHEAD_MS || ms < now - MAX_BEHIND_MS {
        // A well-formed time that conflicts with the server's clock.
        return Err(ApiError::conflict(format!(
            "at: {at} is too far from the server's clock ({}): a window edge may be at most {} s ahead and {} h behind",
            crate::db::rfc3339(now),
            MAX_AHEAD_MS / 1000,
            MAX_BEHIND_MS / 3_600_000
        )));
    }
    Ok((ms, true))
}

/// How far a window edge may be from the server's clock: clocks drift a
/// little; a run is closed within its length plus grace, far below a day.
const MAX_AHEAD_MS: i64 = 60_000;
const MAX_BEHIND_MS: i64 = 24 * 3_600_000;

/// What moving a window edge needs: the admin, the run, the time.
async fn edge_request(
    state: &AppState,
    headers: &HeaderMap,
    id: String,
    body: &OptionalBody<contract::WindowEdge>,
) -> ApiResult<(String, (i64, bool), Run)> {
    state.admin.check(headers)?;
    let at = edge_time(body)?;
    let run = load(state, &id).await?;
    Ok((id, at, run))
}

async fn load(state: &AppState, id: &str) -> ApiResult<Run> {
    runs::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id:?}")))
}

/// `POST /api/v1/runs/{id}/start` (admin): the window opens.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(RunPath { id }): ApiPath<RunPath>,
    body: OptionalBody<contract::WindowEdge>,
) -> ApiResult<Json<contract::Run>> {
    let (id, (at, _), run) = edge_request(&state, &headers, id, &body).await?;
    if run.state == RunState::Running {
        return Ok(Json(run_json(&state, &run).await?));
    }
    if !runs::transition(
        &state.db,
        &id,
        &[RunState::Registered],
        RunState::Running,
        Some(at),
        None,
        None,
    )
    .await?
    {
        return Err(ApiError::conflict(format!(
            "run {id:?} is {}; only a registered run can start",
            run.state.as_str()
        )));
    }
    if run.source == Source::Builtin
        && let (Some(l), Some(a)) = (
            run.loadgen_metrics_url.clone(),
            run.anvil_metrics_url.clone(),
        )
    {
        state.scoring.scraper.start(&id, l, a);
    }
    Ok(Json(run_json(&state, &load(&state, &id).await?).await?))
}

/// `POST /api/v1/runs/{id}/end` (admin): the window closes.
pub async fn end(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(RunPath { id }): ApiPath<RunPath>,
    body: OptionalBody<contract::WindowEdge>,
) -> ApiResult<Json<contract::Run>> {
    let (id, (at, given), run) = edge_request(&state, &headers, id, &body).await?;
    if run.state != RunState::Running {
        if run.window_end_ms.is_some() && run.state != RunState::Interrupted {
            return Ok(Json(run_json(&state, &run).await?));
        }
        return Err(ApiError::conflict(format!(
            "run {id:?} is {}; only a running run can end",
            run.state.as_str()
        )));
    }
    // "Now" within the start's millisecond is the next one; only a time the
    // client gave can contradict the start.
    let at = match run.window_start_ms {
        Some(start) if !given && at <= start => start + 1,
        _ => at,
    };
    if let Some(start) = run.window_start_ms.filter(|s| at <= *s) {
        return Err(ApiError::conflict(format!(
            "at: the window must end after it starts ({})",
            crate::db::rfc3339(start)
        )));
    }
    // The scraper stores its last samples before the window closes; if it
    // cannot, the run stays running and the client may end it again.
    if let Err(e) = state.scoring.scraper.stop(&id).await {
        return Err(ApiError::unavailable(format!(
            "run {id:?} is still running: {e}; end it again"
        )));
    }
    runs::transition(
        &state.db,
        &id,
        &[RunState::Running],
        RunState::Ended,
        None,
        Some(at),
        None,
    )
    .await?;
    Ok(Json(run_json(&state, &load(&state, &id).await?).await?))
}

/// `POST /api/v1/runs/{id}/score` (admin): queue the run for scoring.
/// Scoring a scored run again adds a record (after a rules fix, say);
/// `{"rules_version": N}` scores it under those rules (the current ones
/// by default). Only records under the current rules rank.
pub async fn score(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(RunPath { id }): ApiPath<RunPath>,
    body: OptionalBody<contract::ScoreRequest>,
) -> ApiResult<(StatusCode, Json<contract::Run>)> {
    state.admin.check(&headers)?;
    let body = body.read("{\"rules_version\": 2}")?;
    let rules = match body.rules_version {
        None => None,
        Some(v) => match u32::try_from(v).ok().and_then(Rules::from_version) {
            Some(r) => Some(i64::from(r.version())),
            None => {
                return Err(ApiError::unprocessable(format!(
                    "rules_version: there are no rules version {v} (the versions are 1 to {RULES_VERSION}, the current one)"
                )));
            }
        },
    };
    let run = load(&state, &id).await?;
    if run.state == RunState::Scoring {
        return Ok((StatusCode::ACCEPTED, Json(run_json(&state, &run).await?)));
    }
    let from = [
        RunState::Ended,
        RunState::Scored,
        RunState::NoData,
        RunState::Failed,
    ];
    let settle = match run.source {
        Source::Prometheus => state.scoring.settle.as_millis() as i64,
        Source::Builtin => 0,
    };
    let due = run.window_end_ms.map(|e| e + settle).unwrap_or_else(now_ms);
    if !runs::queue_scoring(&state.db, &id, &from, due, rules).await? {
        return Err(ApiError::conflict(format!(
            "run {id:?} is {}; end it before scoring",
            run.state.as_str()
        )));
    }
    state.scoring.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(run_json(&state, &load(&state, &id).await?).await?),
    ))
}

/// `POST /api/v1/runs/{id}/interrupt` (admin): the client abandons the
/// run (Ctrl-C, a failure). It is never scored and never ranks; its
/// window and any samples are kept. Interrupting it again is a no-op.
pub async fn interrupt(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(RunPath { id }): ApiPath<RunPath>,
    body: OptionalBody<contract::Interrupt>,
) -> ApiResult<Json<contract::Run>> {
    state.admin.check(&headers)?;
    let body = body.read("{\"reason\": \"...\"}")?;
    let reason = body
        .reason
        .unwrap_or_else(|| "interrupted by its client".into());
    if reason.trim().is_empty()
        || reason.chars().count() > 500
        || reason.chars().any(char::is_control)
    {
        return Err(ApiError::unprocessable(
            "reason must be 1 to 500 printable characters",
        ));
    }
    let run = load(&state, &id).await?;
    if run.state == RunState::Interrupted {
        return Ok(Json(run_json(&state, &run).await?));
    }
    if run.source == Source::Builtin {
        // Whatever it took so far stays stored, for the run page.
        let _ = state.scoring.scraper.stop(&id).await;
    }
    if !runs::interrupt(&state.db, &id, &reason).await? {
        return Err(ApiError::conflict(format!(
            "run {id:?} is {}; only a registered or running run can be interrupted",
            run.state.as_str()
        )));
    }
    state.cache.invalidate();
    Ok(Json(run_json(&state, &load(&state, &id).await?).await?))
}

// What each route says of itself in the OpenAPI document, beyond what its
// extractors and answer type say.

const EDGE_CONFLICT: &str = "Conflicts with the current state: the run is not in a state that \
    allows it, the end is not after the start, or the time is more than 60 s ahead of or 24 h \
    behind the server's clock";

pub fn create_docs(op: TransformOperation) -> TransformOperation {
    op.id("createRun")
        .summary("Register a run (admin); the same id twice is one run")
        .admin()
        .answers::<contract::Run>(201, "Created")
        .answers::<contract::Run>(200, "Already registered")
        .fails(404, "No contributor of that name")
        .fails(409, "Conflicts with the current state")
}

pub fn list_docs(op: TransformOperation) -> TransformOperation {
    op.id("listRuns")
        .summary("List runs, newest first")
        .ok("OK")
        .fails(404, "No contributor of that name")
}

pub fn get_docs(op: TransformOperation) -> TransformOperation {
    op.id("getRun")
        .summary("Get a run with its score and evidence")
        .ok("OK")
        .fails(404, "Not found")
}

pub fn start_docs(op: TransformOperation) -> TransformOperation {
    op.id("startRun")
        .summary("Open the run's window (admin)")
        .admin()
        .ok("OK")
        .fails(404, "Not found")
        .fails(409, EDGE_CONFLICT)
}

pub fn end_docs(op: TransformOperation) -> TransformOperation {
    op.id("endRun")
        .summary("Close the run's window (admin)")
        .admin()
        .ok("OK")
        .fails(404, "Not found")
        .fails(409, EDGE_CONFLICT)
        .fails(
            503,
            "The built-in scraper could not store its last samples; the run is still running, end it again",
        )
}

pub fn score_docs(op: TransformOperation) -> TransformOperation {
    op.id("scoreRun")
        .summary("Queue the run for scoring, again if it was scored (admin)")
        .description(
            "Each scoring adds a score record; the old ones stay. `rules_version` scores under \
             earlier rules (labelled, never ranked).",
        )
        .admin()
        .answers::<contract::Run>(202, "Queued")
        .fails(404, "Not found")
        .fails(409, "Conflicts with the current state")
}

pub fn interrupt_docs(op: TransformOperation) -> TransformOperation {
    op.id("interruptRun")
        .summary("Abandon a registered or running run: closed as interrupted, never scored (admin)")
        .admin()
        .ok("OK")
        .fails(404, "Not found")
        .fails(409, "Conflicts with the current state")
}
