//! The starter app `chaosctl contributor create` writes is a working
//! nginx proxy: its run-local.sh, run as written with a real nginx
//! (Debian's nginx-light) in front of a real url-anvil, passes the
//! standard request through.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chaos_testkit::{free_port, skip, temp_dir};

const BIN: &str = env!("CARGO_BIN_EXE_chaosctl");

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM, not KILL: a killed master leaves its workers running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scaffolded_nginx_proxies_to_url_anvil() {
    if !Path::new("/usr/sbin/nginx").exists() {
        skip("nginx (Debian's nginx-light)");
        return;
    }
    let dir = temp_dir("chaosctl-starter");
    let mut config = url_anvil::Config::defaults();
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let anvil = url_anvil::spawn(config).await.expect("url-anvil");
    let port = free_port();
    // --k8s needs no API server: it scaffolds the app and writes the manifest.
    let o = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "contributor",
            "create",
            "ada",
            "--k8s",
            "--image",
            "reg.example/ada/app:1",
            "--port",
            &port.to_string(),
            "--anvil-url",
            &anvil.base_url(),
        ])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(manifest.contains("kind: Contributor"), "{manifest}");
    let app = dir.join("contributors/ada");
    assert_eq!(
        fs::read_to_string(app.join("contributor.yaml")).expect("manifest file"),
        manifest
    );
    let dockerfile = fs::read_to_string(app.join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("USER 101") && dockerfile.contains("HEALTHCHECK"));
    // The container's config names the compose/Kubernetes service.
    let site = fs::read_to_string(app.join("nginx.conf")).expect("nginx.conf");
    assert!(site.contains("server url-anvil:8080;") && site.contains("listen 8080;"));

    // The local one runs as written, from anywhere, with nothing edited.
    let _nginx = Nginx(
        Command::new(app.join("run-local.sh"))
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run-local.sh starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match http.get(format!("{base}/healthz")).send().await {
            Ok(r) if r.status().is_success() => break,
            _ if Instant::now() > deadline => panic!(
                "nginx did not come up: {}",
                fs::read_to_string(app.join("tmp/error.log")).unwrap_or_default()
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let page = http
        .get(format!("{base}/app"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("ada's app"), "{page}");
    let answer = http
        .post(format!("{base}/api/test"))
        .json(&serde_json::json!({ "urls": [format!("{}/corpus/1", anvil.base_url())] }))
        .send()
        .await
        .expect("proxied");
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["urls_tested"], 1, "{body}");
    assert!(
        body["content_hash"].as_str().is_some_and(|h| h.len() == 64),
        "{body}"
    );
    // Its /metrics is its own, not url-anvil's passed through (that would be
    // scraped a second time under the contributor's name).
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 404);
    let text = metrics.text().await.expect("text");
    assert!(!text.contains("anvil_"), "{text}");
    anvil.stop().await.expect("stops");
    let _ = fs::remove_dir_all(dir);
}
