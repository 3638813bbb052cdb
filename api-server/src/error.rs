//! One error type for every endpoint of the API server and the tracker.
//! A handler says what kind of mistake it saw; the status it answers with
//! is decided here, once, so the same mistake gets the same status
//! everywhere (the table is in docs/API.md, "Errors"). Every error is
//! `{"error": "..."}`; the server's own faults are logged and answered
//! with a message that names no internals.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be read as asked: a body that is not JSON (or
    /// not an object), or any problem with the query string.
    #[error("{0}")]
    Malformed(String),
    /// No credentials, or credentials that are not even of the right form.
    #[error("{0}")]
    Unauthenticated(String),
    /// Credentials that are wrong, or that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that name: in the path, or named by a body field.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Allowed in general, not in the resource's present state.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A JSON body that reads, with a field of the wrong type or a value
    /// that breaks a rule (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// Not now: try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The server's own fault.
    #[error("{0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::Malformed(m.into())
    }

    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::NotFound(m.into())
    }

    pub fn conflict(m: impl Into<String>) -> ApiError {
        ApiError::Conflict(m.into())
    }

    pub fn unprocessable(m: impl Into<String>) -> ApiError {
        ApiError::Invalid(m.into())
    }

    pub fn unauthenticated(m: impl Into<String>) -> ApiError {
        ApiError::Unauthenticated(m.into())
    }

    pub fn forbidden(m: impl Into<String>) -> ApiError {
        ApiError::Forbidden(m.into())
    }

    pub fn unavailable(m: impl Into<String>) -> ApiError {
        ApiError::Unavailable(m.into())
    }

    pub fn unsupported_media_type(m: impl Into<String>) -> ApiError {
        ApiError::UnsupportedMediaType(m.into())
    }

    pub fn too_large(m: impl Into<String>) -> ApiError {
        ApiError::TooLarge(m.into())
    }

    pub fn internal(m: impl Into<String>) -> ApiError {
        ApiError::Internal(m.into())
    }

    pub fn method_not_allowed(m: impl Into<String>) -> ApiError {
        ApiError::MethodNotAllowed(m.into())
    }

    /// A stored value that does not read back, named: never read as a default.
    pub fn corrupt(what: &str, field: &str, value: &str) -> ApiError {
        sqlx::Error::Decode(format!("{what}: {field} is corrupt: {value:?}").into()).into()
    }

    /// A challenge read from the database.
    pub fn stored_challenge(
        what: &str,
        field: &str,
        value: &str,
    ) -> Result<chaos_domain::Challenge, ApiError> {
        value
            .parse()
            .map_err(|_| ApiError::corrupt(what, field, value))
    }

    /// A rejection of axum's, by the status axum gives it.
    fn from_status(status: StatusCode, message: String) -> ApiError {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the request body is too large".into())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(message),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid(message),
            s if s.is_server_error() => ApiError::Internal(message),
            _ => ApiError::Malformed(message),
        }
    }
}

/// The body of every error.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let unauthenticated = matches!(self, ApiError::Unauthenticated(_));
        let body = ErrorBody {
            error: self.to_string(),
        };
        let mut r = (status, axum::Json(body)).into_response();
        if unauthenticated {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// Which statuses an operation answers is said by its extractors and its
/// own description (`openapi.rs`), not guessed from the error type.
impl aide::OperationOutput for ApiError {
    type Inner = ErrorBody;

    fn operation_response(
        ctx: &mut aide::generate::GenContext,
        _: &mut aide::openapi::Operation,
    ) -> Option<aide::openapi::Response> {
        Some(crate::openapi::error_response(ctx, "Error"))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        tracing::error!(error = %e, "database error");
        match e {
            // Stored data that does not read back: said, naming the record
            // and the field, never read as a default.
            sqlx::Error::Decode(why) => {
                ApiError::Internal(format!("stored data is corrupt: {why}"))
            }
            _ => ApiError::Internal("the database failed; the request was not applied".into()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match &r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "expected a JSON body with Content-Type: application/json".into(),
            ),
            _ => ApiError::from_status(r.status(), r.body_text()),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        ApiError::from_status(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::Malformed(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::Malformed(r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_one_status_and_a_json_message() {
        let e = ApiError::Unauthenticated("no key".into());
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            ApiError::Invalid("x".into()).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ApiError::Malformed("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        let db: ApiError = sqlx::Error::PoolTimedOut.into();
        assert_eq!(db.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!db.to_string().contains("pool"), "{db}");
    }
}
