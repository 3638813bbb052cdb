//! Scores, the best score per contributor and challenge, and leaderboard reads.

use chaos_domain::Challenge;
use chaos_domain::scoring::{Outcome, RULES_VERSION, Rules, Statistics, rank_keys};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, now_ms, nullable_f64, rfc3339};

/// Keeps record `s` only when it is its run's newest: the run's score.
pub(crate) const NEWEST: &str = "NOT EXISTS (SELECT 1 FROM score_records n WHERE n.run_id = s.run_id \
    AND n.rules_version = s.rules_version \
    AND (n.scored_at > s.scored_at OR (n.scored_at = s.scored_at AND n.id > s.id)))";

/// A score record with its evidence. A run's score is its newest record.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The record's id.
    pub id: String,
    pub run_id: String,
    pub challenge: String,
    pub rules_version: i64,
    /// `scored` or `no_data`.
    pub outcome: String,
    pub reason: Option<String>,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: Option<f64>,
    /// Whether the run ranks: a complete run of the profile at its full
    /// length and rate. Otherwise it is practice, for the reasons given.
    pub official: bool,
    pub practice_reasons: Vec<String>,
    /// The end of the run's window: where the score stands in time.
    pub run_end: String,
    pub run_end_ms: i64,
    pub scored_at: String,
    pub scored_ms: i64,
    pub evidence: serde_json::Value,
}

pub(crate) const COLUMNS: &str = "id, run_id, challenge, rules_version, outcome, reason, stat1, stat2, stat3, score, official, \
    practice_reasons, evidence, run_end, scored_at";

/// Fails, naming the record and the field, on a stored value that does not read back.
pub(crate) fn corrupt(id: &str, field: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("score record {id}: {field} is corrupt: {e}").into())
}

/// The columns of a record without its evidence (which holds every
/// sample of the run): what lists read.
pub(crate) const COLUMNS_NO_EVIDENCE: &str = "id, run_id, challenge, rules_version, outcome, reason, stat1, stat2, stat3, score, official, \
    practice_reasons, run_end, scored_at";

pub(crate) fn from_row(row: &AnyRow) -> Result<Score, sqlx::Error> {
    from_row_with(row, true)
}

/// A record; with `evidence` false its evidence is left out (`{}`).
pub(crate) fn from_row_with(row: &AnyRow, evidence: bool) -> Result<Score, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let evidence: String = if evidence {
        row.try_get("evidence")?
    } else {
        "{}".to_owned()
    };
    let reasons: String = row.try_get("practice_reasons")?;
    let scored_ms: i64 = row.try_get("scored_at")?;
    let run_end_ms: i64 = row.try_get("run_end")?;
    let outcome: String = row.try_get("outcome")?;
    if outcome != "scored" && outcome != "no_data" {
        return Err(corrupt(
            &id,
            "outcome",
            format!("{outcome:?} is not an outcome"),
        ));
    }
    Ok(Score {
        run_id: row.try_get("run_id")?,
        challenge: row.try_get("challenge")?,
        rules_version: row.try_get("rules_version")?,
        reason: row.try_get("reason")?,
        stat1: row.try_get("stat1")?,
        stat2: row.try_get("stat2")?,
        stat3: row.try_get("stat3")?,
        score: row.try_get("score")?,
        official: row.try_get::<i64, _>("official")? == 1,
        practice_reasons: serde_json::from_str(&reasons)
            .map_err(|e| corrupt(&id, "practice_reasons", e))?,
        run_end: rfc3339(run_end_ms),
        run_end_ms,
        scored_at: rfc3339(scored_ms),
        scored_ms,
        evidence: serde_json::from_str(&evidence).map_err(|e| corrupt(&id, "evidence", e))?,
        outcome,
        id,
    })
}

/// What scoring a run decided.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub run_id: &'a str,
    pub contributor_id: &'a str,
    pub challenge: Challenge,
    /// The rules that made the outcome.
    pub rules: Rules,
    pub outcome: &'a Outcome,
    /// Empty for an official run; otherwise why it is practice.
    pub practice_reasons: &'a [String],
    pub run_end_ms: i64,
    pub evidence: &'a serde_json::Value,
}

/// Adds a score record, moves the run to its final state and recomputes
/// the contributor's best, all in one transaction: a crash leaves either
/// everything or nothing. A run scored again gets a new record; the old
/// one stays, and the board follows the newest (a lower or `no_data`
/// re-score lowers or removes the entry).
pub async fn record(db: &Db, r: &NewRecord<'_>) -> Result<String, sqlx::Error> {
    let now = now_ms();
    let id = uuid::Uuid::now_v7().to_string();
    let (kind, reason, stats) = match r.outcome {
        Outcome::Scored(s) => ("scored", None, Some(s)),
        Outcome::NoData { reason } => ("no_data", Some(reason.as_str()), None),
    };
    let official = stats.is_some() && r.practice_reasons.is_empty();
    let reasons = serde_json::to_string(r.practice_reasons).unwrap_or_else(|_| "[]".into());
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO score_records (id, run_id, contributor_id, challenge, rules_version, outcome, reason, stat1, stat2,
            stat3, score, official, practice_reasons, evidence, run_end, scored_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8 AS DOUBLE PRECISION), CAST($9 AS DOUBLE PRECISION),
                 CAST($10 AS DOUBLE PRECISION), CAST($11 AS DOUBLE PRECISION), $12, $13, $14, $15, $16)",
    )
    .bind(&id)
    .bind(r.run_id)
    .bind(r.contributor_id)
    .bind(r.challenge.as_str())
    .bind(i64::from(r.rules.version()))
    .bind(kind)
    .bind(reason)
    .bind(nullable_f64(stats.and_then(|s| s.stat1)))
    .bind(nullable_f64(stats.and_then(|s| s.stat2)))
    .bind(nullable_f64(stats.and_then(|s| s.stat3)))
    .bind(nullable_f64(stats.map(|s| s.score)))
    .bind(i64::from(official))
    .bind(reasons)
    .bind(r.evidence.to_string())
    .bind(r.run_end_ms)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // The run's state follows the current rules: scoring it again under
    // other rules adds a record but does not change what the run reads as.
    let state = if r.rules == Rules::CURRENT {
        kind.to_owned()
    } else {
        sqlx::query(
            "SELECT outcome FROM score_records WHERE run_id = $1 AND rules_version = $2
             ORDER BY scored_at DESC, id DESC LIMIT 1",
        )
        .bind(r.run_id)
        .bind(i64::from(RULES_VERSION))
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get::<String, _>("outcome"))
        .transpose()?
        .unwrap_or_else(|| kind.to_owned())
    };
    sqlx::query("UPDATE runs SET state = $1, next_attempt_at = NULL, last_error = NULL, score_rules = NULL, updated_at = $2 WHERE id = $3")
        .bind(state)
        .bind(now)
        .bind(r.run_id)
        .execute(&mut *tx)
        .await?;
    recompute_best(&mut tx, r.contributor_id, r.challenge).await?;
    tx.commit().await?;
    Ok(id)
}

/// The contributor's best official record under the current rules, from
/// the newest record of each of their runs; ties go to the earlier run end.
async fn recompute_best(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contributor_id: &str,
    challenge: Challenge,
) -> Result<(), sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT s.id, s.run_id, s.stat1, s.stat2, s.stat3, s.score, s.run_end FROM score_records s
         WHERE s.contributor_id = $1 AND s.challenge = $2 AND s.rules_version = $3
           AND s.official = 1 AND s.outcome = 'scored'
           AND {NEWEST}"
    )))
    .bind(contributor_id)
    .bind(challenge.as_str())
    .bind(i64::from(RULES_VERSION))
    .fetch_all(&mut **tx)
    .await?;
    let mut best: Option<([f64; 4], i64, String, String)> = None;
    for row in rows {
        let stats = Statistics {
            stat1: row.try_get("stat1")?,
            stat2: row.try_get("stat2")?,
            stat3: row.try_get("stat3")?,
            score: row.try_get::<Option<f64>, _>("score")?.ok_or_else(|| {
                corrupt(
                    &row.try_get::<String, _>("id").unwrap_or_default(),
                    "score",
                    "a scored record without a score",
                )
            })?,
        };
        let keys = rank_keys(challenge, &stats);
        let run_end: i64 = row.try_get("run_end")?;
        let better = match &best {
            None => true,
            Some((k, end, _, _)) => match compare_keys(&keys, k) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => run_end < *end,
                std::cmp::Ordering::Less => false,
            },
        };
        if better {
            best = Some((keys, run_end, row.try_get("id")?, row.try_get("run_id")?));
        }
    }
    sqlx::query("DELETE FROM best_scores WHERE challenge = $1 AND contributor_id = $2")
        .bind(challenge.as_str())
        .bind(contributor_id)
        .execute(&mut **tx)
        .await?;
    if let Some((keys, run_end, record_id, run_id)) = best {
        sqlx::query(
            "INSERT INTO best_scores (challenge, contributor_id, run_id, record_id, k1, k2, k3, k4, run_end)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(challenge.as_str())
        .bind(contributor_id)
        .bind(run_id)
        .bind(record_id)
        .bind(keys[0])
        .bind(keys[1])
        .bind(keys[2])
        .bind(keys[3])
        .bind(run_end)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn compare_keys(a: &[f64; 4], b: &[f64; 4]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// A run's score: its newest record under the current rules, or else its
/// newest record.
pub async fn for_run(db: &Db, run_id: &str) -> Result<Option<Score>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM score_records WHERE run_id = $1
         ORDER BY CASE WHEN rules_version = $2 THEN 0 ELSE 1 END, scored_at DESC, id DESC LIMIT 1"
    )))
    .bind(run_id)
    .bind(i64::from(RULES_VERSION))
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The score of each of `run_ids` (as [`for_run`] picks it) in one query,
/// without evidence: for lists.
pub async fn for_runs(
    db: &Db,
    run_ids: &[&str],
) -> Result<std::collections::HashMap<String, Score>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    if run_ids.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (0..run_ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {COLUMNS_NO_EVIDENCE} FROM score_records WHERE run_id IN ({})
         ORDER BY run_id, CASE WHEN rules_version = $1 THEN 0 ELSE 1 END, scored_at DESC, id DESC",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(RULES_VERSION));
    for id in run_ids {
        q = q.bind(*id);
    }
    for row in q.fetch_all(db).await? {
        let score = from_row_with(&row, false)?;
        out.entry(score.run_id.clone()).or_insert(score);
    }
    Ok(out)
}

/// How many score records a run has (a rescore adds one).
pub async fn count_for_run(db: &Db, run_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM score_records WHERE run_id = $1")
        .bind(run_id)
        .fetch_one(db)
        .await
}

/// Every record of a run, newest first.
pub async fn records_for_run(db: &Db, run_id: &str) -> Result<Vec<Score>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM score_records WHERE run_id = $1 ORDER BY scored_at DESC, id DESC LIMIT 100"
    )))
    .bind(run_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}
