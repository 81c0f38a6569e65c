//! What the buffer and the writer hold between a record's acceptance and its write, counted in
//! records (so that shutdown can count what it gives up on) and in bytes (so that large programs
//! cannot fill the memory while the database is down: a record holds the submitted code).

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct Backlog {
    records: AtomicUsize,
    bytes: AtomicUsize,
    max_bytes: usize,
}

impl Backlog {
    pub fn new(max_bytes: usize) -> Backlog {
        Backlog {
            records: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            max_bytes,
        }
    }

    /// Takes a record of `bytes` in, unless that would pass the byte limit.
    pub fn admit(&self, bytes: usize) -> bool {
        let before = self.bytes.fetch_add(bytes, Ordering::SeqCst);
        if before + bytes > self.max_bytes {
            self.bytes.fetch_sub(bytes, Ordering::SeqCst);
            return false;
        }
        self.records.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// `records` of `bytes` in all were written, failed, or could not be queued after all.
    pub fn release(&self, records: usize, bytes: usize) {
        self.records.fetch_sub(records, Ordering::SeqCst);
        self.bytes.fetch_sub(bytes, Ordering::SeqCst);
    }

    /// Records accepted and not yet settled.
    pub fn records(&self) -> usize {
        self.records.load(Ordering::SeqCst)
    }

    /// Gives up on every unsettled record (shutdown ran out of time) and returns how many.
    pub fn abandon(&self) -> usize {
        self.bytes.store(0, Ordering::SeqCst);
        self.records.swap(0, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_refused_past_the_byte_limit_until_room_is_freed() {
        let backlog = Backlog::new(100);
        assert!(backlog.admit(60));
        assert!(!backlog.admit(50), "110 bytes would pass the limit");
        assert!(backlog.admit(40));
        assert_eq!(backlog.records(), 2);
        backlog.release(1, 60);
        assert!(backlog.admit(50));
        assert_eq!(backlog.records(), 2);
        assert_eq!(backlog.abandon(), 2);
        assert!(backlog.admit(100));
    }
}
