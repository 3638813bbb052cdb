//! Scores, the best score per contributor and challenge, and leaderboard reads.

use chaos_domain::Challenge;
use chaos_domain::scoring::{Outcome, RULES_VERSION, rank_keys};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, now_ms, nullable_f64, rfc3339};

/// A stored score with its evidence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Score {
    pub run_id: String,
    pub challenge: String,
    pub rules_version: i64,
    /// `scored` or `no_data`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: Option<f64>,
    pub scored_at: String,
    #[serde(skip)]
    pub scored_ms: i64,
    pub evidence: serde_json::Value,
}

fn from_row(row: &AnyRow) -> Result<Score, sqlx::Error> {
    let evidence: String = row.try_get("evidence")?;
    let scored_ms: i64 = row.try_get("scored_at")?;
    Ok(Score {
        run_id: row.try_get("run_id")?,
        challenge: row.try_get("challenge")?,
        rules_version: row.try_get("rules_version")?,
        outcome: row.try_get("outcome")?,
        reason: row.try_get("reason")?,
        stat1: row.try_get("stat1")?,
        stat2: row.try_get("stat2")?,
        stat3: row.try_get("stat3")?,
        score: row.try_get("score")?,
        scored_at: rfc3339(scored_ms),
        scored_ms,
        evidence: serde_json::from_str(&evidence).unwrap_or(serde_json::Value::Null),
    })
}

/// Stores the outcome of scoring a run, moves the run to its final state
/// and, for a real score, updates the contributor's best, all in one
/// transaction: a crash leaves either everything or nothing.
pub async fn record(
    db: &Db,
    run_id: &str,
    contributor_id: &str,
    challenge: Challenge,
    outcome: &Outcome,
    evidence: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let (kind, reason, stats) = match outcome {
        Outcome::Scored(s) => ("scored", None, Some(s)),
        Outcome::NoData { reason } => ("no_data", Some(reason.as_str()), None),
    };
    sqlx::query(
        "INSERT INTO scores (run_id, contributor_id, challenge, rules_version, outcome, reason, stat1, stat2, stat3, score, evidence, scored_at)
         VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), CAST($8 AS DOUBLE PRECISION),
                 CAST($9 AS DOUBLE PRECISION), CAST($10 AS DOUBLE PRECISION), $11, $12)
         ON CONFLICT (run_id) DO UPDATE SET rules_version = $4, outcome = $5, reason = $6,
            stat1 = CAST($7 AS DOUBLE PRECISION), stat2 = CAST($8 AS DOUBLE PRECISION),
            stat3 = CAST($9 AS DOUBLE PRECISION), score = CAST($10 AS DOUBLE PRECISION), evidence = $11, scored_at = $12",
    )
    .bind(run_id)
    .bind(contributor_id)
    .bind(challenge.as_str())
    .bind(i64::from(RULES_VERSION))
    .bind(kind)
    .bind(reason)
    .bind(nullable_f64(stats.and_then(|s| s.stat1)))
    .bind(nullable_f64(stats.and_then(|s| s.stat2)))
    .bind(nullable_f64(stats.and_then(|s| s.stat3)))
    .bind(nullable_f64(stats.map(|s| s.score)))
    .bind(evidence.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE runs SET state = $1, next_attempt_at = NULL, last_error = NULL, updated_at = $2 WHERE id = $3")
        .bind(kind)
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    if let Some(stats) = stats {
        let keys = rank_keys(challenge, stats);
        let current = sqlx::query(
            "SELECT k1, k2, k3, k4 FROM best_scores WHERE challenge = $1 AND contributor_id = $2",
        )
        .bind(challenge.as_str())
        .bind(contributor_id)
        .fetch_optional(&mut *tx)
        .await?;
        let better = match current {
            None => true,
            Some(row) => {
                let old: [f64; 4] = [
                    row.try_get("k1")?,
                    row.try_get("k2")?,
                    row.try_get("k3")?,
                    row.try_get("k4")?,
                ];
                // Equal keys: the earlier run keeps its place.
                keys.iter()
                    .zip(old.iter())
                    .map(|(a, b)| a.total_cmp(b))
                    .find(|o| o.is_ne())
                    == Some(std::cmp::Ordering::Greater)
            }
        };
        if better {
            sqlx::query(
                "INSERT INTO best_scores (challenge, contributor_id, run_id, k1, k2, k3, k4, scored_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (challenge, contributor_id) DO UPDATE SET run_id = $3, k1 = $4, k2 = $5, k3 = $6, k4 = $7, scored_at = $8",
            )
            .bind(challenge.as_str())
            .bind(contributor_id)
            .bind(run_id)
            .bind(keys[0])
            .bind(keys[1])
            .bind(keys[2])
            .bind(keys[3])
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

pub async fn for_run(db: &Db, run_id: &str) -> Result<Option<Score>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM scores WHERE run_id = $1")
        .bind(run_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One row of a leaderboard.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    pub rank: i64,
    pub contributor: String,
    pub display_name: String,
    pub deregistered: bool,
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: f64,
    pub run_id: String,
    pub scored_at: String,
    pub rules_version: i64,
}

/// One page of a leaderboard: `$1` challenge, `$2` limit, `$3` offset.
pub const LEADERBOARD_SQL: &str = "SELECT c.name, c.display_name, c.deleted_at, s.stat1, s.stat2, s.stat3, s.score, s.run_id, s.scored_at, s.rules_version
     FROM best_scores b
     JOIN scores s ON s.run_id = b.run_id
     JOIN contributors c ON c.id = b.contributor_id
     WHERE b.challenge = $1
     ORDER BY b.k1 DESC, b.k2 DESC, b.k3 DESC, b.k4 DESC, b.scored_at, b.contributor_id
     LIMIT $2 OFFSET $3";

/// A page of the leaderboard and the number of ranked contributors.
/// Reads one range of the `best_scores_rank` index: the cost does not
/// grow with the number of runs.
pub async fn leaderboard(
    db: &Db,
    challenge: Challenge,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Entry>, i64), sqlx::Error> {
    let rows = sqlx::query(LEADERBOARD_SQL)
        .bind(challenge.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM best_scores WHERE challenge = $1")
        .bind(challenge.as_str())
        .fetch_one(db)
        .await?
        .try_get("n")?;
    let entries = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(Entry {
                rank: offset + i as i64 + 1,
                contributor: r.try_get("name")?,
                display_name: r.try_get("display_name")?,
                deregistered: r.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
                stat1: r.try_get("stat1")?,
                stat2: r.try_get("stat2")?,
                stat3: r.try_get("stat3")?,
                score: r.try_get::<Option<f64>, _>("score")?.unwrap_or(0.0),
                run_id: r.try_get("run_id")?,
                scored_at: rfc3339(r.try_get("scored_at")?),
                rules_version: r.try_get("rules_version")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((entries, total))
}

/// Scored runs of a challenge over time, for the history chart:
/// `(contributor, scored_at ms, score)`, oldest first, for the given contributors.
pub async fn history(
    db: &Db,
    challenge: Challenge,
    contributors: &[String],
) -> Result<Vec<(String, i64, f64)>, sqlx::Error> {
    let mut out = Vec::new();
    for name in contributors {
        let rows = sqlx::query(
            "SELECT s.scored_at, s.score FROM scores s JOIN contributors c ON c.id = s.contributor_id
             WHERE s.challenge = $1 AND c.name = $2 AND s.outcome = 'scored'
             ORDER BY s.scored_at LIMIT 500",
        )
        .bind(challenge.as_str())
        .bind(name)
        .fetch_all(db)
        .await?;
        for r in rows {
            out.push((
                name.clone(),
                r.try_get("scored_at")?,
                r.try_get::<Option<f64>, _>("score")?.unwrap_or(0.0),
            ));
        }
    }
    Ok(out)
}

/// Best score per contributor and challenge, for `/metrics`.
pub async fn best_all(db: &Db) -> Result<Vec<(String, String, f64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT b.challenge, c.name, s.score FROM best_scores b
         JOIN scores s ON s.run_id = b.run_id JOIN contributors c ON c.id = b.contributor_id",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("challenge")?,
                r.try_get("name")?,
                r.try_get::<Option<f64>, _>("score")?.unwrap_or(0.0),
            ))
        })
        .collect()
}
