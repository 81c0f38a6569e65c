//! Rate-limited warnings: when records are dropped or writes fail in a burst, the log gets one
//! line per interval saying how many, not one line per record.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events and lets a report through at most once per interval.
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_report: Option<Instant>,
    unreported: u64,
}

impl LogThrottle {
    pub fn new(interval: Duration) -> LogThrottle {
        LogThrottle {
            interval,
            state: Mutex::new(State::default()),
        }
    }

    /// Counts `events`; when a report is due, returns how many happened since the last one.
    pub fn count(&self, events: u64) -> Option<u64> {
        self.count_at(events, Instant::now())
    }

    fn count_at(&self, events: u64, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        state.unreported += events;
        let due = state
            .last_report
            .is_none_or(|last| now.duration_since(last) >= self.interval);
        if !due {
            return None;
        }
        state.last_report = Some(now);
        Some(std::mem::take(&mut state.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_event_is_reported_and_later_ones_wait_for_the_interval() {
        let throttle = LogThrottle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.count_at(1, start), Some(1));
        assert_eq!(throttle.count_at(2, start + Duration::from_secs(1)), None);
        assert_eq!(throttle.count_at(3, start + Duration::from_secs(9)), None);
        assert_eq!(
            throttle.count_at(4, start + Duration::from_secs(10)),
            Some(9),
            "the report carries every event held back"
        );
        assert_eq!(throttle.count_at(1, start + Duration::from_secs(11)), None);
    }
}
