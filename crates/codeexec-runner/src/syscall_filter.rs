//! A seccomp filter the runner adds to every stage's process, on top of the container's own
//! profile (`config/seccomp.json`, which refuses all of this too), between fork and exec: defence
//! in depth where the profile is weaker (another profile configured, a runtime that ignores it,
//! the local runtime). Filters stack, so it only ever refuses more: what Docker's default on an
//! older engine still allows and a job has no use for, and the calls that would let a program
//! reach another process (the kernel also refuses them against the runner, under another uid).
//!
//! Refused with EPERM:
//! - io_uring (`io_uring_setup`, `io_uring_enter`, `io_uring_register`): a large kernel surface
//!   that Docker's default allows before 25.0; runtimes that try it fall back to threads;
//! - keyrings, `userfaultfd`, namespaces and mounts (`keyctl`, `add_key`, `request_key`,
//!   `userfaultfd`, `unshare`, `setns`, `mount`, `umount2`), which the default refuses already
//!   without capabilities: refused here too, whatever the profile;
//! - changing another process's resource limits, scheduling, CPU affinity or I/O priority
//!   (`prlimit64`, `sched_setscheduler`, `sched_setparam`, `sched_setattr`, `sched_setaffinity`
//!   with a pid other than 0; `setpriority` and `ioprio_set` naming anyone but the caller, or
//!   every process of the caller's user). A process may still change its own.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// `setpriority`'s `which` for every process of a user.
const PRIO_USER: u64 = 2;
/// `ioprio_set`'s `which` for every process of a user.
const IOPRIO_WHO_USER: u64 = 3;

/// The compiled filter for this machine's architecture.
pub fn program() -> Result<BpfProgram, String> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|error| format!("no syscall filter for this architecture: {error}"))?;
    let filter = SeccompFilter::new(
        rules()?,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|error| format!("invalid syscall filter: {error}"))?;
    filter
        .try_into()
        .map_err(|error| format!("cannot compile the syscall filter: {error}"))
}

/// Installs `program` on the calling process. Run between fork and exec: it makes no allocation.
pub fn apply(program: &BpfProgram) -> std::io::Result<()> {
    seccompiler::apply_filter(program).map_err(std::io::Error::other)
}

fn rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, String> {
    let always = [
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_userfaultfd,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
    ];
    let another_pid_first = [
        libc::SYS_prlimit64,
        libc::SYS_sched_setscheduler,
        libc::SYS_sched_setparam,
        libc::SYS_sched_setattr,
        libc::SYS_sched_setaffinity,
    ];
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        always.into_iter().map(|call| (call, Vec::new())).collect();
    for call in another_pid_first {
        rules.insert(call, vec![rule(0, SeccompCmpOp::Ne, 0)?]);
    }
    for (call, every_process_of_the_user) in [
        (libc::SYS_setpriority, PRIO_USER),
        (libc::SYS_ioprio_set, IOPRIO_WHO_USER),
    ] {
        rules.insert(
            call,
            vec![
                rule(1, SeccompCmpOp::Ne, 0)?,
                rule(0, SeccompCmpOp::Eq, every_process_of_the_user)?,
            ],
        );
    }
    Ok(rules)
}

/// Matches when argument `index` (a 32-bit pid, id or selector) compares to `value` by `op`.
fn rule(index: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompRule, String> {
    let condition = SeccompCondition::new(index, SeccompCmpArgLen::Dword, op, value)
        .map_err(|error| error.to_string())?;
    SeccompRule::new(vec![condition]).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_compiles_for_this_machine() {
        let program = program().unwrap();
        assert!(!program.is_empty());
    }
}
