//! Waiting for a stage's process and reaping it with its resource usage.
//!
//! `wait4` on the one pid (rather than `Child::wait` plus `getrusage(RUSAGE_CHILDREN)`, which adds
//! up every child ever reaped) gives the usage of this stage alone. The wait is in two steps so
//! that the process group can be killed in between, while the zombie still reserves its id.

use std::io;

use crate::group::ProcessGroup;

/// How the stage's main process ended, and what it cost.
pub struct Reaped {
    /// The raw wait status; `None` if waiting failed, which should never happen to our own child.
    pub status: Option<libc::c_int>,
    pub cpu_ms: u64,
    pub peak_rss_bytes: u64,
}

/// Blocks until the group leader exits, kills its leftovers, then reaps it.
pub fn reap(group: &ProcessGroup, pid: libc::pid_t) -> Reaped {
    // Even if this wait fails, going on to leader_exited and wait4 is the safe course.
    let _ = wait_for_exit(pid);
    group.leader_exited();
    match wait4(pid) {
        Ok((status, usage)) => Reaped {
            status: Some(status),
            cpu_ms: millis(usage.ru_utime) + millis(usage.ru_stime),
            // On Linux ru_maxrss is in KiB.
            peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        },
        Err(_) => Reaped {
            status: None,
            cpu_ms: 0,
            peak_rss_bytes: 0,
        },
    }
}

/// Waits for `pid` to exit but leaves it a zombie (WNOWAIT).
fn wait_for_exit(pid: libc::pid_t) -> io::Result<()> {
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t that outlives the call.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        match check(result) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn wait4(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value (it is plain integers).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `usage` are valid, writable and outlive the call.
        let result = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        match check(result) {
            Ok(()) => return Ok((status, usage)),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
}

fn check(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn millis(time: libc::timeval) -> u64 {
    // Kernel-filled usage times are never negative.
    time.tv_sec as u64 * 1000 + time.tv_usec as u64 / 1000
}
