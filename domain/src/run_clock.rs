//! How long a run may take, for everyone who judges it.
//!
//! Two parties watch a run's time: whoever drives it (the operator, or
//! chaosctl) and the API server, which closes runs whose driver went quiet.
//! Both read their limits here, and the API server's are later by
//! [`BACKSTOP`], so a driver that is still alive always decides first and
//! says why (an image that would not pull, a load that hung); the API
//! server's sweep only tidies up after a driver that vanished.
//!
//! A run's window opens when its load starts, not when the run is
//! registered: the time a load pod takes to be scheduled and pulled is
//! bounded by [`START_WITHIN`] and never eats into the profile.

use std::time::Duration;

/// From registration (a load Job created, a client's run registered) to
/// the load's first request.
pub const START_WITHIN: Duration = Duration::from_secs(10 * 60);

/// How far past its profile's length a started load may go before it is
/// stopped: half the length, and at least five minutes (a slow machine, a
/// load generator that waits for its last answers).
pub fn overrun(expected: Duration) -> Duration {
    (expected / 2).max(Duration::from_secs(5 * 60))
}

/// How long after its window opened a run of `expected` length is stopped
/// by its driver.
pub fn load_limit(expected: Duration) -> Duration {
    expected + overrun(expected)
}

/// How much later than a driver the API server gives up on a run.
pub const BACKSTOP: Duration = Duration::from_secs(2 * 60);

/// What the API server's sweep makes of an open run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overdue {
    /// Started, and still running past `load_limit` and the backstop.
    Unfinished {
        expected: Duration,
        allowed: Duration,
    },
    /// Registered and never started within `START_WITHIN` and the backstop.
    NeverStarted { allowed: Duration },
}

impl Overdue {
    /// `since`: how long ago the window opened (`Some`), or how long ago the
    /// run was registered (`None` for the window: it never opened).
    pub fn judge(
        expected: Duration,
        opened: Option<Duration>,
        registered: Duration,
    ) -> Option<Overdue> {
        match opened {
            Some(open_for) => {
                let allowed = load_limit(expected) + BACKSTOP;
                (open_for > allowed).then_some(Overdue::Unfinished { expected, allowed })
            }
            None => {
                let allowed = START_WITHIN + BACKSTOP;
                (registered > allowed).then_some(Overdue::NeverStarted { allowed })
            }
        }
    }

    /// Why the run was closed, for its record.
    pub fn reason(&self) -> String {
        match self {
            Overdue::Unfinished { expected, allowed } => format!(
                "not ended within {} s of its window opening (its profile takes {} s): \
                 its driver stopped or lost the API server; closed by the server",
                allowed.as_secs(),
                expected.as_secs()
            ),
            Overdue::NeverStarted { allowed } => format!(
                "registered but its load never started within {} s; closed by the server",
                allowed.as_secs()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_load_may_overrun_by_half_its_length_and_at_least_five_minutes() {
        assert_eq!(overrun(2 * MIN), 5 * MIN);
        assert_eq!(overrun(30 * MIN), 15 * MIN);
        assert_eq!(load_limit(2 * MIN), 7 * MIN);
    }

    #[test]
    fn the_server_gives_up_only_after_the_driver_would_have() {
        let expected = 4 * MIN;
        let driver = load_limit(expected);
        assert_eq!(Overdue::judge(expected, Some(driver), driver), None);
        assert_eq!(
            Overdue::judge(expected, Some(driver + BACKSTOP), driver),
            None
        );
        assert!(matches!(
            Overdue::judge(expected, Some(driver + BACKSTOP + MIN), driver),
            Some(Overdue::Unfinished { .. })
        ));
        // Never started: judged from registration, not from any window.
        assert_eq!(Overdue::judge(expected, None, START_WITHIN), None);
        let late = Overdue::judge(expected, None, START_WITHIN + BACKSTOP + MIN);
        assert!(matches!(late, Some(Overdue::NeverStarted { .. })));
        assert!(late.is_some_and(|o| o.reason().contains("never started within 720 s")));
    }
}
