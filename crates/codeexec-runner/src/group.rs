//! Killing a stage's process group, without ever signalling a recycled process id.
//!
//! Every stage runs in a new process group whose id is the stage's pid. Both the time-limit
//! watchdog and the output capture may kill that group from their own threads, so the kills go
//! through a lock that the reaper also takes: once the reaper has seen the process exit, the group
//! is killed one last time (while the unreaped zombie still holds the id) and no later kill is sent.

use std::sync::{Mutex, MutexGuard};

/// Why the runner killed a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    WallTime,
    CpuTime,
    Output,
}

/// The kill switch of one stage's process group.
pub struct ProcessGroup {
    pgid: libc::pid_t,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    exited: bool,
    reason: Option<KillReason>,
}

impl ProcessGroup {
    pub fn new(pgid: libc::pid_t) -> ProcessGroup {
        ProcessGroup {
            pgid,
            state: Mutex::new(State::default()),
        }
    }

    /// Kills the group for `reason`, unless its leader has already exited; the first reason sticks.
    pub fn kill(&self, reason: KillReason) {
        let mut state = self.lock();
        if state.exited {
            return;
        }
        state.reason.get_or_insert(reason);
        self.signal();
    }

    /// Called once the leader is a zombie and before it is reaped: kills whatever it left behind in
    /// its group and disarms later kills, since after the reap the id may belong to someone else.
    pub fn leader_exited(&self) {
        let mut state = self.lock();
        state.exited = true;
        self.signal();
    }

    /// Sends `signal` to the group for its user (an interactive job's client), unless its leader
    /// has already exited; the stage then ends as the signal makes it, not as a kill of the
    /// runner's.
    pub fn send(&self, signal: libc::c_int) {
        let state = self.lock();
        if !state.exited {
            // SAFETY: as in `signal`: the lock is held and the leader not reaped.
            unsafe {
                libc::kill(-self.pgid, signal);
            }
        }
    }

    pub fn pgid(&self) -> libc::pid_t {
        self.pgid
    }

    pub fn kill_reason(&self) -> Option<KillReason> {
        self.lock().reason
    }

    fn signal(&self) {
        // SAFETY: kill has no memory-safety preconditions. The caller holds the lock and the leader
        // is not reaped yet, so `pgid` still names this stage's group. ESRCH (nobody left) is fine.
        unsafe {
            libc::kill(-self.pgid, libc::SIGKILL);
        }
    }

    /// A poisoned lock only means another thread panicked while holding it; the state is still
    /// valid, and a runner that stops killing would be worse.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
