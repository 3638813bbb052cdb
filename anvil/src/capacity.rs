//! The capacity limiter: admits, queues or sheds `POST /api/test`
//! requests, and decides when sustained overload crashes url-anvil.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use chaos_domain::CapacityProfile;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// The wait queue was full.
    QueueFull,
    /// The request waited longer than the profile allows.
    QueueTimeout,
}

impl Shed {
    pub fn message(self) -> &'static str {
        match self {
            Shed::QueueFull => "url-anvil is over capacity: its queue is full",
            Shed::QueueTimeout => {
                "url-anvil is over capacity: the request waited too long for a slot"
            }
        }
    }
}

/// Admission control for one url-anvil incarnation.
#[derive(Debug)]
pub struct Limiter {
    profile: CapacityProfile,
    slots: Option<Semaphore>,
    waiting: AtomicU32,
    second_total: AtomicU64,
    second_shed: AtomicU64,
    overloaded_streak: AtomicU32,
    shed_total: AtomicU64,
}

/// Fewer requests than this in a second say nothing about overload.
const MIN_REQUESTS_FOR_OVERLOAD: u64 = 10;

impl Limiter {
    pub fn new(profile: CapacityProfile) -> Limiter {
        Limiter {
            profile,
            slots: profile
                .max_concurrency
                .map(|n| Semaphore::new(usize::try_from(n).unwrap_or(usize::MAX))),
            waiting: AtomicU32::new(0),
            second_total: AtomicU64::new(0),
            second_shed: AtomicU64::new(0),
            overloaded_streak: AtomicU32::new(0),
            shed_total: AtomicU64::new(0),
        }
    }

    pub fn profile(&self) -> &CapacityProfile {
        &self.profile
    }

    /// Waits for a slot. `Ok(None)` when the profile has no limit.
    pub async fn admit(&self) -> Result<Option<SemaphorePermit<'_>>, Shed> {
        self.second_total.fetch_add(1, Ordering::Relaxed);
        let Some(slots) = &self.slots else {
            return Ok(None);
        };
        if let Ok(permit) = slots.try_acquire() {
            return Ok(Some(permit));
        }
        let result = self.wait_for_slot(slots).await;
        if let Err(_shed) = result {
            self.second_shed.fetch_add(1, Ordering::Relaxed);
            self.shed_total.fetch_add(1, Ordering::Relaxed);
        }
        result.map(Some)
    }

    async fn wait_for_slot<'a>(&self, slots: &'a Semaphore) -> Result<SemaphorePermit<'a>, Shed> {
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = QueueSpot(&self.waiting);
        if queued >= self.profile.queue_depth {
            return Err(Shed::QueueFull);
        }
        let wait = Duration::from_millis(self.profile.queue_timeout_ms);
        match tokio::time::timeout(wait, slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it like a timeout if it were.
            Ok(Err(_)) | Err(_) => Err(Shed::QueueTimeout),
        }
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> u32 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Requests holding a slot now.
    pub fn busy(&self) -> u32 {
        match (&self.slots, self.profile.max_concurrency) {
            (Some(s), Some(max)) => {
                max.saturating_sub(u32::try_from(s.available_permits()).unwrap_or(max))
            }
            _ => 0,
        }
    }

    pub fn shed_total(&self) -> u64 {
        self.shed_total.load(Ordering::Relaxed)
    }

    pub fn overloaded_streak(&self) -> u32 {
        self.overloaded_streak.load(Ordering::Relaxed)
    }

    /// Closes the current one-second window; called once a second.
    /// Returns true when the overload has lasted long enough to crash.
    pub fn tick_second(&self) -> bool {
        let total = self.second_total.swap(0, Ordering::Relaxed);
        let shed = self.second_shed.swap(0, Ordering::Relaxed);
        let overloaded = total >= MIN_REQUESTS_FOR_OVERLOAD
            && shed as f64 > self.profile.overload_shed_ratio * total as f64;
        let streak = if overloaded {
            self.overloaded_streak.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.overloaded_streak.store(0, Ordering::Relaxed);
            0
        };
        matches!(self.profile.crash_after_overloaded_s, Some(limit) if streak >= limit)
    }
}

/// Leaves the queue however the wait ends (including cancellation).
struct QueueSpot<'a>(&'a AtomicU32);

impl Drop for QueueSpot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(crash_after: Option<u32>) -> CapacityProfile {
        CapacityProfile {
            name: "test",
            max_concurrency: Some(1),
            queue_depth: 1,
            queue_timeout_ms: 50,
            crash_after_overloaded_s: crash_after,
            ..CapacityProfile::STANDARD_V1
        }
    }

    #[tokio::test]
    async fn a_full_queue_sheds_at_once_and_a_long_wait_times_out() {
        let limiter = Limiter::new(tiny(None));
        let held = limiter.admit().await.expect("first is admitted");
        assert!(held.is_some());
        assert_eq!(limiter.busy(), 1);
        let waiter = limiter.admit();
        tokio::pin!(waiter);
        // Let the second request take the only queue spot.
        assert!(futures_poll_once(waiter.as_mut()).await.is_none());
        assert_eq!(limiter.queued(), 1);
        assert_eq!(limiter.admit().await.err(), Some(Shed::QueueFull));
        assert_eq!(waiter.await.err(), Some(Shed::QueueTimeout));
        assert_eq!(limiter.queued(), 0);
        assert_eq!(limiter.shed_total(), 2);
        drop(held);
        assert!(limiter.admit().await.is_ok());
    }

    #[tokio::test]
    async fn uncapped_admits_everything() {
        let limiter = Limiter::new(CapacityProfile::UNCAPPED);
        for _ in 0..1000 {
            assert!(matches!(limiter.admit().await, Ok(None)));
        }
        assert!(!limiter.tick_second());
    }

    #[test]
    fn overload_must_last_the_configured_seconds_in_a_row() {
        let limiter = Limiter::new(tiny(Some(3)));
        let second = |total: u64, shed: u64| {
            limiter.second_total.store(total, Ordering::Relaxed);
            limiter.second_shed.store(shed, Ordering::Relaxed);
            limiter.tick_second()
        };
        assert!(!second(100, 80));
        assert!(!second(100, 80));
        assert!(!second(100, 10), "a calm second resets the streak");
        assert!(!second(5, 5), "too few requests to judge");
        assert!(!second(100, 80));
        assert!(!second(100, 80));
        assert!(second(100, 80), "third overloaded second in a row crashes");
    }

    /// Polls a future once without a runtime tick in between.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        tokio::time::timeout(Duration::from_millis(5), f).await.ok()
    }
}
