//! Runs the built `codeexec-runner` on the host against a throwaway sandbox directory.

#![allow(dead_code)] // Each test binary uses its own share of these helpers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use codeexec_protocol::{JobFrame, ResultFrame, StageCommand, StageReport};

/// Longer than any test job should take; a runner still running then counts as hung.
const RUNNER_DEADLINE: Duration = Duration::from_secs(60);

/// A fresh directory under the system temp dir, removed on drop.
pub struct Sandbox(PathBuf);

impl Sandbox {
    pub fn new() -> Sandbox {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "codeexec-runner-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Sandbox(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the runner process did with some input.
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
}

/// Runs the runner on the sandbox directory `dir` with `input` on stdin; panics if it has not
/// exited within [`RUNNER_DEADLINE`].
pub fn run_raw(dir: &Path, input: Vec<u8>) -> Outcome {
    run_raw_with(dir, &[], input)
}

/// [`run_raw`] with more arguments for the runner after the sandbox's.
pub fn run_raw_with(dir: &Path, args: &[&str], input: Vec<u8>) -> Outcome {
    let mut runner = Command::new(env!("CARGO_BIN_EXE_codeexec-runner"))
        .arg("--sandbox")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = runner.stdin.take().unwrap();
    thread::spawn(move || stdin.write_all(&input));
    let mut stdout = runner.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = runner.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUNNER_DEADLINE {
            runner.kill().unwrap();
            panic!("the runner hung");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        exit_code: status.code(),
        stdout: reader.join().unwrap().unwrap(),
    }
}

/// Runs a well-formed frame, checks that the runner exited 0 with valid JSON, and parses it.
pub fn run_frame(sandbox: &Sandbox, frame: &JobFrame) -> ResultFrame {
    let outcome = run_raw(sandbox.path(), serde_json::to_vec(frame).unwrap());
    assert_eq!(outcome.exit_code, Some(0));
    parse_result(&outcome.stdout)
}

/// The runner's stdout must be its ready line, then valid UTF-8 holding exactly one JSON
/// document.
pub fn parse_result(stdout: &[u8]) -> ResultFrame {
    let frame = stdout
        .strip_prefix(codeexec_protocol::RUNNER_READY)
        .expect("the runner says it is ready first");
    let text = std::str::from_utf8(frame).expect("the runner printed invalid UTF-8");
    serde_json::from_str(text).expect("the runner printed something other than one ResultFrame")
}

/// Runs a job with only a run stage and returns that stage's report.
pub fn run(frame: &JobFrame) -> StageReport {
    let sandbox = Sandbox::new();
    let result = run_frame(&sandbox, frame);
    assert_eq!(result.runner_error, None);
    assert_eq!(result.compile, None);
    result.run.expect("the run stage was not reported")
}

/// A job running `argv` with a generous time limit and a 1 MiB output cap.
pub fn job(argv: &[&str]) -> JobFrame {
    JobFrame {
        files: Vec::new(),
        stdin: String::new(),
        compile: None,
        run: stage(argv),
        output_limit_bytes: 1 << 20,
        program_argv: None,
        interactive: false,
    }
}

/// A job running one shell script.
pub fn sh(script: &str) -> JobFrame {
    job(&["sh", "-c", script])
}

pub fn stage(argv: &[&str]) -> StageCommand {
    StageCommand {
        argv: argv.iter().map(|arg| arg.to_string()).collect(),
        cpu_time_limit_ms: Some(20_000),
        wall_time_limit_ms: 20_000,
    }
}
