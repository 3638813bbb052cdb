//! The tracker's page: tabs per target, sessions with their commits,
//! charts across runs, and every run with its regression flag.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::regression::{BASELINE_RUNS, judge};
use super::sessions::{self, Session};
use super::store::{self, TrackedRun};
use super::{NOTICE, TrackerState};
use crate::charts::{Series, time_series};
use crate::pages::number;

/// The charts of one kind of test.
struct KindCharts {
    title: String,
    runs: usize,
    latency: String,
    rps: String,
    errors: String,
}

/// Runs shown (and charted) per target.
const SHOWN: i64 = 200;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    user: Option<String>,
    target: Option<String>,
}

struct TargetTab {
    name: String,
    runs: i64,
    active: bool,
}

struct SessionRow {
    /// "#n": its place among the target's working sessions, oldest first.
    label: String,
    session_id: String,
    /// How many session ids the clients sent within it.
    sent: i64,
    runs: i64,
    commits: String,
    first: String,
    last: String,
}

struct RunRow {
    id: String,
    when: String,
    session: String,
    commit: String,
    test_type: String,
    requests: i64,
    rps: String,
    p50: String,
    p95: String,
    p99: String,
    errors: String,
    regressed: bool,
    reasons: String,
}

#[derive(Template)]
#[template(path = "tracker.html")]
struct TrackerPage {
    notice: &'static str,
    users: Vec<(String, bool)>,
    user: String,
    /// A user asked for by name who has no runs: said, never swapped for another's.
    unknown_user: Option<String>,
    targets: Vec<TargetTab>,
    sessions: Vec<SessionRow>,
    runs: Vec<RunRow>,
    /// One set of charts per kind of test: a closed-loop load and a
    /// challenge profile are never drawn on one line.
    charts: Vec<KindCharts>,
}

fn short(rfc: &str) -> String {
    rfc.get(..19)
        .map(|s| s.replace('T', " "))
        .unwrap_or_default()
}

/// Flags each run against up to 5 earlier comparable runs in the list,
/// and names the working session it belongs to.
fn rows(runs: &[TrackedRun], sessions: &[Session]) -> Vec<RunRow> {
    runs.iter()
        .enumerate()
        .map(|(i, r)| {
            let previous: Vec<TrackedRun> = runs[..i]
                .iter()
                .rev()
                .filter(|p| p.test_type == r.test_type)
                .take(BASELINE_RUNS as usize)
                .cloned()
                .collect();
            let v = judge(r, &previous);
            RunRow {
                id: r.id.clone(),
                when: short(&r.run_at),
                session: sessions
                    .iter()
                    .position(|s| s.holds(&r.target, r.run_at_ms))
                    .map(|i| format!("#{}", i + 1))
                    .unwrap_or_else(|| "–".into()),
                commit: r.commit_hash.clone().unwrap_or_else(|| "–".into()),
                test_type: r.test_type.clone(),
                requests: r.total_requests,
                rps: number(Some(r.rps)),
                p50: number(r.p50_ms),
                p95: number(r.p95_ms),
                p99: number(r.p99_ms),
                errors: number(Some(r.error_rate)),
                regressed: v.regressed,
                reasons: v.reasons.join("; "),
            }
        })
        .rev()
        .collect()
}

pub async fn page(
    State(state): State<TrackerState>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return (StatusCode::BAD_REQUEST, Html("<p>Bad query.</p>")).into_response();
    };
    match render(&state, q).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "tracker page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<p>The tracker page could not be rendered.</p>"),
            )
                .into_response()
        }
    }
}

async fn render(state: &TrackerState, q: PageQuery) -> anyhow::Result<String> {
    let all = store::users_and_targets(&state.db).await?;
    let mut user_names: Vec<String> = all.iter().map(|(u, _, _)| u.clone()).collect();
    user_names.dedup();
    let unknown_user = q.user.clone().filter(|u| !user_names.contains(u));
    let user = match (&q.user, &unknown_user) {
        (_, Some(_)) => String::new(),
        (Some(u), None) => u.clone(),
        (None, None) => user_names.first().cloned().unwrap_or_default(),
    };
    let mine: Vec<&(String, String, i64)> = all.iter().filter(|(u, _, _)| *u == user).collect();
    let target = q
        .target
        .filter(|t| mine.iter().any(|(_, x, _)| x == t))
        .or_else(|| mine.first().map(|(_, t, _)| t.clone()))
        .unwrap_or_default();
    let runs = if user.is_empty() {
        Vec::new()
    } else {
        store::for_target(&state.db, &user, &target, SHOWN).await?
    };
    let sessions: Vec<Session> = if user.is_empty() {
        Vec::new()
    } else {
        sessions::sessions(
            &state.db,
            &user,
            Some(&target),
            sessions::DEFAULT_GAP_MINUTES * 60_000,
        )
        .await?
    };
    // Runs of one kind (test type and challenge) are comparable; a line
    // never joins a closed-loop run to a profile run.
    let mut kinds: Vec<(String, String)> = Vec::new();
    for r in &runs {
        let k = (r.test_type.clone(), r.challenge_type.clone());
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let charts: Vec<KindCharts> = kinds
        .iter()
        .enumerate()
        .map(|(i, (test, challenge))| {
            let mine: Vec<&TrackedRun> = runs
                .iter()
                .filter(|r| &r.test_type == test && &r.challenge_type == challenge)
                .collect();
            let series = |id: &str,
                          y_name: &str,
                          names: &[&str],
                          f: &dyn Fn(&TrackedRun, usize) -> Option<f64>| {
                let lines: Vec<Series> = names
                    .iter()
                    .enumerate()
                    .map(|(k, n)| Series {
                        name: (*n).to_owned(),
                        points: mine
                            .iter()
                            .filter_map(|r| f(r, k).map(|v| (r.run_at_ms, v)))
                            .collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect();
                time_series(&format!("{id}-{i}"), y_name, y_name, &lines)
            };
            KindCharts {
                title: format!("{test} · {challenge}"),
                runs: mine.len(),
                latency: series(
                    "latency-chart",
                    "latency (ms)",
                    &["p50", "p95", "p99"],
                    &|r, k| [r.p50_ms, r.p95_ms, r.p99_ms][k],
                ),
                rps: series("rps-chart", "req/s", &["req/s"], &|r, _| Some(r.rps)),
                errors: series("error-chart", "errors (%)", &["errors %"], &|r, _| {
                    Some(r.error_rate)
                }),
            }
        })
        .collect();
    let page = TrackerPage {
        notice: NOTICE,
        users: user_names.iter().map(|u| (u.clone(), *u == user)).collect(),
        targets: mine
            .iter()
            .map(|(_, t, n)| TargetTab {
                name: t.clone(),
                runs: *n,
                active: *t == target,
            })
            .collect(),
        runs: rows(&runs, &sessions),
        sessions: sessions
            .into_iter()
            .enumerate()
            .map(|(i, s)| SessionRow {
                label: format!("#{}", i + 1),
                session_id: s.session_id,
                sent: s.sent_session_count,
                runs: s.runs,
                commits: if s.commits.is_empty() {
                    "–".into()
                } else {
                    s.commits.join(", ")
                },
                first: short(&s.first_run_at),
                last: short(&s.last_run_at),
            })
            .collect(),
        charts,
        user,
        unknown_user,
    };
    Ok(page.render()?)
}
