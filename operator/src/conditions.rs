//! Status conditions: a transition time that moves only when the
//! condition's status does, so an unchanged pass writes nothing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: Time,
) {
    let status = if ok { "True" } else { "False" };
    let message = message.into();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now;
            }
            c.status = status.into();
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            observed_generation: generation,
            last_transition_time: now,
        }),
    }
}

pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_time_moves_only_when_the_status_flips() {
        let t0 = Time(k8s_openapi::jiff::Timestamp::from_second(1_000).expect("time"));
        let t1 = Time(k8s_openapi::jiff::Timestamp::from_second(2_000).expect("time"));
        let mut c = Vec::new();
        set(
            &mut c,
            "Ready",
            false,
            "Pending",
            "waiting",
            Some(1),
            t0.clone(),
        );
        set(
            &mut c,
            "Ready",
            false,
            "Pending",
            "still waiting",
            Some(1),
            t1.clone(),
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].last_transition_time, t0);
        set(
            &mut c,
            "Ready",
            true,
            "Available",
            "up",
            Some(1),
            t1.clone(),
        );
        assert_eq!(c[0].last_transition_time, t1);
        assert_eq!(c[0].status, "True");
    }
}
