//! A contributor's page: their runs and scores.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::contributors::store as contributors;
use crate::db::rfc3339;
use crate::leaderboard::store as scores;
use crate::pages::{db_error, error_page, number, render, short_time};
use crate::runs::store as runs;
use crate::scores::store::for_runs;
use crate::state::AppState;

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
    standing: Vec<StandingRow>,
    runs: Vec<RunRow>,
}

/// Their place on a board.
struct StandingRow {
    challenge: String,
    title: &'static str,
    rank: i64,
    total: i64,
    score: String,
    run_id: String,
    /// Their official scores on this board over time (SVG).
    chart: String,
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
    let standing = match scores::standing(&state.db, &c.id).await {
        Ok(rows) => rows,
        Err(e) => return db_error(e),
    };
    let mut standing_rows = Vec::with_capacity(standing.len());
    for st in standing {
        let Ok(challenge) = st.challenge.parse::<chaos_domain::Challenge>() else {
            continue;
        };
        let points =
            match scores::history(&state.db, challenge, std::slice::from_ref(&c.name)).await {
                Ok(p) => p,
                Err(e) => return db_error(e),
            };
        let series = [crate::charts::Series {
            name: c.display_name.clone(),
            points: points.iter().map(|p| (p.1, p.2)).collect(),
        }];
        standing_rows.push(StandingRow {
            chart: crate::charts::time_series(
                &format!("history-{challenge}"),
                &format!("{}: official scores over time", challenge.title()),
                "score",
                &series,
            ),
            title: challenge.title(),
            challenge: st.challenge,
            rank: st.rank,
            total: st.total,
            score: number(st.score),
            run_id: st.run_id,
        });
    }
    let found = match runs::list(&state.db, Some(&c.id), None, 100, 0).await {
        Ok(r) => r,
        Err(e) => return db_error(e),
    };
    let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
    let mut found_scores = match for_runs(&state.db, &ids).await {
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
        standing: standing_rows,
        runs: rows,
    };
    render(StatusCode::OK, &page)
}
