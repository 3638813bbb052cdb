//! Helpers for the integration tests of several crates: whether a
//! missing tool skips or fails a test, free ports, and a headless
//! Chromium driven through chromedriver (Debian's packages).

pub mod earlier;
pub mod prometheus;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use serde_json::json;

/// With `CHAOS_REQUIRE_TOOLS=1` (CI), a missing tool fails the test.
pub fn require_tools() -> bool {
    std::env::var("CHAOS_REQUIRE_TOOLS").as_deref() == Ok("1")
}

/// Says a test is skipped because `what` is missing, or panics under CI.
pub fn skip(what: &str) {
    if require_tools() {
        panic!("{what} is required (CHAOS_REQUIRE_TOOLS=1) but not available");
    }
    eprintln!("SKIPPED: {what} is not available");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let d = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A chromedriver process, killed when dropped.
pub struct Chromedriver {
    child: Child,
    pub port: u16,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromedriver {
    /// `None` when Debian's chromium or chromium-driver is not installed.
    pub fn start() -> Option<Chromedriver> {
        let found = ["/usr/bin/chromedriver", "/usr/bin/chromium"]
            .iter()
            .all(|p| Path::new(p).exists());
        if !found {
            return None;
        }
        let port = free_port();
        let child = Command::new("/usr/bin/chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Chromedriver { child, port })
    }

    /// A headless browser with a profile of its own in `profile`.
    pub async fn browser(&self, profile: &Path) -> Browser {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=1200,900", format!("--user-data-dir={}", profile.display())],
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let attempt = ClientBuilder::rustls()
                .expect("rustls")
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await;
            match attempt {
                Ok(b) => return b,
                Err(e) if Instant::now() > deadline => {
                    panic!("chromedriver did not start a browser: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

/// The text of every element matching `css`.
pub async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in b.find_all(Locator::Css(css)).await.expect("find") {
        out.push(e.text().await.expect("text"));
    }
    out
}
