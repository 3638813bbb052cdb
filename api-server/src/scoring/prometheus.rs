//! The Prometheus metric source. All PromQL the platform scores with is
//! in this file.

use std::collections::BTreeMap;

use chaos_domain::scoring::{AnvilSample, INF_BOUND, LoadSample};
use prometheus_http_query::Client;
use serde_json::json;

use super::{Collected, SourceError, Window};
use crate::runs::store::Selector;

/// Queries a Prometheus server.
#[derive(Clone)]
pub struct PrometheusSource {
    client: Client,
    url: String,
}

/// The queries for one run, with its selectors resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Queries {
    pub target: String,
    pub responses: String,
    pub errors: String,
    pub success: String,
    pub wrong: String,
    pub graceful: String,
    pub buckets: String,
    pub served: String,
    pub up: String,
}

/// `{k="v",...}` with the extra matchers appended; values escaped.
pub fn matchers(selector: &Selector, extra: &[&str]) -> String {
    let mut parts: Vec<String> = selector
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    parts.extend(extra.iter().map(|s| (*s).to_owned()));
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

impl Queries {
    pub fn new(load: &Selector, anvil: &Selector) -> Queries {
        let l = |extra: &[&str]| matchers(load, extra);
        let a = |extra: &[&str]| matchers(anvil, extra);
        Queries {
            target: format!("max(loadgen_target_rps{})", l(&[])),
            // loadgen exports a status's series only from its first
            // response: until then the sum is 0, not absent, or the first
            // scrape's count would be lost to increase().
            responses: format!("sum(loadgen_requests_total{}) or vector(0)", l(&[])),
            errors: format!("sum(loadgen_errors_total{})", l(&[])),
            success: format!(
                "sum(loadgen_requests_total{}) or vector(0)",
                l(&[r#"outcome="success""#])
            ),
            wrong: format!(
                "sum(loadgen_requests_total{}) or vector(0)",
                l(&[r#"outcome="wrong""#])
            ),
            graceful: format!(
                "sum(loadgen_request_duration_seconds_bucket{})",
                l(&[r#"outcome=~"success|shed""#, r#"le=~"1|1\\.0""#])
            ),
            buckets: format!(
                "sum by (le) (loadgen_request_duration_seconds_bucket{})",
                l(&[])
            ),
            served: format!(
                "sum(anvil_http_requests_total{})",
                a(&[r#"route="/api/test""#, r#"status=~"2..""#])
            ),
            up: format!("max(up{})", a(&[])),
        }
    }

    fn evidence(&self) -> serde_json::Value {
        json!({
            "target_rps": self.target, "responses": self.responses, "errors": self.errors,
            "success": self.success, "wrong": self.wrong, "graceful_in_time": self.graceful, "latency_buckets": self.buckets,
            "anvil_served": self.served, "anvil_up": self.up,
        })
    }
}

/// One series: timestamp (s) → value.
type Series = BTreeMap<i64, f64>;

impl std::fmt::Debug for PrometheusSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusSource")
            .field("url", &self.url)
            .finish()
    }
}

impl PrometheusSource {
    pub fn new(url: &str) -> anyhow::Result<PrometheusSource> {
        let client: Client = url
            .parse()
            .map_err(|e| anyhow::anyhow!("--prometheus-url {url:?}: {e}"))?;
        Ok(PrometheusSource {
            client,
            url: url.to_owned(),
        })
    }

    async fn range(
        &self,
        q: &str,
        w: &Window,
    ) -> Result<Vec<(BTreeMap<String, String>, Series)>, SourceError> {
        let response = self
            .client
            .query_range(q, w.start_s, w.end_s, w.step_s as f64)
            .get()
            .await
            .map_err(|e| classify(&self.url, e))?;
        let Some(matrix) = response.data().as_matrix() else {
            return Err(SourceError::Invalid(format!(
                "{q}: Prometheus did not answer with a matrix"
            )));
        };
        Ok(matrix
            .iter()
            .map(|rv| {
                let labels = rv
                    .metric()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let series = rv
                    .samples()
                    .iter()
                    .map(|s| (s.timestamp().round() as i64, s.value()))
                    .collect();
                (labels, series)
            })
            .collect())
    }

    async fn single(&self, q: &str, w: &Window) -> Result<Series, SourceError> {
        Ok(self
            .range(q, w)
            .await?
            .into_iter()
            .next()
            .map(|(_, s)| s)
            .unwrap_or_default())
    }

    pub async fn collect(
        &self,
        load_sel: &Selector,
        anvil_sel: &Selector,
        w: &Window,
    ) -> Result<Collected, SourceError> {
        let q = Queries::new(load_sel, anvil_sel);
        let target = self.single(&q.target, w).await?;
        let responses = self.single(&q.responses, w).await?;
        let errors = self.single(&q.errors, w).await?;
        let success = self.single(&q.success, w).await?;
        let wrong = self.single(&q.wrong, w).await?;
        let graceful = self.single(&q.graceful, w).await?;
        let by_le = self.range(&q.buckets, w).await?;
        let served = self.single(&q.served, w).await?;
        let up = self.single(&q.up, w).await?;

        let mut bounds: Vec<(f64, Series)> = by_le
            .into_iter()
            .filter_map(|(labels, s)| {
                let le = labels.get("le")?;
                let le = if le == "+Inf" {
                    INF_BOUND
                } else {
                    le.parse().ok()?
                };
                Some((le, s))
            })
            .collect();
        bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        let load = responses
            .iter()
            .map(|(&t, &resp)| LoadSample {
                t: t as f64,
                target_rps: target.get(&t).copied().unwrap_or(0.0),
                requests: resp + errors.get(&t).copied().unwrap_or(0.0),
                success: success.get(&t).copied().unwrap_or(0.0),
                graceful_in_time: graceful.get(&t).copied().unwrap_or(0.0),
                wrong: wrong.get(&t).copied().unwrap_or(0.0),
                latency_buckets: bounds
                    .iter()
                    .map(|(le, s)| (*le, s.get(&t).copied().unwrap_or(0.0)))
                    .collect(),
            })
            .collect();
        let anvil = up
            .iter()
            .map(|(&t, &u)| AnvilSample {
                t: t as f64,
                up: u >= 1.0,
                served: served.get(&t).copied().unwrap_or(0.0),
            })
            .collect();
        Ok(Collected {
            load,
            anvil,
            evidence: json!({ "prometheus": self.url, "queries": q.evidence() }),
        })
    }
}

/// Connection problems and server errors are worth retrying; a query
/// Prometheus rejects is not.
fn classify(url: &str, e: prometheus_http_query::Error) -> SourceError {
    use prometheus_http_query::Error as E;
    use prometheus_http_query::error::PrometheusErrorType as T;
    match e {
        E::Prometheus(p) if matches!(p.error_type(), T::BadData) => {
            SourceError::Invalid(format!("Prometheus rejected a query: {p}"))
        }
        other => SourceError::Unavailable(format!("Prometheus at {url} is unavailable: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_escaped_and_combined() {
        let mut sel = Selector::new();
        sel.insert("job".into(), "load\"gen".into());
        sel.insert("run_id".into(), "r-1".into());
        assert_eq!(
            matchers(&sel, &[r#"outcome="success""#]),
            r#"{job="load\"gen",run_id="r-1",outcome="success"}"#
        );
        assert_eq!(matchers(&Selector::new(), &[]), "");
        let q = Queries::new(&Selector::new(), &sel);
        assert_eq!(q.target, "max(loadgen_target_rps)");
        assert_eq!(q.up, r#"max(up{job="load\"gen",run_id="r-1"})"#);
    }
}
