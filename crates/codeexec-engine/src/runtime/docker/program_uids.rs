//! The uids programs run under: one per pool container from `docker.program_uids`, held from
//! before the container is created until it has been removed, so that no two containers of this
//! service run programs under one uid at once. Uids are handed out in turn, so one let go is the
//! last to be given again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::settings::UidRange;

/// This service's range and the uids of it in use.
pub struct ProgramUids {
    range: UidRange,
    state: Mutex<State>,
}

struct State {
    in_use: HashSet<u32>,
    /// Offset in the range of the next uid to try.
    next: u32,
}

/// One uid, given back when dropped.
pub struct UidLease {
    uid: u32,
    owner: Arc<ProgramUids>,
}

impl ProgramUids {
    pub fn new(range: UidRange) -> Arc<ProgramUids> {
        Arc::new(ProgramUids {
            range,
            state: Mutex::new(State {
                in_use: HashSet::new(),
                next: 0,
            }),
        })
    }

    /// The next free uid after the last one given, or an error when every uid is held.
    pub fn lease(self: &Arc<Self>) -> Result<UidLease, String> {
        let mut state = self.lock();
        for step in 0..self.range.count {
            let offset = (state.next + step) % self.range.count;
            let uid = self.range.first + offset;
            if state.in_use.insert(uid) {
                state.next = (offset + 1) % self.range.count;
                return Ok(UidLease {
                    uid,
                    owner: Arc::clone(self),
                });
            }
        }
        Err(format!(
            "every program uid of docker.program_uids ({} from {}) is held by a container; \
             raise its count",
            self.range.count, self.range.first
        ))
    }

    /// A poisoned lock only means a panic elsewhere; the set is still valid.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl UidLease {
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

impl Drop for UidLease {
    fn drop(&mut self) {
        self.owner.lock().in_use.remove(&self.uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_uids_are_never_given_twice_and_freed_ones_come_back_last() {
        let uids = ProgramUids::new(UidRange {
            first: 500,
            count: 3,
        });
        let a = uids.lease().unwrap();
        let b = uids.lease().unwrap();
        let c = uids.lease().unwrap();
        assert_eq!([a.uid(), b.uid(), c.uid()], [500, 501, 502]);
        assert!(uids.lease().is_err(), "a fourth container got a held uid");
        drop(b);
        let d = uids.lease().unwrap();
        assert_eq!(d.uid(), 501);
        drop(a);
        drop(c);
        // 500 and 502 are free; the turn goes on after 501.
        assert_eq!(uids.lease().unwrap().uid(), 502);
    }
}
