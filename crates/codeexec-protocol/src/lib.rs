//! The job protocol between the codeexec engine and `codeexec-runner`.
//!
//! The engine writes one [`JobFrame`] as JSON, ending in a newline, and half-closes; the runner
//! answers with one [`ResultFrame`] as JSON, ending in a newline, and exits. An interactive job
//! ([`JobFrame::interactive`]) keeps both directions open instead: see [`stream`]. The bytes travel over the direct
//! channel (a Unix socket the runner listens on, see [`CHANNEL_FLAG`]) or, without it, over the
//! container's stdin and stdout. Everything the runner needs
//! (the argv of each stage, limits) travels in the frame, so an image is only a toolchain plus the
//! runner.

use serde::{Deserialize, Serialize};

pub mod stream;

/// Where the runner writes the job's files and runs every stage.
pub const SANDBOX_DIR: &str = "/sandbox";

/// Path of the runner inside every codeexec image.
pub const RUNNER_PATH: &str = "/usr/local/bin/codeexec-runner";

/// `codeexec-runner --prestart LANGUAGE ARGV...` starts the language's runtime (ARGV) before the
/// job arrives; the flag comes last and takes every argument after it. In ARGV the runner replaces
/// `{loader}` with the language's [`prestart_loader`] and `{loader_file}` with the path of a file
/// holding it (which the loader deletes as it starts); `{cmdline_room}` with filler that makes
/// room in the argument area for the plain command line the loader shows in place of its own.
pub const PRESTART_FLAG: &str = "--prestart";

/// `codeexec-runner --prestart-program JSON --prestart LANGUAGE ARGV...`: beside a runtime whose
/// loader compiles only (see [`prestart_loader_runs_program`]), a second runtime started before
/// the job arrives to run the compiled program, as a run stage's pre-started runtime does. JSON
/// is an array of strings: the language whose loader it runs (one that runs programs, e.g.
/// `javascript` for TypeScript's), then its argv, with the same placeholders as ARGV.
pub const PRESTART_PROGRAM_FLAG: &str = "--prestart-program";

/// `codeexec-runner --user UID:GID`: the identity a runner started as root takes at once.
pub const RUNNER_USER_FLAG: &str = "--user";

/// `codeexec-runner --program-user UID`: the uid (and gid) every stage's program runs under, which
/// must differ from the runner's; given with [`RUNNER_USER_FLAG`].
pub const PROGRAM_USER_FLAG: &str = "--program-user";

/// `codeexec-runner --channel DIR`: the runner listens on `DIR/`[`CHANNEL_SOCKET`], takes the
/// first connection and no other, reads the job frame from it and writes the result frame back,
/// instead of using its stdin and stdout.
pub const CHANNEL_FLAG: &str = "--channel";

/// Where a container sees the host directory that holds its channel's socket.
pub const CHANNEL_DIR: &str = "/run/codeexec";

/// The channel socket's file name in its directory.
pub const CHANNEL_SOCKET: &str = "runner.sock";

/// The file descriptor on which a pre-started runtime reads its program's argv when the job
/// arrives: the arguments separated by NUL bytes, ending at end of file.
pub const PRESTART_CONTROL_FD: i32 = 3;

/// The file descriptor on which every pre-started runtime's loader says `ready` and a newline
/// once it has warmed up and waits for its argv. One that compiles in-process (see
/// [`prestart_loader_compiles`]) then reports there how its compile went: the compiler's exit
/// code and a newline, then what the compiler's command would have printed on stdout and on
/// stderr, each as its byte length, a newline and those bytes; the others close it.
pub const PRESTART_REPORT_FD: i32 = 4;

/// What the runner says on its link (the channel's connection, or its stdout) before it reads the
/// job frame: its link is open and its pre-started runtime, if any, has warmed up. The service
/// counts a container ready for a job only from then on, so that a pool's ready containers, and
/// its refill time, include the runtime's warm-up.
pub const RUNNER_READY: &[u8] = b"ready\n";

/// How long the runner waits for a pre-started runtime to warm up before it says
/// [`RUNNER_READY`] all the same: the job then waits for the rest, or runs without it.
pub const PRESTART_WARM_LIMIT_SECS: u64 = 10;

/// Every language's loader, as (language, file name, source): what a pre-started runtime runs
/// while it waits (see [`PRESTART_FLAG`]).
pub const PRESTART_LOADERS: [(&str, &str, &str); 5] = [
    ("python", "python.py", include_str!("../loaders/python.py")),
    (
        "javascript",
        "javascript.js",
        include_str!("../loaders/javascript.js"),
    ),
    ("ruby", "ruby.rb", include_str!("../loaders/ruby.rb")),
    ("java", "java.java", include_str!("../loaders/java.java")),
    (
        "typescript",
        "typescript.js",
        include_str!("../loaders/typescript.js"),
    ),
];

/// Sources of helpers that a language's `image_prepare` builds into its image, as (language, file
/// name, source), copied beside the loaders: Go's `codeexec-go-build`, the compile stage's shortcut
/// to the compiler and linker.
pub const IMAGE_HELPERS: [(&str, &str, &str); 1] =
    [("go", "go_build.go", include_str!("../loaders/go_build.go"))];

/// Where every codeexec image holds the loaders' sources (`codeexec images build` copies them
/// there, before the language's `image_prepare` runs): for a loader compiled ahead, as Java's.
pub const IMAGE_LOADERS_DIR: &str = "/usr/local/lib/codeexec/loaders";

/// The loader a pre-started runtime runs while it waits, by language name (see [`PRESTART_FLAG`]).
pub fn prestart_loader(language: &str) -> Option<&'static str> {
    PRESTART_LOADERS
        .iter()
        .find(|(name, _, _)| *name == language)
        .map(|(_, _, source)| *source)
}

/// Whether `language`'s loader also serves the compile stage, in the runtime it runs in (Java's
/// compiles with the javac API in its JVM, TypeScript's with tsc's own code in Node.js). Such a
/// loader first reads the compile command's argv on [`PRESTART_CONTROL_FD`] (the count of
/// arguments, then each argument, every one ending with a NUL byte), answers on
/// [`PRESTART_REPORT_FD`], and only then, if it runs the program too
/// ([`prestart_loader_runs_program`]), reads its program's argv there.
pub fn prestart_loader_compiles(language: &str) -> bool {
    matches!(language, "java" | "typescript")
}

/// Whether `language`'s pre-started runtime goes on to run the program. TypeScript's serves the
/// compile stage alone: the compiled program runs in another `node` (see
/// [`PRESTART_PROGRAM_FLAG`]), not in the process that holds the compiler.
pub fn prestart_loader_runs_program(language: &str) -> bool {
    language != "typescript"
}

/// One job, as sent by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFrame {
    /// Files to write under [`SANDBOX_DIR`]; names are relative and already validated.
    pub files: Vec<SourceFile>,
    /// Text fed to the run stage's stdin.
    pub stdin: String,
    /// The compile stage, for languages that have one.
    pub compile: Option<StageCommand>,
    /// The run stage; its argv already ends with the user's arguments.
    pub run: StageCommand,
    /// Bytes kept of each of stdout and stderr per stage; a program that writes more is stopped.
    pub output_limit_bytes: usize,
    /// For a runner started with a pre-started runtime: the argv its program is to see (the run
    /// argv from the entry file on). Without it, or without such a runtime, the run stage starts
    /// `run.argv` afresh.
    #[serde(default)]
    pub program_argv: Option<Vec<String>>,
    /// An interactive job: the engine does not half-close after the frame but goes on sending
    /// [`stream::StreamInput`]s, and the runner answers with [`stream::StreamEvent`]s as the
    /// stages go, the last of them the result. Limits and caps are the same.
    #[serde(default)]
    pub interactive: bool,
}

/// A file of the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub content: String,
}

/// A command to run as one stage, with its limits: the CPU time its processes may use, and the
/// wall time it may take (the backstop for a program that sleeps or blocks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCommand {
    pub argv: Vec<String>,
    /// `None`: the stage is bound by wall time alone.
    pub cpu_time_limit_ms: Option<u64>,
    pub wall_time_limit_ms: u64,
}

/// What the runner reports back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFrame {
    /// Present when the job had a compile stage.
    pub compile: Option<StageReport>,
    /// Absent when compilation failed, or when the runner could not get that far.
    pub run: Option<StageReport>,
    /// Set when the runner itself failed (bad frame, could not write a file).
    pub runner_error: Option<String>,
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Exited with code 0.
    Succeeded,
    /// Exited with a non-zero code or was killed by a signal it did not get from the runner.
    Failed,
    /// Killed by the runner at its wall-time limit.
    TimedOut,
    /// Killed by the runner at its CPU-time limit.
    CpuTimedOut,
    /// Killed by the runner for writing more than the output limit.
    OutputLimitExceeded,
    /// Could not be started at all (missing binary, exec error).
    FailedToStart,
}

/// The record of one stage. Output that is not UTF-8 is converted lossily (U+FFFD).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    pub status: StageStatus,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    /// CPU time of the stage's processes; in a container, of every process in it.
    pub cpu_ms: u64,
    pub peak_rss_bytes: u64,
    /// Whether the OOM killer took a process of the container while the stage ran, as the
    /// container's memory cgroup counts it; `None` where the runner cannot read that count.
    #[serde(default)]
    pub oom_killed: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_status_is_snake_case_on_the_wire() {
        let text = serde_json::to_string(&StageStatus::OutputLimitExceeded).unwrap();
        assert_eq!(text, "\"output_limit_exceeded\"");
    }

    #[test]
    fn job_frame_round_trips_through_json() {
        let frame = JobFrame {
            files: vec![SourceFile {
                name: "main.py".into(),
                content: "print(1)\n".into(),
            }],
            stdin: "in".into(),
            compile: None,
            run: StageCommand {
                argv: vec!["python3".into(), "main.py".into()],
                cpu_time_limit_ms: Some(5000),
                wall_time_limit_ms: 10000,
            },
            output_limit_bytes: 65536,
            program_argv: Some(vec!["main.py".into()]),
            interactive: false,
        };
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(serde_json::from_str::<JobFrame>(&text).unwrap(), frame);
    }
}
