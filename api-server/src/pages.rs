//! What every page shares: rendering a template, the error page, and how
//! numbers and times are shown. The pages themselves live with their
//! feature (`leaderboard::page`, `runs::page`, `contributors::page`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Renders a template, or a plain 500 page if rendering fails.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>500</h1><p>The page could not be rendered.</p>".to_owned()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: String,
    message: String,
}

pub fn error_page(status: StatusCode, message: impl Into<String>) -> Response {
    render(
        status,
        &ErrorPage {
            status: status.to_string(),
            message: message.into(),
        },
    )
}

pub fn db_error(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "database error");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The database failed; try again shortly.",
    )
}

/// A statistic as shown: whole numbers without decimals, others with two.
pub fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) if v.is_finite() => format!("{v:.2}"),
        _ => "–".to_owned(),
    }
}

pub fn short_time(rfc: &str) -> String {
    rfc.get(..16)
        .map(|s| s.replace('T', " "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_shown_plainly() {
        assert_eq!(number(Some(640.0)), "640");
        assert_eq!(number(Some(97.456)), "97.46");
        assert_eq!(number(None), "–");
        assert_eq!(number(Some(f64::NAN)), "–");
    }
}
