//! The built-in scraper: for runs scored without Prometheus (the embedded
//! playground), it reads the run's loadgen and url-anvil `/metrics` every
//! interval while the run is on, and stores the samples as it goes (a
//! batch every few seconds), so a restart mid-run keeps what was taken and
//! the restarted server carries on with the same window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chaos_domain::scoring::{AnvilSample, LoadSample};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::exposition;
use crate::db::Db;
use crate::runs::store as runs;

/// Samples are written at least this often.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// What the scraper collected for one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Samples {
    pub load: Vec<LoadSample>,
    pub anvil: Vec<AnvilSample>,
}

impl Samples {
    /// The stored batches of a run, joined in order.
    pub fn from_batches(batches: &[String]) -> Result<Samples, serde_json::Error> {
        let mut all = Samples::default();
        for b in batches {
            let s: Samples = serde_json::from_str(b)?;
            all.load.extend(s.load);
            all.anvil.extend(s.anvil);
        }
        Ok(all)
    }

    fn is_empty(&self) -> bool {
        self.load.is_empty() && self.anvil.is_empty()
    }
}

struct Active {
    stop: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

pub struct Scraper {
    client: reqwest::Client,
    interval: Duration,
    db: Db,
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
    pub fn new(interval: Duration, db: Db) -> Scraper {
        let client = reqwest::Client::builder()
            .timeout(interval.max(Duration::from_millis(500)))
            .build()
            .unwrap_or_default();
        Scraper {
            client,
            interval,
            db,
            active: Mutex::new(HashMap::new()),
        }
    }

    /// Starts scraping for a run (again after a restart: what was stored
    /// before stays, and new samples are added to it).
    pub fn start(&self, run_id: &str, loadgen_url: String, anvil_url: String) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if active.contains_key(run_id) {
            return;
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(scrape_loop(
            Target {
                client: self.client.clone(),
                db: self.db.clone(),
                run_id: run_id.to_owned(),
                loadgen_url,
                anvil_url,
            },
            self.interval,
            stop.clone(),
        ));
        active.insert(run_id.to_owned(), Active { stop, task });
    }

    /// Stops scraping a run after one last scrape, once everything taken
    /// is stored. An error means the last samples could not be stored
    /// (those before are).
    pub async fn stop(&self, run_id: &str) -> Result<(), String> {
        let Some(active) = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id)
        else {
            return Ok(());
        };
        active.stop.cancel();
        active
            .task
            .await
            .map_err(|e| format!("the scraper stopped abnormally: {e}"))?
    }
}

impl Scraper {
    /// Stops every run's scraping, storing what was taken (at shutdown;
    /// the runs stay running and a restarted server resumes them).
    pub async fn stop_all(&self) {
        let ids: Vec<String> = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for id in ids {
            if let Err(e) = self.stop(&id).await {
                tracing::warn!(run = %id, error = %e, "the last samples were not stored");
            }
        }
    }
}

struct Target {
    client: reqwest::Client,
    db: Db,
    run_id: String,
    loadgen_url: String,
    anvil_url: String,
}

/// Stores what is pending; on failure it stays pending for the next try.
async fn flush(t: &Target, pending: &mut Samples) -> Result<(), String> {
    if pending.is_empty() {
        return Ok(());
    }
    let text = serde_json::to_string(&*pending).map_err(|e| e.to_string())?;
    match runs::append_samples(&t.db, &t.run_id, &text).await {
        Ok(()) => {
            *pending = Samples::default();
            Ok(())
        }
        Err(e) => {
            tracing::warn!(run = %t.run_id, error = %e, "cannot store scraped samples yet");
            Err(format!("cannot store the run's samples: {e}"))
        }
    }
}

async fn scrape_loop(t: Target, interval: Duration, stop: CancellationToken) -> Result<(), String> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending = Samples::default();
    let mut last_flush = tokio::time::Instant::now();
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            () = stop.cancelled() => true,
        };
        let at = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let (load, anvil) = tokio::join!(
            fetch(&t.client, &t.loadgen_url),
            fetch(&t.client, &t.anvil_url)
        );
        if let Some(sample) =
            load.and_then(|text| exposition::load_sample(at, &exposition::parse(&text)))
        {
            pending.load.push(sample);
        }
        pending.anvil.push(match anvil {
            Some(text) => AnvilSample {
                t: at,
                up: true,
                served: exposition::anvil_served(&exposition::parse(&text)).unwrap_or(0.0),
            },
            None => AnvilSample {
                t: at,
                up: false,
                served: 0.0,
            },
        });
        if stopping {
            // The last batch: a few tries before giving up on it.
            for attempt in 0..3 {
                match flush(&t, &mut pending).await {
                    Ok(()) => return Ok(()),
                    Err(e) if attempt == 2 => return Err(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            return Ok(());
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            last_flush = tokio::time::Instant::now();
            let _ = flush(&t, &mut pending).await;
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
