//! Request helpers of the JSON API (`/api/v1/...`): paging, JSON object
//! bodies, optional fields, challenge parameters.

use std::marker::PhantomData;

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{Operation, Response, StatusCode as Code};
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::ApiError;
use crate::openapi::{error_response, json_body, parameters};

pub use chaos_contract::Paging;
use chaos_contract::paging::{MAX_PAGE, MAX_PER_PAGE};

/// `?page=&per_page=`, validated.
pub trait PageRange {
    /// `(limit, offset, page)`.
    fn resolve(&self) -> Result<(i64, i64, i64), ApiError>;
}

impl PageRange for Paging {
    fn resolve(&self) -> Result<(i64, i64, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::bad_request(format!(
                "page must be between 1 and {MAX_PAGE}"
            )));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        Ok((per_page, (page - 1) * per_page, page))
    }
}

/// A JSON object body, read as `T`. Unlike axum's `Json`, an array is
/// refused (serde would read it as the struct's fields in order), and a
/// field of the wrong type is named by its path. Take it as
/// `Result<Body<T>, ApiError>` to check credentials first.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value): axum::Json<serde_json::Value> =
            axum::Json::from_request(req, state).await?;
        if !value.is_object() {
            // Like a body that is not JSON: the request cannot be read as asked (docs/API.md).
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        serde_path_to_error::deserialize(value)
            .map(Body)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path == "." {
                    ApiError::unprocessable(inner.to_string())
                } else {
                    ApiError::unprocessable(format!("{path}: {inner}"))
                }
            })
    }
}

impl<T: JsonSchema> OperationInput for Body<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        json_body::<T>(ctx, operation, true);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<Code>, Response)> {
        body_mistakes(ctx, true)
    }
}

/// What reading a JSON body can refuse before the handler runs.
fn body_mistakes(ctx: &mut GenContext, typed: bool) -> Vec<(Option<Code>, Response)> {
    let mut out = vec![
        (
            Some(Code::Code(400)),
            error_response(ctx, "Malformed request (bad JSON, bad query or path)"),
        ),
        (
            Some(Code::Code(413)),
            error_response(ctx, "Body larger than 64 KiB"),
        ),
        (
            Some(Code::Code(422)),
            error_response(ctx, "Well-formed but invalid (names the field)"),
        ),
    ];
    if typed {
        out.push((
            Some(Code::Code(415)),
            error_response(ctx, "Body is not application/json"),
        ));
    }
    out
}

/// The body of a call whose body may be left out: empty, or a JSON object
/// read as `T` (its fields all optional). Read it with [`OptionalBody::read`]
/// after the credentials are checked. No content type is asked for: the
/// earlier clients send these calls without one.
#[derive(Debug)]
pub struct OptionalBody<T>(Bytes, PhantomData<T>);

impl<T, S> axum::extract::FromRequest<S> for OptionalBody<T>
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await?;
        Ok(OptionalBody(bytes, PhantomData))
    }
}

impl<T: serde::de::DeserializeOwned + Default> OptionalBody<T> {
    /// `shape` is an example of the object, for the error message.
    pub fn read(&self, shape: &str) -> Result<T, ApiError> {
        object_or_empty(&self.0, shape)
    }
}

impl<T: JsonSchema> OperationInput for OptionalBody<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        json_body::<T>(ctx, operation, false);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<Code>, Response)> {
        body_mistakes(ctx, false)
    }
}

/// The raw body of an optional-body call is empty or a JSON object.
pub fn object_or_empty<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
    shape: &str,
) -> Result<T, ApiError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| body[i]) {
        None => Ok(T::default()),
        Some(b'{') => serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                ApiError::unprocessable(format!("the body must be {shape} or empty: {e}"))
            } else {
                ApiError::bad_request(format!("the body must be {shape} or empty: {e}"))
            }
        }),
        Some(_) => Err(ApiError::bad_request(format!(
            "the body must be {shape} or empty"
        ))),
    }
}

pub use chaos_contract::no_null;

/// Parses a challenge from a query parameter: like every query-string
/// problem, a wrong one is a 400.
pub fn challenge_query(field: &str, value: &str) -> Result<chaos_domain::Challenge, ApiError> {
    value
        .parse()
        .map_err(|e: chaos_domain::UnknownChallenge| ApiError::bad_request(format!("{field}: {e}")))
}

/// Parses a challenge from a request field, or says which ones exist.
pub fn challenge_field(field: &str, value: &str) -> Result<chaos_domain::Challenge, ApiError> {
    value.parse().map_err(|e: chaos_domain::UnknownChallenge| {
        ApiError::unprocessable(format!("{field}: {e}"))
    })
}

/// 405 as JSON, like every other error (axum's own has an empty body).
pub async fn method_not_allowed(request: axum::extract::Request) -> ApiError {
    ApiError::method_not_allowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
}

/// A path parameter whose rejection is an [`ApiError`] (a 400 in JSON),
/// so handlers take it as it is.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

impl<T: JsonSchema> OperationInput for ApiPath<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        parameters::<T>(ctx, operation, aide::operation::ParamLocation::Path);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<Code>, Response)> {
        malformed(ctx)
    }
}

fn malformed(ctx: &mut GenContext) -> Vec<(Option<Code>, Response)> {
    vec![(
        Some(Code::Code(400)),
        error_response(ctx, "Malformed request (bad JSON, bad query or path)"),
    )]
}

/// `{name}` in a contributor's paths.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NamePath {
    /// Contributor name
    pub name: String,
}

/// `{id}` in a run's paths.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RunPath {
    /// Run id
    pub id: String,
}

/// `{challenge}` in a board's path.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChallengePath {
    /// robust-service, graceful-degradation or longest-upkeep
    pub challenge: String,
}

/// A query string whose rejection is an [`ApiError`] (a 400 in JSON).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

impl<T: JsonSchema> OperationInput for ApiQuery<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        parameters::<T>(ctx, operation, aide::operation::ParamLocation::Query);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<Code>, Response)> {
        malformed(ctx)
    }
}
