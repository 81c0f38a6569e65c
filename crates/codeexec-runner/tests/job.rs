//! Whole jobs: the compile stage, malformed frames and refused files.

mod common;

use codeexec_protocol::{SourceFile, StageStatus};
use common::{job, run_frame, run_raw, sh, stage, Sandbox};

#[test]
fn a_compile_stage_builds_what_the_run_stage_runs() {
    let mut frame = job(&["./prog"]);
    frame.compile = Some(stage(&[
        "sh",
        "-c",
        "printf '#!/bin/sh\\necho built\\n' > prog && chmod +x prog",
    ]));
    let result = run_frame(&Sandbox::new(), &frame);
    assert_eq!(result.compile.unwrap().status, StageStatus::Succeeded);
    assert_eq!(result.run.unwrap().stdout, "built\n");
}

#[test]
fn a_failed_compile_skips_the_run_stage() {
    let mut frame = sh("echo ran > ran.txt");
    frame.compile = Some(stage(&["sh", "-c", "echo 'syntax error' >&2; exit 1"]));
    let sandbox = Sandbox::new();
    let result = run_frame(&sandbox, &frame);
    let compile = result.compile.unwrap();
    assert_eq!(compile.status, StageStatus::Failed);
    assert_eq!(compile.stderr, "syntax error\n");
    assert_eq!(result.run, None);
    assert!(!sandbox.path().join("ran.txt").exists());
}

#[test]
fn a_compiler_that_cannot_start_skips_the_run_stage() {
    let mut frame = sh("echo ran");
    frame.compile = Some(stage(&["no-such-compiler-anywhere"]));
    let result = run_frame(&Sandbox::new(), &frame);
    assert_eq!(result.compile.unwrap().status, StageStatus::FailedToStart);
    assert_eq!(result.run, None);
}

#[test]
fn a_compile_stage_past_its_time_limit_skips_the_run_stage() {
    let mut frame = sh("echo ran");
    let mut compile = stage(&["sleep", "30"]);
    compile.wall_time_limit_ms = 300;
    frame.compile = Some(compile);
    let result = run_frame(&Sandbox::new(), &frame);
    assert_eq!(result.compile.unwrap().status, StageStatus::TimedOut);
    assert_eq!(result.run, None);
}

#[test]
fn resource_usage_is_per_stage() {
    let mut frame = sh("true");
    frame.compile = Some(stage(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done",
    ]));
    let result = run_frame(&Sandbox::new(), &frame);
    let (compile, run) = (result.compile.unwrap(), result.run.unwrap());
    assert!(compile.cpu_ms >= 50, "compile cpu_ms = {}", compile.cpu_ms);
    assert!(
        run.cpu_ms < compile.cpu_ms / 2,
        "run cpu_ms {} includes the compile stage",
        run.cpu_ms
    );
}

#[test]
fn a_malformed_frame_gives_a_runner_error() {
    for input in [&b"not json"[..], b"", b"{}", b"{\"files\": 3}", b"\xff\xfe"] {
        let outcome = run_raw(Sandbox::new().path(), input.to_vec());
        assert_eq!(outcome.exit_code, Some(2));
        let result = common::parse_result(&outcome.stdout);
        assert!(result.runner_error.is_some(), "no error for {input:?}");
        assert_eq!((result.compile, result.run), (None, None));
    }
}

#[test]
fn a_file_name_leaving_the_sandbox_is_refused() {
    for name in ["../escaped.txt", "/tmp/codeexec-runner-absolute.txt"] {
        let sandbox = Sandbox::new();
        let mut frame = sh("echo ran");
        frame.files = vec![SourceFile {
            name: name.into(),
            content: "x".into(),
        }];
        let result = run_frame(&sandbox, &frame);
        assert!(result.runner_error.is_some(), "{name} was accepted");
        assert_eq!(result.run, None);
        assert!(!sandbox.path().join(name).exists());
        assert!(!std::path::Path::new("/tmp/codeexec-runner-absolute.txt").exists());
    }
}

#[test]
fn an_unwritable_sandbox_gives_a_runner_error() {
    let sandbox = Sandbox::new();
    let mut frame = sh("echo ran");
    frame.files = vec![SourceFile {
        name: "main.sh".into(),
        content: "x".into(),
    }];
    // A regular file where the sandbox directory should be.
    let blocked = sandbox.path().join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let outcome = run_raw(&blocked, serde_json::to_vec(&frame).unwrap());
    assert_eq!(outcome.exit_code, Some(0));
    let result = common::parse_result(&outcome.stdout);
    assert!(result.runner_error.unwrap().contains("main.sh"));
    assert_eq!(result.run, None);
}
