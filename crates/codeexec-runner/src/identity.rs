//! Who the runner and the program are: two uids, so that the program cannot reach its runner.
//!
//! In a container the runner starts as root with only `CAP_SETUID`, `CAP_SETGID` and `CAP_KILL`
//! (`--user UID:GID --program-user UID`). It drops at once to its own uid, keeping those three
//! capabilities and nothing else, and starts every stage's process (and a pre-started runtime)
//! under the program's uid, with a group of the same number and no supplementary groups. The
//! kernel then refuses the program what it allows between processes of one uid: signals, ptrace,
//! `prlimit`, scheduling and I/O priority of the runner, and the pool container's program uid is
//! its own (see the engine's uid range), so per-user kernel budgets are not shared with other
//! jobs. The runner keeps `CAP_KILL` to kill the program's processes, and the two others to start
//! them and to write the job's files as the program's; exec takes every capability from the
//! program, which is not root and runs no file with capabilities (`no-new-privileges`).
//!
//! Without `--program-user` (tests and the local runtime on a host) nothing changes: the program
//! runs as the runner does.

use std::sync::OnceLock;

use caps::{CapSet, Capability, CapsHashSet};

/// The program's uid (and gid), once the runner has taken its own identity.
static PROGRAM: OnceLock<libc::uid_t> = OnceLock::new();

/// The capabilities the runner keeps after dropping root.
const KEPT: [Capability; 3] = [
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_KILL,
];

/// The runner's own uid:gid and the program's uid, from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Users {
    pub runner_uid: libc::uid_t,
    pub runner_gid: libc::gid_t,
    pub program_uid: libc::uid_t,
}

impl Users {
    /// Parses `--user UID:GID` and `--program-user UID`.
    pub fn parse(runner: &str, program: &str) -> Result<Users, String> {
        let number = |text: &str, what: &str| {
            text.parse::<u32>()
                .map_err(|_| format!("{what} must be a number, not {text:?}"))
        };
        let (uid, gid) = runner
            .split_once(':')
            .ok_or_else(|| format!("--user takes UID:GID, not {runner:?}"))?;
        let users = Users {
            runner_uid: number(uid, "the runner's uid")?,
            runner_gid: number(gid, "the runner's gid")?,
            program_uid: number(program, "the program's uid")?,
        };
        if users.program_uid == 0 || users.runner_uid == 0 {
            return Err("neither the runner nor the program may run as root".into());
        }
        if users.program_uid == users.runner_uid {
            return Err("the program's uid must differ from the runner's".into());
        }
        Ok(users)
    }
}

/// Drops from root to the runner's uid, keeping only [`KEPT`]; afterwards every stage runs as
/// the program's uid. Call first, before any thread starts.
pub fn become_runner(users: Users) -> Result<(), String> {
    let fail = |what: &str| format!("cannot {what}: {}", std::io::Error::last_os_error());
    caps::securebits::set_keepcaps(true).map_err(|error| format!("cannot keep caps: {error}"))?;
    // SAFETY: plain system calls on this process; a null list with size 0 clears the groups.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(fail("clear the supplementary groups"));
        }
        if libc::setresgid(users.runner_gid, users.runner_gid, users.runner_gid) != 0 {
            return Err(fail("set the runner's gid"));
        }
        if libc::setresuid(users.runner_uid, users.runner_uid, users.runner_uid) != 0 {
            return Err(fail("set the runner's uid"));
        }
    }
    let kept: CapsHashSet = KEPT.into_iter().collect();
    for set in [CapSet::Permitted, CapSet::Effective] {
        caps::set(None, set, &kept)
            .map_err(|error| format!("cannot keep only {KEPT:?}: {error}"))?;
    }
    caps::clear(None, CapSet::Inheritable)
        .map_err(|error| format!("cannot clear the inheritable caps: {error}"))?;
    caps::securebits::set_keepcaps(false)
        .map_err(|error| format!("cannot reset keep-caps: {error}"))?;
    PROGRAM
        .set(users.program_uid)
        .map_err(|_| "the runner's identity was already set".to_string())
}

/// Runs `write` with this thread's file-system uid and gid set to the program's, so that the
/// files it creates belong to the program (which may then change or delete them, as its own).
pub fn as_program<T>(write: impl FnOnce() -> T) -> T {
    let Some(&uid) = PROGRAM.get() else {
        return write();
    };
    // SAFETY: setfsuid and setfsgid change only the calling thread's file-system ids; the
    // previous ids they return are restored below.
    let (old_uid, old_gid) = unsafe { (libc::setfsuid(uid), libc::setfsgid(uid)) };
    let result = write();
    unsafe {
        libc::setfsgid(old_gid as libc::gid_t);
        libc::setfsuid(old_uid as libc::uid_t);
    }
    result
}

/// The uid (and gid) stages run under, when the runner has taken an identity of its own: the
/// spawn sets it on the child, which also inherits the runner's empty supplementary groups. The
/// capabilities the child still holds go at exec, since the program's uid is not root.
pub fn program_uid() -> Option<libc::uid_t> {
    PROGRAM.get().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_two_different_uids_and_neither_is_root() {
        assert_eq!(
            Users::parse("65534:65534", "200017"),
            Ok(Users {
                runner_uid: 65534,
                runner_gid: 65534,
                program_uid: 200017
            })
        );
        for (runner, program) in [
            ("65534:65534", "65534"),
            ("65534:65534", "0"),
            ("0:0", "200017"),
            ("65534", "200017"),
            ("65534:x", "200017"),
            ("65534:65534", "-1"),
        ] {
            assert!(Users::parse(runner, program).is_err(), "{runner} {program}");
        }
    }
}
