//! Working sessions: how the tracker groups a user's runs into sittings.
//!
//! The earlier client sends a fresh session id with every run, so grouping
//! by the id a client sends makes each run a session of its own. A working
//! session is instead the runs of one target that follow each other with
//! no pause longer than the gap (30 minutes unless asked otherwise). A run
//! that carries the same sent session id as the run before it stays in
//! that run's session whatever the pause, so an explicit
//! `loadgen --session NAME` is never split.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::Row;

use super::store::{self, TrackedRun};
use crate::db::{Db, rfc3339};

/// The pause that ends a working session, unless the reader asks for another.
pub const DEFAULT_GAP_MINUTES: i64 = 30;
/// The longest pause a reader may ask for: a day.
pub const MAX_GAP_MINUTES: i64 = 24 * 60;
/// Sessions answered, the newest ones.
pub const MAX_SESSIONS: usize = 1000;
/// Commits and sent ids listed per session.
const LISTED: usize = 20;

/// What grouping needs of one run, in (target, time, id) order.
#[derive(Debug, Clone)]
pub struct RunKey {
    pub id: String,
    pub target: String,
    pub sent: String,
    pub at_ms: i64,
    pub commit: Option<String>,
}

/// One working session.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Its first run's id: stays the same as later runs join it.
    pub session_id: String,
    /// The session id its first run was sent with.
    pub name: String,
    pub target: String,
    pub runs: i64,
    /// Distinct commits in the order first seen (at most 20).
    pub commits: Vec<String>,
    /// Distinct session ids the clients sent (at most 20 listed).
    pub sent_session_ids: Vec<String>,
    pub sent_session_count: i64,
    pub first_run_at: String,
    pub last_run_at: String,
    #[serde(skip)]
    pub first_ms: i64,
    #[serde(skip)]
    pub last_ms: i64,
    /// The id its latest run was sent with: a run sent with it joins.
    #[serde(skip)]
    last_sent: String,
    /// Every distinct sent id, to count them; not listed past 20.
    #[serde(skip)]
    sent_seen: HashSet<String>,
}

impl Session {
    fn start(r: RunKey) -> Session {
        let mut s = Session {
            session_id: r.id.clone(),
            name: r.sent.clone(),
            target: r.target.clone(),
            runs: 0,
            commits: Vec::new(),
            sent_session_ids: Vec::new(),
            sent_session_count: 0,
            first_run_at: String::new(),
            last_run_at: String::new(),
            first_ms: r.at_ms,
            last_ms: r.at_ms,
            last_sent: String::new(),
            sent_seen: HashSet::new(),
        };
        s.add(r);
        s
    }

    /// Whether the run, next in (target, time) order, belongs here.
    fn takes(&self, r: &RunKey, gap_ms: i64) -> bool {
        self.target == r.target && (r.at_ms - self.last_ms <= gap_ms || r.sent == self.last_sent)
    }

    fn add(&mut self, r: RunKey) {
        self.runs += 1;
        self.last_ms = r.at_ms;
        if let Some(c) = r.commit
            && self.commits.len() < LISTED
            && !self.commits.contains(&c)
        {
            self.commits.push(c);
        }
        if !self.sent_seen.contains(&r.sent) {
            if self.sent_session_ids.len() < LISTED {
                self.sent_session_ids.push(r.sent.clone());
            }
            self.sent_seen.insert(r.sent.clone());
        }
        self.last_sent = r.sent;
    }

    /// Fills in what is shown from what was counted.
    fn close(mut self) -> Session {
        self.first_run_at = rfc3339(self.first_ms);
        self.last_run_at = rfc3339(self.last_ms);
        self.sent_session_count = self.sent_seen.len() as i64;
        self.sent_seen = HashSet::new();
        self
    }

    /// Whether a run at this time on this target falls in the session.
    pub fn holds(&self, target: &str, at_ms: i64) -> bool {
        self.target == target && self.first_ms <= at_ms && at_ms <= self.last_ms
    }
}

/// Groups runs given in (target, time, id) order; answers the sessions in
/// the order of their first run, the newest `MAX_SESSIONS` of them.
pub fn group(runs: impl IntoIterator<Item = RunKey>, gap_ms: i64) -> Vec<Session> {
    let mut done = Vec::new();
    let mut open: Option<Session> = None;
    for r in runs {
        match &mut open {
            Some(s) if s.takes(&r, gap_ms) => s.add(r),
            _ => {
                if let Some(s) = open.replace(Session::start(r)) {
                    done.push(s.close());
                }
            }
        }
    }
    done.extend(open.map(Session::close));
    done.sort_by(|a, b| (a.first_ms, &a.session_id).cmp(&(b.first_ms, &b.session_id)));
    let extra = done.len().saturating_sub(MAX_SESSIONS);
    done.drain(..extra);
    done
}

/// A user's working sessions, of one target or of all.
pub async fn sessions(
    db: &Db,
    user: &str,
    target: Option<&str>,
    gap_ms: i64,
) -> Result<Vec<Session>, sqlx::Error> {
    // Only the columns given are filtered on, so `local_test_runs_grouped`
    // (user, target, …) serves both forms.
    let sql = format!(
        "SELECT id, target, session_id, run_at, commit_hash FROM local_test_runs
         WHERE user_id = $1{} ORDER BY target, run_at, id",
        if target.is_some() {
            " AND target = $2"
        } else {
            ""
        }
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user);
    if let Some(t) = target {
        query = query.bind(t);
    }
    let rows = query.fetch_all(db).await?;
    let keys = rows
        .iter()
        .map(|r| {
            Ok(RunKey {
                id: r.try_get("id")?,
                target: r.try_get("target")?,
                sent: r.try_get("session_id")?,
                at_ms: r.try_get("run_at")?,
                commit: r.try_get("commit_hash")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(group(keys, gap_ms))
}

/// The runs of a session named by its working-session id (one of `all`),
/// or else by the session id the client sent.
pub async fn runs(
    db: &Db,
    user: &str,
    all: &[Session],
    session: &str,
) -> Result<Vec<TrackedRun>, sqlx::Error> {
    match all.iter().find(|s| s.session_id == session) {
        Some(s) => store::runs_between(db, user, &s.target, s.first_ms, s.last_ms).await,
        None => store::sent_session_runs(db, user, session).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn run(id: &str, target: &str, sent: &str, minute: i64, commit: Option<&str>) -> RunKey {
        RunKey {
            id: id.into(),
            target: target.into(),
            sent: sent.into(),
            at_ms: minute * MIN,
            commit: commit.map(str::to_owned),
        }
    }

    #[test]
    fn an_earlier_clients_runs_a_few_minutes_apart_are_one_session() {
        // The earlier client: a new sent id for every run.
        let s = group(
            [
                run("a", "app", "20261129192251-ca8d98c9", 0, Some("c1")),
                run("b", "app", "20261129192702-1b2c3d4e", 4, Some("c1")),
                run("c", "app", "20261129195500-5f6a7b8c", 32, Some("c2")),
            ],
            DEFAULT_GAP_MINUTES * MIN,
        );
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(
            (s[0].session_id.as_str(), s[0].runs, s[0].sent_session_count),
            ("a", 3, 3)
        );
        assert_eq!(s[0].name, "20261129192251-ca8d98c9");
        assert_eq!(s[0].commits, ["c1", "c2"]);
        assert_eq!((s[0].first_ms, s[0].last_ms), (0, 32 * MIN));
    }

    #[test]
    fn a_pause_longer_than_the_gap_starts_a_new_session() {
        let s = group(
            [
                run("a", "app", "x1", 0, None),
                run("b", "app", "x2", 30, None),
                run("c", "app", "x3", 61, None),
            ],
            30 * MIN,
        );
        let ids: Vec<_> = s.iter().map(|s| (s.session_id.as_str(), s.runs)).collect();
        assert_eq!(ids, [("a", 2), ("c", 1)], "30 min joins, 31 min does not");
    }

    #[test]
    fn a_named_session_is_never_split_by_a_pause() {
        let s = group(
            [
                run("a", "app", "tuning", 0, None),
                run("b", "app", "tuning", 300, None),
                run("c", "app", "other", 900, None),
            ],
            30 * MIN,
        );
        let ids: Vec<_> = s.iter().map(|s| (s.session_id.as_str(), s.runs)).collect();
        assert_eq!(ids, [("a", 2), ("c", 1)]);
    }

    #[test]
    fn targets_are_never_mixed_and_sessions_come_by_first_run() {
        let s = group(
            [
                run("a1", "alpha", "s", 10, None),
                run("a2", "alpha", "s", 11, None),
                run("b1", "beta", "s", 5, None),
            ],
            30 * MIN,
        );
        let ids: Vec<_> = s.iter().map(|s| (s.session_id.as_str(), s.runs)).collect();
        assert_eq!(ids, [("b1", 1), ("a1", 2)]);
        assert!(s[1].holds("alpha", 11 * MIN) && !s[1].holds("beta", 11 * MIN));
    }

    #[test]
    fn only_the_newest_sessions_are_answered() {
        let many = (0..MAX_SESSIONS as i64 + 5)
            .map(|i| run(&format!("r{i:05}"), "app", &format!("s{i}"), i * 100, None));
        let s = group(many, 30 * MIN);
        assert_eq!(s.len(), MAX_SESSIONS);
        assert_eq!(s[0].session_id, "r00005", "the oldest five are left out");
    }

    #[test]
    fn lists_are_capped_but_counts_are_not() {
        let runs = (0..30).map(|i| {
            run(
                &format!("r{i:02}"),
                "app",
                &format!("s{i}"),
                i,
                Some(&format!("c{i}")),
            )
        });
        let s = group(runs, 30 * MIN);
        assert_eq!(s.len(), 1);
        assert_eq!(
            (
                s[0].commits.len(),
                s[0].sent_session_ids.len(),
                s[0].sent_session_count
            ),
            (LISTED, LISTED, 30)
        );
    }
}
