//! A run's page: its window, state, conditions, score and evidence.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chaos_domain::Challenge;
use chaos_domain::profile::ChallengeProfile;
use chaos_domain::scoring::judged::judged;
use chaos_domain::scoring::timeline::{anvil_down, load_timeline};
use chaos_domain::scoring::{AnvilSample, LoadSample, Rules, increase, statistic_names};

use crate::charts::{Mark, Series, window_series};
use crate::db::rfc3339;
use crate::pages::{db_error, error_page, number, render, short_time};
use crate::runs::store::{self as runs, Run};
use crate::scores::store as scores;
use crate::state::AppState;

struct ScoreView {
    /// What the rules judged, from the stored samples.
    judged: Option<chaos_domain::scoring::judged::Judged>,
    /// What of the stored record cannot be shown, and why.
    unreadable: Option<String>,
    official: bool,
    practice_reasons: Vec<String>,
    records: i64,
    outcome: String,
    reason: Option<String>,
    rules_version: i64,
    scored_at: String,
    rows: Vec<(&'static str, String)>,
    score: String,
    queries: Vec<(String, String)>,
    sample_counts: String,
    evidence: String,
    over_time: Option<OverTime>,
}

/// The run through its window: three charts with its events marked, and
/// the events listed.
struct OverTime {
    rates: String,
    latency: String,
    errors: String,
    /// How many answers were right and how many wrong, when any was wrong
    /// or the run's answers were checked.
    answers: Option<String>,
    /// (number, seconds into the run, what).
    events: Vec<(usize, String, String)>,
}

/// The charts of a run from its samples, timed from its window's start.
fn over_time(
    run: &Run,
    challenge: Challenge,
    load: &[LoadSample],
    anvil: &[AnvilSample],
) -> Option<OverTime> {
    let start_s = run.window_start_ms? as f64 / 1000.0;
    let points = load_timeline(load, start_s);
    if points.is_empty() {
        return None;
    }
    // Since profile version 2 the load generator checks every answer.
    let (right, wrong) = (
        increase(load.iter().map(|s| s.success)),
        increase(load.iter().map(|s| s.wrong)),
    );
    let any_wrong = wrong > 0.0;
    let answers = (any_wrong || run.profile_version >= 2).then(|| {
        format!(
            "Every answer was checked against url-anvil's answer to the URL asked: {} right, {} wrong{}.",
            number(Some(right)),
            number(Some(wrong)),
            if any_wrong {
                " (a wrong answer counts as an error, never as served)"
            } else {
                ""
            }
        )
    });
    let ms = |s: f64| (s * 1000.0).round() as i64;
    // The chaos the profile schedules (scaled as the run was), then the
    // times url-anvil did not answer.
    let profile = u32::try_from(run.profile_version)
        .ok()
        .and_then(|v| ChallengeProfile::version(challenge, v))
        .map(|p| p.scaled(run.duration_scale, run.rate_scale));
    let mut marks: Vec<Mark> = profile
        .map(|p| p.chaos)
        .unwrap_or_default()
        .into_iter()
        .map(|step| Mark {
            at_ms: ms(step.at_s),
            until_ms: None,
            label: format!("chaos: {}", step.fault),
        })
        .collect();
    marks.extend(
        anvil_down(anvil, start_s)
            .into_iter()
            .map(|(from, to)| Mark {
                at_ms: ms(from),
                until_ms: Some(ms(to)),
                label: "url-anvil did not answer".to_owned(),
            }),
    );
    // Numbered in time order, on the charts and in the list alike.
    marks.sort_by_key(|m| m.at_ms);
    let line =
        |name: &str, f: &dyn Fn(&chaos_domain::scoring::timeline::Point) -> Option<f64>| Series {
            name: name.to_owned(),
            points: points
                .iter()
                .filter_map(|p| f(p).map(|v| (ms(p.at_s), v)))
                .collect(),
        };
    let events = marks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let when = match m.until_ms {
                Some(until) => format!(
                    "{}–{} s",
                    number(Some(m.at_ms as f64 / 1000.0)),
                    number(Some(until as f64 / 1000.0))
                ),
                None => format!("{} s", number(Some(m.at_ms as f64 / 1000.0))),
            };
            (i + 1, when, m.label.clone())
        })
        .collect();
    Some(OverTime {
        rates: window_series(
            "rates-chart",
            "Requests per second through the run",
            "req/s",
            &[
                line("asked", &|p| Some(p.asked_rps)),
                line("completed", &|p| Some(p.completed_rps)),
                line("successful", &|p| Some(p.success_rps)),
            ],
            &marks,
        ),
        latency: window_series(
            "latency-chart",
            "p95 latency through the run",
            "p95 (ms)",
            &[line("p95", &|p| p.p95_ms)],
            &marks,
        ),
        errors: window_series(
            "errors-chart",
            "Errors through the run",
            "errors (%)",
            &if any_wrong {
                vec![
                    line("not successful", &|p| p.error_pct),
                    line("wrong answers", &|p| p.wrong_pct),
                ]
            } else {
                vec![line("not successful", &|p| p.error_pct)]
            },
            &marks,
        ),
        answers,
        events,
    })
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
    let (score, records) = match tokio::try_join!(
        scores::for_run(&state.db, &id),
        scores::count_for_run(&state.db, &id)
    ) {
        Ok(found) => found,
        Err(e) => return db_error(e),
    };
    let Ok(challenge) = run.challenge.parse::<Challenge>() else {
        tracing::error!(run = %run.id, challenge = %run.challenge, "a stored run names an unknown challenge");
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "Run {} is stored with the challenge {:?}, which this server does not know: its record is damaged.",
                run.id, run.challenge
            ),
        );
    };
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
            .and_then(Rules::from_version);
        let samples = |k: &str| s.evidence["samples"][k].clone();
        // A record the page cannot read is said to be so, never drawn as
        // an empty run or judged by other rules than the ones that scored it.
        let read = serde_json::from_value::<Vec<LoadSample>>(samples("load")).and_then(|load| {
            serde_json::from_value::<Vec<AnvilSample>>(samples("anvil")).map(|anvil| (load, anvil))
        });
        let (load, anvil, mut unreadable) = match read {
            Ok((load, anvil)) => (load, anvil, Vec::new()),
            Err(e) => (
                Vec::new(),
                Vec::new(),
                vec![format!(
                    "the stored samples could not be read ({e}), so the run's charts and what was judged are not shown"
                )],
            ),
        };
        if rules.is_none() {
            unreadable.push(format!(
                "it was scored under rules v{}, which this server does not know, so what was judged is not shown",
                s.rules_version
            ));
        }
        ScoreView {
            over_time: over_time(&run, challenge, &load, &anvil),
            judged: rules.and_then(|rules| judged(rules, challenge, &load, &anvil)),
            unreadable: (!unreadable.is_empty()).then(|| unreadable.join("; ")),
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
