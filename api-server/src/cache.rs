//! A small cache of rendered leaderboard responses. The leaderboard only
//! changes when a score is recorded, yet it is the most read page of the
//! platform; serving it from memory keeps its cost near a health check.
//!
//! An entry is fresh while no score was recorded by this server since it
//! was made and it is younger than the time-to-live, which bounds how
//! stale a page can be when another replica recorded the score.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// More keys than this (page numbers are unbounded) empties the cache.
const MAX_ENTRIES: usize = 1_000;

#[derive(Debug)]
pub struct ResponseCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<String, (Instant, u64, Bytes)>>,
}

impl ResponseCache {
    pub fn new(ttl: Duration) -> ResponseCache {
        ResponseCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// A fresh entry for `key`, if any.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        if self.ttl.is_zero() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (made, made_gen, body) = entries.get(key)?;
        (*made_gen == generation && made.elapsed() < self.ttl).then(|| body.clone())
    }

    /// Stores a response computed at `generation` (read before computing,
    /// so a score recorded meanwhile makes the entry stale at once).
    pub fn put(&self, key: String, generation: u64, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), generation, body));
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A score was recorded: every cached page is stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_go_stale_on_invalidation_and_after_the_ttl() {
        let c = ResponseCache::new(Duration::from_millis(50));
        let g = c.generation();
        c.put("a".into(), g, Bytes::from_static(b"x"));
        assert_eq!(c.get("a").as_deref(), Some(&b"x"[..]));
        c.invalidate();
        assert!(c.get("a").is_none(), "a recorded score makes it stale");
        c.put("a".into(), c.generation(), Bytes::from_static(b"y"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get("a").is_none(), "and so does age");
        // Computed before an invalidation: never served.
        let before = c.generation();
        c.invalidate();
        c.put("b".into(), before, Bytes::from_static(b"z"));
        assert!(c.get("b").is_none());
        assert!(ResponseCache::new(Duration::ZERO).get("a").is_none());
    }
}
