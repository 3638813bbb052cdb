//! The human-readable summary of a report.

use std::fmt::Write;

use crate::report::{Percentiles, RunReport};

pub fn summary(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = write_report(&mut out, r);
    out
}

fn write_report(out: &mut String, r: &RunReport) -> std::fmt::Result {
    let profile = r
        .profile
        .as_ref()
        .map(|p| format!(" profile {}-v{}", p.name, p.version))
        .unwrap_or_default();
    writeln!(
        out,
        "{} {} ({} loop{}), {:.1} s, {} threads, {} connections",
        r.method, r.target, r.mode, profile, r.duration_s, r.threads, r.connections
    )?;
    writeln!(out)?;
    let q = &r.requests;
    writeln!(
        out,
        "  requests    {:>10}   success {}  shed (429/503) {}  failed (other status) {}  transport errors {}",
        q.total, q.success, q.shed, q.failure, q.errors
    )?;
    if q.answers_checked {
        writeln!(
            out,
            "  answers     every answer checked against url-anvil's: {} right, {} wrong",
            q.success, q.wrong
        )?;
    }
    match r.rps.target {
        Some(t) => writeln!(
            out,
            "  throughput  {:>10.1} req/s (asked {t:.1}), {:.1} successful/s",
            r.rps.achieved, r.rps.success
        )?,
        None => writeln!(
            out,
            "  throughput  {:>10.1} req/s, {:.1} successful/s",
            r.rps.achieved, r.rps.success
        )?,
    }
    // One meaning of "error" everywhere (the scoring rules' too): every
    // request that did not succeed, sheds included.
    writeln!(
        out,
        "  error rate  {:>10.2} %  (not successful: shed + failed + wrong + transport errors)",
        r.error_rate_pct
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "  latency (ms)      p50      p90      p95      p99    p99.9      max     mean"
    )?;
    row(out, "corrected", &r.latency_ms.corrected)?;
    row(out, "uncorrected", &r.latency_ms.uncorrected)?;
    writeln!(out)?;
    let statuses: Vec<String> = r
        .status_counts
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    writeln!(
        out,
        "  status      {}",
        if statuses.is_empty() {
            "-".into()
        } else {
            statuses.join(", ")
        }
    )?;
    if !r.errors.is_empty() {
        let errors: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        writeln!(out, "  transport   {}", errors.join(", "))?;
    }
    if r.mode == "open" {
        writeln!(
            out,
            "  generator   {} late sends ({:.2} %), max lag {:.1} ms",
            r.generator.late_requests, r.generator.late_pct, r.generator.max_lag_ms
        )?;
    }
    for t in &r.thresholds {
        let mark = if t.passed { "pass" } else { "FAIL" };
        writeln!(
            out,
            "  threshold   {mark} {}: {:.2} (limit {:.2})",
            t.name, t.actual, t.limit
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "  WARNING     {w}")?;
    }
    Ok(())
}

fn row(out: &mut String, name: &str, p: &Percentiles) -> std::fmt::Result {
    writeln!(
        out,
        "  {name:<12} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
        p.p50, p.p90, p.p95, p.p99, p.p999, p.max, p.mean
    )
}
