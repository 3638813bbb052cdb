//! The tracker's tables: one row per tracked run, written in one
//! statement, so an acknowledged run is a committed run.

use chaos_contract::TrackPayload;
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, now_ms, nullable_f64, rfc3339};

/// A tracked run as the JSON endpoints show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrackedRun {
    pub id: String,
    pub user_id: String,
    pub target: String,
    pub session_id: String,
    pub commit_hash: Option<String>,
    pub challenge_type: String,
    pub test_type: String,
    pub run_at: String,
    #[serde(skip)]
    pub run_at_ms: i64,
    pub total_requests: i64,
    pub successful_requests: i64,
    pub failed_requests: i64,
    pub rps: f64,
    pub error_rate: f64,
    pub avg_latency_ms: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub duration_s: f64,
}

const COLUMNS: &str = "id, user_id, target, session_id, commit_hash, challenge_type, test_type, run_at, total_requests,
    successful_requests, failed_requests, rps, error_rate, avg_latency_ms, p50_ms, p95_ms, p99_ms, duration_s";

fn from_row(r: &AnyRow) -> Result<TrackedRun, sqlx::Error> {
    let run_at_ms: i64 = r.try_get("run_at")?;
    Ok(TrackedRun {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        target: r.try_get("target")?,
        session_id: r.try_get("session_id")?,
        commit_hash: r.try_get("commit_hash")?,
        challenge_type: r.try_get("challenge_type")?,
        test_type: r.try_get("test_type")?,
        run_at: rfc3339(run_at_ms),
        run_at_ms,
        total_requests: r.try_get("total_requests")?,
        successful_requests: r.try_get("successful_requests")?,
        failed_requests: r.try_get("failed_requests")?,
        rps: r.try_get("rps")?,
        error_rate: r.try_get("error_rate")?,
        avg_latency_ms: r.try_get("avg_latency_ms")?,
        p50_ms: r.try_get("p50_ms")?,
        p95_ms: r.try_get("p95_ms")?,
        p99_ms: r.try_get("p99_ms")?,
        duration_s: r.try_get("duration_s")?,
    })
}

/// The target a run is grouped under: the `target` label (or loadgen's
/// target name), else the target URL.
pub fn target_of(p: &TrackPayload) -> String {
    p.labels
        .get("target")
        .cloned()
        .or_else(|| p.run_details.target_name.clone())
        .unwrap_or_else(|| p.run_details.target_url.clone())
}

/// Columns of a stored run, in insert order.
const INSERT_COLUMNS: &str = "id, user_id, target, session_id, commit_hash, challenge_type, test_type, metric_name, value,
    run_at, received_at, total_requests, successful_requests, failed_requests, rps, error_rate, avg_latency_ms,
    p50_ms, p95_ms, p99_ms, duration_s, payload";
const PARAMS_PER_ROW: usize = 22;

/// A run ready to be stored.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub payload: TrackPayload,
    pub run_at_ms: i64,
    pub raw: String,
}

/// What an insert does with a run whose id is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// The statement fails: ids are made by the server, so a duplicate is
    /// a bug.
    Fail,
    /// The stored run is kept and the statement goes on: for sending a
    /// batch again when the connection broke before it was known whether
    /// the first try committed. Ids are unique per post, so a run is never
    /// stored twice.
    Skip,
}

/// `INSERT ... VALUES (...), (...)` for `rows` rows whose placeholders
/// start after `first_row` rows' worth, with `$N` placeholders (both
/// databases accept them); nullable numbers are cast from text (see
/// `db::nullable_f64`).
fn insert_sql(first_row: usize, rows: usize, duplicates: OnDuplicate) -> String {
    use std::fmt::Write as _;
    // Written in place: this runs once per batch, on the writer's path.
    let mut sql = format!("INSERT INTO local_test_runs ({INSERT_COLUMNS}) VALUES ");
    sql.reserve(rows * PARAMS_PER_ROW * 8);
    for r in 0..rows {
        let b = (first_row + r) * PARAMS_PER_ROW;
        sql.push_str(if r > 0 { ", (" } else { "(" });
        for k in 1..=PARAMS_PER_ROW {
            if k > 1 {
                sql.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = match k {
                18..=20 => write!(sql, "CAST(${} AS DOUBLE PRECISION)", b + k),
                _ => write!(sql, "${}", b + k),
            };
        }
        sql.push(')');
    }
    if duplicates == OnDuplicate::Skip {
        sql.push_str(" ON CONFLICT (id) DO NOTHING");
    }
    sql
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_row<'q>(q: AnyQuery<'q>, r: &NewRun, now: i64) -> AnyQuery<'q> {
    let p = &r.payload;
    let d = &p.run_details;
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    q.bind(r.id.clone())
        .bind(p.user_id.clone())
        .bind(target_of(p))
        .bind(d.session_id.clone())
        .bind(d.commit_hash.clone())
        .bind(p.challenge_type.clone())
        .bind(d.test_type.clone())
        .bind(p.metric_name.clone())
        .bind(p.value)
        .bind(r.run_at_ms)
        .bind(now)
        .bind(as_i64(d.total_requests))
        .bind(as_i64(d.successful_requests))
        .bind(as_i64(d.failed_requests))
        .bind(d.rps)
        .bind(d.error_rate)
        .bind(d.avg_latency_ms)
        .bind(nullable_f64(d.p50_latency_ms))
        .bind(nullable_f64(d.p95_latency_ms))
        .bind(nullable_f64(d.p99_latency_ms))
        .bind(d.duration_s)
        .bind(r.raw.clone())
}

/// The whole batch as one INSERT statement (PostgreSQL: a statement is a
/// transaction of its own, and takes up to 65,535 parameters).
pub async fn insert_batch(
    conn: &mut AnyConnection,
    runs: &[NewRun],
    duplicates: OnDuplicate,
) -> Result<(), sqlx::Error> {
    if runs.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(insert_sql(0, runs.len(), duplicates)));
    for r in runs {
        q = bind_row(q, r, now);
    }
    q.execute(conn).await.map(drop)
}

/// SQLite: the whole batch — `BEGIN IMMEDIATE`, the INSERTs, `COMMIT` — in
/// one call, so the database's worker thread is reached once per batch
/// rather than once per statement. A failure rolls the batch back and
/// returns the statement's error; the rollback itself may fail too (a lost
/// connection), so a caller closes the connection after an error, as the
/// writer does.
pub async fn insert_batch_sqlite(
    conn: &mut AnyConnection,
    runs: &[NewRun],
    max_rows: usize,
    duplicates: OnDuplicate,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut sql = String::from("BEGIN IMMEDIATE; ");
    let mut first = 0;
    for chunk in runs.chunks(max_rows.max(1)) {
        sql.push_str(&insert_sql(first, chunk.len(), duplicates));
        sql.push_str("; ");
        first += chunk.len();
    }
    sql.push_str("COMMIT;");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for r in runs {
        q = bind_row(q, r, now);
    }
    match q.execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // Ends the transaction now, so its write lock does not wait for
            // the connection to close; the statement's error is the one to
            // report, whatever the rollback did.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Err(e)
        }
    }
}

/// Where a page of a user's runs starts.
#[derive(Debug, Clone, Copy)]
pub enum PageStart<'a> {
    /// Skip this many runs (the cost grows with it).
    Offset(i64),
    /// Just after this key in the grouping order: one range of the
    /// `local_test_runs_grouped` index, so every page costs the same
    /// however deep it is.
    After(&'a Cursor),
}

/// Where a page ended: the grouping key of its last run. Sent to clients
/// as an opaque string (`next`), given back as `after`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cursor(String, String, i64, String);

impl Cursor {
    fn of(r: &TrackedRun) -> Cursor {
        Cursor(
            r.target.clone(),
            r.session_id.clone(),
            r.run_at_ms,
            r.id.clone(),
        )
    }

    /// Hex of its JSON: opaque, and safe in a query string as it is.
    pub fn encode(&self) -> String {
        serde_json::to_vec(self)
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        if !text.len().is_multiple_of(2) || text.len() > 4096 {
            return None;
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A page of a user's runs in grouping order (target, session, time, id),
/// the number of the user's runs, and where the next page starts (`None`
/// on the last page).
pub async fn for_user(
    db: &Db,
    user: &str,
    limit: i64,
    start: PageStart<'_>,
) -> Result<(Vec<TrackedRun>, i64, Option<Cursor>), sqlx::Error> {
    // One more than asked: whether a next page exists, without a count.
    let rows = match start {
        PageStart::Offset(offset) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM local_test_runs WHERE user_id = $1
                 ORDER BY target, session_id, run_at, id LIMIT $2 OFFSET $3"
            )))
            .bind(user)
            .bind(limit + 1)
            .bind(offset)
            .fetch_all(db)
            .await?
        }
        PageStart::After(Cursor(target, session, at, id)) => {
            // A row-value comparison with the key's values bound: both
            // databases read it as one range of the index.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM local_test_runs WHERE user_id = $1
                   AND (target, session_id, run_at, id) > ($2, $3, $4, $5)
                 ORDER BY target, session_id, run_at, id LIMIT $6"
            )))
            .bind(user)
            .bind(target)
            .bind(session)
            .bind(at)
            .bind(id)
            .bind(limit + 1)
            .fetch_all(db)
            .await?
        }
    };
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM local_test_runs WHERE user_id = $1")
        .bind(user)
        .fetch_one(db)
        .await?
        .try_get("n")?;
    let more = rows.len() as i64 > limit;
    let runs: Vec<TrackedRun> = rows
        .iter()
        .take(limit as usize)
        .map(from_row)
        .collect::<Result<_, _>>()?;
    let next = if more {
        runs.last().map(Cursor::of)
    } else {
        None
    };
    Ok((runs, total, next))
}

/// The most runs `?format=earlier` answers (the earlier tracker answered
/// every run; this bounds one answer, newest first).
pub const EARLIER_MAX_ROWS: i64 = 10_000;

/// One run in the earlier tracker's row shape, with the keys it was grouped by.
#[derive(Debug, Clone)]
pub struct EarlierRow {
    pub target_app: String,
    pub session_id: String,
    pub row: serde_json::Value,
}

/// A user's runs, newest first, as the earlier tracker's rows: the columns
/// of its `load_test_runs` table, filled from the payload as it was sent
/// (its `target_app` was the payload's `runDetails.target_url`).
pub async fn earlier_rows(db: &Db, user: &str, limit: i64) -> Result<Vec<EarlierRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, run_at, payload FROM local_test_runs WHERE user_id = $1 ORDER BY run_at DESC, id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let run_at: i64 = r.try_get("run_at")?;
            let payload: String = r.try_get("payload")?;
            let p: serde_json::Value = serde_json::from_str(&payload).map_err(|e| {
                sqlx::Error::Decode(
                    format!("tracked run {id}: stored payload is not JSON: {e}").into(),
                )
            })?;
            let details = &p["runDetails"];
            let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
            let target_app = text(&details["target_url"]).unwrap_or_default();
            let session_id = text(&details["session_id"]).unwrap_or_default();
            let row = serde_json::json!({
                "id": id,
                "schema_version": p["schema_version"],
                "user_id": p["userId"],
                "challenge_type": p["challengeType"],
                "metric_name": p["metricName"],
                "value": p["value"],
                "timestamp": rfc3339(run_at),
                "labels": p["labels"],
                "run_details": details,
                "target_app": target_app,
                "session_id": session_id,
                "commit_hash": details["commit_hash"],
            });
            Ok(EarlierRow {
                target_app,
                session_id,
                row,
            })
        })
        .collect()
}

/// A user's runs against one target, oldest first (for charts and regressions).
pub async fn for_target(
    db: &Db,
    user: &str,
    target: &str,
    limit: i64,
) -> Result<Vec<TrackedRun>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM (SELECT {COLUMNS} FROM local_test_runs WHERE user_id = $1 AND target = $2
             ORDER BY run_at DESC, id DESC LIMIT $3) recent ORDER BY run_at, id"
    )))
    .bind(user)
    .bind(target)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<TrackedRun>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM local_test_runs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The previous comparable runs (same user, target and test type), newest first.
pub async fn previous(
    db: &Db,
    run: &TrackedRun,
    limit: i64,
) -> Result<Vec<TrackedRun>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM local_test_runs WHERE user_id = $1 AND target = $2 AND test_type = $3
           AND (run_at < $4 OR (run_at = $4 AND id < $5)) ORDER BY run_at DESC, id DESC LIMIT $6"
    )))
    .bind(&run.user_id)
    .bind(&run.target)
    .bind(&run.test_type)
    .bind(run.run_at_ms)
    .bind(&run.id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Users and their targets, for the UI's navigation.
pub async fn users_and_targets(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT user_id, target, COUNT(*) AS n FROM local_test_runs GROUP BY user_id, target ORDER BY user_id, target LIMIT 1000",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("user_id")?, r.try_get("target")?, r.try_get("n")?)))
        .collect()
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM local_test_runs")
        .fetch_one(db)
        .await?
        .try_get("n")
}

/// The runs a client sent with one session id.
pub async fn sent_session_runs(
    db: &Db,
    user: &str,
    session: &str,
) -> Result<Vec<TrackedRun>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM local_test_runs WHERE user_id = $1 AND session_id = $2 ORDER BY run_at, id LIMIT 10000"
    )))
    .bind(user)
    .bind(session)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The runs of one target between two times, both included.
pub async fn runs_between(
    db: &Db,
    user: &str,
    target: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<TrackedRun>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM local_test_runs WHERE user_id = $1 AND target = $2
           AND run_at >= $3 AND run_at <= $4 ORDER BY run_at, id LIMIT 10000"
    )))
    .bind(user)
    .bind(target)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts_number_their_parameters() {
        let sql = insert_sql(0, 2, OnDuplicate::Fail);
        assert!(
            sql.contains("($1, $2,")
                && sql.contains("CAST($18 AS DOUBLE PRECISION)")
                && sql.ends_with("$43, $44)"),
            "{sql}"
        );
        assert!(sql.contains("), ($23, $24,"));
        // A later statement of the same batch carries on the numbering.
        let next = insert_sql(2, 1, OnDuplicate::Skip);
        assert!(
            next.contains("($45, $46,") && next.ends_with("$66) ON CONFLICT (id) DO NOTHING"),
            "{next}"
        );
    }

    fn run(id: &str) -> NewRun {
        let payload: TrackPayload = serde_json::from_value(serde_json::json!({
            "schema_version": "1.0", "userId": "ada", "challengeType": "robust-service",
            "metricName": "rps", "value": 812.5, "timestamp": "2026-01-01T12:00:00Z",
            "labels": {"target": "my-app"},
            "runDetails": {"target_url": "http://localhost:8080/api/test", "request_count": 1000,
                           "method": "POST", "payload_urls": [], "total_requests": 1000,
                           "successful_requests": 990, "failed_requests": 10, "avg_latency_ms": 12.3,
                           "error_rate": 1.0, "rps": 812.5, "duration_s": 1.23, "test_type": "load",
                           "session_id": "s1"}
        }))
        .expect("payload");
        NewRun {
            id: id.to_owned(),
            payload,
            run_at_ms: 1,
            raw: "{}".to_owned(),
        }
    }

    async fn stored(db: &Db) -> i64 {
        sqlx::query("SELECT COUNT(*) AS n FROM local_test_runs")
            .fetch_one(db)
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    /// A fresh SQLite database in a directory of its own.
    async fn sqlite_db() -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("tracker-batch-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (db, _) = crate::db::connect(
            &dir.join("t.db").display().to_string(),
            std::time::Duration::ZERO,
        )
        .await
        .expect("db");
        (db, dir)
    }

    #[tokio::test]
    async fn a_sqlite_batch_is_all_or_nothing() {
        let (db, dir) = sqlite_db().await;
        // Twenty runs over three statements, the last one a duplicate id.
        let mut batch: Vec<NewRun> = (0..19).map(|i| run(&format!("r{i}"))).collect();
        batch.push(run("r3"));
        let mut conn = db.acquire().await.expect("connection");
        assert!(
            insert_batch_sqlite(&mut conn, &batch, 8, OnDuplicate::Fail)
                .await
                .is_err()
        );
        assert_eq!(stored(&db).await, 0, "nothing half-written");
        // The connection is not left inside a transaction.
        for _ in 0..10 {
            let ok: Vec<NewRun> = (0..20)
                .map(|_| run(&uuid::Uuid::now_v7().to_string()))
                .collect();
            insert_batch_sqlite(&mut conn, &ok, 8, OnDuplicate::Fail)
                .await
                .expect("stored");
        }
        assert_eq!(stored(&db).await, 200);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_batch_sent_again_stores_each_run_once() {
        let (db, dir) = sqlite_db().await;
        let mut conn = db.acquire().await.expect("connection");
        let first: Vec<NewRun> = (0..12).map(|i| run(&format!("a{i}"))).collect();
        insert_batch_sqlite(&mut conn, &first, 8, OnDuplicate::Fail)
            .await
            .expect("stored");
        // The same batch again, as after a lost connection, plus new runs.
        let mut again = first.clone();
        again.extend((0..3).map(|i| run(&format!("b{i}"))));
        assert!(
            insert_batch_sqlite(&mut conn, &again, 8, OnDuplicate::Fail)
                .await
                .is_err()
        );
        insert_batch_sqlite(&mut conn, &again, 8, OnDuplicate::Skip)
            .await
            .expect("sent again");
        assert_eq!(stored(&db).await, 15, "each run once");
        let _ = std::fs::remove_dir_all(dir);
    }
}
