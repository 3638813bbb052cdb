//! The local tracker's payload (`POST /api/track`).
//!
//! The field names are the earlier platform's, kept byte for byte so that
//! its Python client keeps working; loadgen adds richer, optional fields
//! inside `runDetails` that older readers ignore.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The payload schema version the earlier platform sent.
pub const SCHEMA_VERSION: &str = "1.0";

/// One tracked load test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPayload {
    pub schema_version: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "challengeType")]
    pub challenge_type: String,
    #[serde(rename = "metricName")]
    pub metric_name: String,
    pub value: f64,
    /// ISO-8601: RFC 3339 with an offset, or a local date-time without
    /// one (what Python's `datetime.utcnow().isoformat()` gives, as the
    /// earlier client sent), which the tracker reads as UTC.
    pub timestamp: String,
    /// Label values are kept as text; the earlier service stored any JSON
    /// here, so numbers and booleans are accepted and written as text.
    #[serde(default, deserialize_with = "labels_as_text")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "runDetails")]
    pub run_details: RunDetails,
}

fn labels_as_text<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?;
    raw.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            serde_json::Value::Null => Ok((k, String::new())),
            _ => Err(D::Error::custom(format!(
                "label {k:?} must be a string, number or boolean"
            ))),
        })
        .collect()
}

/// What the run did. The first block is the earlier platform's; the rest
/// is optional and sent by loadgen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunDetails {
    pub target_url: String,
    pub request_count: u64,
    pub method: String,
    #[serde(default)]
    pub payload_urls: Vec<String>,
    pub total_requests: u64,
    pub successful_requests: u64,
    pub failed_requests: u64,
    pub avg_latency_ms: f64,
    /// Failed requests over all requests, in percent.
    pub error_rate: f64,
    pub rps: f64,
    pub duration_s: f64,
    pub test_type: String,
    #[serde(default)]
    pub commit_hash: Option<String>,
    pub session_id: String,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_counts: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_counts: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    use chaos_testkit::earlier::TRACK_BODY as EARLIER_CLIENT_BODY;

    /// Equal as JSON, numbers compared as numbers (the earlier client sends
    /// `"value": 1`, which comes back as `1.0`).
    fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value::*;
        match (a, b) {
            (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
            (Object(x), Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
            }
            (Array(x), Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_json(v, w))
            }
            _ => a == b,
        }
    }

    #[test]
    fn the_earlier_clients_payload_parses_and_keeps_its_field_names() {
        let p: TrackPayload =
            serde_json::from_str(EARLIER_CLIENT_BODY).expect("earlier payload parses");
        assert_eq!(p.user_id, "local_dev_user");
        assert_eq!(p.timestamp, "2026-11-29T19:22:51.641714");
        assert_eq!(p.run_details.commit_hash, None);
        assert_eq!(p.run_details.p99_latency_ms, None);
        let back = serde_json::to_value(&p).expect("serialize");
        let original: serde_json::Value = serde_json::from_str(EARLIER_CLIENT_BODY).expect("json");
        assert!(
            same_json(&back, &original),
            "no field renamed, added or dropped:\n{back}\n{original}"
        );
    }

    #[test]
    fn label_values_of_any_scalar_are_kept_as_text() {
        let body = EARLIER_CLIENT_BODY.replace(
            r#""labels": {"source": "tracking_client"}"#,
            r#""labels": {"env": "dev", "attempt": 2, "warm": true}"#,
        );
        let p: TrackPayload = serde_json::from_str(&body).expect("parses");
        assert_eq!(p.labels["attempt"], "2");
        assert_eq!(p.labels["warm"], "true");
        let nested = EARLIER_CLIENT_BODY.replace(
            r#""labels": {"source": "tracking_client"}"#,
            r#""labels": {"env": {"a": 1}}"#,
        );
        let e = serde_json::from_str::<TrackPayload>(&nested).expect_err("nested refused");
        assert!(e.to_string().contains("label \"env\""), "{e}");
    }
}
