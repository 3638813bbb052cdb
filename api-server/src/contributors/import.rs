//! `POST /api/v1/contributor-imports` (admin): contributors brought over
//! from the earlier platform's database export, each with a new key shown
//! once, and, where the earlier key was a random UUID, that key kept so
//! the earlier clients keep working with it.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;

use crate::http::ApiQuery;
use aide::transform::TransformOperation;
use axum::http::{HeaderMap, StatusCode, header};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::openapi::Describe;

use super::api::validate_display_name;
use crate::auth;
use crate::contributors::store::{self as contributors, Imported};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most rows one import takes.
pub const MAX_ROWS: usize = 10_000;

/// Largest import body (10,000 rows of the earlier `api_keys` table fit).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// One row of the earlier platform's `api_keys` table (`id`, `key`,
/// `user_id`, `challenge_type`), as `psql` exports it to CSV or JSON; other
/// columns are ignored. `display_name` is optional (the earlier platform
/// had none; the earlier user id is used).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct EarlierContributor {
    /// The earlier user id (a GitHub user name); mapped onto this platform's name rule.
    #[serde(alias = "userId", alias = "name")]
    pub user_id: String,
    /// The earlier API key; kept (as a SHA-256) when it is a random UUID.
    #[serde(default)]
    pub key: Option<String>,
    /// The earlier active challenge; ignored when it is not a challenge here.
    #[serde(default)]
    pub challenge_type: Option<String>,
    /// Shown on the leaderboard; the earlier user id when absent.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum JsonImport {
    Rows(Vec<EarlierContributor>),
    Wrapped {
        contributors: Vec<EarlierContributor>,
    },
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Report what would happen; write nothing and show no key.
    dry_run: Option<bool>,
}

/// The export, CSV or JSON, read whole; its size is checked in the
/// handler, after the credentials, so a stranger learns nothing from it.
pub struct ImportBody(Result<Bytes, BytesRejection>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ImportBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(ImportBody(Bytes::from_request(req, state).await))
    }
}

impl aide::OperationInput for ImportBody {
    fn operation_input(ctx: &mut aide::generate::GenContext, op: &mut aide::openapi::Operation) {
        crate::openapi::json_body::<JsonImport>(ctx, op, true);
        let csv = schemars::json_schema!({
            "type": "string",
            "pattern": "^(?:[A-Za-z_]+,)*user_id(?:,[A-Za-z_]+)*\\r?\\n",
            "description": "A header row naming user_id (and optionally key, challenge_type, \
                display_name; other columns are ignored), then a row per contributor; a row \
                that cannot be read is refused in the report."
        });
        if let Some(aide::openapi::ReferenceOr::Item(body)) = op.request_body.as_mut() {
            body.content
                .extend(crate::openapi::content("text/csv", csv));
        }
    }
}

pub fn docs(op: TransformOperation) -> TransformOperation {
    op.id("importContributors")
        .summary(
            "Import contributors from the earlier platform's database export (CSV or JSON)",
        )
        .admin()
        .ok("What was done for each row")
        .fails(400, "Malformed request (bad JSON, bad query)")
        .fails(413, "Body larger than 2 MiB")
        .fails(415, "Body is neither text/csv nor application/json")
        .fails(
            422,
            "A CSV without a user_id header, a JSON body of the wrong shape, or more than 10,000 rows",
        )
        .fails(500, "The database failed; nothing was imported")
}

use chaos_contract::{
    EarlierKey, ImportLine as Line, ImportOutcome as Outcome, ImportReport as Report,
};

/// A row as read: a contributor, or why the row could not be read.
type Read = Result<EarlierContributor, String>;

fn parse_csv(body: &[u8]) -> ApiResult<Vec<Read>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::unprocessable(format!("the CSV header row cannot be read: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let user_col = column("user_id").or_else(|| column("userid")).ok_or_else(|| {
        ApiError::unprocessable(
            "the CSV needs a header row naming user_id (and optionally key, challenge_type, display_name)",
        )
    })?;
    let (key_col, challenge_col, display_col) = (
        column("key"),
        column("challenge_type"),
        column("display_name"),
    );
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push(Err(format!("CSV record {} cannot be read: {e}", i + 1)));
                continue;
            }
        };
        let field = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        rows.push(match field(Some(user_col)) {
            Some(user_id) => Ok(EarlierContributor {
                user_id,
                key: field(key_col),
                challenge_type: field(challenge_col),
                display_name: field(display_col),
            }),
            None => Err(format!("CSV record {} has no user_id", i + 1)),
        });
    }
    Ok(rows)
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<Vec<Read>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("text/csv") {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::unprocessable(
                "the CSV is empty: it needs a header row naming user_id",
            ));
        }
        parse_csv(body)
    } else if content_type.starts_with("application/json") {
        let mut de = serde_json::Deserializer::from_slice(body);
        match serde_path_to_error::deserialize::<_, JsonImport>(&mut de) {
            Ok(JsonImport::Rows(rows) | JsonImport::Wrapped { contributors: rows }) => {
                Ok(rows.into_iter().map(Ok).collect())
            }
            Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(ApiError::bad_request(
                format!("the body is not valid JSON: {}", e.inner()),
            )),
            Err(_) => Err(ApiError::unprocessable(
                "expected a JSON array of {\"user_id\", \"key\"?, \"challenge_type\"?, \"display_name\"?} \
                 (or {\"contributors\": [...]})",
            )),
        }
    } else {
        Err(ApiError::unsupported_media_type(
            "send the earlier api_keys export as Content-Type: text/csv (with a header row) or application/json",
        ))
    }
}

/// Decides every row against the database and the rows before it. Nothing
/// is written here.
async fn plan(state: &AppState, read: &[Read]) -> ApiResult<(Vec<Line>, Vec<Option<Imported>>)> {
    let unreadable = EarlierContributor {
        user_id: String::new(),
        key: None,
        challenge_type: None,
        display_name: None,
    };
    let rows: Vec<&EarlierContributor> = read
        .iter()
        .map(|r| r.as_ref().unwrap_or(&unreadable))
        .collect();
    let mapped: Vec<Option<String>> = rows
        .iter()
        .map(|r| chaos_domain::contributor::from_earlier_name(&r.user_id))
        .collect();
    let names: Vec<String> = mapped.iter().flatten().cloned().collect();
    let taken: HashSet<String> = contributors::taken(&state.db, &names)
        .await?
        .into_iter()
        .collect();
    let digests: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.key.as_deref().and_then(auth::earlier_key_digest))
        .collect();
    let all_digests: Vec<String> = digests.iter().flatten().cloned().collect();
    let held: HashSet<String> = contributors::earlier_keys_held(&state.db, &all_digests)
        .await?
        .into_iter()
        .collect();

    let mut seen_names: HashMap<String, String> = HashMap::new();
    let mut seen_digests: HashSet<String> = HashSet::new();
    let mut lines = Vec::with_capacity(rows.len());
    let mut creates = Vec::with_capacity(rows.len());
    for (((row, name), digest), raw) in rows.iter().zip(mapped).zip(digests).zip(read) {
        let earlier_name = row.user_id.trim().to_owned();
        let mut line = Line {
            renamed: name.as_deref() != Some(earlier_name.as_str()),
            earlier_name: earlier_name.clone(),
            name: name.clone(),
            outcome: Outcome::Refused,
            reason: None,
            active_challenge: None,
            api_key: None,
            earlier_key: EarlierKey::None,
            note: None,
        };
        if let Err(why) = raw {
            line.reason = Some(why.clone());
            lines.push(line);
            creates.push(None);
            continue;
        }
        let Some(name) = name else {
            line.reason = Some(format!(
                "no usable name: {} after mapping",
                chaos_domain::contributor::NAME_RULE
            ));
            lines.push(line);
            creates.push(None);
            continue;
        };
        if let Some(first) = seen_names.get(&name) {
            line.reason = Some(format!(
                "maps to {name:?}, as the earlier {first:?} above does"
            ));
            lines.push(line);
            creates.push(None);
            continue;
        }
        seen_names.insert(name.clone(), earlier_name.clone());
        if taken.contains(&name) {
            line.outcome = Outcome::Exists;
            line.reason = Some(format!(
                "{name:?} is already registered here; nothing was changed"
            ));
            lines.push(line);
            creates.push(None);
            continue;
        }
        let display = row
            .display_name
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| earlier_name.clone());
        if let Err(e) = validate_display_name(&display) {
            line.reason = Some(e.to_string());
            lines.push(line);
            creates.push(None);
            continue;
        }
        let challenge = match row.challenge_type.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => match c.parse::<chaos_domain::Challenge>() {
                Ok(c) => Some(c.as_str().to_owned()),
                Err(_) => {
                    line.note = Some(format!(
                        "challenge_type {c:?} is not a challenge here; no active challenge set"
                    ));
                    None
                }
            },
        };
        let kept_digest = match (row.key.as_deref().map(str::trim), digest) {
            (None | Some(""), _) => None,
            (Some(_), None) => {
                line.earlier_key = EarlierKey::NotKept;
                push_note(
                    &mut line,
                    "the earlier key is not a random UUID (too weak to keep); use the new key",
                );
                None
            }
            (Some(_), Some(d)) if held.contains(&d) || !seen_digests.insert(d.clone()) => {
                line.earlier_key = EarlierKey::NotKept;
                push_note(&mut line, "the earlier key is held by another contributor");
                None
            }
            (Some(_), Some(d)) => {
                line.earlier_key = EarlierKey::Kept;
                Some(d)
            }
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (key, salt, hash) =
            auth::new_api_key(&id).map_err(|e| ApiError::internal(e.to_string()))?;
        line.outcome = Outcome::Created;
        line.active_challenge = challenge.as_deref().and_then(|c| c.parse().ok());
        line.api_key = Some(key);
        creates.push(Some(Imported {
            id,
            name,
            display_name: display,
            challenge,
            salt,
            hash,
            earlier_key_digest: kept_digest,
        }));
        lines.push(line);
    }
    Ok((lines, creates))
}

fn push_note(line: &mut Line, note: &str) {
    line.note = Some(match line.note.take() {
        Some(n) => format!("{n}; {note}"),
        None => note.to_owned(),
    });
}

/// `POST /api/v1/contributor-imports[?dry_run=true]` (admin).
pub async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ImportQuery>,
    ImportBody(body): ImportBody,
) -> ApiResult<Json<Report>> {
    state.admin.check(&headers)?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "the import is larger than {MAX_BODY} bytes: split it"
            ))
        } else {
            ApiError::from(r)
        }
    })?;
    let rows = parse_body(&headers, &body)?;
    if rows.len() > MAX_ROWS {
        return Err(ApiError::unprocessable(format!(
            "the import holds {} contributors; at most {MAX_ROWS} at once",
            rows.len()
        )));
    }
    let dry_run = query.dry_run.unwrap_or(false);
    let (mut lines, planned) = plan(&state, &rows).await?;
    let creates: Vec<Imported> = planned.iter().flatten().cloned().collect();
    if dry_run {
        for l in &mut lines {
            l.api_key = None;
        }
    } else if !creates.is_empty() {
        let created = contributors::insert_imported(&state.db, &creates).await?;
        // A name registered between the plan and the insert: that line was
        // not created after all, and its key was never stored.
        for (line, plan) in lines.iter_mut().zip(&planned) {
            if let Some(p) = plan
                && !created.contains(&p.id)
            {
                line.outcome = Outcome::Refused;
                line.reason = Some(
                    "the name was registered while the import ran; import again to see it".into(),
                );
                line.api_key = None;
            }
        }
        state.cache.invalidate();
    }
    let count = |o: Outcome| lines.iter().filter(|l| l.outcome == o).count() as u64;
    Ok(Json(Report {
        dry_run,
        created: count(Outcome::Created),
        existing: count(Outcome::Exists),
        refused: count(Outcome::Refused),
        contributors: lines,
    }))
}
