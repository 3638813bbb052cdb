//! Contributor names: one rule for the API server, chaosctl and the
//! operator, because a name becomes a leaderboard entry, a directory, a
//! compose service and a Kubernetes namespace (`contributor-<name>`).

/// The rule in words, for error messages.
pub const NAME_RULE: &str = "1 to 39 lower-case letters, digits and single inner hyphens";

/// The longest name.
pub const NAME_MAX_LEN: usize = 39;

/// The rule as a regular expression (with [`NAME_MAX_LEN`]), for schemas
/// that validate names elsewhere: the CRDs' OpenAPI patterns and CEL
/// rules. A test holds it equal to [`is_valid_name`].
pub const NAME_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// Whether `name` follows [`NAME_RULE`] (a GitHub user name in lower
/// case, which also fits a DNS label once prefixed with `contributor-`).
pub fn is_valid_name(name: &str) -> bool {
    (1..=NAME_MAX_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// A controller that manages accounts (`chaos-operator`): 1 to 63
/// lower-case letters, digits and hyphens. A test holds it equal to
/// [`is_valid_manager`].
pub const MANAGER_PATTERN: &str = "^[a-z0-9-]{1,63}$";

/// Whether `manager` follows [`MANAGER_PATTERN`].
pub fn is_valid_manager(manager: &str) -> bool {
    (1..=63).contains(&manager.len())
        && manager
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
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

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 100;

/// Why a display name is refused, `None` when it is fine.
///
/// The policy: 1 to 100 characters, not only spaces, no leading or
/// trailing space, and none of the characters that make a name render as
/// something else on the board: control characters, Unicode format
/// characters (bidi overrides and isolates such as U+202E, zero-width
/// spaces and joiners, the BOM, tag characters), line and paragraph
/// separators, and private-use characters.
pub fn display_name_problem(name: &str) -> Option<String> {
    let count = name.chars().count();
    if count == 0 || name.trim().is_empty() {
        return Some("display_name must not be empty".into());
    }
    if count > DISPLAY_NAME_MAX {
        return Some(format!(
            "display_name must be at most {DISPLAY_NAME_MAX} characters (it has {count})"
        ));
    }
    if name.trim() != name {
        return Some("display_name must not start or end with white space".into());
    }
    name.chars().find(|&c| is_hidden_or_deceptive(c)).map(|c| {
        format!(
            "display_name must not contain U+{:04X}: control, formatting (bidi, zero-width) and private-use characters are refused",
            u32::from(c)
        )
    })
}

/// The characters refused anywhere in a display name besides control
/// characters (C0, DEL and C1), as inclusive ranges.
const HIDDEN_OR_DECEPTIVE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x08E2, 0x08E2),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
    (0xE000, 0xF8FF),
    (0xF0000, 0x10FFFF),
];

fn is_hidden_or_deceptive(c: char) -> bool {
    let c = u32::from(c);
    char::from_u32(c).is_some_and(char::is_control)
        || HIDDEN_OR_DECEPTIVE
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// [`display_name_problem`] as a regular expression, for schemas: an
/// ECMA-262 pattern whose refused characters are written as themselves.
pub fn display_name_pattern() -> String {
    let mut refused = String::from(r"\x00-\x1f\x7f-\x9f");
    for &(lo, hi) in HIDDEN_OR_DECEPTIVE {
        let (Some(lo), Some(hi)) = (char::from_u32(lo), char::from_u32(hi)) else {
            continue;
        };
        refused.push(lo);
        if hi != lo {
            refused.push('-');
            refused.push(hi);
        }
    }
    let middle = DISPLAY_NAME_MAX - 2;
    format!(r"^[^\s{refused}](?:[^{refused}]{{0,{middle}}}[^\s{refused}])?$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_pattern_and_the_check_are_one_rule() {
        let pattern = regex::Regex::new(MANAGER_PATTERN).expect("pattern");
        let mut names: Vec<String> = ["", "chaos-operator", "-", "a--b", "A", "a_b", "é", "a b"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        names.extend(["a".repeat(63), "a".repeat(64)]);
        for name in &names {
            assert_eq!(is_valid_manager(name), pattern.is_match(name), "{name:?}");
        }
    }

    /// Each kind of character the display-name rule treats differently,
    /// alone, at either end and inside, and the length limit: the check
    /// and the pattern agree on every one.
    #[test]
    fn the_display_name_pattern_and_the_check_are_one_rule() {
        let pattern = regex::Regex::new(&display_name_pattern()).expect("pattern");
        let kinds = [
            'a',
            'É',
            '名',
            ' ',
            '\u{3000}',
            '\t',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{202e}',
            '\u{200b}',
            '\u{feff}',
            '\u{e000}',
            '\u{110bd}',
            '\u{e0041}',
            '\u{10ffff}',
            '😀',
        ];
        let mut names = vec![String::new()];
        for &k in &kinds {
            for s in [
                format!("{k}"),
                format!("{k}ab"),
                format!("ab{k}"),
                format!("a{k}b"),
            ] {
                names.push(s);
            }
        }
        names.extend([
            "a".repeat(DISPLAY_NAME_MAX),
            "a".repeat(DISPLAY_NAME_MAX + 1),
            "名".repeat(DISPLAY_NAME_MAX),
            "名".repeat(DISPLAY_NAME_MAX + 1),
        ]);
        for name in &names {
            assert_eq!(
                display_name_problem(name).is_none(),
                pattern.is_match(name),
                "{name:?}: {:?}",
                display_name_problem(name)
            );
        }
    }

    /// Every string of up to 5 characters over an alphabet with each
    /// kind of character the rule treats differently, plus the length
    /// limit: the hand-written check and the pattern agree on all.
    #[test]
    fn the_pattern_and_the_check_are_one_rule() {
        let pattern = regex::Regex::new(NAME_PATTERN).expect("pattern");
        let alphabet = ['a', 'z', '0', '9', '-', 'A', '_', '.', 'é'];
        let mut names = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            names.extend(last.iter().cloned());
        }
        names.extend(["a".repeat(NAME_MAX_LEN), "a".repeat(NAME_MAX_LEN + 1)]);
        for name in &names {
            let by_pattern = pattern.is_match(name) && name.len() <= NAME_MAX_LEN;
            assert_eq!(is_valid_name(name), by_pattern, "{name:?}");
        }
        assert!(names.len() > 60_000);
    }

    #[test]
    fn display_names_refuse_what_renders_as_something_else() {
        for ok in ["Ada Lovelace", "Jörg", "李小龙", "ada 🚀", "O'Brien-Smith"] {
            assert_eq!(display_name_problem(ok), None, "{ok}");
        }
        let bad = [
            ("", "empty"),
            ("   ", "empty"),
            (" ada", "white space"),
            ("ada\n", "white space"),
            ("a\u{7}b", "U+0007"),
            ("evil\u{202E}gnp.exe", "U+202E"),
            ("ad\u{200B}a", "U+200B"),
            ("\u{2066}ada\u{2069}", "U+2066"),
            ("ada\u{FEFF}x", "U+FEFF"),
            ("a\u{E000}", "U+E000"),
            ("tag\u{E0041}", "U+E0041"),
        ];
        for (name, why) in bad {
            let problem = display_name_problem(name).unwrap_or_else(|| panic!("{name:?} passed"));
            assert!(problem.contains(why), "{name:?}: {problem}");
        }
        assert!(display_name_problem(&"a".repeat(101)).is_some());
        assert!(
            display_name_problem(&"é".repeat(100)).is_none(),
            "characters, not bytes"
        );
    }

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
