//! Runs: a contributor's challenge window, from registration to score.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::db::{Db, now_ms, rfc3339};

pub use chaos_contract::{RunState as State, Selector, Source};

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: String,
    pub contributor: String,
    pub contributor_id: String,
    pub challenge: String,
    pub profile_version: i64,
    /// The conditions the client declared: below 1, a squeezed practice run.
    pub duration_scale: f64,
    pub rate_scale: f64,
    pub target: String,
    pub source: Source,
    pub loadgen_selector: Selector,
    pub anvil_selector: Selector,
    pub loadgen_metrics_url: Option<String>,
    pub anvil_metrics_url: Option<String>,
    pub state: State,
    pub window_start_ms: Option<i64>,
    pub window_end_ms: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_ms: i64,
    /// The rules version asked for by a request to score again; `None`
    /// means the current rules.
    pub score_rules: Option<i64>,
}

/// What creating a run needs.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub id: &'a str,
    pub contributor_id: &'a str,
    pub challenge: &'a str,
    pub profile_version: i64,
    pub duration_scale: f64,
    pub rate_scale: f64,
    pub target: &'a str,
    pub source: Source,
    pub loadgen_selector: &'a Selector,
    pub anvil_selector: &'a Selector,
    pub loadgen_metrics_url: Option<&'a str>,
    pub anvil_metrics_url: Option<&'a str>,
}

const SELECT: &str = "SELECT r.id, c.name AS contributor, r.contributor_id, r.challenge, r.profile_version,
        r.duration_scale, r.rate_scale, r.target,
        r.source, r.loadgen_selector, r.anvil_selector, r.loadgen_metrics_url, r.anvil_metrics_url, r.state,
        r.window_start, r.window_end, r.attempts, r.last_error, r.created_at, r.score_rules
    FROM runs r JOIN contributors c ON c.id = r.contributor_id";

/// Fails, naming the run and the field, on a stored value that does not
/// read back: a corrupt selector read as empty would match every
/// contributor's series.
fn corrupt(id: &str, field: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("run {id}: {field} is corrupt: {e}").into())
}

fn from_row(row: &AnyRow) -> Result<Run, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let selector = |col: &str| -> Result<Selector, sqlx::Error> {
        let text: String = row.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| corrupt(&id, col, e))
    };
    let source: String = row.try_get("source")?;
    let state: String = row.try_get("state")?;
    Ok(Run {
        contributor: row.try_get("contributor")?,
        contributor_id: row.try_get("contributor_id")?,
        challenge: row.try_get("challenge")?,
        profile_version: row.try_get("profile_version")?,
        duration_scale: row.try_get("duration_scale")?,
        rate_scale: row.try_get("rate_scale")?,
        target: row.try_get("target")?,
        source: Source::parse(&source)
            .ok_or_else(|| corrupt(&id, "source", format!("{source:?} is not a source")))?,
        loadgen_selector: selector("loadgen_selector")?,
        anvil_selector: selector("anvil_selector")?,
        loadgen_metrics_url: row.try_get("loadgen_metrics_url")?,
        anvil_metrics_url: row.try_get("anvil_metrics_url")?,
        state: State::parse(&state)
            .ok_or_else(|| corrupt(&id, "state", format!("{state:?} is not a state")))?,
        window_start_ms: row.try_get("window_start")?,
        window_end_ms: row.try_get("window_end")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        created_ms: row.try_get("created_at")?,
        score_rules: row.try_get("score_rules")?,
        id,
    })
}

impl Run {
    pub fn window(&self) -> serde_json::Value {
        serde_json::json!({
            "start": self.window_start_ms.map(rfc3339),
            "end": self.window_end_ms.map(rfc3339),
        })
    }
}

/// Inserts the run; `Ok(false)` when the id exists already.
pub async fn insert(db: &Db, r: &NewRun<'_>) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO runs (id, contributor_id, challenge, profile_version, target, source, loadgen_selector,
            anvil_selector, loadgen_metrics_url, anvil_metrics_url, state, attempts, created_at, updated_at,
            duration_scale, rate_scale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'registered', 0, $11, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
    )
    .bind(r.id)
    .bind(r.contributor_id)
    .bind(r.challenge)
    .bind(r.profile_version)
    .bind(r.target)
    .bind(r.source.as_str())
    .bind(serde_json::to_string(r.loadgen_selector).unwrap_or_default())
    .bind(serde_json::to_string(r.anvil_selector).unwrap_or_default())
    .bind(r.loadgen_metrics_url)
    .bind(r.anvil_metrics_url)
    .bind(now)
    .bind(r.duration_scale)
    .bind(r.rate_scale)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Run>, sqlx::Error> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(
    db: &Db,
    contributor_id: Option<&str>,
    challenge: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Run>, sqlx::Error> {
    // Only the filters given are in the SQL: `($1 IS NULL OR col = $1)`
    // keeps the planner from using the (contributor|challenge, created_at)
    // indexes.
    let mut filters = Vec::new();
    let mut n = 0;
    let mut mark = || {
        n += 1;
        format!("${n}")
    };
    if contributor_id.is_some() {
        filters.push(format!("r.contributor_id = {}", mark()));
    }
    if challenge.is_some() {
        filters.push(format!("r.challenge = {}", mark()));
    }
    let (limit_mark, offset_mark) = (mark(), mark());
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let sql = format!(
        "{SELECT} {filter} ORDER BY r.created_at DESC, r.id LIMIT {limit_mark} OFFSET {offset_mark}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    if let Some(c) = contributor_id {
        q = q.bind(c);
    }
    if let Some(c) = challenge {
        q = q.bind(c);
    }
    let rows = q.bind(limit).bind(offset).fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}

/// Moves a run from one of `from` to `to`, setting the window edge given.
/// Returns false when the run was in none of `from`.
pub async fn transition(
    db: &Db,
    id: &str,
    from: &[State],
    to: State,
    window_start: Option<i64>,
    window_end: Option<i64>,
    next_attempt_at: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let result = sqlx::query(AssertSqlSafe(format!(
        "UPDATE runs SET state = $1, window_start = COALESCE(CAST($2 AS BIGINT), window_start), window_end = COALESCE(CAST($3 AS BIGINT), window_end),
            next_attempt_at = CAST($4 AS BIGINT), attempts = CASE WHEN $1 = 'scoring' THEN 0 ELSE attempts END,
            last_error = CASE WHEN $1 = 'scoring' THEN NULL ELSE last_error END, updated_at = $5
         WHERE id = $6 AND state IN ({})",
        allowed.join(", ")
    )))
    .bind(to.as_str())
    .bind(window_start)
    .bind(window_end)
    .bind(next_attempt_at)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Queues a run for scoring (again) under `rules` (`None`: the current
/// rules), from one of the `from` states, due at `due`.
pub async fn queue_scoring(
    db: &Db,
    id: &str,
    from: &[State],
    due: i64,
    rules: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let result = sqlx::query(AssertSqlSafe(format!(
        "UPDATE runs SET state = 'scoring', next_attempt_at = $1, attempts = 0, last_error = NULL,
            score_rules = CAST($2 AS BIGINT), updated_at = $3
         WHERE id = $4 AND state IN ({})",
        allowed.join(", ")
    )))
    .bind(due)
    .bind(rules)
    .bind(now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Runs waiting to be scored whose time has come.
pub async fn due_for_scoring(db: &Db, now: i64, limit: i64) -> Result<Vec<Run>, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE r.state = 'scoring' AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $1)
         ORDER BY r.next_attempt_at LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Records a failed scoring attempt and when to try again.
pub async fn retry_later(
    db: &Db,
    id: &str,
    error: &str,
    next_attempt_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE runs SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, updated_at = $3 WHERE id = $4 AND state = 'scoring'")
        .bind(error)
        .bind(next_attempt_at)
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Gives up on a run that cannot be scored.
pub async fn fail(db: &Db, id: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE runs SET state = 'failed', last_error = $1, next_attempt_at = NULL, updated_at = $2 WHERE id = $3")
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Runs whose built-in scraping must go on (after a restart too).
pub async fn running_builtin(db: &Db) -> Result<Vec<Run>, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE r.state = 'running' AND r.source = 'builtin'"
    )))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Appends a batch of the built-in scraper's samples (JSON) to a run's.
pub async fn append_samples(db: &Db, id: &str, samples: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO run_sample_batches (id, run_id, samples) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(id)
        .bind(samples)
        .execute(db)
        .await?;
    Ok(())
}

/// A run's stored sample batches (JSON), oldest first; the one blob runs
/// scraped before batches existed come first.
pub async fn load_samples(db: &Db, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    if let Some(row) = sqlx::query("SELECT samples FROM run_samples WHERE run_id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?
    {
        out.push(row.try_get("samples")?);
    }
    for row in sqlx::query("SELECT samples FROM run_sample_batches WHERE run_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(db)
        .await?
    {
        out.push(row.try_get("samples")?);
    }
    Ok(out)
}

/// Closes a run that was abandoned or not ended in time. Returns false
/// when it was neither registered nor running.
pub async fn interrupt(db: &Db, id: &str, reason: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE runs SET state = 'interrupted', last_error = $1, window_end = COALESCE(window_end, CASE WHEN window_start IS NULL THEN NULL ELSE $2 END),
            next_attempt_at = NULL, updated_at = $2
         WHERE id = $3 AND state IN ('registered', 'running')",
    )
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Runs still registered or running, for the sweep that closes those not
/// ended in time.
pub async fn open_runs(db: &Db) -> Result<Vec<Run>, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE r.state IN ('registered', 'running') ORDER BY r.created_at LIMIT 1000"
    )))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Runs of a challenge registered or running now.
pub async fn count_open(db: &Db, challenge: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM runs WHERE challenge = $1 AND state IN ('registered', 'running')")
        .bind(challenge)
        .fetch_one(db)
        .await?
        .try_get("n")
}

/// Runs by state, for `/metrics`.
pub async fn count_by_state(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM runs GROUP BY state")
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}
