//! Keeping the runner out of its programs' reach, and reaping what they leave behind.
//!
//! In a container the runner is PID 1 (the engine starts containers without `--init`), and the
//! kernel drops every signal that processes of the same PID namespace send to their namespace's
//! init unless it handles that signal: a program that kills every process it can see
//! (`kill(-1, SIGKILL)`) cannot take the runner with it, though both run as the same user. The
//! runner is also made non-dumpable, so the program can neither ptrace it nor read its memory or
//! file descriptors through `/proc/1`. The flag is reset on `execve`, so programs are not affected.
//!
//! As PID 1 the runner inherits every orphan of the job. Their zombies would hold on to the
//! container's pids limit, so a reaper thread collects every exited child except the running
//! stage's leader, which [`reap`](crate::reap) waits for itself to read its resource usage.
//! Orphans still alive when the runner exits are killed by the kernel with the rest of the
//! namespace.
//!
//! Up to [`LEADER_SLOTS`] leaders are left alone at once: a stage's, or a pre-started runtime's
//! and the second runtime started beside it (`--prestart-program`).
//!
//! With no child at all, the reaper sleeps until [`spawn_leader`] starts one, instead of asking
//! the kernel again and again: an idle pool container's runner then uses no CPU while it waits
//! for its job. Every process in the container descends from a leader (the service runs nothing
//! else in it), so no orphan can appear without a spawn first. (An orphan of a `docker exec` that
//! someone runs by hand waits for the next spawn to be reaped: the job's, at the latest.)

use std::io;
use std::process::Child;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, Once, PoisonError};
use std::time::Duration;

/// A free slot: no leader in it.
const NO_LEADER: libc::pid_t = 0;
/// A leader is being spawned and its pid is not known yet: reap nothing.
const SPAWNING: libc::pid_t = -1;
/// How many leaders may live at once.
pub const LEADER_SLOTS: usize = 4;
/// The pids of the living leaders (stages' and pre-started runtimes'), or the two values above.
static LEADERS: [AtomicI32; LEADER_SLOTS] = [const { AtomicI32::new(NO_LEADER) }; LEADER_SLOTS];

/// How long the reaper sleeps when the only exited child is a leader, or waitid was interrupted.
const REAPER_PAUSE: Duration = Duration::from_millis(5);

/// How many leaders [`spawn_leader`] has started, for the reaper to sleep on while it has no child.
static SPAWNS: SpawnCount = SpawnCount::new();

/// A count of spawns that a thread can wait to see grow.
struct SpawnCount {
    count: Mutex<u64>,
    grew: Condvar,
}

impl SpawnCount {
    const fn new() -> SpawnCount {
        SpawnCount {
            count: Mutex::new(0),
            grew: Condvar::new(),
        }
    }

    fn get(&self) -> u64 {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add_one(&self) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.grew.notify_all();
    }

    /// Returns once the count is no longer `seen`: at once if a spawn came in between.
    fn wait_past(&self, seen: u64) {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let _grown = self
            .grew
            .wait_while(count, |count| *count == seen)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Makes the runner non-dumpable. Failure is harmless (the flag is an extra layer), so ignored.
pub fn protect_runner() {
    // SAFETY: PR_SET_DUMPABLE takes an integer argument and touches only this process.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Run in a stage's process between fork and exec: makes it, and all it forks, the OOM killer's
/// first choice in the container (raising one's own score needs no privilege). Memory filled by
/// the job, files in the tmpfs mounts included, then costs the program its life rather than the
/// runner, which goes on to report the kill. Where /proc is not writable the score is left as is.
///
/// The fork inherits the runner's non-dumpable flag (and taking the program's uid clears the flag
/// too), and the kernel gives a non-dumpable process's `/proc/self` files to root, so the write
/// is refused until the flag is lifted. It is lifted for
/// the write alone and set again: exec sets it for the program in any case, as for any binary.
pub fn offer_to_the_oom_killer() -> std::io::Result<()> {
    const PATH: &[u8] = b"/proc/self/oom_score_adj\0";
    const MOST_LIKELY: &[u8] = b"1000";
    // SAFETY: PATH is NUL-terminated; the descriptor is only written and closed here, and prctl
    // touches only this process.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        let fd = libc::open(PATH.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, MOST_LIKELY.as_ptr().cast(), MOST_LIKELY.len());
            libc::close(fd);
        }
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    Ok(())
}

/// Starts the thread that reaps orphans (once per process).
pub fn start_orphan_reaper() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        // Without the thread zombies only wait for the container's end: no reason to fail a job.
        let _ = std::thread::Builder::new()
            .name("reaper".into())
            .spawn(reap_orphans_forever);
    });
}

/// Marks a leader (its slot in [`LEADERS`]), which the reaper leaves alone while this lives.
pub struct Leader(usize);

impl Drop for Leader {
    fn drop(&mut self) {
        LEADERS[self.0].store(NO_LEADER, Ordering::SeqCst);
    }
}

/// Spawns a stage's or a runtime's leader with `spawn`, so that the reaper never takes it: not
/// even when it exits before its pid is known. Keep the [`Leader`] until the leader has been
/// reaped.
pub fn spawn_leader(spawn: impl FnOnce() -> io::Result<Child>) -> io::Result<(Child, Leader)> {
    let slot = LEADERS
        .iter()
        .position(|slot| {
            slot.compare_exchange(NO_LEADER, SPAWNING, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })
        .ok_or_else(|| io::Error::other(format!("more than {LEADER_SLOTS} leaders at once")))?;
    let leader = Leader(slot);
    let child = spawn()?;
    let pid = libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX);
    LEADERS[slot].store(pid, Ordering::SeqCst);
    SPAWNS.add_one();
    Ok((child, leader))
}

fn reap_orphans_forever() {
    loop {
        // Read before looking, so that a spawn after the look is seen as one.
        let spawns = SPAWNS.get();
        // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // Peek at an exited child without reaping it (WNOWAIT): it may be the leader.
        // SAFETY: `info` is a valid, writable siginfo_t that outlives the call.
        let result =
            unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if result < 0 {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::ECHILD) => SPAWNS.wait_past(spawns),
                _ => std::thread::sleep(REAPER_PAUSE),
            }
            continue;
        }
        // SAFETY: waitid succeeded with WEXITED, so the siginfo describes a child.
        let pid = unsafe { info.si_pid() };
        let spared = LEADERS.iter().any(|slot| {
            let leader = slot.load(Ordering::SeqCst);
            leader == SPAWNING || leader == pid
        });
        if spared {
            std::thread::sleep(REAPER_PAUSE);
            continue;
        }
        let mut status = 0;
        // SAFETY: `status` is a valid, writable int that outlives the call.
        unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Looks at child `pid` without reaping it: waitid's result and what it filled in.
    fn peek(pid: u32) -> (libc::c_int, libc::siginfo_t) {
        // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill in; WNOHANG |
        // WNOWAIT only looks.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        (result, info)
    }

    /// Whether `pid` is an exited child not reaped yet.
    fn is_waitable(pid: u32) -> bool {
        let (result, info) = peek(pid);
        // With WNOHANG a running child also gives 0, but leaves si_pid at 0.
        // SAFETY: the siginfo was zeroed and then filled in by waitid.
        result == 0 && unsafe { info.si_pid() } == pid as libc::pid_t
    }

    /// Whether `pid` is no longer a child of this process at all: someone reaped it.
    fn was_reaped(pid: u32) -> bool {
        let (result, _) = peek(pid);
        result < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
    }

    /// Polls `condition` until it holds; fails after a bound no machine should need.
    fn eventually(what: &str, condition: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !condition() {
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    // The reaper, not the test, waits for `other`: that is what is tested.
    #[allow(clippy::zombie_processes)]
    fn orphans_are_reaped_while_the_stage_runs_but_its_leader_is_left_to_it() {
        start_orphan_reaper();
        let (mut leader, marker) =
            spawn_leader(|| Command::new("sleep").arg("0.3").spawn()).unwrap();
        let other = Command::new("true").spawn().unwrap();
        eventually("the reaper reaps the other child", || {
            was_reaped(other.id())
        });
        // Had the reaper taken the exited leader too, it would never be waitable here.
        eventually("the exited leader waits for its stage to reap it", || {
            is_waitable(leader.id())
        });
        assert!(leader.wait().unwrap().success());
        drop(marker);
    }

    #[test]
    // The reaper, not the test, waits for the first leader once it is marked no longer.
    #[allow(clippy::zombie_processes)]
    fn two_leaders_at_once_are_both_left_alone_until_their_marks_go() {
        start_orphan_reaper();
        let (first, first_mark) = spawn_leader(|| Command::new("true").spawn()).unwrap();
        let (mut second, second_mark) = spawn_leader(|| Command::new("true").spawn()).unwrap();
        eventually("both leaders exit and wait", || {
            is_waitable(first.id()) && is_waitable(second.id())
        });
        // Dropping one mark leaves the other leader to its own wait.
        drop(first_mark);
        eventually("the reaper takes the first", || was_reaped(first.id()));
        assert!(is_waitable(second.id()));
        assert!(second.wait().unwrap().success());
        drop(second_mark);
    }

    #[test]
    fn a_wait_for_a_spawn_ends_at_the_next_spawn_or_at_once_if_one_came_already() {
        let spawns = std::sync::Arc::new(SpawnCount::new());
        let seen = spawns.get();
        let waiter = {
            let spawns = spawns.clone();
            std::thread::spawn(move || spawns.wait_past(seen))
        };
        spawns.add_one();
        waiter.join().unwrap();
        // The count moved past `seen` before this wait began: it does not block.
        spawns.wait_past(seen);
        assert_eq!(spawns.get(), seen + 1);
    }

    #[test]
    fn the_runner_is_not_dumpable_after_protection() {
        protect_runner();
        // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        assert_eq!(dumpable, 0);
    }
}
