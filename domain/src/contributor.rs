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

/// The name an earlier platform's user id (a GitHub user name, which may
/// hold capitals, underscores and dots) takes here: lower case, `_`, `.`
/// and spaces become hyphens, anything else outside the rule is dropped,
/// runs of hyphens fold into one, and it is cut to 39 characters. `None`
/// when nothing usable is left.
pub fn from_earlier_name(earlier: &str) -> Option<String> {
    let mut out = String::with_capacity(earlier.len());
    for c in earlier.trim().chars() {
        let c = match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => c,
            '-' | '_' | '.' | ' ' => '-',
            _ => continue,
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
        if out.len() == 39 {
            break;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    is_valid_name(&out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_names_map_onto_the_rule() {
        let cases = [
            ("contributor_a", Some("contributor-a")),
            ("Ada.Lovelace", Some("ada-lovelace")),
            ("ada", Some("ada")),
            ("__Grace__Hopper__", Some("grace-hopper")),
            ("url-anvil-user", Some("url-anvil-user")),
            ("jörg", Some("jrg")),
            ("___", None),
            ("", None),
        ];
        for (earlier, want) in cases {
            assert_eq!(from_earlier_name(earlier).as_deref(), want, "{earlier}");
        }
        let long =
            from_earlier_name(&format!("{}_{}", "a".repeat(38), "b".repeat(5))).expect("cut");
        assert_eq!(long, "a".repeat(38), "cut at 39, no trailing hyphen");
        assert!(is_valid_name(&long));
    }

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
