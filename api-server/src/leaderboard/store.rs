//! The boards, read: a page of each contributor's best, their standing,
//! earlier rules' scores, history and practice runs. Nothing here writes:
//! records and bests are written by `crate::scores`.

use chaos_domain::Challenge;
use chaos_domain::scoring::RULES_VERSION;
use sqlx::Row;

use crate::db::{Db, rfc3339};
use crate::scores::store::{COLUMNS_NO_EVIDENCE, NEWEST, Score, corrupt, from_row_with};

/// One row of a leaderboard, as the API answers it.
pub use chaos_contract::Entry;

/// Where a contributor stands on a board: their best official score there
/// and its rank among the board's entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub challenge: String,
    pub rank: i64,
    pub total: i64,
    pub score: Option<f64>,
    pub run_id: String,
}

/// A contributor's place on each board they are on. The rank counts the
/// entries ordered before theirs in the board's own order (keys
/// descending, then the earlier run end, then the id; the keys negated so
/// one row-value comparison says it), so it is the rank the board shows.
pub async fn standing(db: &Db, contributor_id: &str) -> Result<Vec<Standing>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT b.challenge, s.score, b.run_id,
            (SELECT COUNT(*) FROM best_scores o WHERE o.challenge = b.challenge
               AND (-o.k1, -o.k2, -o.k3, -o.k4, o.run_end, o.contributor_id)
                 < (-b.k1, -b.k2, -b.k3, -b.k4, b.run_end, b.contributor_id)) AS ahead,
            (SELECT COUNT(*) FROM best_scores t WHERE t.challenge = b.challenge) AS total
         FROM best_scores b JOIN score_records s ON s.id = b.record_id
         WHERE b.contributor_id = $1
         ORDER BY b.challenge",
    )
    .bind(contributor_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Standing {
                challenge: r.try_get("challenge")?,
                rank: r.try_get::<i64, _>("ahead")? + 1,
                total: r.try_get("total")?,
                score: r.try_get("score")?,
                run_id: r.try_get("run_id")?,
            })
        })
        .collect()
}

/// One page of a leaderboard: `$1` challenge, `$2` limit, `$3` offset.
pub const LEADERBOARD_SQL: &str = "SELECT c.name, c.display_name, c.deleted_at, s.stat1, s.stat2, s.stat3, s.score, s.run_id, s.run_end, s.scored_at, s.rules_version
     FROM best_scores b
     JOIN score_records s ON s.id = b.record_id
     JOIN contributors c ON c.id = b.contributor_id
     WHERE b.challenge = $1
     ORDER BY b.k1 DESC, b.k2 DESC, b.k3 DESC, b.k4 DESC, b.run_end, b.contributor_id
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
                score: r.try_get::<Option<f64>, _>("score")?.ok_or_else(|| {
                    corrupt("on the board", "score", "a ranked record without a score")
                })?,
                run_id: r.try_get("run_id")?,
                run_end: rfc3339(r.try_get("run_end")?),
                scored_at: rfc3339(r.try_get("scored_at")?),
                rules_version: r.try_get("rules_version")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((entries, total))
}

/// A contributor's best official score under earlier rules, shown beside
/// the board (never ranked with it) until their run is scored again.
pub use chaos_contract::EarlierRulesEntry as EarlierRules;

/// The best official record under earlier rules of each contributor who
/// has no entry on the board, for runs with no record under the current
/// rules; highest score first. "Earlier" is "older": no record is ever
/// made under rules newer than the server's, and `<` lets the
/// `score_records_by_rules` index skip every current record.
pub async fn earlier_rules(
    db: &Db,
    challenge: Challenge,
    limit: i64,
) -> Result<Vec<EarlierRules>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.name, c.display_name, c.deleted_at, s.stat1, s.stat2, s.stat3, s.score, s.run_id, s.run_end, s.rules_version
         FROM score_records s JOIN contributors c ON c.id = s.contributor_id
         WHERE s.challenge = $1 AND s.rules_version < $2 AND s.official = 1 AND s.outcome = 'scored'
           AND {NEWEST}
           AND NOT EXISTS (SELECT 1 FROM best_scores b WHERE b.challenge = s.challenge AND b.contributor_id = s.contributor_id)
           AND NOT EXISTS (SELECT 1 FROM score_records v WHERE v.run_id = s.run_id AND v.rules_version = $2)
         ORDER BY s.score DESC, s.run_end LIMIT $3"
    )))
    .bind(challenge.as_str())
    .bind(i64::from(RULES_VERSION))
    .bind(limit.saturating_mul(4))
    .fetch_all(db)
    .await?;
    let mut out: Vec<EarlierRules> = Vec::new();
    for r in &rows {
        let name: String = r.try_get("name")?;
        if out.iter().any(|e| e.contributor == name) || out.len() as i64 >= limit {
            continue;
        }
        out.push(EarlierRules {
            contributor: name,
            display_name: r.try_get("display_name")?,
            deregistered: r.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
            stat1: r.try_get("stat1")?,
            stat2: r.try_get("stat2")?,
            stat3: r.try_get("stat3")?,
            score: r.try_get("score")?,
            run_id: r.try_get("run_id")?,
            run_end: rfc3339(r.try_get("run_end")?),
            rules_version: r.try_get("rules_version")?,
        });
    }
    Ok(out)
}

/// Official scores of a challenge over time, for the history chart:
/// `(contributor, run end ms, score)`, oldest first, for the given
/// contributors, each run's newest record, in one query.
pub async fn history(
    db: &Db,
    challenge: Challenge,
    contributors: &[String],
) -> Result<Vec<(String, i64, f64)>, sqlx::Error> {
    if contributors.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = (0..contributors.len())
        .map(|i| format!("${}", i + 3))
        .collect();
    let sql = format!(
        "SELECT c.name, s.run_end, s.score FROM score_records s JOIN contributors c ON c.id = s.contributor_id
         WHERE s.challenge = $1 AND s.rules_version = $2 AND s.official = 1 AND s.outcome = 'scored'
           AND c.name IN ({})
           AND {NEWEST}
         ORDER BY s.run_end LIMIT 5000",
        names.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(challenge.as_str())
        .bind(i64::from(RULES_VERSION));
    for n in contributors {
        q = q.bind(n);
    }
    q.fetch_all(db)
        .await?
        .iter()
        .map(|r| -> Result<(String, i64, Option<f64>), sqlx::Error> {
            Ok((
                r.try_get("name")?,
                r.try_get("run_end")?,
                r.try_get("score")?,
            ))
        })
        .filter_map(|row| match row {
            Ok((name, at, Some(score))) => Some(Ok((name, at, score))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect()
}

/// Practice runs of a challenge, newest first: `(contributor, record)`,
/// without their evidence (a list shows none of it).
pub async fn practice(
    db: &Db,
    challenge: Challenge,
    limit: i64,
) -> Result<Vec<(String, Score)>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(practice_sql()))
        .bind(challenge.as_str())
        .bind(limit)
        .bind(i64::from(RULES_VERSION))
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("contributor_name")?, from_row_with(r, false)?)))
        .collect()
}

/// The newest practice records of a challenge (`$1`), at most `$2`, under
/// rules `$3`: read in `run_end` order from the practice index, so its
/// cost does not grow with the number of runs.
fn practice_sql() -> String {
    let cols: Vec<String> = COLUMNS_NO_EVIDENCE
        .split(", ")
        .map(|c| format!("s.{}", c.trim()))
        .collect();
    format!(
        "SELECT c.name AS contributor_name, {} FROM score_records s JOIN contributors c ON c.id = s.contributor_id
         WHERE s.challenge = $1 AND s.official = 0 AND s.rules_version = $3
           AND {NEWEST}
         ORDER BY s.run_end DESC LIMIT $2",
        cols.join(", ")
    )
}

/// Best score per contributor and challenge, for `/metrics`. A best
/// without a score is left out, never exported as 0.
pub async fn best_all(db: &Db) -> Result<Vec<(String, String, f64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT b.challenge, c.name, s.score FROM best_scores b
         JOIN score_records s ON s.id = b.record_id JOIN contributors c ON c.id = b.contributor_id
         WHERE s.score IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("challenge")?,
                r.try_get("name")?,
                r.try_get::<f64, _>("score")?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the index, the list read every record of the challenge and
    /// sorted them: 35 ms at 100,000 runs on SQLite (bench/leaderboard.sh).
    #[tokio::test]
    async fn the_practice_list_reads_its_index_in_order() {
        let dir = chaos_testkit::temp_dir("practice-plan");
        let path = dir.join("chaos.db");
        let (db, _) = crate::db::connect(&path.to_string_lossy(), std::time::Duration::ZERO)
            .await
            .expect("database");
        let plan = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {}",
            practice_sql()
        )))
        .bind("robust-service")
        .bind(20_i64)
        .bind(i64::from(RULES_VERSION))
        .fetch_all(&db)
        .await
        .expect("plan");
        let detail: Vec<String> = plan
            .iter()
            .filter_map(|r| r.try_get::<String, _>("detail").ok())
            .collect();
        assert!(
            detail.iter().any(|d| d.contains("score_records_practice")),
            "{detail:#?}"
        );
        assert!(
            !detail.iter().any(|d| d.contains("TEMP B-TREE")),
            "sorted instead of read in order: {detail:#?}"
        );
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
