//! The HTTP server: routes, the accept loop, graceful shutdown, and the
//! crash-and-restart cycle of a fragile upstream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, CrashMode};
use crate::corpus::Corpus;
use crate::fetch::{Fetcher, HostPattern};
use crate::metrics::track;
use crate::state::{AppState, Incarnation, Settings, Shared};
use crate::{admin, api};

/// How a url-anvil stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Shut down on request, after open requests finished.
    Clean,
    /// Crashed, and the crash mode is `exit`.
    Crashed,
}

/// All routes of one incarnation.
pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .route("/", get(api::index))
        .route("/api/sample-urls", get(api::sample_urls))
        .route("/api/history", get(api::history))
        .route("/api/test", post(api::run_test))
        .route("/corpus/{id}", get(api::corpus))
        .route("/metrics", get(api::metrics))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route_layer(from_fn_with_state(state.clone(), api::apply_faults));
    let mut app = public;
    if state.shared.settings.admin_token_digest.is_some() {
        app = app.route(
            "/admin/faults",
            get(admin::list).post(admin::inject).delete(admin::clear),
        );
    }
    let max_body = state.shared.settings.max_body_bytes;
    app.fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(from_fn_with_state(state.metrics.clone(), track))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Builds what lives for the whole process from the configuration.
pub fn shared(config: &Config, local: SocketAddr) -> anyhow::Result<Arc<Shared>> {
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", local.port()))
        .trim_end_matches('/')
        .to_owned();
    let parsed = reqwest::Url::parse(&public_url)
        .map_err(|e| anyhow::anyhow!("--public-url {public_url:?} is not a URL: {e}"))?;
    if parsed.scheme() != "http" {
        anyhow::bail!("--public-url must be an http:// URL, got {public_url:?}");
    }
    let mut own = vec![
        ("127.0.0.1".to_owned(), local.port()),
        ("localhost".to_owned(), local.port()),
        ("[::1]".to_owned(), local.port()),
    ];
    if let Some(host) = parsed.host_str() {
        own.push((
            host.to_ascii_lowercase(),
            parsed.port_or_known_default().unwrap_or(80),
        ));
    }
    let allowed = config
        .allow_hosts
        .iter()
        .filter(|h| !h.trim().is_empty())
        .map(|h| HostPattern::parse(h).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fetcher = Fetcher::new(
        own,
        allowed,
        Duration::from_millis(config.fetch_timeout_ms),
        config.max_fetch_bytes,
    )?;
    let corpus_key = config.resolve_corpus_key()?;
    if corpus_key.is_public() {
        tracing::warn!(
            "no corpus key (--corpus-key or --admin-token): run corpora are predictable; fine for local tries, not for a competition"
        );
    }
    let admin_token_digest = config
        .resolve_admin_token()?
        .map(|t| Sha256::digest(t.as_bytes()).into());
    Ok(Arc::new(Shared {
        settings: Settings {
            public_url,
            capacity: config.effective_capacity(),
            admin_token_digest,
            max_urls: config.max_urls,
            max_body_bytes: config.max_body_bytes,
            on_crash: config.on_crash,
        },
        corpus: Corpus::new(corpus_key),
        fetcher,
    }))
}

/// Serves until `shutdown` is cancelled or url-anvil crashes for good.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<Exit> {
    let local = listener.local_addr()?;
    let shared = shared(&config, local)?;
    let timing = Timing {
        shutdown_delay: Duration::from_millis(config.shutdown_delay_ms),
        grace: Duration::from_millis(config.shutdown_grace_ms),
    };
    let mut listener = Some(listener);
    loop {
        let l = match listener.take() {
            Some(l) => l,
            None => rebind(local, &shutdown).await?,
        };
        let state = Incarnation::new(shared.clone());
        tracing::info!(
            addr = %local,
            capacity = %shared.settings.capacity.versioned_name(),
            "url-anvil serving"
        );
        match serve_incarnation(l, state, &shutdown, timing).await {
            Outcome::Stopped => return Ok(Exit::Clean),
            Outcome::Crashed if shared.settings.on_crash == CrashMode::Exit => {
                return Ok(Exit::Crashed);
            }
            Outcome::Crashed => {
                let delay = Duration::from_millis(shared.settings.capacity.restart_delay_ms);
                // Crashes are part of the challenge (an injected fault, or
                // the capacity profile's overload rule): an expected event.
                tracing::info!(restart_in = ?delay, "url-anvil crashed on purpose, as the challenge does; restarting");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.cancelled() => return Ok(Exit::Clean),
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    shutdown_delay: Duration,
    grace: Duration,
}

enum Outcome {
    Stopped,
    Crashed,
}

async fn rebind(addr: SocketAddr, shutdown: &CancellationToken) -> anyhow::Result<TcpListener> {
    // The port was ours a moment ago; retry briefly in case the kernel is slow to release it.
    for _ in 0..50 {
        if shutdown.is_cancelled() {
            anyhow::bail!("shut down while restarting");
        }
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    Ok(TcpListener::bind(addr).await?)
}

async fn serve_incarnation(
    listener: TcpListener,
    state: AppState,
    shutdown: &CancellationToken,
    timing: Timing,
) -> Outcome {
    let app = router(state.clone());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let ticker = tokio::spawn(watch_overload(state.clone()));

    let draining = async {
        shutdown.cancelled().await;
        state.draining.store(true, Ordering::Relaxed);
        tokio::time::sleep(timing.shutdown_delay).await;
    };
    tokio::pin!(draining);

    let outcome = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    connections.spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    // Usually out of file descriptors; back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            () = &mut draining => break Outcome::Stopped,
            () = state.crashed.cancelled() => break Outcome::Crashed,
        }
        while connections.try_join_next().is_some() {}
    };
    ticker.abort();
    drop(listener);
    match outcome {
        Outcome::Stopped => {
            if tokio::time::timeout(timing.grace, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("open requests did not finish within the shutdown grace period");
            }
        }
        Outcome::Crashed => drop(graceful),
    }
    connections.shutdown().await;
    outcome
}

/// Closes a one-second overload window every second and crashes when the
/// capacity profile says sustained overload has lasted too long.
async fn watch_overload(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if state.limiter.tick_second() {
            tracing::info!(
                seconds = state.limiter.overloaded_streak(),
                "sustained overload: url-anvil crashes, as its capacity profile says (expected under overload)"
            );
            state.crashed.cancel();
            return;
        }
    }
}
