//! The live progress bar on a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::live::LiveView;
use crate::outcome::Outcome;

/// Shows elapsed time, current throughput and errors until `done` fires.
pub async fn progress(view: LiveView, total: Option<Duration>, done: CancellationToken) {
    let length = total.map(|d| d.as_secs().max(1)).unwrap_or(0);
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let start = Instant::now();
    let mut last = (start, 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = done.cancelled() => break,
        }
        let s = view.snapshot();
        let total = s.responses() + s.error_count();
        let now = Instant::now();
        let rate = (total - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
        if now.duration_since(last.0) >= Duration::from_secs(1) {
            last = (now, total);
        }
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(format!(
            "{total} req, {rate:.0} req/s, shed {}, failed {}, errors {}",
            s.count(Outcome::Shed),
            s.count(Outcome::Failure),
            s.error_count()
        ));
    }
    bar.finish_and_clear();
}
