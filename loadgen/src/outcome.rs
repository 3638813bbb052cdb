//! How a response counts: served, deliberately shed, or failed.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 1xx, 2xx or 3xx.
    Success,
    /// 429 or 503: the service refused on purpose, a graceful answer.
    Shed,
    /// Any other 4xx or 5xx.
    Failure,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Shed, Outcome::Failure];

    pub fn of(status: u16) -> Outcome {
        match status {
            429 | 503 => Outcome::Shed,
            s if s < 400 => Outcome::Success,
            _ => Outcome::Failure,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Shed => "shed",
            Outcome::Failure => "failure",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }
}
