//! Server-rendered pages: the leaderboard (a tab per challenge, all three
//! statistics, a score-over-time chart), a run with its evidence, and a
//! contributor. No JavaScript framework; one small script refreshes the board.

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chaos_domain::Challenge;
use chaos_domain::scoring::judged::judged;
use chaos_domain::scoring::{AnvilSample, LoadSample, RULES_VERSION, Rules, statistic_names};

use crate::api::Paging;
use crate::app::AppState;
use crate::db::rfc3339;
use crate::store::runs::Run;
use crate::store::{contributors, runs, scores};

/// Renders a template, or a plain 500 page if rendering fails.
fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>500</h1><p>The page could not be rendered.</p>".to_owned()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: String,
    message: String,
}

fn error_page(status: StatusCode, message: impl Into<String>) -> Response {
    render(
        status,
        &ErrorPage {
            status: status.to_string(),
            message: message.into(),
        },
    )
}

fn db_error(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "database error");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The database failed; try again shortly.",
    )
}

/// A statistic as shown: whole numbers without decimals, others with two.
pub fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) if v.is_finite() => format!("{v:.2}"),
        _ => "–".to_owned(),
    }
}

fn short_time(rfc: &str) -> String {
    rfc.get(..16)
        .map(|s| s.replace('T', " "))
        .unwrap_or_default()
}

struct Tab {
    slug: &'static str,
    title: &'static str,
    active: bool,
}

struct Row {
    rank: i64,
    contributor: String,
    display_name: String,
    deregistered: bool,
    stat1: String,
    stat2: String,
    stat3: String,
    score: String,
    run_id: String,
    scored_at: String,
}

/// A practice run: shown under the board, never ranked.
struct PracticeRow {
    contributor: String,
    stat1: String,
    stat2: String,
    stat3: String,
    score: String,
    run_id: String,
    run_end: String,
    reasons: String,
}

/// Practice runs shown under a board.
const PRACTICE_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "leaderboard.html")]
struct LeaderboardPage {
    challenge_slug: &'static str,
    practice: Vec<PracticeRow>,
    /// Best official runs scored only under earlier rules (`reasons` holds the rules).
    earlier: Vec<PracticeRow>,
    in_progress: i64,
    tabs: Vec<Tab>,
    challenge_title: &'static str,
    stat1_name: &'static str,
    stat2_name: &'static str,
    stat3_name: &'static str,
    rows: Vec<Row>,
    chart: String,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<i64>,
    next: Option<i64>,
    rules_version: u32,
    refreshed_at: String,
}

pub async fn leaderboard(
    State(state): State<AppState>,
    challenge: Result<Path<String>, PathRejection>,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Response {
    let Ok(Path(slug)) = challenge else {
        return error_page(StatusCode::BAD_REQUEST, "Bad challenge in the address.");
    };
    let Ok(challenge) = slug.parse::<Challenge>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            format!("There is no {slug:?} challenge."),
        );
    };
    let Ok(Query(paging)) = paging else {
        return error_page(StatusCode::BAD_REQUEST, "Bad page number.");
    };
    let Ok((limit, offset, page)) = paging.resolve() else {
        return error_page(StatusCode::BAD_REQUEST, "Bad page number.");
    };
    let key = format!("page:{challenge}:{limit}:{offset}");
    if let Some(html) = state.cache.get(&key) {
        return (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
    }
    let generation = state.cache.generation();
    let (entries, total) = match scores::leaderboard(&state.db, challenge, limit, offset).await {
        Ok(v) => v,
        Err(e) => return db_error(e),
    };
    let top: Vec<String> = entries
        .iter()
        .take(5)
        .map(|e| e.contributor.clone())
        .collect();
    let history = match scores::history(&state.db, challenge, &top).await {
        Ok(h) => h,
        Err(e) => return db_error(e),
    };
    let practice = match scores::practice(&state.db, challenge, PRACTICE_SHOWN).await {
        Ok(p) => p,
        Err(e) => return db_error(e),
    };
    let earlier = match scores::earlier_rules(&state.db, challenge, PRACTICE_SHOWN).await {
        Ok(p) => p,
        Err(e) => return db_error(e),
    };
    let in_progress = match crate::store::runs::count_open(&state.db, challenge.as_str()).await {
        Ok(n) => n,
        Err(e) => return db_error(e),
    };
    let names = statistic_names(challenge);
    let pages = ((total + limit - 1) / limit).max(1);
    let page_view = LeaderboardPage {
        challenge_slug: challenge.as_str(),
        practice: practice
            .iter()
            .map(|(name, s)| PracticeRow {
                contributor: name.clone(),
                stat1: number(s.stat1),
                stat2: number(s.stat2),
                stat3: number(s.stat3),
                score: if s.outcome == "scored" {
                    number(s.score)
                } else {
                    "no data".into()
                },
                run_id: s.run_id.clone(),
                run_end: short_time(&s.run_end),
                reasons: s.practice_reasons.join("; "),
            })
            .collect(),
        earlier: earlier
            .iter()
            .map(|e| PracticeRow {
                contributor: e.contributor.clone(),
                stat1: number(e.stat1),
                stat2: number(e.stat2),
                stat3: number(e.stat3),
                score: number(e.score),
                run_id: e.run_id.clone(),
                run_end: short_time(&e.run_end),
                reasons: format!("v{}", e.rules_version),
            })
            .collect(),
        in_progress,
        tabs: Challenge::ALL
            .iter()
            .map(|c| Tab {
                slug: c.as_str(),
                title: c.title(),
                active: *c == challenge,
            })
            .collect(),
        challenge_title: challenge.title(),
        stat1_name: names[0],
        stat2_name: names[1],
        stat3_name: names[2],
        rows: entries
            .iter()
            .map(|e| Row {
                rank: e.rank,
                contributor: e.contributor.clone(),
                display_name: e.display_name.clone(),
                deregistered: e.deregistered,
                stat1: number(e.stat1),
                stat2: number(e.stat2),
                stat3: number(e.stat3),
                score: number(Some(e.score)),
                run_id: e.run_id.clone(),
                scored_at: short_time(&e.run_end),
            })
            .collect(),
        chart: chart(&top, &history),
        total,
        page,
        pages,
        prev: (page > 1).then_some(page - 1),
        next: (page < pages).then_some(page + 1),
        rules_version: RULES_VERSION,
        refreshed_at: short_time(&rfc3339(crate::db::now_ms())),
    };
    match page_view.render() {
        Ok(html) => {
            let html = axum::body::Bytes::from(html);
            state.cache.put(key, generation, html.clone());
            (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
        }
    }
}

/// Score over time: one line per contributor, each official run at its end.
pub fn chart(order: &[String], points: &[(String, i64, f64)]) -> String {
    let series: Vec<crate::charts::Series> = order
        .iter()
        .map(|name| crate::charts::Series {
            name: name.clone(),
            points: points
                .iter()
                .filter(|p| &p.0 == name)
                .map(|p| (p.1, p.2))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    crate::charts::time_series("score-chart", "Score over time", "score", &series)
}

struct ScoreView {
    /// What the rules judged, from the stored samples.
    judged: Option<chaos_domain::scoring::judged::Judged>,
    official: bool,
    practice_reasons: Vec<String>,
    records: usize,
    outcome: String,
    reason: Option<String>,
    rules_version: i64,
    scored_at: String,
    rows: Vec<(&'static str, String)>,
    score: String,
    queries: Vec<(String, String)>,
    sample_counts: String,
    evidence: String,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    id: String,
    contributor: String,
    challenge: String,
    challenge_title: &'static str,
    profile_version: i64,
    conditions: String,
    state: &'static str,
    target: String,
    window: String,
    source: &'static str,
    last_error: Option<String>,
    score: Option<ScoreView>,
}

pub async fn run(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return error_page(StatusCode::BAD_REQUEST, "Bad run id.");
    };
    let run: Run = match runs::get(&state.db, &id).await {
        Ok(Some(r)) => r,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, format!("There is no run {id:?}.")),
        Err(e) => return db_error(e),
    };
    // The run reads as its newest record under the current rules (as in
    // the API), else its newest.
    let (score, records) = match scores::records_for_run(&state.db, &id).await {
        Ok(all) => (
            all.iter()
                .find(|s| s.rules_version == i64::from(RULES_VERSION))
                .or(all.first())
                .cloned(),
            all.len(),
        ),
        Err(e) => return db_error(e),
    };
    let challenge = run
        .challenge
        .parse::<Challenge>()
        .unwrap_or(Challenge::RobustService);
    let names = statistic_names(challenge);
    let score = score.map(|s| {
        let queries = s.evidence["detail"]["queries"]
            .as_object()
            .map(|q| {
                q.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let count = |k: &str| {
            s.evidence["samples"][k]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0)
        };
        let rules = u32::try_from(s.rules_version)
            .ok()
            .and_then(Rules::from_version)
            .unwrap_or(Rules::CURRENT);
        let samples = |k: &str| s.evidence["samples"][k].clone();
        let load: Vec<LoadSample> = serde_json::from_value(samples("load")).unwrap_or_default();
        let anvil: Vec<AnvilSample> = serde_json::from_value(samples("anvil")).unwrap_or_default();
        ScoreView {
            judged: judged(rules, challenge, &load, &anvil),
            official: s.official,
            practice_reasons: s.practice_reasons.clone(),
            records,
            outcome: s.outcome.clone(),
            reason: s.reason.clone(),
            rules_version: s.rules_version,
            scored_at: short_time(&s.scored_at),
            rows: vec![
                (names[0], number(s.stat1)),
                (names[1], number(s.stat2)),
                (names[2], number(s.stat3)),
            ],
            score: number(s.score),
            queries,
            sample_counts: format!(
                "{} load generator samples and {} url-anvil samples, window step {} s",
                count("load"),
                count("anvil"),
                s.evidence["window"]["step_s"]
            ),
            evidence: serde_json::to_string_pretty(&s.evidence).unwrap_or_default(),
        }
    });
    let window = match (run.window_start_ms, run.window_end_ms) {
        (Some(a), Some(b)) => format!(
            "{} → {} ({:.1} s)",
            rfc3339(a),
            rfc3339(b),
            (b - a) as f64 / 1000.0
        ),
        (Some(a), None) => format!("{} → (running)", rfc3339(a)),
        _ => "not started".to_owned(),
    };
    let page = RunPage {
        id: run.id.clone(),
        contributor: run.contributor.clone(),
        challenge: run.challenge.clone(),
        challenge_title: challenge.title(),
        profile_version: run.profile_version,
        conditions: if run.duration_scale == 1.0 && run.rate_scale == 1.0 {
            "full length, full rate".into()
        } else {
            format!(
                "length ×{}, rates ×{} (declared by the client)",
                number(Some(run.duration_scale)),
                number(Some(run.rate_scale))
            )
        },
        state: run.state.as_str(),
        target: run.target.clone(),
        window,
        source: run.source.as_str(),
        last_error: run.last_error.clone(),
        score,
    };
    render(StatusCode::OK, &page)
}

struct RunRow {
    id: String,
    challenge: String,
    state: &'static str,
    score: String,
    started: String,
}

#[derive(Template)]
#[template(path = "contributor.html")]
struct ContributorPage {
    name: String,
    display_name: String,
    active_challenge: String,
    created_at: String,
    deregistered: bool,
    runs: Vec<RunRow>,
}

pub async fn contributor(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(name)) = name else {
        return error_page(StatusCode::BAD_REQUEST, "Bad contributor name.");
    };
    let c = match contributors::by_name(&state.db, &name).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                format!("There is no contributor {name:?}."),
            );
        }
        Err(e) => return db_error(e),
    };
    let found = match runs::list(&state.db, Some(&c.id), None, 100, 0).await {
        Ok(r) => r,
        Err(e) => return db_error(e),
    };
    let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
    let mut found_scores = match scores::for_runs(&state.db, &ids).await {
        Ok(s) => s,
        Err(e) => return db_error(e),
    };
    let mut rows = Vec::with_capacity(found.len());
    for r in found {
        let score = found_scores.remove(&r.id).and_then(|s| s.score);
        rows.push(RunRow {
            id: r.id.clone(),
            challenge: r.challenge.clone(),
            state: r.state.as_str(),
            score: number(score),
            started: r
                .window_start_ms
                .map(|t| short_time(&rfc3339(t)))
                .unwrap_or_else(|| "–".into()),
        });
    }
    let page = ContributorPage {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        active_challenge: c.active_challenge.clone().unwrap_or_else(|| "none".into()),
        created_at: short_time(&c.created_at),
        deregistered: c.deregistered,
        runs: rows,
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_shown_plainly() {
        assert_eq!(number(Some(640.0)), "640");
        assert_eq!(number(Some(97.456)), "97.46");
        assert_eq!(number(None), "–");
        assert_eq!(number(Some(f64::NAN)), "–");
    }

    #[test]
    fn the_chart_escapes_names_and_draws_a_line_each() {
        let order = vec!["ada".to_owned(), "<b>".to_owned()];
        let points = vec![
            ("ada".into(), 0, 10.0),
            ("ada".into(), 1000, 20.0),
            ("<b>".into(), 500, 5.0),
        ];
        let svg = chart(&order, &points);
        // One line per contributor (axes and ticks are thinner polylines).
        assert_eq!(svg.matches(r#"stroke-width="2""#).count(), 2);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(chart(&order, &[]).is_empty());
    }
}
