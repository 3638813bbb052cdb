//! Helpers shared by url-anvil's integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use url_anvil::Config;
use url_anvil::state::{AppState, Incarnation};

pub const TOKEN: &str = "test-admin-token";

/// A config listening on a free loopback port.
pub fn config() -> Config {
    let mut c = Config::defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c
}

/// The router and its state, as a server would build them for port 8080.
pub fn app(config: &Config) -> (Router, AppState) {
    let shared = url_anvil::server::shared(config, SocketAddr::from(([127, 0, 0, 1], 8080)))
        .expect("valid config");
    let state = Incarnation::new(shared);
    (url_anvil::server::router(state.clone()), state)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The message of a JSON error.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {}", self.text()))
            .to_owned()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &Router, path: &str) -> Reply {
    send(
        app,
        Request::get(path).body(Body::empty()).expect("request"),
    )
    .await
}

pub async fn post_json(app: &Router, path: &str, body: &str) -> Reply {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    send(app, request).await
}

pub async fn admin(app: &Router, method: &str, token: Option<&str>, body: Option<&str>) -> Reply {
    let mut builder = Request::builder().method(method).uri("/admin/faults");
    if let Some(t) = token {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    let request = match body {
        Some(b) => builder
            .header("content-type", "application/json")
            .body(Body::from(b.to_owned())),
        None => builder.body(Body::empty()),
    };
    send(app, request.expect("request")).await
}
