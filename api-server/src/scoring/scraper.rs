//! The built-in scraper: for runs scored without Prometheus (the embedded
//! playground), it reads the run's loadgen and url-anvil `/metrics` every
//! interval while the run is on, and keeps the samples for scoring.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chaos_domain::scoring::{AnvilSample, LoadSample};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::exposition;

/// What the scraper collected for one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Samples {
    pub load: Vec<LoadSample>,
    pub anvil: Vec<AnvilSample>,
}

struct Active {
    samples: Arc<Mutex<Samples>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub struct Scraper {
    client: reqwest::Client,
    interval: Duration,
    active: Mutex<HashMap<String, Active>>,
}

impl std::fmt::Debug for Scraper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scraper")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Scraper {
    pub fn new(interval: Duration) -> Scraper {
        let client = reqwest::Client::builder()
            .timeout(interval.max(Duration::from_millis(500)))
            .build()
            .unwrap_or_default();
        Scraper {
            client,
            interval,
            active: Mutex::new(HashMap::new()),
        }
    }

    /// Starts scraping for a run (again, after a restart: earlier samples are kept by the caller).
    pub fn start(&self, run_id: &str, loadgen_url: String, anvil_url: String, earlier: Samples) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if active.contains_key(run_id) {
            return;
        }
        let samples = Arc::new(Mutex::new(earlier));
        let stop = CancellationToken::new();
        let task = tokio::spawn(scrape_loop(
            self.client.clone(),
            self.interval,
            loadgen_url,
            anvil_url,
            samples.clone(),
            stop.clone(),
        ));
        active.insert(
            run_id.to_owned(),
            Active {
                samples,
                stop,
                task,
            },
        );
    }

    /// Stops scraping a run, after one last scrape, and hands back its samples.
    pub async fn stop(&self, run_id: &str) -> Option<Samples> {
        let active = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id)?;
        active.stop.cancel();
        let _ = active.task.await;
        let samples = active
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Some(samples)
    }
}

async fn scrape_loop(
    client: reqwest::Client,
    interval: Duration,
    loadgen_url: String,
    anvil_url: String,
    samples: Arc<Mutex<Samples>>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            () = stop.cancelled() => true,
        };
        let t = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let (load, anvil) = tokio::join!(fetch(&client, &loadgen_url), fetch(&client, &anvil_url));
        {
            let mut s = samples.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(sample) =
                load.and_then(|text| exposition::load_sample(t, &exposition::parse(&text)))
            {
                s.load.push(sample);
            }
            let anvil_sample = match anvil {
                Some(text) => AnvilSample {
                    t,
                    up: true,
                    served: exposition::anvil_served(&exposition::parse(&text)).unwrap_or(0.0),
                },
                None => AnvilSample {
                    t,
                    up: false,
                    served: 0.0,
                },
            };
            s.anvil.push(anvil_sample);
        }
        if stopping {
            return;
        }
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Option<String> {
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}
