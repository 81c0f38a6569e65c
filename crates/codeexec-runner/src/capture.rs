//! Reading a program's stdout or stderr pipe in a thread, keeping at most a capped number of bytes.
//!
//! The bytes read so far live behind a mutex rather than being returned by the thread, because a
//! process that escaped the stage's process group (with `setsid`) can hold the pipe open forever:
//! the stage then takes what was read so far instead of waiting for an end of file that never
//! comes.

use std::io::{ErrorKind, Read};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

/// What was kept of one stream.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// The program wrote more than the cap; `bytes` holds exactly the first `cap` bytes.
    pub truncated: bool,
}

/// A stream being read in the background.
pub struct Capture {
    shared: Arc<Mutex<Captured>>,
    done: Receiver<()>,
}

impl Capture {
    /// Starts reading `pipe`; `on_overflow` is called once if more than `cap` bytes arrive, and
    /// reading stops there. `on_kept` sees every piece of what is kept as it is read (an
    /// interactive job sends them on), and is dropped when reading stops.
    pub fn start(
        pipe: impl Read + Send + 'static,
        cap: usize,
        on_overflow: impl FnOnce() + Send + 'static,
        on_kept: impl FnMut(&[u8]) + Send + 'static,
    ) -> Capture {
        let shared = Arc::new(Mutex::new(Captured::default()));
        let (done_tx, done) = mpsc::channel();
        let buffer = Arc::clone(&shared);
        let reader = move || {
            read_capped(pipe, cap, &buffer, on_overflow, on_kept);
            let _ = done_tx.send(());
        };
        // If no thread can be had, the closure (and so the pipe) is dropped: the program sees a
        // closed pipe, which is better than a runner that panics.
        let _ = thread::Builder::new().name("capture".into()).spawn(reader);
        Capture { shared, done }
    }

    /// Waits for the end of the stream until `deadline`, then takes what was read so far.
    pub fn finish(self, deadline: Instant) -> Captured {
        let _ = self
            .done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
        std::mem::take(&mut *lock(&self.shared))
    }
}

fn read_capped(
    mut pipe: impl Read,
    cap: usize,
    shared: &Mutex<Captured>,
    on_overflow: impl FnOnce(),
    mut on_kept: impl FnMut(&[u8]),
) {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let count = match pipe.read(&mut chunk) {
            Ok(0) => return,
            Ok(count) => count,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut captured = lock(shared);
        let room = cap.saturating_sub(captured.bytes.len());
        let kept = count.min(room);
        captured.bytes.extend_from_slice(&chunk[..kept]);
        let overflowed = count > room;
        captured.truncated |= overflowed;
        drop(captured);
        if overflowed {
            on_overflow();
            on_kept(&chunk[..kept]);
            return;
        }
        if kept > 0 {
            on_kept(&chunk[..kept]);
        }
    }
}

/// A poisoned lock only means a reader panicked mid-append; the bytes are still worth reporting.
fn lock(shared: &Mutex<Captured>) -> std::sync::MutexGuard<'_, Captured> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn capture(input: &'static [u8], cap: usize) -> (Captured, usize) {
        let overflows = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&overflows);
        let capture = Capture::start(
            input,
            cap,
            move || {
                counter.fetch_add(1, Ordering::SeqCst);
            },
            |_| {},
        );
        let captured = capture.finish(Instant::now() + Duration::from_secs(5));
        (captured, overflows.load(Ordering::SeqCst))
    }

    #[test]
    fn output_up_to_the_cap_is_kept_whole() {
        let (captured, overflows) = capture(b"0123456789", 10);
        assert_eq!(captured.bytes, b"0123456789");
        assert!(!captured.truncated);
        assert_eq!(overflows, 0);
    }

    #[test]
    fn output_past_the_cap_is_cut_and_reported_once() {
        let (captured, overflows) = capture(b"0123456789", 4);
        assert_eq!(captured.bytes, b"0123");
        assert!(captured.truncated);
        assert_eq!(overflows, 1);
    }

    #[test]
    fn finish_gives_up_on_a_stream_that_never_ends() {
        struct Endless;
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if buf.is_empty() {
                    return Ok(0);
                }
                thread::sleep(Duration::from_millis(20));
                buf[0] = b'x';
                Ok(1)
            }
        }
        let capture = Capture::start(Endless, 1 << 20, || {}, |_| {});
        let started = Instant::now();
        let captured = capture.finish(Instant::now() + Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!captured.bytes.is_empty());
    }
}
