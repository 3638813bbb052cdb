//! What the rules judged, as a table for people: the run page shows it
//! beside the score, computed from the same stored samples by the same
//! functions, so the table and the score cannot disagree.

use serde::Serialize;

use super::{
    AnvilSample, LoadSample, Rules, SLO_MAX_ERROR_RATIO, SLO_P95_SECONDS, clean_load, delta, round,
    steps, v2,
};
use crate::challenge::Challenge;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub title: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub cells: Vec<String>,
    /// Met / up (true), missed / down (false), or not a pass-fail row.
    pub verdict: Option<bool>,
}

fn n(v: f64, places: i32) -> String {
    if v.is_finite() {
        format!("{}", round(v, places))
    } else {
        "–".into()
    }
}

/// The table for a run scored under `rules`; `None` when there is nothing
/// to show (no load samples).
pub fn judged(
    rules: Rules,
    challenge: Challenge,
    load: &[LoadSample],
    _anvil: &[AnvilSample],
) -> Option<Judged> {
    let load = clean_load(load);
    if load.len() < 2 {
        return None;
    }
    Some(match challenge {
        Challenge::RobustService => robust_service(rules, &load),
        Challenge::GracefulDegradation => graceful_degradation(&load),
        Challenge::LongestUpkeep => longest_upkeep(&load)?,
    })
}

fn robust_service(rules: Rules, load: &[LoadSample]) -> Judged {
    let mut columns = vec![
        "asked req/s",
        "seconds judged",
        "requests",
        "successful req/s",
        "p95 (ms)",
        "errors (%)",
    ];
    if rules != Rules::V1 {
        columns.extend(["sent (%)", "SLO margin"]);
    }
    columns.push("SLO met");
    let rows = steps(load)
        .iter()
        .map(|s| {
            let p95 = s.p95();
            let errors = s.error_ratio();
            let mut cells = vec![
                n(s.asked, 0),
                n(s.seconds, 1),
                n(s.requests, 0),
                n(s.success / s.seconds, 2),
                p95.map_or("–".into(), |p| n(p * 1000.0, 2)),
                n(errors * 100.0, 2),
            ];
            let met = match rules {
                Rules::V1 => {
                    p95.is_some_and(|p| p <= SLO_P95_SECONDS) && errors <= SLO_MAX_ERROR_RATIO
                }
                Rules::V2 | Rules::V3 => {
                    let margin = v2::slo_margin(s);
                    cells.push(n(s.sent_share() * 100.0, 1));
                    cells.push(margin.map_or("–".into(), |m| n(m, 2)));
                    margin.is_some_and(|m| m <= 1.0)
                }
            };
            cells.push(if met { "met" } else { "missed" }.into());
            Row {
                cells,
                verdict: Some(met),
            }
        })
        .collect();
    Judged {
        title: "Each step of the stepped rate (its steady part)",
        columns,
        rows,
    }
}

/// The window in 20 s slices from the load's start: what was asked and
/// how gracefully it was answered.
fn graceful_degradation(load: &[LoadSample]) -> Judged {
    const SLICE_S: f64 = 20.0;
    let start = load
        .iter()
        .find(|s| s.target_rps > 0.0)
        .map_or(load[0].t, |s| s.t);
    let mut rows: Vec<(f64, f64, f64, f64, f64, f64)> = Vec::new();
    for w in load.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let mid = (a.t + b.t) / 2.0 - start;
        if b.t <= a.t || mid < 0.0 {
            continue;
        }
        let i = (mid / SLICE_S) as usize;
        if rows.len() <= i {
            rows.resize(i + 1, (0.0, 0.0, 0.0, 0.0, 0.0, 0.0));
        }
        let r = &mut rows[i];
        let dt = b.t - a.t;
        r.0 += b.target_rps * dt;
        r.1 += dt;
        r.2 += delta(a.requests, b.requests);
        r.3 += delta(a.success, b.success);
        r.4 += delta(a.graceful_in_time, b.graceful_in_time);
        r.5 = r.5.max(b.target_rps);
    }
    Judged {
        title: "The window in 20 s slices",
        columns: vec![
            "from (s)",
            "to (s)",
            "asked req/s (mean)",
            "requests",
            "successful (%)",
            "graceful in 1 s (%)",
        ],
        rows: rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.1 > 0.0)
            .map(|(i, r)| Row {
                cells: vec![
                    n(i as f64 * SLICE_S, 0),
                    n((i + 1) as f64 * SLICE_S, 0),
                    n(r.0 / r.1, 1),
                    n(r.2, 0),
                    if r.2 > 0.0 {
                        n(r.3 / r.2 * 100.0, 2)
                    } else {
                        "–".into()
                    },
                    if r.2 > 0.0 {
                        n(r.4 / r.2 * 100.0, 2)
                    } else {
                        "–".into()
                    },
                ],
                verdict: None,
            })
            .collect(),
    }
}

fn longest_upkeep(load: &[LoadSample]) -> Option<Judged> {
    let slots = v2::upkeep_slots(load)?;
    Some(Judged {
        title: "The load in 10 s slots (up: at least half of its requests succeeded)",
        columns: vec![
            "from (s)",
            "to (s)",
            "requests",
            "successful (%)",
            "verdict",
        ],
        rows: slots
            .iter()
            .map(|s| Row {
                cells: vec![
                    n(s.from_s, 0),
                    n(s.to_s, 1),
                    n(s.requests, 0),
                    if s.requests > 0.0 {
                        n(s.success / s.requests * 100.0, 2)
                    } else {
                        "–".into()
                    },
                    match (s.up, s.borrowed) {
                        (Some(true), false) => "up".into(),
                        (Some(false), false) => "down".into(),
                        (Some(true), true) => "up (no news: the next slot's verdict)".into(),
                        (Some(false), true) => "down (no news: the next slot's verdict)".into(),
                        (None, _) => "no news".into(),
                    },
                ],
                verdict: s.up,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, target: f64, requests: f64, success: f64) -> LoadSample {
        LoadSample {
            wrong: 0.0,
            t,
            target_rps: target,
            requests,
            success,
            graceful_in_time: success,
            latency_buckets: vec![(0.1, requests), (f64::INFINITY, requests)],
        }
    }

    #[test]
    fn robust_service_lists_each_step_with_its_verdict() {
        let mut load = Vec::new();
        let mut r = 0.0;
        for (k, rate) in [100.0, 100.0, 100.0, 200.0, 200.0, 200.0]
            .iter()
            .enumerate()
        {
            r += rate * 5.0;
            load.push(sample(k as f64 * 5.0, *rate, r, r));
        }
        let t = judged(Rules::V2, Challenge::RobustService, &load, &[]).expect("table");
        assert_eq!(t.columns.len(), t.rows[0].cells.len());
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].cells[0], "100");
        assert_eq!(t.rows[1].cells[0], "200");
        assert_eq!(t.rows[1].verdict, Some(true));
        assert_eq!(t.rows[1].cells.last().map(String::as_str), Some("met"));
    }

    #[test]
    fn longest_upkeep_lists_slots_up_and_down() {
        let mut load = Vec::new();
        let (mut r, mut ok) = (0.0, 0.0);
        for k in 0..=30 {
            load.push(sample(k as f64, 100.0, r, ok));
            r += 100.0;
            ok += if (10..20).contains(&k) { 0.0 } else { 100.0 };
        }
        let t = judged(Rules::V2, Challenge::LongestUpkeep, &load, &[]).expect("table");
        let verdicts: Vec<_> = t.rows.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts, [Some(true), Some(false), Some(true)]);
    }

    #[test]
    fn nothing_to_show_without_samples() {
        assert!(judged(Rules::V2, Challenge::GracefulDegradation, &[], &[]).is_none());
    }
}
