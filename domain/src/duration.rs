//! Durations as people type them on a command line or in a chart value
//! (`15s`, `3m`, `1m30s`, `500ms`, `2 hours`), one reading for every
//! binary, by jiff's friendly format (the time crate the workspace already
//! uses for timestamps).

use std::time::Duration;

use jiff::SignedDuration;

/// A non-negative duration, or a message naming what is wrong with `text`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let signed: SignedDuration = text
        .trim()
        .parse()
        .map_err(|e| format!("{text:?} is not a duration such as 15s, 3m or 1m30s ({e})"))?;
    Duration::try_from(signed)
        .map_err(|_| format!("{text:?} is negative: a duration is never below 0"))
}

/// `d` as it would be typed: `1m 30s`, `500ms`.
pub fn format(d: Duration) -> String {
    match SignedDuration::try_from(d) {
        Ok(signed) => format!("{signed:#}"),
        Err(_) => format!("{} s", d.as_secs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_type_is_read() {
        for (text, secs) in [
            ("15s", 15.0),
            ("3m", 180.0),
            ("10m", 600.0),
            ("1m30s", 90.0),
            ("1m 30s", 90.0),
            ("500ms", 0.5),
            ("2 hours", 7200.0),
            ("0s", 0.0),
        ] {
            assert_eq!(parse(text).map(|d| d.as_secs_f64()), Ok(secs), "{text}");
        }
        assert!(parse("-5s").is_err_and(|e| e.contains("negative")));
        assert!(parse("soon").is_err_and(|e| e.contains("\"soon\"")));
        assert!(parse("15").is_err());
    }

    #[test]
    fn it_prints_as_it_is_typed() {
        assert_eq!(format(Duration::from_secs(90)), "1m 30s");
        assert_eq!(
            parse(&format(Duration::from_millis(1500))),
            Ok(Duration::from_millis(1500))
        );
    }
}
