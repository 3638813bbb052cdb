//! Reading the Prometheus text formats (classic and OpenMetrics) that
//! url-anvil and loadgen expose, for the built-in scraper.

use chaos_domain::scoring::{IN_TIME_SECONDS, INF_BOUND, LoadSample};

/// One sample line: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Line {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every sample line; comments, blank and malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Line> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => (&line[..i], &line[i..]),
        None => return None,
    };
    let (labels, rest) = if let Some(body) = rest.strip_prefix('{') {
        parse_labels(body)?
    } else {
        (Vec::new(), rest)
    };
    let value = rest.split_whitespace().next()?;
    Some(Line {
        name: name.to_owned(),
        labels,
        value: parse_value(value)?,
    })
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => v.parse().ok(),
    }
}

/// Parses `k="v",...}` and returns the labels and what follows the brace.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([',', ' ']);
        if let Some(rest) = s.strip_prefix('}') {
            return Some((labels, rest));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_owned();
        let mut chars = s[eq + 1..].char_indices();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        let mut escaped = false;
        let mut end = None;
        for (i, c) in chars {
            match (escaped, c) {
                (true, 'n') => {
                    value.push('\n');
                    escaped = false;
                }
                (true, c) => {
                    value.push(c);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                (false, c) => value.push(c),
            }
        }
        labels.push((key, value));
        s = &s[end?..];
    }
}

fn bound(le: &str) -> Option<f64> {
    match le {
        "+Inf" => Some(INF_BOUND),
        _ => le.parse().ok(),
    }
}

/// loadgen's counters from its exposition, taken at time `t`.
pub fn load_sample(t: f64, lines: &[Line]) -> Option<LoadSample> {
    let mut responses = None;
    let (mut success, mut errors, mut graceful, mut target) = (0.0, 0.0, 0.0, 0.0);
    let mut wrong = 0.0;
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for l in lines {
        match l.name.as_str() {
            "loadgen_requests_total" => {
                *responses.get_or_insert(0.0) += l.value;
                match l.label("outcome") {
                    Some("success") => success += l.value,
                    Some("wrong") => wrong += l.value,
                    _ => {}
                }
            }
            "loadgen_errors_total" => errors += l.value,
            "loadgen_target_rps" => target = l.value,
            "loadgen_request_duration_seconds_bucket" => {
                let Some(le) = l.label("le").and_then(bound) else {
                    continue;
                };
                match buckets.iter_mut().find(|(b, _)| *b == le) {
                    Some(slot) => slot.1 += l.value,
                    None => buckets.push((le, l.value)),
                }
                if le == IN_TIME_SECONDS && matches!(l.label("outcome"), Some("success" | "shed")) {
                    graceful += l.value;
                }
            }
            _ => {}
        }
    }
    // Before the first response loadgen exports no request series at all.
    let responses = responses.unwrap_or(0.0);
    if buckets.is_empty()
        && responses == 0.0
        && errors == 0.0
        && !lines.iter().any(|l| l.name == "loadgen_target_rps")
    {
        return None;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(LoadSample {
        t,
        target_rps: target,
        requests: responses + errors,
        success,
        graceful_in_time: graceful,
        wrong,
        latency_buckets: buckets,
    })
}

/// `POST /api/test` requests url-anvil answered with 2xx.
pub fn anvil_served(lines: &[Line]) -> Option<f64> {
    let mut seen = false;
    let mut served = 0.0;
    for l in lines
        .iter()
        .filter(|l| l.name == "anvil_http_requests_total")
    {
        seen = true;
        if l.label("route") == Some("/api/test")
            && l.label("status").is_some_and(|s| s.starts_with('2'))
        {
            served += l.value;
        }
    }
    // An anvil that answered nothing yet exports no request series; that is 0, not unknown.
    Some(if seen { served } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOADGEN: &str = r#"# HELP loadgen_requests Responses received.
# TYPE loadgen_requests counter
loadgen_requests_total{status="200",outcome="success"} 90
loadgen_requests_total{status="503",outcome="shed"} 10
loadgen_requests_total{status="200",outcome="wrong"} 4
loadgen_errors_total{kind="timeout"} 5
loadgen_request_duration_seconds_bucket{le="0.25",outcome="success"} 80
loadgen_request_duration_seconds_bucket{le="1.0",outcome="success"} 88
loadgen_request_duration_seconds_bucket{le="+Inf",outcome="success"} 90
loadgen_request_duration_seconds_bucket{le="0.25",outcome="shed"} 10
loadgen_request_duration_seconds_bucket{le="1.0",outcome="shed"} 10
loadgen_request_duration_seconds_bucket{le="+Inf",outcome="shed"} 10
loadgen_target_rps 100.0
loadgen_run_info{mode="open",profile="",profile_version="",target="http://x/a \"b\""} 1
# EOF
"#;

    #[test]
    fn loadgen_exposition_becomes_a_load_sample() {
        let lines = parse(LOADGEN);
        assert_eq!(
            lines.last().and_then(|l| l.label("target")),
            Some(r#"http://x/a "b""#)
        );
        let s = load_sample(7.0, &lines).expect("sample");
        assert_eq!(
            (s.t, s.target_rps, s.requests, s.success, s.wrong),
            (7.0, 100.0, 109.0, 90.0, 4.0)
        );
        assert_eq!(s.graceful_in_time, 98.0);
        assert_eq!(
            s.latency_buckets,
            vec![(0.25, 90.0), (1.0, 98.0), (INF_BOUND, 100.0)]
        );
    }

    #[test]
    fn anvil_served_counts_2xx_of_api_test_only() {
        let text = "anvil_http_requests_total{method=\"POST\",route=\"/api/test\",status=\"200\"} 7\n\
                    anvil_http_requests_total{method=\"POST\",route=\"/api/test\",status=\"503\"} 3\n\
                    anvil_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 9\n";
        assert_eq!(anvil_served(&parse(text)), Some(7.0));
        assert_eq!(anvil_served(&parse("process_open_fds 3\n")), Some(0.0));
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(
            parse("garbage\nname{unterminated=\"x} 1\nok 2\n")
                .iter()
                .map(|l| l.name.as_str())
                .eq(["ok"])
        );
    }
}
