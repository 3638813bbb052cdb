//! Contributor names: one rule for the API server, chaosctl and the
//! operator, because a name becomes a leaderboard entry, a directory, a
//! compose service and a Kubernetes namespace (`contributor-<name>`).

/// The rule in words, for error messages.
pub const NAME_RULE: &str = "1 to 39 lower-case letters, digits and single inner hyphens";

/// Whether `name` follows [`NAME_RULE`] (a GitHub user name in lower
/// case, which also fits a DNS label once prefixed with `contributor-`).
pub fn is_valid_name(name: &str) -> bool {
    (1..=39).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for ok in ["ada", "a", "ada-lovelace", "x1", &"a".repeat(39)] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Ada",
            "-ada",
            "ada-",
            "a--b",
            "ada_l",
            "ada.l",
            "ünï",
            &"a".repeat(40),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
