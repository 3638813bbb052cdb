//! First in, first out: which queued run may start, given the limit on
//! runs under load at once.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// What the queue needs to know of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub queued_at: Option<Time>,
    pub created: Option<Time>,
    pub running: bool,
    pub queued: bool,
}

impl Entry {
    pub fn of(r: &crate::crd::ChallengeRun) -> Entry {
        use kube::{Resource, ResourceExt};
        let phase = r.status.as_ref().and_then(|s| s.phase);
        Entry {
            key: r.name_any(),
            queued_at: r.status.as_ref().and_then(|s| s.queued_at.clone()),
            created: r.meta().creation_timestamp.clone(),
            running: phase == Some(crate::crd::RunPhase::Running),
            queued: phase == Some(crate::crd::RunPhase::Queued),
        }
    }
}

/// `Ok(())` when `me` may start now; `Err(position)` (1-based) otherwise.
pub fn turn(me: &str, all: &[Entry], limit: u32) -> Result<(), usize> {
    let running = all.iter().filter(|e| e.running).count();
    let mut queued: Vec<&Entry> = all.iter().filter(|e| e.queued).collect();
    queued.sort_by(|a, b| {
        (&a.queued_at, &a.created, &a.key).cmp(&(&b.queued_at, &b.created, &b.key))
    });
    let position = queued
        .iter()
        .position(|e| e.key == me)
        .unwrap_or(queued.len());
    let free = (limit.max(1) as usize).saturating_sub(running);
    if position < free {
        Ok(())
    } else {
        Err(position + 1 - free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Option<Time> {
        Some(Time(
            k8s_openapi::jiff::Timestamp::from_second(s).expect("time"),
        ))
    }

    fn entry(key: &str, queued_at: i64, running: bool) -> Entry {
        Entry {
            key: key.into(),
            queued_at: if running { None } else { at(queued_at) },
            created: at(queued_at),
            running,
            queued: !running,
        }
    }

    #[test]
    fn the_first_queued_run_starts_when_a_slot_is_free() {
        let all = [entry("b", 20, false), entry("a", 10, false)];
        assert_eq!(turn("a", &all, 1), Ok(()));
        assert_eq!(turn("b", &all, 1), Err(1));
        assert_eq!(turn("b", &all, 2), Ok(()));
    }

    #[test]
    fn a_running_run_holds_its_slot() {
        let all = [
            entry("r", 0, true),
            entry("a", 10, false),
            entry("b", 20, false),
        ];
        assert_eq!(turn("a", &all, 1), Err(1));
        assert_eq!(turn("b", &all, 1), Err(2));
        assert_eq!(turn("a", &all, 2), Ok(()));
        assert_eq!(turn("b", &all, 2), Err(1));
    }

    #[test]
    fn ties_are_broken_by_creation_then_name() {
        let mut x = entry("x", 10, false);
        let mut y = entry("y", 10, false);
        x.created = at(5);
        y.created = at(3);
        assert_eq!(turn("y", &[x.clone(), y.clone()], 1), Ok(()));
        y.created = at(5);
        assert_eq!(turn("x", &[x, y], 1), Ok(()));
    }
}
