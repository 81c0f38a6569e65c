//! The runner's ready line: said on its link before it reads the job frame, and only once its
//! pre-started runtime has warmed up (a compiler: for a few seconds at most, its job's compile
//! waits for the rest); a runtime that fails to warm up is left out of the job.
//! The runtimes are stand-ins: shell scripts that speak the loader's side of the pipes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use codeexec_protocol::{StageStatus, RUNNER_READY};
use common::{parse_result, run_raw_with, sh, stage, Sandbox};

/// Starts the runner in `sandbox` with `language`'s runtime pre-started as `sh -c LOADER`, its
/// stdin and stdout piped: the runner and its stdout.
fn start_runner(
    sandbox: &Sandbox,
    language: &str,
    loader: &str,
) -> (Child, BufReader<ChildStdout>) {
    let mut runner = Command::new(env!("CARGO_BIN_EXE_codeexec-runner"))
        .arg("--sandbox")
        .arg(sandbox.path())
        .args(["--prestart", language, "sh", "-c", loader])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(runner.stdout.take().unwrap());
    (runner, stdout)
}

#[test]
fn the_runner_says_ready_only_once_its_runtime_has() {
    let sandbox = Sandbox::new();
    let gate = sandbox.path().join("gate");
    let loader = format!(
        "while [ ! -e {} ]; do sleep 0.01; done; printf 'ready\\n' >&4; exec 4>&-; cat <&3 >/dev/null; echo pre-started",
        gate.display()
    );
    let (mut runner, mut stdout) = start_runner(&sandbox, "python", &loader);
    let (said, first_line) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut line = Vec::new();
        stdout.read_until(b'\n', &mut line).unwrap();
        said.send(line).unwrap();
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        rest
    });
    assert!(
        first_line.recv_timeout(Duration::from_millis(500)).is_err(),
        "the runner said something while its runtime was still warming"
    );
    std::fs::write(&gate, "").unwrap();
    let line = first_line.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(line, RUNNER_READY);
    let mut frame = sh("echo afresh");
    frame.program_argv = Some(vec!["main.py".into()]);
    let mut stdin = runner.stdin.take().unwrap();
    stdin
        .write_all(&serde_json::to_vec(&frame).unwrap())
        .unwrap();
    drop(stdin);
    let mut answer = RUNNER_READY.to_vec();
    answer.extend(reader.join().unwrap());
    assert!(runner.wait().unwrap().success());
    let run = parse_result(&answer).run.unwrap();
    assert_eq!(run.stdout, "pre-started\n", "{run:?}");
}

/// A runtime that compiles holds the ready line back only for a few seconds (a tuning, which no
/// test times): a job that comes while the compiler still warms waits for it in its compile
/// stage, and is compiled in it.
#[test]
fn a_job_that_comes_while_its_compiler_still_warms_is_compiled_in_it() {
    let sandbox = Sandbox::new();
    let gate = sandbox.path().join("gate");
    let loader = format!(
        "while [ ! -e {} ]; do sleep 0.01; done; printf 'ready\\n' >&4; \
         dd bs=65536 count=1 <&3 >/dev/null 2>&1; printf '0\\n0\\n5\\nnote\\n' >&4; \
         printf 'argv: '; cat <&3 | tr '\\0' ' '; echo",
        gate.display()
    );
    let (mut runner, mut stdout) = start_runner(&sandbox, "java", &loader);
    let mut line = Vec::new();
    // Read while the gate is still closed: the compiler has not warmed up.
    stdout.read_until(b'\n', &mut line).unwrap();
    assert_eq!(line, RUNNER_READY);
    let mut frame = sh("echo afresh");
    frame.compile = Some(stage(&["sh", "-c", "echo compiled afresh >&2"]));
    frame.program_argv = Some(vec!["prog".into(), "a".into()]);
    let mut stdin = runner.stdin.take().unwrap();
    stdin
        .write_all(&serde_json::to_vec(&frame).unwrap())
        .unwrap();
    drop(stdin);
    std::fs::write(&gate, "").unwrap();
    let mut answer = RUNNER_READY.to_vec();
    stdout.read_to_end(&mut answer).unwrap();
    assert!(runner.wait().unwrap().success());
    let result = parse_result(&answer);
    assert_eq!(result.compile.unwrap().stderr, "note\n");
    assert_eq!(result.run.unwrap().stdout, "argv: prog a\n");
}

#[test]
fn a_runtime_that_ends_before_it_is_ready_is_left_out_of_the_job() {
    let sandbox = Sandbox::new();
    let mut frame = sh("echo afresh");
    frame.program_argv = Some(vec!["main.py".into()]);
    let args = ["--prestart", "python", "sh", "-c", "exit 3"];
    let outcome = run_raw_with(sandbox.path(), &args, serde_json::to_vec(&frame).unwrap());
    assert_eq!(outcome.exit_code, Some(0));
    let run = parse_result(&outcome.stdout).run.unwrap();
    assert_eq!(run.status, StageStatus::Succeeded, "{run:?}");
    assert_eq!(run.stdout, "afresh\n");
}
