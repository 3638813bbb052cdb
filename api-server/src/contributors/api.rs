//! Contributors: register, list, get, switch challenge, deregister.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use chaos_contract as contract;

use super::wire;
use crate::auth::{self, bearer};
use crate::contributors::store::{self as contributors, Contributor};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiPath, ApiQuery, Body, NamePath, PageRange, Paging, challenge_field};
use crate::openapi::Describe;
use crate::state::AppState;
use aide::transform::TransformOperation;

/// A manager's name: 1 to 63 lower-case letters, digits and hyphens.
fn validate_manager(m: &str) -> Result<(), ApiError> {
    if chaos_domain::contributor::is_valid_manager(m) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!(
            "manager {:?} is not valid: 1 to 63 lower-case letters, digits and hyphens",
            m.chars().take(80).collect::<String>()
        )))
    }
}

/// A controller may act only on the accounts it registered: a name taken
/// by someone else is never recovered, re-keyed or deregistered by it.
fn managed_by(c: &Contributor, acting: &contract::AsManager) -> Result<(), ApiError> {
    let Some(m) = acting.manager.as_deref() else {
        // An admin acting by hand.
        return Ok(());
    };
    // A malformed query is a 400, as for every other query parameter.
    if validate_manager(m).is_err() {
        return Err(ApiError::bad_request(format!(
            "?manager= must be 1 to 63 lower-case letters, digits and hyphens, not {:?}",
            m.chars().take(80).collect::<String>()
        )));
    }
    if c.manager.as_deref() == Some(m) {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "contributor {:?} was not registered by {m:?}, so {m:?} may not act on it; \
             an admin can hand it over with PATCH /api/v1/contributors/{} {{\"manager\": \"{m}\"}}",
            c.name, c.name
        )))
    }
}

/// Lower-case letters, digits and inner hyphens, 1 to 39 characters (a
/// GitHub user name, and short enough for a Kubernetes namespace).
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    if chaos_domain::contributor::is_valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!(
            "name {name:?} is not valid: use {}",
            chaos_domain::contributor::NAME_RULE
        )))
    }
}

/// The character policy of `chaos_domain::contributor::display_name_problem`.
pub(crate) fn validate_display_name(d: &str) -> Result<(), ApiError> {
    match chaos_domain::contributor::display_name_problem(d) {
        None => Ok(()),
        Some(problem) => Err(ApiError::unprocessable(problem)),
    }
}

/// `POST /api/v1/contributors` (admin): the API key is in this answer and nowhere else.
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Body<contract::RegisterContributor>, ApiError>,
) -> ApiResult<(StatusCode, Json<contract::Registered>)> {
    state.admin.check(&headers)?;
    let Body(r) = body?;
    validate_name(&r.name)?;
    let display = r.display_name.clone().unwrap_or_else(|| r.name.clone());
    validate_display_name(&display)?;
    let challenge = r
        .challenge
        .as_deref()
        .map(|c| challenge_field("challenge", c))
        .transpose()?;
    if let Some(m) = r.manager.as_deref() {
        validate_manager(m)?;
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (key, salt, hash) =
        auth::new_api_key(&id).map_err(|e| ApiError::internal(e.to_string()))?;
    let created = contributors::insert(
        &state.db,
        contributors::NewContributor {
            id: &id,
            name: &r.name,
            display_name: &display,
            challenge: challenge.map(|c| c.as_str()),
            salt: &salt,
            hash: &hash,
            manager: r.manager.as_deref(),
        },
    )
    .await?;
    let Some(contributor) = created else {
        return Err(ApiError::conflict(format!(
            "a contributor named {:?} already exists",
            r.name
        )));
    };
    Ok((
        StatusCode::CREATED,
        Json(contract::Registered {
            contributor: wire::contributor(contributor)?,
            api_key: key,
        }),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<contract::ContributorList>> {
    let (limit, offset, page) = paging.resolve()?;
    let (items, total) = contributors::list(&state.db, limit, offset).await?;
    Ok(Json(contract::ContributorList {
        page,
        per_page: limit,
        total,
        contributors: items
            .into_iter()
            .map(wire::contributor)
            .collect::<ApiResult<_>>()?,
    }))
}

/// The 404 of a deregistered contributor: who they were.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Gone {
    pub error: String,
    pub contributor: contract::Contributor,
}

/// What `GET /api/v1/contributors/{name}` answers with its 404.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum NotHere {
    Gone(Gone),
    Missing(crate::error::ErrorBody),
}

/// `GET /api/v1/contributors/{name}`: a deregistered contributor is not
/// found as a contributor (404), and the answer says they were deregistered
/// and who they were (their scores stay on the board, marked).
pub async fn get(
    State(state): State<AppState>,
    ApiPath(NamePath { name }): ApiPath<NamePath>,
) -> ApiResult<Response> {
    let c = contributors::by_name(&state.db, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no contributor named {name:?}")))?;
    if c.deregistered {
        let body = Gone {
            error: format!("contributor {name:?} is deregistered; an admin can reactivate them"),
            contributor: wire::contributor(c)?,
        };
        return Ok((StatusCode::NOT_FOUND, Json(body)).into_response());
    }
    Ok(Json(wire::contributor(c)?).into_response())
}

/// `POST /api/v1/contributors/{name}/reactivate` (admin): a deregistered
/// contributor is back, with a new key (the old one was destroyed), their
/// scores as they were. Reactivating an active contributor is a 409.
pub async fn reactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(NamePath { name }): ApiPath<NamePath>,
    ApiQuery(acting): ApiQuery<contract::AsManager>,
) -> ApiResult<Json<contract::Registered>> {
    let (c, name) = admin_and_contributor(&state, &headers, name).await?;
    managed_by(&c, &acting)?;
    if !c.deregistered {
        return Err(ApiError::conflict(format!(
            "contributor {name:?} is active; use POST .../key for a new key"
        )));
    }
    new_key(&state, c, true).await
}

/// `POST /api/v1/contributors/{name}/key` (admin): a new API key for an
/// active contributor; the old key (and an imported earlier one) stops working.
pub async fn rotate_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(NamePath { name }): ApiPath<NamePath>,
    ApiQuery(acting): ApiQuery<contract::AsManager>,
) -> ApiResult<Json<contract::Registered>> {
    let (c, name) = admin_and_contributor(&state, &headers, name).await?;
    managed_by(&c, &acting)?;
    if c.deregistered {
        return Err(ApiError::conflict(format!(
            "contributor {name:?} is deregistered; reactivate them instead"
        )));
    }
    new_key(&state, c, false).await
}

/// An admin call on a contributor named in the path.
async fn admin_and_contributor(
    state: &AppState,
    headers: &HeaderMap,
    name: String,
) -> ApiResult<(Contributor, String)> {
    state.admin.check(headers)?;
    let c = contributors::by_name(&state.db, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no contributor named {name:?}")))?;
    Ok((c, name))
}

async fn new_key(
    state: &AppState,
    c: Contributor,
    reactivate: bool,
) -> ApiResult<Json<contract::Registered>> {
    let (key, salt, hash) =
        auth::new_api_key(&c.id).map_err(|e| ApiError::internal(e.to_string()))?;
    if !contributors::replace_key(&state.db, &c.id, &salt, &hash, reactivate).await? {
        return Err(ApiError::conflict(format!(
            "contributor {:?} changed meanwhile; try again",
            c.name
        )));
    }
    state.cache.invalidate();
    let c = Contributor {
        deregistered: false,
        ..c
    };
    Ok(Json(contract::Registered {
        contributor: wire::contributor(c)?,
        api_key: key,
    }))
}

/// The contributor a Bearer API key belongs to.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Contributor> {
    let unauthorized =
        || ApiError::unauthenticated("this action needs Authorization: Bearer <your API key>");
    let key = bearer(headers).ok_or_else(unauthorized)?;
    let invalid = || ApiError::unauthenticated("the API key is not valid");
    if let Some(digest) = auth::earlier_key_digest(key) {
        // A key brought over from the earlier platform by an import.
        return match contributors::by_earlier_key(&state.db, &digest).await? {
            Some(c) if !c.deregistered => Ok(c),
            _ => Err(invalid()),
        };
    }
    let (id, secret) = auth::parse_api_key(key).ok_or_else(|| {
        ApiError::unauthenticated(
            "the API key is malformed: expected sck_… (or an imported earlier key, a UUID)",
        )
    })?;
    let record = contributors::key_record(&state.db, id).await?;
    match record {
        Some(r) if !r.contributor.deregistered && auth::key_matches(&r.salt, &r.hash, secret) => {
            Ok(r.contributor)
        }
        _ => Err(invalid()),
    }
}

/// `PUT /api/v1/contributors/{name}/challenge` with the contributor's own key.
pub async fn switch(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(NamePath { name }): ApiPath<NamePath>,
    body: Result<Body<contract::SwitchChallenge>, ApiError>,
) -> ApiResult<Json<contract::Contributor>> {
    let me = authenticate(&state, &headers).await?;
    if me.name != name {
        return Err(ApiError::forbidden(
            "an API key can only switch its own contributor's challenge",
        ));
    }
    let Body(s) = body?;
    apply_switch(&state, me, &s.challenge, "challenge").await
}

/// `POST /api/v1/register-influencer`: the earlier platform's switch, unchanged.
pub async fn register_influencer(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Body<contract::LegacySwitch>, ApiError>,
) -> ApiResult<Json<contract::Contributor>> {
    let me = authenticate(&state, &headers).await?;
    let Body(s) = body?;
    apply_switch(&state, me, &s.challenge_type, "challenge_type").await
}

async fn apply_switch(
    state: &AppState,
    me: Contributor,
    challenge: &str,
    field: &str,
) -> ApiResult<Json<contract::Contributor>> {
    let c = challenge_field(field, challenge)?;
    contributors::set_challenge(&state.db, &me.id, c.as_str()).await?;
    Ok(Json(wire::contributor(Contributor {
        active_challenge: Some(c.as_str().to_owned()),
        ..me
    })?))
}

/// `DELETE /api/v1/contributors/{name}` (admin): the key stops working; scores stay.
pub async fn deregister(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(NamePath { name }): ApiPath<NamePath>,
    ApiQuery(acting): ApiQuery<contract::AsManager>,
) -> ApiResult<StatusCode> {
    let (c, _) = admin_and_contributor(&state, &headers, name).await?;
    managed_by(&c, &acting)?;
    contributors::deregister(&state.db, &c.id).await?;
    state.cache.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /api/v1/contributors/{name}` (admin): a new display name (it is
/// what the boards show), or a hand-over of the account to a controller.
/// With `?manager=`, only that account's manager may change it.
pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(NamePath { name }): ApiPath<NamePath>,
    ApiQuery(acting): ApiQuery<contract::AsManager>,
    body: Result<Body<contract::UpdateContributor>, ApiError>,
) -> ApiResult<Json<contract::Contributor>> {
    let (c, name) = admin_and_contributor(&state, &headers, name).await?;
    managed_by(&c, &acting)?;
    let Body(u) = body?;
    if let Some(d) = u.display_name.as_deref() {
        validate_display_name(d)?;
    }
    if let Some(m) = u.manager.as_deref() {
        validate_manager(m)?;
    }
    contributors::update(
        &state.db,
        &c.id,
        u.display_name.as_deref(),
        u.manager.as_deref(),
    )
    .await?;
    state.cache.invalidate();
    let c = contributors::by_name(&state.db, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no contributor named {name:?}")))?;
    Ok(Json(wire::contributor(c)?))
}

// What each route says of itself in the OpenAPI document, beyond what its
// extractors and answer type say.

const MANAGED: &str = "The account is not the acting manager's (or changed meanwhile)";

pub fn register_docs(op: TransformOperation) -> TransformOperation {
    op.id("registerContributor")
        .summary("Register a contributor (admin). The API key is returned once.")
        .admin()
        .answers::<contract::Registered>(201, "Registered")
        .fails(409, "Conflicts with the current state")
}

pub fn list_docs(op: TransformOperation) -> TransformOperation {
    op.id("listContributors")
        .summary("List contributors")
        .ok("OK")
}

pub fn get_docs(op: TransformOperation) -> TransformOperation {
    op.id("getContributor")
        .summary("Get a contributor")
        .answers::<contract::Contributor>(200, "OK")
        .answers::<NotHere>(
            404,
            "No such contributor, or deregistered (then the body says who they were; an \
             admin can reactivate them)",
        )
}

pub fn deregister_docs(op: TransformOperation) -> TransformOperation {
    op.id("deregisterContributor")
        .summary("Deregister a contributor (admin); the key stops working, scores stay")
        .admin()
        .fails(404, "Not found")
        .fails(409, MANAGED)
        .with(|mut op| {
            if let Some(r) = op.inner_mut().responses.as_mut() {
                let ok = aide::openapi::Response {
                    description: "Deregistered".into(),
                    ..Default::default()
                };
                r.responses.insert(
                    aide::openapi::StatusCode::Code(204),
                    aide::openapi::ReferenceOr::Item(ok),
                );
            }
            op
        })
}

pub fn update_docs(op: TransformOperation) -> TransformOperation {
    op.id("updateContributor")
        .summary(
            "Change a contributor's display name (what the boards show) or hand the account \
             over to a controller (admin)",
        )
        .admin()
        .ok("The contributor as it is now")
        .fails(404, "Not found")
        .fails(409, MANAGED)
}

pub fn switch_docs(op: TransformOperation) -> TransformOperation {
    op.id("switchChallenge")
        .summary("Switch the active challenge (the contributor's own API key)")
        .api_key()
        .ok("OK")
}

pub fn register_influencer_docs(op: TransformOperation) -> TransformOperation {
    op.id("registerInfluencer")
        .summary("Switch the active challenge, the earlier platform's call")
        .api_key()
        .ok("OK")
}

pub fn reactivate_docs(op: TransformOperation) -> TransformOperation {
    op.id("reactivateContributor")
        .summary("Take a deregistered contributor back, with a new API key shown once (admin)")
        .admin()
        .ok("OK")
        .fails(404, "Not found")
        .fails(409, "Active already, or not the acting manager's")
}

pub fn rotate_key_docs(op: TransformOperation) -> TransformOperation {
    op.id("rotateContributorKey")
        .summary("A new API key for an active contributor; the old one stops working (admin)")
        .admin()
        .ok("OK")
        .fails(404, "Not found")
        .fails(409, "Deregistered, or not the acting manager's")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_are_a_422_naming_the_rule() {
        // The rule itself is tested in chaos_domain::contributor.
        assert!(validate_name("grace-hopper").is_ok());
        let e = validate_name("Ada!").expect_err("invalid");
        assert!(format!("{e:?}").contains("lower-case letters"), "{e:?}");
    }
}
