//! The tracker's JSON API: `POST /api/track` (the earlier payload,
//! unchanged), the grouped read, sessions, one run, comparisons.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chaos_contract::TrackPayload;
use serde::Deserialize;
use serde_json::{Value, json};

use super::regression::{BASELINE_RUNS, judge};
use super::sessions;
use super::store::{self, TrackedRun};
use super::{NOTICE, TrackerState};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiPath, ApiQuery, PageRange, Paging};

fn check_key(state: &TrackerState, headers: &HeaderMap) -> ApiResult<()> {
    // No key configured: every post is accepted, with or without a key, as
    // the earlier tracker did (its client omits the header when it has no
    // key). chaos-api warns about this at start.
    let Some(expected) = &state.key else {
        return Ok(());
    };
    let presented = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "the tracker needs an x-api-key header (LOCAL_TRACKER_API_KEY)",
            )
        })?;
    if expected.matches(presented) {
        Ok(())
    } else {
        Err(ApiError::forbidden("the x-api-key is wrong"))
    }
}

fn validate(p: &TrackPayload) -> ApiResult<i64> {
    let fields = [
        ("userId", &p.user_id),
        ("runDetails.session_id", &p.run_details.session_id),
        ("runDetails.target_url", &p.run_details.target_url),
    ];
    for (name, v) in fields {
        if v.trim().is_empty() || v.len() > 256 {
            return Err(ApiError::unprocessable(format!(
                "{name} must be 1 to 256 characters"
            )));
        }
    }
    // Every text that becomes a column: a control character (a NUL above
    // all, which PostgreSQL cannot store in text) is refused here, so it
    // never reaches the group commit and fails the posts stored with it.
    let target = store::target_of(p);
    let texts = [
        ("userId", p.user_id.as_str()),
        ("challengeType", p.challenge_type.as_str()),
        ("metricName", p.metric_name.as_str()),
        ("runDetails.session_id", p.run_details.session_id.as_str()),
        ("runDetails.target_url", p.run_details.target_url.as_str()),
        ("runDetails.test_type", p.run_details.test_type.as_str()),
        (
            "runDetails.commit_hash",
            p.run_details.commit_hash.as_deref().unwrap_or(""),
        ),
        (
            "the target (labels.target, runDetails.target_name)",
            target.as_str(),
        ),
    ];
    for (name, v) in texts {
        if v.chars().any(char::is_control) {
            return Err(ApiError::unprocessable(format!(
                "{name} must not hold control characters (such as NUL or a line break)"
            )));
        }
    }
    let d = &p.run_details;
    for (name, v) in [
        ("value", p.value),
        ("rps", d.rps),
        ("error_rate", d.error_rate),
        ("avg_latency_ms", d.avg_latency_ms),
        ("duration_s", d.duration_s),
    ] {
        if !v.is_finite() || v < 0.0 {
            return Err(ApiError::unprocessable(format!(
                "{name} must be a finite number, not negative"
            )));
        }
    }
    run_time(&p.timestamp).ok_or_else(|| {
        ApiError::unprocessable(format!(
            "timestamp {:?} is not an ISO-8601 time: use RFC 3339 (2026-01-31T12:00:00Z), \
             or a date-time without offset, which is read as UTC",
            p.timestamp
        ))
    })
}

/// Milliseconds since the epoch of a payload's timestamp. A time without
/// an offset is UTC: the earlier client sent `datetime.utcnow().isoformat()`,
/// and the earlier service stored it in a UTC database.
pub fn run_time(text: &str) -> Option<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    // A bare date parses as a date-time at midnight; only a date-time counts.
    if !text.contains('T') && !text.contains(' ') {
        return None;
    }
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// `POST /api/track`: stores the run; answering 201 means it is committed.
pub async fn track(
    State(state): State<TrackerState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check_key(&state, &headers)?;
    let body = body?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::unsupported_media_type(
            "expected a JSON body with Content-Type: application/json",
        ));
    }
    // Not a JSON object: the request cannot be read as asked, a 400 as
    // from every other JSON endpoint (docs/API.md).
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(&body);
    let payload: TrackPayload = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("the body is not valid JSON: {inner}"))
        } else {
            ApiError::unprocessable(format!("{path}: {inner}"))
        }
    })?;
    let run_at = validate(&payload)?;
    // Time-ordered ids: each insert lands at the end of the primary-key
    // index instead of on a random page (twice the ingest rate on SQLite).
    let id = uuid::Uuid::now_v7().to_string();
    let raw = String::from_utf8_lossy(&body);
    let target = store::target_of(&payload);
    let session = payload.run_details.session_id.clone();
    state
        .ingest
        .store(id.clone(), payload, run_at, raw.into_owned())
        .await
        .map_err(ApiError::unavailable)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "target": target, "session_id": session, "notice": NOTICE })),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupedQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    /// The `next` of the page before: pages by key, each costing the same.
    after: Option<String>,
    format: Option<String>,
}

/// `GET /api/track/{userId}`: runs grouped by target, then session, a page
/// at a time; `?format=earlier` answers the earlier tracker's shape.
pub async fn grouped(
    State(state): State<TrackerState>,
    ApiPath(user): ApiPath<String>,
    ApiQuery(query): ApiQuery<GroupedQuery>,
) -> ApiResult<Response> {
    match query.format.as_deref() {
        None | Some("grouped") => {}
        Some("earlier") => {
            if query.page.is_some() || query.per_page.is_some() || query.after.is_some() {
                return Err(ApiError::bad_request(
                    "format=earlier answers every run at once (as the earlier tracker did): drop page, per_page and after",
                ));
            }
            return earlier_shape(&state, &user).await;
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not known: use \"grouped\" (the default) or \"earlier\""
            )));
        }
    }
    let (limit, offset, page) = Paging {
        page: query.page,
        per_page: Some(query.per_page.unwrap_or(200)),
    }
    .resolve()?;
    let cursor = match (&query.after, query.page) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give page or after, not both (after is the next of the page before)",
            ));
        }
        (Some(after), None) => Some(store::Cursor::decode(after).ok_or_else(|| {
            ApiError::bad_request("after is not a next this server gave: start again from page 1")
        })?),
        (None, _) => None,
    };
    let start = match &cursor {
        Some(c) => store::PageStart::After(c),
        None => store::PageStart::Offset(offset),
    };
    let (runs, total, next) = store::for_user(&state.db, &user, limit, start).await?;
    let next = next.map(|c| c.encode());
    let mut targets: BTreeMap<String, BTreeMap<String, Vec<TrackedRun>>> = BTreeMap::new();
    for r in runs {
        targets
            .entry(r.target.clone())
            .or_default()
            .entry(r.session_id.clone())
            .or_default()
            .push(r);
    }
    Ok(Json(json!({
        "userId": user, "notice": NOTICE,
        "page": if query.after.is_some() { Value::Null } else { json!(page) },
        "per_page": limit, "total": total, "next": next, "targets": targets,
    }))
    .into_response())
}

/// The earlier tracker's answer: `{target_app: {session_id: [row, ...]}}`,
/// newest run first, targets and sessions in the order their newest run
/// appears, each row the earlier table's columns.
async fn earlier_shape(state: &TrackerState, user: &str) -> ApiResult<Response> {
    let rows = store::earlier_rows(&state.db, user, store::EARLIER_MAX_ROWS).await?;
    let mut groups: EarlierGroups = Vec::new();
    for row in rows {
        let (target, session, value) = (row.target_app, row.session_id, row.row);
        let ti = match groups.iter().position(|(t, _)| *t == target) {
            Some(i) => i,
            None => {
                groups.push((target, Vec::new()));
                groups.len() - 1
            }
        };
        let sessions = &mut groups[ti].1;
        match sessions.iter_mut().find(|(s, _)| *s == session) {
            Some((_, runs)) => runs.push(value),
            None => sessions.push((session, vec![value])),
        }
    }
    let body =
        serde_json::to_vec(&Targets(&groups)).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

type EarlierGroups = Vec<(String, Vec<(String, Vec<Value>)>)>;

/// Targets, then sessions, as JSON objects in their own order (the earlier
/// reader shows them in the order its object's keys come).
struct Targets<'a>(&'a EarlierGroups);
struct Sessions<'a>(&'a [(String, Vec<Value>)]);

impl serde::Serialize for Targets<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, Sessions(v))))
    }
}

impl serde::Serialize for Sessions<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsQuery {
    gap_minutes: Option<i64>,
}

/// The pause that ends a working session, from `?gap_minutes=`.
fn gap_ms(minutes: Option<i64>) -> ApiResult<i64> {
    let m = minutes.unwrap_or(sessions::DEFAULT_GAP_MINUTES);
    if !(1..=sessions::MAX_GAP_MINUTES).contains(&m) {
        return Err(ApiError::bad_request(format!(
            "gap_minutes must be 1 to {}, not {m}",
            sessions::MAX_GAP_MINUTES
        )));
    }
    Ok(m * 60_000)
}

/// `GET /api/track/{userId}/sessions?gap_minutes=`: working sessions.
pub async fn sessions(
    State(state): State<TrackerState>,
    ApiPath(user): ApiPath<String>,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> ApiResult<Json<Value>> {
    let gap = gap_ms(q.gap_minutes)?;
    let rows = sessions::sessions(&state.db, &user, None, gap).await?;
    Ok(Json(json!({
        "userId": user,
        "notice": NOTICE,
        "gap_minutes": gap / 60_000,
        "sessions": rows,
    })))
}

/// `GET /api/track/runs/{id}`: one run, with its regression verdict.
pub async fn run(
    State(state): State<TrackerState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let run = store::get(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tracked run {id:?}")))?;
    let previous = store::previous(&state.db, &run, BASELINE_RUNS).await?;
    let verdict = judge(&run, &previous);
    Ok(Json(
        json!({ "run": run, "regression": verdict, "notice": NOTICE }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
    user: Option<String>,
    session_a: Option<String>,
    session_b: Option<String>,
    gap_minutes: Option<i64>,
}

/// Means of the metrics over runs.
fn summary(runs: &[TrackedRun]) -> Value {
    let n = runs.len().max(1) as f64;
    let mean = |f: &dyn Fn(&TrackedRun) -> f64| runs.iter().map(f).sum::<f64>() / n;
    json!({
        "runs": runs.len(),
        "rps": mean(&|r| r.rps),
        "error_rate": mean(&|r| r.error_rate),
        "avg_latency_ms": mean(&|r| r.avg_latency_ms),
        "p95_ms": mean(&|r| r.p95_ms.unwrap_or(r.avg_latency_ms)),
        "p99_ms": mean(&|r| r.p99_ms.unwrap_or(r.avg_latency_ms)),
    })
}

fn deltas(a: &Value, b: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for k in ["rps", "error_rate", "avg_latency_ms", "p95_ms", "p99_ms"] {
        let (x, y) = (a[k].as_f64().unwrap_or(0.0), b[k].as_f64().unwrap_or(0.0));
        let pct = if x != 0.0 {
            Some((y - x) / x * 100.0)
        } else {
            None
        };
        out.insert(
            k.into(),
            json!({ "a": x, "b": y, "delta": y - x, "delta_pct": pct }),
        );
    }
    Value::Object(out)
}

/// `GET /api/track/compare?a=RUN&b=RUN` or `?user=U&session_a=S&session_b=S`.
pub async fn compare(
    State(state): State<TrackerState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> ApiResult<Json<Value>> {
    let (a, b) = match (&q.a, &q.b, &q.user, &q.session_a, &q.session_b) {
        (Some(a), Some(b), None, None, None) => {
            let load = |id: String| {
                let db = state.db.clone();
                async move {
                    store::get(&db, &id)
                        .await?
                        .ok_or_else(|| ApiError::not_found(format!("no tracked run {id:?}")))
                }
            };
            (vec![load(a.clone()).await?], vec![load(b.clone()).await?])
        }
        (None, None, Some(user), Some(sa), Some(sb)) => {
            let all = sessions::sessions(&state.db, user, None, gap_ms(q.gap_minutes)?).await?;
            let runs = sessions::runs(&state.db, user, &all, sa).await?;
            let other = sessions::runs(&state.db, user, &all, sb).await?;
            if runs.is_empty() || other.is_empty() {
                return Err(ApiError::not_found("one of the sessions has no runs"));
            }
            (runs, other)
        }
        _ => {
            return Err(ApiError::bad_request(
                "compare two runs with ?a=ID&b=ID, or two sessions with ?user=U&session_a=S&session_b=S",
            ));
        }
    };
    let (sa, sb) = (summary(&a), summary(&b));
    Ok(Json(
        json!({ "a": sa, "b": sb, "change": deltas(&sa, &sb), "notice": NOTICE }),
    ))
}

#[cfg(test)]
mod tests {
    use super::run_time;

    #[test]
    fn times_without_an_offset_are_utc() {
        let with_z = run_time("2026-11-29T17:38:41.491Z").expect("rfc 3339");
        assert_eq!(run_time("2026-11-29T17:38:41.491860"), Some(with_z));
        assert_eq!(
            run_time("2026-11-29T17:38:41"),
            Some(with_z - 491),
            "isoformat() drops the fraction at a whole second"
        );
        assert_eq!(run_time("2026-11-29T19:38:41.491+02:00"), Some(with_z));
        for bad in ["yesterday", "2026-11-29", "2026-13-01T00:00:00", ""] {
            assert_eq!(run_time(bad), None, "{bad}");
        }
    }
}
