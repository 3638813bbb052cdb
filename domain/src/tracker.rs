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
    /// ISO-8601 / RFC 3339.
    pub timestamp: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "runDetails")]
    pub run_details: RunDetails,
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

    /// Exactly what the earlier Python client sent.
    const LEGACY: &str = r#"{
        "schema_version": "1.0",
        "userId": "local_dev_user",
        "challengeType": "robust-service",
        "metricName": "rps",
        "value": 812.5,
        "timestamp": "2025-10-04T12:00:00Z",
        "labels": {"target": "my-app"},
        "runDetails": {
            "target_url": "http://localhost:8080/api/test",
            "request_count": 1000,
            "method": "POST",
            "payload_urls": ["http://url-anvil:8080/corpus/1"],
            "total_requests": 1000,
            "successful_requests": 990,
            "failed_requests": 10,
            "avg_latency_ms": 12.3,
            "error_rate": 1.0,
            "rps": 812.5,
            "duration_s": 1.23,
            "test_type": "load",
            "commit_hash": "abc1234",
            "session_id": "5f1c"
        }
    }"#;

    #[test]
    fn the_earlier_clients_payload_parses_and_keeps_its_field_names() {
        let p: TrackPayload = serde_json::from_str(LEGACY).expect("legacy payload parses");
        assert_eq!(p.user_id, "local_dev_user");
        assert_eq!(p.run_details.failed_requests, 10);
        assert_eq!(p.run_details.p99_latency_ms, None);
        let back = serde_json::to_value(&p).expect("serialize");
        let original: serde_json::Value = serde_json::from_str(LEGACY).expect("json");
        assert_eq!(back, original, "no field renamed, added or dropped");
    }
}
