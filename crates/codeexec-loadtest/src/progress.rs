//! Progress while the load runs: a bar per phase that fills with the time spent (or the work
//! done) and shows a running count, then one summary line per phase that stays (also when stderr
//! is not a terminal and the bar is hidden).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

const REFRESH: Duration = Duration::from_millis(200);

/// A bar being refreshed in the background until [`Ticker::finish`].
pub struct Ticker {
    bar: ProgressBar,
    refresher: JoinHandle<()>,
}

/// Shows `title` with a bar that fills over `duration` from now, and the text `status` gives,
/// refreshed a few times a second.
pub fn timed(
    title: &str,
    duration: Duration,
    status: impl Fn() -> String + Send + 'static,
) -> Ticker {
    let length = duration.as_millis().max(1) as u64;
    start(title, length, move |elapsed| {
        (elapsed.as_millis() as u64, status())
    })
}

/// Shows `title` with a bar that fills as `done` goes to `total`.
pub fn counted(title: &str, total: u64, done: impl Fn() -> u64 + Send + 'static) -> Ticker {
    start(title, total.max(1), move |_| {
        let done = done();
        (done, format!("{done}/{total}"))
    })
}

/// `state` gives the bar's position and message from the time elapsed.
fn start(
    title: &str,
    length: u64,
    state: impl Fn(Duration) -> (u64, String) + Send + 'static,
) -> Ticker {
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{prefix:>26} [{bar:30}] {msg}")
        .expect("a valid progress template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(title.to_string());
    let started = Instant::now();
    let shown = bar.clone();
    let refresher = tokio::spawn(async move {
        loop {
            let (position, message) = state(started.elapsed());
            shown.set_position(position);
            shown.set_message(message);
            tokio::time::sleep(REFRESH).await;
        }
    });
    Ticker { bar, refresher }
}

impl Ticker {
    /// Removes the bar and prints `summary` in its place.
    pub fn finish(self, summary: &str) {
        self.refresher.abort();
        self.bar.finish_and_clear();
        eprintln!("{:>26}  {summary}", self.bar.prefix());
    }
}
