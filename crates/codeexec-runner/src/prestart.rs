//! A language runtime started before its job arrives, so that the job pays for its own program
//! and not for the interpreter's start-up.
//!
//! With `--prestart ARGV...` the runner starts ARGV (the language's runtime running its loader,
//! e.g. `python3 -u -c LOADER`) as soon as the container starts, exactly as it would start a
//! stage: in a process group of its own, in the sandbox, under the stages' syscall filter, with
//! piped stdin, stdout and stderr. The loader waits on file descriptor 3
//! ([`codeexec_protocol::PRESTART_CONTROL_FD`]) and runs no user
//! code. When the job arrives the runner writes the program's argv there and closes it; from then
//! on the runtime is the run stage's leader. Each container still serves one job.

use std::io::{self, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Child;

use crate::guard::{self, Leader};
use crate::identity;
use crate::stage;
use crate::watchdog;

/// A runtime waiting for its program.
pub struct Prestarted {
    child: Child,
    leader: Leader,
    control: PipeWriter,
}

impl Prestarted {
    /// Starts `argv`, with `language`'s loader filled in, in `dir`.
    pub fn start(language: &str, argv: &[String], dir: &Path) -> Result<Prestarted, String> {
        let argv = with_loader(language, argv)?;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| "the pre-start command is empty".to_string())?;
        let filter = stage::syscall_filter().as_ref().map_err(Clone::clone)?;
        // Both ends are close-on-exec: the runtime gets the read end as fd 3 only, and never
        // the write end, so it sees end of file once the runner has written.
        let (control_read, control) =
            io::pipe().map_err(|error| format!("cannot make the control pipe: {error}"))?;
        let fd = control_read.as_raw_fd();
        let (child, leader) =
            guard::spawn_leader(|| stage::spawn(program, args, dir, true, filter, Some(fd)))
                .map_err(|error| format!("cannot start {program:?}: {error}"))?;
        Ok(Prestarted {
            child,
            leader,
            control,
        })
    }

    /// CPU time the runtime has used so far: its start-up, which the job is not billed for.
    /// Read from the process's CPU clock (nanoseconds, all its threads); `/proc`'s clock ticks
    /// are the fallback.
    pub fn cpu_ms(&self) -> u64 {
        let pid = self.child.id() as libc::pid_t;
        let mut clock: libc::clockid_t = 0;
        // SAFETY: an all-zero timespec is a valid value; both pointers outlive the calls.
        let mut now: libc::timespec = unsafe { std::mem::zeroed() };
        let read = unsafe {
            libc::clock_getcpuclockid(pid, &mut clock) == 0
                && libc::clock_gettime(clock, &mut now) == 0
        };
        if !read {
            return watchdog::process_cpu_ms(pid);
        }
        now.tv_sec as u64 * 1000 + now.tv_nsec as u64 / 1_000_000
    }

    /// Gives the runtime its program's argv; it is then the run stage's leader. Fails when the
    /// runtime is no longer there to read it.
    pub fn hand_over(mut self, program_argv: &[String]) -> io::Result<(Child, Leader)> {
        let mut message = program_argv.join("\0").into_bytes();
        if message.is_empty() {
            message.push(0);
        }
        if let Err(error) = self.control.write_all(&message) {
            self.discard();
            return Err(error);
        }
        drop(self.control);
        Ok((self.child, self.leader))
    }

    /// Ends the runtime unused: the job did not ask for it.
    pub fn discard(mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill has no memory-safety preconditions; the leader is not reaped yet, so the
        // group id is still the runtime's.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Bytes of `{cmdline_room}`: room for the plain command line a loader writes over its own.
const CMDLINE_ROOM_BYTES: usize = 4096;

/// `argv` with `{loader}` replaced by the language's loader, `{loader_file}` by the path of a
/// file (in the temporary directory, where the loader deletes it as it starts) holding it, and
/// `{cmdline_room}` by filler that makes room in the argument area for the command line the
/// loader shows in its place.
fn with_loader(language: &str, argv: &[String]) -> Result<Vec<String>, String> {
    let room = " ".repeat(CMDLINE_ROOM_BYTES);
    let argv: Vec<String> = argv
        .iter()
        .map(|part| part.replace("{cmdline_room}", &room))
        .collect();
    let needs = |placeholder: &str| argv.iter().any(|part| part.contains(placeholder));
    if !needs("{loader}") && !needs("{loader_file}") {
        return Ok(argv);
    }
    let loader = codeexec_protocol::prestart_loader(language)
        .ok_or_else(|| format!("codeexec has no pre-start loader for {language:?}"))?;
    let file = std::env::temp_dir().join(format!(".codeexec-loader-{}", std::process::id()));
    if needs("{loader_file}") {
        identity::as_program(|| std::fs::write(&file, loader))
            .map_err(|error| format!("cannot write the loader to {}: {error}", file.display()))?;
    }
    let file = file.to_string_lossy();
    Ok(argv
        .iter()
        .map(|part| {
            part.replace("{loader_file}", &file)
                .replace("{loader}", loader)
        })
        .collect())
}
