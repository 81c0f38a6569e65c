//! `codeexec-runner`: the program inside every codeexec container that runs one job.
//!
//! It reads one [`JobFrame`] as JSON from stdin, writes the job's files under the sandbox
//! directory, runs the compile stage (if any) and then the run stage, and prints one
//! [`ResultFrame`] as JSON on its own stdout. The user's programs never write to that stdout: their
//! streams are pipes that the runner reads and caps.
//!
//! Output is reported as text: the bytes a program wrote are converted with
//! [`String::from_utf8_lossy`], so invalid UTF-8 becomes U+FFFD, while NUL bytes stay (JSON escapes
//! them as `\u0000`). The result is always valid JSON, whatever the program wrote.
//!
//! Usage: `codeexec-runner [--sandbox DIR]`; the sandbox defaults to [`SANDBOX_DIR`], and another
//! directory is only meant for tests on the host. The exit code is 0 when a job was run (whatever
//! its stages did) and 2 when the arguments or the frame were malformed; a result is printed either
//! way.

mod capture;
mod cgroup;
mod group;
mod guard;
mod reap;
mod sandbox;
mod stage;
mod syscall_filter;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codeexec_protocol::{JobFrame, ResultFrame, StageStatus, SANDBOX_DIR};

fn main() -> ExitCode {
    guard::protect_runner();
    guard::start_orphan_reaper();
    let (result, code) = match parse_args(std::env::args_os().skip(1).collect()) {
        Ok(sandbox) => match read_frame() {
            Ok(frame) => (run_job(&frame, &sandbox), 0),
            Err(error) => (runner_error(error), 2),
        },
        Err(error) => (runner_error(error), 2),
    };
    if let Err(error) = write_result(&result) {
        eprintln!("codeexec-runner: cannot write the result: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::from(code)
}

/// Arguments are taken as `OsString`s because `std::env::args` panics on non-UTF-8 ones.
fn parse_args(args: Vec<OsString>) -> Result<PathBuf, String> {
    match args.as_slice() {
        [] => Ok(PathBuf::from(SANDBOX_DIR)),
        [flag, dir] if flag == "--sandbox" => Ok(PathBuf::from(dir)),
        _ => Err("usage: codeexec-runner [--sandbox DIR]".to_string()),
    }
}

fn read_frame() -> Result<JobFrame, String> {
    let mut input = Vec::new();
    io::stdin()
        .read_to_end(&mut input)
        .map_err(|error| format!("cannot read the job frame: {error}"))?;
    serde_json::from_slice(&input).map_err(|error| format!("malformed job frame: {error}"))
}

fn run_job(frame: &JobFrame, sandbox: &Path) -> ResultFrame {
    if let Err(error) = sandbox::write_files(sandbox, &frame.files) {
        return runner_error(error);
    }
    let limit = frame.output_limit_bytes;
    let compile = frame
        .compile
        .as_ref()
        .map(|command| stage::run_stage(command, sandbox, None, limit));
    if compile
        .as_ref()
        .is_some_and(|report| report.status != StageStatus::Succeeded)
    {
        return ResultFrame {
            compile,
            run: None,
            runner_error: None,
        };
    }
    let run = stage::run_stage(&frame.run, sandbox, Some(frame.stdin.as_bytes()), limit);
    ResultFrame {
        compile,
        run: Some(run),
        runner_error: None,
    }
}

fn runner_error(error: String) -> ResultFrame {
    ResultFrame {
        compile: None,
        run: None,
        runner_error: Some(error),
    }
}

fn write_result(result: &ResultFrame) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    serde_json::to_writer(&mut stdout, result)?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}
