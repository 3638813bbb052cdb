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

/// axe-core's script (the accessibility rules): `CHAOS_AXE_JS` if set,
/// else what `scripts/fetch-axe.sh` brings into the user's cache (pinned
/// version, checked against the npm registry's digest). `None` when
/// neither works, e.g. offline with an empty cache.
pub fn axe_script() -> Option<String> {
    let path = match std::env::var_os("CHAOS_AXE_JS") {
        Some(p) => PathBuf::from(p),
        None => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-axe.sh");
            let out = Command::new("bash")
                .arg(script)
                .stderr(Stdio::inherit())
                .output()
                .ok()?;
            if !out.status.success() {
                return None;
            }
            PathBuf::from(String::from_utf8(out.stdout).ok()?.trim())
        }
    };
    std::fs::read_to_string(path).ok()
}

/// One rule axe-core found broken on a page.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Violation {
    /// minor, moderate, serious or critical.
    pub impact: String,
    /// The rule, what it asks, and up to five of the elements that break it.
    pub text: String,
}

impl Violation {
    /// What the pages must never have.
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

/// The WCAG 2.1 A and AA rules axe-core finds broken on the open page.
pub async fn accessibility_violations(b: &Browser, axe: &str) -> Vec<Violation> {
    b.execute(axe, vec![]).await.expect("axe-core loads");
    let found = b
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, {runOnly: {type: 'tag',
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                 .then(r => done(r.violations.map(v => ({impact: String(v.impact),
                     text: v.id + ': ' + v.help + ' at '
                         + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', ')}))))
                 .catch(e => done([{impact: 'critical', text: 'axe-core failed: ' + e}]));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    serde_json::from_value(found).expect("a list of violations")
}
