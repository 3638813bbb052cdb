//! A Prometheus of a test's own (Debian's `prometheus`), on loopback,
//! scraping the given targets every second; removed when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    pub url: String,
    jobs: usize,
}

impl Prometheus {
    /// `None` when the `prometheus` binary is not installed.
    pub fn start(targets: &[(&str, SocketAddr)]) -> Option<Prometheus> {
        let bin = which("prometheus")?;
        let dir = crate::temp_dir("chaos-prom");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n",
        );
        for (job, addr) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs: [{{targets: ['{addr}']}}]\n"
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), config).ok()?;
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Prometheus {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            jobs: targets.len(),
        })
    }

    /// Waits until every target was scraped once: a new Prometheus hands
    /// targets to its scrapers only after a few seconds.
    pub async fn wait_scraping(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/api/v1/query?query=up", self.url)).await
                && let Ok(v) = r.json::<serde_json::Value>().await
                && v["data"]["result"]
                    .as_array()
                    .is_some_and(|a| a.len() == self.jobs)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("Prometheus at {} did not start scraping", self.url);
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The path of `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}
