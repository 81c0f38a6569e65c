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
//!
//! Every loader says `ready` on a second pipe, [`codeexec_protocol::PRESTART_REPORT_FD`], once
//! it has warmed up and waits ([`Prestarted::wait_until_warm`]): the runner tells the service
//! its container is ready only then. A runtime whose loader also compiles (Java's and
//! TypeScript's: see [`codeexec_protocol::prestart_loader_compiles`]) then gets the compile
//! command on the control descriptor and answers on the second pipe ([`Prestarted::compile`]);
//! its program's argv follows once the compile has succeeded, unless the runtime serves the
//! compile alone ([`Prestarted::runs_program`]). The others close the second pipe once they have
//! said `ready`.

use std::io::{self, BufRead, BufReader, PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::capture::Captured;
use crate::cgroup;
use crate::guard::{self, Leader};
use crate::identity;
use crate::stage::{self, RuntimePipes};
use crate::watchdog;

/// A runtime waiting for its program.
pub struct Prestarted {
    child: Child,
    leader: Leader,
    control: PipeWriter,
    /// Where the loader says it is warm and, if it compiles, how its compile went.
    report: BufReader<PipeReader>,
    /// Whether the loader serves the compile stage too.
    compiles: bool,
    /// Whether the runtime goes on to run the program (all but a compile-only one).
    runs_program: bool,
    /// Whether the loader has said it is warm.
    warm: bool,
    /// The container's memory limit when the runtime started, which a JVM sizes its heap by.
    memory_limit_at_start: Option<u64>,
}

/// What a loader that compiles reported.
pub struct Compiled {
    pub exit_code: i32,
    /// What the compiler's command would have printed on stdout, at most the output limit of it.
    pub stdout: Captured,
    /// And on stderr.
    pub stderr: Captured,
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
        let (report, report_write) =
            io::pipe().map_err(|error| format!("cannot make the report pipe: {error}"))?;
        let pipes = RuntimePipes {
            control: control_read.as_raw_fd(),
            report: report_write.as_raw_fd(),
        };
        open_to_the_runtime(&pipes)?;
        let (child, leader) =
            guard::spawn_leader(|| stage::spawn(program, args, dir, true, filter, Some(pipes)))
                .map_err(|error| format!("cannot start {program:?}: {error}"))?;
        // Only the runtime may hold the report pipe's write end, so that its end is the
        // runtime's.
        drop(report_write);
        Ok(Prestarted {
            child,
            leader,
            control,
            report: BufReader::new(report),
            compiles: codeexec_protocol::prestart_loader_compiles(language),
            runs_program: codeexec_protocol::prestart_loader_runs_program(language),
            warm: false,
            memory_limit_at_start: cgroup::memory_limit_bytes(),
        })
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Whether the runtime's loader serves the compile stage too.
    pub fn compiles(&self) -> bool {
        self.compiles
    }

    /// Whether the runtime runs the program once it has compiled it; one that does not is
    /// discarded after the compile stage, and the program runs in the runtime started beside it
    /// for that (`--prestart-program`), if any, or afresh.
    pub fn runs_program(&self) -> bool {
        self.runs_program
    }

    /// Whether the container's memory limit is now lower than when the runtime started (the job
    /// asked for less): a JVM sized its heap by the limit it started under, and so would fill
    /// the container rather than its heap, where a fresh `java` throws `OutOfMemoryError`.
    pub fn memory_limit_lowered(&self) -> bool {
        match (self.memory_limit_at_start, cgroup::memory_limit_bytes()) {
            (Some(then), Some(now)) => now < then,
            _ => false,
        }
    }

    /// Waits, at most `timeout`, until the runtime has warmed up (its loader says `ready`), at
    /// once when it already has: the time it still takes is its start-up's, not the job's.
    /// Fails when it does not say so in time, or ends first.
    pub fn wait_until_warm(&mut self, timeout: Duration) -> io::Result<()> {
        if self.warm {
            return Ok(());
        }
        let report = &mut self.report;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut poll = libc::pollfd {
                fd: report.get_ref().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let millis = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: `poll` is one valid, writable pollfd that outlives the call.
            match unsafe { libc::poll(&mut poll, 1, millis) } {
                0 => return Err(io::ErrorKind::TimedOut.into()),
                n if n > 0 => break,
                _ => {
                    let error = io::Error::last_os_error();
                    if error.kind() != io::ErrorKind::Interrupted {
                        return Err(error);
                    }
                }
            }
        }
        let mut line = String::new();
        report.by_ref().take(16).read_line(&mut line)?;
        if line != "ready\n" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the loader said {line:?} instead of ready"),
            ));
        }
        self.warm = true;
        Ok(())
    }

    /// Hands the runtime the compile command's `argv` and waits for its report, keeping at most
    /// `output_limit` bytes of each stream. Fails when the runtime ends without a report
    /// (killed at a limit, or gone).
    pub fn compile(&mut self, argv: &[String], output_limit: usize) -> io::Result<Compiled> {
        if !self.compiles {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the runtime does not compile",
            ));
        }
        let report = &mut self.report;
        let mut request = format!("{}\0", argv.len()).into_bytes();
        for arg in argv {
            request.extend_from_slice(arg.as_bytes());
            request.push(0);
        }
        self.control.write_all(&request)?;
        let exit_code = read_number(report)?;
        let stdout = read_printed(report, output_limit)?;
        let stderr = read_printed(report, output_limit)?;
        Ok(Compiled {
            exit_code,
            stdout,
            stderr,
        })
    }

    /// The runtime's process, to be reaped by the caller: it ended, or is to end, before its
    /// program ran.
    pub fn into_child(self) -> (Child, Leader) {
        (self.child, self.leader)
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

/// Lets the runtime, running under another uid than the runner, open its ends of the pipes
/// again through `/proc/self/fd`: Java reads a descriptor other than 0-2 only so. Only the
/// runtime holds them, and the runner's own `/proc/1/fd` is closed to other uids (it is not
/// dumpable), so nobody gains a pipe they did not have.
fn open_to_the_runtime(pipes: &RuntimePipes) -> Result<(), String> {
    for fd in [pipes.control, pipes.report] {
        // SAFETY: fchmod has no memory-safety preconditions; `fd` is a pipe the runner holds.
        if unsafe { libc::fchmod(fd, 0o666) } != 0 {
            let error = io::Error::last_os_error();
            return Err(format!("cannot open the runtime's pipes to it: {error}"));
        }
    }
    Ok(())
}

/// One number on a line of its own, from a loader's report.
fn read_number<T: std::str::FromStr>(report: &mut impl BufRead) -> io::Result<T> {
    let mut line = String::new();
    report.by_ref().take(32).read_line(&mut line)?;
    line.trim_end_matches('\n').parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the loader's report is malformed: {line:?}"),
        )
    })
}

/// One stream of a loader's compile report: its byte length on a line, then the bytes, of which
/// at most `output_limit` are kept and the rest skipped.
fn read_printed(report: &mut impl BufRead, output_limit: usize) -> io::Result<Captured> {
    let length: u64 = read_number(report)?;
    let mut bytes = Vec::new();
    let kept = length.min(output_limit as u64);
    report.take(kept).read_to_end(&mut bytes)?;
    let skipped = io::copy(&mut report.take(length - kept), &mut io::sink())?;
    if (bytes.len() as u64) < kept || skipped < length - kept {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Captured {
        bytes,
        truncated: length > kept,
    })
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
    // Named by the language too: two runtimes may start side by side (see PRESTART_PROGRAM_FLAG).
    let file = std::env::temp_dir().join(format!(
        ".codeexec-loader-{}-{language}",
        std::process::id()
    ));
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
