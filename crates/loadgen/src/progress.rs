//! Progress of a long run, always on stderr so that stdout keeps the summary and, under
//! `--json`, the JSON last line: a redrawn bar on a terminal, plain periodic lines otherwise.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Width of the bar, in characters.
const BAR_WIDTH: usize = 30;

/// A running progress display; stops when dropped.
pub(crate) struct Progress {
    task: JoinHandle<()>,
    tty: bool,
}

impl Progress {
    /// Shows `label`'s progress through `total` from `start`, with the count that `count`
    /// reads (named `unit`) and its rate. Must be called inside the runtime.
    pub(crate) fn start(
        label: &'static str,
        unit: &'static str,
        start: Instant,
        total: Duration,
        count: impl Fn() -> u64 + Send + 'static,
    ) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let every = if tty {
            Duration::from_millis(250)
        } else {
            (total / 10).max(Duration::from_secs(1))
        };
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(start + every, every);
            let (mut last_count, mut last_at) = (count(), start);
            loop {
                let at = ticks.tick().await;
                let count = count();
                let window_s = (at - last_at).as_secs_f64().max(1e-9);
                let rate = (count - last_count.min(count)) as f64 / window_s;
                (last_count, last_at) = (count, at);
                let done_s = (at - start).as_secs_f64();
                let line = if tty {
                    let filled =
                        ((done_s / total.as_secs_f64()).min(1.0) * BAR_WIDTH as f64) as usize;
                    format!(
                        "\r{label} [{}{}] {done_s:.1}/{:.1} s  {count} {unit}  {rate:.0}/s \x1b[K",
                        "#".repeat(filled),
                        ".".repeat(BAR_WIDTH - filled),
                        total.as_secs_f64()
                    )
                } else {
                    format!("{label}: {done_s:.1} s, {count} {unit}, {rate:.0}/s\n")
                };
                let mut err = std::io::stderr().lock();
                // Progress is best effort: a closed stderr must not stop the run.
                let _ = err.write_all(line.as_bytes());
                let _ = err.flush();
            }
        });
        Progress { task, tty }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.task.abort();
        if self.tty {
            let _ = std::io::stderr().write_all(b"\r\x1b[K");
        }
    }
}
