//! How a response counts: served with the right answer, deliberately
//! shed, failed, or answered wrongly.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 1xx, 2xx or 3xx; when answers are checked, a 2xx carrying
    /// url-anvil's right answer to exactly the URLs asked.
    Success,
    /// 429 or 503: the service refused on purpose, a graceful answer.
    Shed,
    /// Any other 4xx or 5xx.
    Failure,
    /// Answers are checked and this one was not url-anvil's right answer
    /// (wrong hash or count, not JSON, a 3xx, a body too large). It counts
    /// against the SLO like a failure and is never graceful.
    Wrong,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Success,
        Outcome::Shed,
        Outcome::Failure,
        Outcome::Wrong,
    ];

    pub fn of(status: u16) -> Outcome {
        match status {
            429 | 503 => Outcome::Shed,
            s if s < 400 => Outcome::Success,
            _ => Outcome::Failure,
        }
    }

    /// The outcome of a response whose answer was judged: `right` is
    /// `None` when answers are not checked.
    pub fn judge(status: u16, right: Option<bool>) -> Outcome {
        match (Outcome::of(status), right) {
            (Outcome::Success, Some(false)) => Outcome::Wrong,
            (Outcome::Success, Some(true)) if !(200..300).contains(&status) => Outcome::Wrong,
            (o, _) => o,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Shed => "shed",
            Outcome::Failure => "failure",
            Outcome::Wrong => "wrong",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_checked_2xx_with_the_right_answer_succeeds() {
        assert_eq!(Outcome::judge(200, None), Outcome::Success);
        assert_eq!(Outcome::judge(302, None), Outcome::Success);
        assert_eq!(Outcome::judge(200, Some(true)), Outcome::Success);
        assert_eq!(Outcome::judge(200, Some(false)), Outcome::Wrong);
        assert_eq!(Outcome::judge(302, Some(true)), Outcome::Wrong);
        assert_eq!(Outcome::judge(503, Some(false)), Outcome::Shed);
        assert_eq!(Outcome::judge(429, Some(false)), Outcome::Shed);
        assert_eq!(Outcome::judge(500, Some(false)), Outcome::Failure);
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }
}
