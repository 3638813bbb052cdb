//! How runs and leaderboards are shown in a terminal.

use chaos_client::{Leaderboard, Run, RunState, Score};

/// The statistics' names under the rules the score was computed by.
fn names(s: &Score) -> [&str; 3] {
    let name = |i: usize| {
        s.statistics
            .get(i)
            .map_or("statistic", |st| st.name.as_str())
    };
    [name(0), name(1), name(2)]
}

/// `robust-service: scored 480 (…) → http://…/runs/…`
pub fn one_line(run: &Run) -> String {
    let outcome = match &run.score {
        Some(s) if run.state == RunState::Scored => {
            let names = names(s);
            format!(
                "{} {} ({}: {}; {}: {}; {}: {})",
                if s.official {
                    "scored"
                } else {
                    "practice score"
                },
                number(s.score),
                names[0],
                number(s.stat1),
                names[1],
                number(s.stat2),
                names[2],
                number(s.stat3)
            )
        }
        Some(s) => format!(
            "{}: {}",
            run.state,
            s.reason.as_deref().unwrap_or("no reason given")
        ),
        None => format!(
            "{}{}",
            run.state,
            run.last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
    };
    format!("{} {outcome} → {}", run.challenge, run.links.page)
}

/// The three statistics by name, the score and the run's links.
pub fn scored_run(run: &Run) -> String {
    let mut out = String::new();
    match &run.score {
        Some(s) if run.state == RunState::Scored => {
            let names = names(s);
            out.push_str(&format!(
                "Score for {} on {}\n",
                run.contributor, run.challenge
            ));
            for (name, v) in names.iter().zip([s.stat1, s.stat2, s.stat3]) {
                out.push_str(&format!("  {name:<36} {}\n", number(v)));
            }
            out.push_str(&format!(
                "  {:<36} {}   (rules v{})\n",
                "score",
                number(s.score),
                s.rules_version
            ));
            if s.official {
                out.push_str(
                    "  OFFICIAL: a complete run at the profile's full length and rate; it ranks\n",
                );
            } else {
                out.push_str("  PRACTICE: not on the leaderboard, because\n");
                for r in &s.practice_reasons {
                    out.push_str(&format!("    - {r}\n"));
                }
            }
        }
        _ => out.push_str(&format!("Not scored: {}\n", one_line(run))),
    }
    out.push_str(&format!("  run page     {}\n", run.links.page));
    out.push_str(&format!("  leaderboard  {}\n", run.links.leaderboard));
    out
}

/// A leaderboard as an aligned table, with the statistics' names below.
pub fn table(board: &Leaderboard) -> String {
    let mut out = format!(
        "{} ({} ranked {}, rules v{})\n",
        board.title,
        board.total,
        if board.total == 1 {
            "contributor"
        } else {
            "contributors"
        },
        board.rules_version
    );
    if board.entries.is_empty() {
        out.push_str(
            "  No official runs yet: a run ranks when it is the whole profile at full length and rate\n  \
             (chaosctl run without --duration or --rate-scale). Practice runs are listed on the page.\n",
        );
        return out;
    }
    let name = |e: &chaos_client::Entry| {
        if e.deregistered {
            format!("{} (left)", e.contributor)
        } else {
            e.contributor.clone()
        }
    };
    let width = board
        .entries
        .iter()
        .map(|e| name(e).chars().count())
        .max()
        .unwrap_or(0)
        .max("contributor".len());
    out.push_str(&format!(
        "  {:>4}  {:<width$}  {:>10}  {:>10}  {:>10}  {:>10}\n",
        "rank", "contributor", "stat 1", "stat 2", "stat 3", "score"
    ));
    for e in &board.entries {
        out.push_str(&format!(
            "  {:>4}  {:<width$}  {:>10}  {:>10}  {:>10}  {:>10}\n",
            e.rank,
            name(e),
            number(e.stat1),
            number(e.stat2),
            number(e.stat3),
            number(Some(e.score)),
        ));
    }
    for (i, name) in board.statistics.iter().enumerate() {
        out.push_str(&format!("  stat {}: {name}\n", i + 1));
    }
    out
}

/// Whole numbers without decimals, others with up to two.
pub fn number(v: Option<f64>) -> String {
    match v {
        None => "–".to_owned(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => {
            let s = format!("{v:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_client::Entry;

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(Some(480.0)), "480");
        assert_eq!(number(Some(48.75)), "48.75");
        assert_eq!(number(Some(42.6)), "42.6");
        assert_eq!(number(Some(0.004)), "0");
        assert_eq!(number(None), "–");
    }

    #[test]
    fn a_table_has_a_row_per_entry_and_names_its_statistics() {
        let entry = |rank, name: &str, score| Entry {
            rank,
            contributor: name.into(),
            display_name: name.into(),
            deregistered: rank == 2,
            stat1: Some(score),
            stat2: Some(48.75),
            stat3: None,
            score,
            run_id: "r".into(),
            run_end: "2026-11-23T00:00:00Z".into(),
            scored_at: "2026-11-23T00:00:00Z".into(),
            rules_version: 1,
        };
        let board = Leaderboard {
            challenge: chaos_domain::Challenge::RobustService,
            title: "Robust service".into(),
            rules_version: 1,
            statistics: vec!["a".into(), "b".into(), "c".into()],
            page: 1,
            per_page: 50,
            total: 2,
            entries: vec![entry(1, "ada-lovelace", 480.0), entry(2, "bob", 320.0)],
            earlier_rules: vec![],
        };
        let t = table(&board);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 7, "{t}");
        assert!(
            lines[2].contains("ada-lovelace") && lines[2].contains("480"),
            "{t}"
        );
        assert!(lines[3].contains("bob (left)"), "{t}");
        assert_eq!(lines[6], "  stat 3: c");
        // Columns line up.
        assert_eq!(lines[1].chars().count(), lines[2].chars().count());
        assert_eq!(lines[1].chars().count(), lines[3].chars().count());
    }
}
