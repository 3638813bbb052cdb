//! The three challenges and their names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A challenge: robust-service, graceful-degradation or longest-upkeep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Challenge {
    RobustService,
    GracefulDegradation,
    LongestUpkeep,
}

/// A name that is not one of the challenges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown challenge {0:?}; expected one of robust-service, graceful-degradation, longest-upkeep"
)]
pub struct UnknownChallenge(pub String);

impl Challenge {
    pub const ALL: [Challenge; 3] = [
        Challenge::RobustService,
        Challenge::GracefulDegradation,
        Challenge::LongestUpkeep,
    ];

    /// The name used in URLs, flags, JSON and Prometheus labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Challenge::RobustService => "robust-service",
            Challenge::GracefulDegradation => "graceful-degradation",
            Challenge::LongestUpkeep => "longest-upkeep",
        }
    }

    /// The name shown to people.
    pub const fn title(self) -> &'static str {
        match self {
            Challenge::RobustService => "Robust Service",
            Challenge::GracefulDegradation => "Graceful Degradation",
            Challenge::LongestUpkeep => "Longest Upkeep",
        }
    }
}

/// Read through [`FromStr`], so that a wrong name gets the same message
/// in a request body, a flag and a custom resource.
impl<'de> Deserialize<'de> for Challenge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Challenge {
    type Err = UnknownChallenge;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Challenge::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownChallenge(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_json() {
        for c in Challenge::ALL {
            assert_eq!(c.as_str().parse::<Challenge>(), Ok(c));
            let json = serde_json::to_string(&c).expect("serialize");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }

    #[test]
    fn unknown_names_are_named_in_the_error() {
        let err = "fastest".parse::<Challenge>().expect_err("not a challenge");
        assert!(err.to_string().contains("\"fastest\""));
        assert!(err.to_string().contains("robust-service"));
    }
}
