//! Fills a database with contributors and scored runs for the leaderboard
//! benchmark (bench/leaderboard.sh), through the same store functions the
//! server uses, and prints the leaderboard query's plan.
//!
//! cargo run --release -p chaos-api --example seed_leaderboard -- DATABASE CONTRIBUTORS RUNS [--explain] [--time]
//!
//! `--time` runs the leaderboard query (page 1, 50 rows, uncached) and
//! the query of scores under earlier rules (both in the board's answer)
//! 500 times each and prints the means, to show their cost does not grow
//! with runs.

use chaos_api::contributors::store as contributors;
use chaos_api::db::{self, Backend};
use chaos_api::leaderboard::store as scores;
use chaos_api::runs::store as runs;
use chaos_api::runs::store::{NewRun, Selector, Source};
use chaos_api::scores::store as records;
use chaos_domain::Challenge;
use chaos_domain::scoring::{Outcome, Statistics};
use sqlx::Row;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: seed_leaderboard DATABASE CONTRIBUTORS RUNS [--explain] [--time]";
    let database = args.first().ok_or_else(|| anyhow::anyhow!(usage))?;
    let n_contributors: usize = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let n_runs: usize = args.get(2).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let (pool, backend) = db::connect(database, std::time::Duration::ZERO).await?;

    let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM contributors")
        .fetch_one(&pool)
        .await?
        .try_get("n")?;
    let mut ids = Vec::with_capacity(n_contributors);
    for i in 0..n_contributors {
        let id = format!("seed{i:06}");
        if (i as i64) >= existing {
            contributors::insert(
                &pool,
                contributors::NewContributor {
                    id: &id,
                    name: &format!("contributor-{i}"),
                    display_name: &format!("Contributor {i}"),
                    challenge: None,
                    salt: "salt",
                    hash: "hash",
                    manager: None,
                },
            )
            .await?;
        }
        ids.push(id);
    }
    let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM runs")
        .fetch_one(&pool)
        .await?
        .try_get("n")?;
    let empty = Selector::new();
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D ^ done as u64;
    let evidence = run_evidence();
    let no_evidence = serde_json::json!({});
    let started = std::time::Instant::now();
    for j in 0..n_runs {
        let k = done as usize + j;
        let contributor = &ids[k % ids.len()];
        let challenge = Challenge::ALL[k % 3];
        let id = format!("seed-run-{k}");
        runs::insert(
            &pool,
            &NewRun {
                id: &id,
                contributor_id: contributor,
                challenge: challenge.as_str(),
                profile_version: 1,
                duration_scale: 1.0,
                rate_scale: 1.0,
                target: "http://app",
                source: Source::Builtin,
                loadgen_selector: &empty,
                anvil_selector: &empty,
                loadgen_metrics_url: None,
                anvil_metrics_url: None,
            },
        )
        .await?;
        // xorshift: deterministic, varied statistics.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let score = (rng % 2_000) as f64;
        let stats = Statistics {
            stat1: Some(score),
            stat2: Some((rng % 500) as f64),
            stat3: Some((rng % 100) as f64 / 10.0),
            score,
        };
        // One run in a hundred is practice, with the evidence a real run
        // stores (its samples, ~80 KB): the board's page lists the newest
        // practice runs, and must not read their evidence to do so.
        let practice = k % 100 == 99;
        let reasons = if practice {
            vec!["squeezed to 0.5 of the profile's length".to_owned()]
        } else {
            Vec::new()
        };
        records::record(
            &pool,
            &records::NewRecord {
                run_id: &id,
                contributor_id: contributor,
                challenge,
                rules: chaos_domain::scoring::Rules::CURRENT,
                outcome: &Outcome::Scored(stats),
                practice_reasons: &reasons,
                run_end_ms: chaos_api::db::now_ms(),
                evidence: if practice { &evidence } else { &no_evidence },
            },
        )
        .await?;
    }
    eprintln!(
        "seeded {n_runs} runs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Fresh statistics, as autovacuum (PostgreSQL) would gather; without
    // them a planner guesses row counts after a bulk load.
    sqlx::query("ANALYZE").execute(&pool).await?;

    if args.iter().any(|a| a == "--explain") {
        let (prefix, sql) = match backend {
            Backend::Sqlite => ("EXPLAIN QUERY PLAN ", scores::LEADERBOARD_SQL.to_owned()),
            Backend::Postgres => ("EXPLAIN ANALYZE ", scores::LEADERBOARD_SQL.to_owned()),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{prefix}{sql}")))
            .bind("robust-service")
            .bind(50i64)
            .bind(0i64)
            .fetch_all(&pool)
            .await?;
        println!("plan ({backend:?}):");
        for r in rows {
            let line: String = match backend {
                Backend::Sqlite => r.try_get("detail")?,
                Backend::Postgres => r.try_get(0)?,
            };
            println!("  {line}");
        }
    }
    if args.iter().any(|a| a == "--time") {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM runs")
            .fetch_one(&pool)
            .await?
            .try_get("n")?;
        // Both queries of the board's answer: the page with its count, and
        // the official scores under earlier rules listed beside it.
        let rounds = 500;
        let mut mean_us = [0.0; 3];
        for (query, mean) in mean_us.iter_mut().enumerate() {
            for round in 0..50 + rounds {
                // The first 50 warm the caches and are not timed.
                let t = std::time::Instant::now();
                match query {
                    0 => {
                        scores::leaderboard(&pool, Challenge::RobustService, 50, 0).await?;
                    }
                    1 => {
                        scores::earlier_rules(&pool, Challenge::RobustService, 50).await?;
                    }
                    _ => {
                        scores::practice(&pool, Challenge::RobustService, 20).await?;
                    }
                }
                if round >= 50 {
                    *mean += t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
                }
            }
        }
        println!(
            "uncached leaderboard query (page 1, 50 rows, with its count) at {total} runs: {:.0} µs mean over {rounds}",
            mean_us[0]
        );
        println!(
            "uncached scores-under-earlier-rules query at {total} runs: {:.0} µs mean over {rounds}",
            mean_us[1]
        );
        println!(
            "uncached practice-runs query (the HTML board's 20 newest) at {total} runs: {:.0} µs mean over {rounds}",
            mean_us[2]
        );
    }
    Ok(())
}

/// What a real robust-service run stores as evidence: 200 one-second load
/// samples with their latency histogram, and url-anvil's samples.
fn run_evidence() -> serde_json::Value {
    use chaos_domain::scoring::{AnvilSample, INF_BOUND, LoadSample};
    let bounds = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, INF_BOUND,
    ];
    let load: Vec<LoadSample> = (0..200)
        .map(|i| {
            let n = f64::from(i) * 480.0;
            LoadSample {
                t: 1_780_000_000.0 + f64::from(i),
                target_rps: 480.0,
                requests: n,
                success: n * 0.98,
                graceful_in_time: n * 0.97,
                wrong: 0.0,
                latency_buckets: bounds
                    .iter()
                    .enumerate()
                    .map(|(b, le)| (*le, n * (b + 1) as f64 / bounds.len() as f64))
                    .collect(),
            }
        })
        .collect();
    let anvil: Vec<AnvilSample> = (0..200)
        .map(|i| AnvilSample {
            t: 1_780_000_000.0 + f64::from(i),
            up: true,
            served: f64::from(i) * 470.0,
        })
        .collect();
    serde_json::json!({
        "source": "builtin",
        "window": {"start_s": 1_780_000_000, "end_s": 1_780_000_200, "step_s": 1},
        "samples": {"load": load, "anvil": anvil},
    })
}
