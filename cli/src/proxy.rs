//! The playground's example contributor: a plain reverse proxy in front
//! of url-anvil, doing nothing clever, so a newcomer has a first entry to
//! beat and a target to aim `chaosctl run` at.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const MAX_BODY: usize = 1024 * 1024;

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
}

/// A running example app.
pub struct Proxy {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Serves on `listener`, forwarding every request to `upstream`.
    pub fn spawn(listener: TcpListener, upstream: &str) -> anyhow::Result<Proxy> {
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let app = Router::new().fallback(forward).with_state(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http,
        });
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
                {
                    tracing::error!(error = %e, "the example app failed");
                }
            }
        });
        Ok(Proxy { addr, stop, task })
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn forward(State(up): State<Upstream>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "request body over 1 MiB"),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut out = up
        .http
        .request(parts.method, format!("{}{path}", up.base))
        .body(body);
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    let answer = match out.send().await {
        Ok(a) => a,
        Err(e) if e.is_timeout() => {
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                "url-anvil did not answer in time",
            );
        }
        Err(_) => return error(StatusCode::BAD_GATEWAY, "url-anvil is unreachable"),
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let bytes: Bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::BAD_GATEWAY, "url-anvil's answer was cut"),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut r = (status, serde_json::json!({ "error": message }).to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
