//! The leaderboard page: a tab per challenge, all three statistics, the
//! runs in progress, practice runs beside the board, and a score-over-time
//! chart.

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chaos_domain::Challenge;
use chaos_domain::scoring::{RULES_VERSION, statistic_names};

use crate::db::rfc3339;
use crate::http::{PageRange, Paging};
use crate::leaderboard::store as scores;
use crate::pages::{db_error, error_page, number, short_time};
use crate::state::AppState;

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
    let in_progress = match crate::runs::store::count_open(&state.db, challenge.as_str()).await {
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

#[cfg(test)]
mod tests {
    use super::*;

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
