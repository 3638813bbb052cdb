//! What the earlier platform's clients put on the wire, byte for byte.
//!
//! Captured from the earlier `load-generator/load_test.py` (through its
//! `local_tracker_client.py`) run with Python 3.11 and `requests` 2.34
//! against a socket that recorded the raw request; only the `Host` header
//! is filled in per test. Tests send these bytes over a plain TCP socket so
//! nothing tidies them on the way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The body of the earlier client's `POST /api/track`: Python's
/// `json.dumps` separators and key order, `None` as `null`, `value` an
/// integer, and a timestamp from `datetime.utcnow().isoformat()` (no offset).
pub const TRACK_BODY: &str = r#"{"schema_version": "1.0", "userId": "local_dev_user", "challengeType": "load-test", "metricName": "load_test_run_metrics", "value": 1, "timestamp": "2026-11-29T19:22:51.641714", "labels": {"source": "tracking_client"}, "runDetails": {"target_url": "http://127.0.0.1:18999/", "request_count": 3, "method": "GET", "payload_urls": [], "total_requests": 3, "successful_requests": 3, "failed_requests": 0, "avg_latency_ms": 5.373080571492513, "error_rate": 0.0, "rps": 9.467897860659981, "duration_s": 0.3168601989746094, "test_type": "manual_load_test", "commit_hash": null, "session_id": "20261129192251-ca8d98c9"}}"#;

/// The earlier client's whole `POST /api/track` request, headers in the
/// order `requests` sends them; without a key (`LOCAL_TRACKER_API_KEY` and
/// `API_KEY` unset) it sends no `x-api-key` header at all.
pub fn track_request(host: &str, api_key: Option<&str>, body: &str) -> Vec<u8> {
    let key = api_key.map_or_else(String::new, |k| format!("x-api-key: {k}\r\n"));
    format!(
        "POST /api/track HTTP/1.1\r\nHost: {host}\r\nUser-Agent: python-requests/2.34.2\r\n\
         Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n\
         Content-Type: application/json\r\n{key}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The earlier `switch_challenge.py`'s request: `requests.post(url,
/// headers=..., json={"challenge_type": ...})`.
pub fn switch_request(host: &str, api_key: &str, challenge: &str) -> Vec<u8> {
    let body = format!(r#"{{"challenge_type": "{challenge}"}}"#);
    format!(
        "POST /api/v1/register-influencer HTTP/1.1\r\nHost: {host}\r\nUser-Agent: python-requests/2.34.2\r\n\
         Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n\
         Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A raw HTTP/1.1 answer: status and body.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub body: String,
}

/// Sends `request` as it is and reads one answer (the server is asked for
/// nothing else, so the answer ends at `Content-Length`).
pub fn send_raw(addr: &str, request: &[u8]) -> std::io::Result<RawReply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(RawReply {
        status,
        body: body.to_owned(),
    })
}
