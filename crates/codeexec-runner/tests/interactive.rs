//! Interactive jobs on the host: the runner sends each stage's start and its output as the
//! program writes it, takes stdin and signals while the program runs, and ends with the result.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use codeexec_protocol::stream::{OutputStream, StageName, StreamEvent, StreamInput};
use codeexec_protocol::{JobFrame, ResultFrame, StageStatus};
use common::{sh, stage, Sandbox};

/// Longer than any of these jobs should take between two events.
const EVENT_WAIT: Duration = Duration::from_secs(30);

/// A runner serving one interactive job over its stdin and stdout.
struct Session {
    runner: Child,
    input: Option<ChildStdin>,
    events: Receiver<StreamEvent>,
    _sandbox: Sandbox,
}

impl Session {
    fn start(mut frame: JobFrame) -> Session {
        frame.interactive = true;
        let sandbox = Sandbox::new();
        let mut runner = Command::new(env!("CARGO_BIN_EXE_codeexec-runner"))
            .arg("--sandbox")
            .arg(sandbox.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut input = runner.stdin.take().unwrap();
        let mut line = serde_json::to_vec(&frame).unwrap();
        line.push(b'\n');
        input.write_all(&line).unwrap();
        let stdout = BufReader::new(runner.stdout.take().unwrap());
        let (sender, events) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = stdout.lines();
            let ready = lines.next().expect("a ready line").unwrap() + "\n";
            assert_eq!(ready.as_bytes(), codeexec_protocol::RUNNER_READY);
            for line in lines {
                let event = serde_json::from_str(&line.unwrap()).expect("one event per line");
                if sender.send(event).is_err() {
                    return;
                }
            }
        });
        Session {
            runner,
            input: Some(input),
            events,
            _sandbox: sandbox,
        }
    }

    fn send(&mut self, message: &StreamInput) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        let input = self.input.as_mut().expect("input still open");
        input.write_all(&line).unwrap();
        input.flush().unwrap();
    }

    fn next(&self) -> StreamEvent {
        self.events
            .recv_timeout(EVENT_WAIT)
            .expect("the runner sent no event in time")
    }

    /// The output events up to the next other event, concatenated per stream, and that event.
    fn output_until_other(&self) -> (String, String, StreamEvent) {
        let (mut stdout, mut stderr) = (String::new(), String::new());
        loop {
            match self.next() {
                StreamEvent::Output { stream, data } => match stream {
                    OutputStream::Stdout => stdout.push_str(&data),
                    OutputStream::Stderr => stderr.push_str(&data),
                },
                other => return (stdout, stderr, other),
            }
        }
    }

    /// Reads stdout output until it ends with `wanted`, panicking on any other event.
    fn expect_stdout(&self, wanted: &str) {
        let mut seen = String::new();
        while !seen.ends_with(wanted) {
            match self.next() {
                StreamEvent::Output {
                    stream: OutputStream::Stdout,
                    data,
                } => seen.push_str(&data),
                other => panic!("wanted {wanted:?} on stdout, got {other:?} after {seen:?}"),
            }
        }
        assert_eq!(seen, wanted);
    }

    /// The result, which must be the next non-output event, once the runner has exited 0.
    fn result(mut self) -> ResultFrame {
        let (_, _, last) = self.output_until_other();
        let StreamEvent::Result(result) = last else {
            panic!("wanted the result, got {last:?}");
        };
        drop(self.input.take());
        assert_eq!(self.runner.wait().unwrap().code(), Some(0));
        result
    }
}

#[test]
fn output_arrives_before_the_program_reads_and_typed_lines_reach_it() {
    let mut session = Session::start(sh(
        "printf 'name? '; read name; echo \"hello $name\"; read more; echo \"more: [$more]\" >&2",
    ));
    assert_eq!(
        session.next(),
        StreamEvent::Stage {
            stage: StageName::Run
        }
    );
    session.expect_stdout("name? ");
    session.send(&StreamInput::Stdin {
        data: "bob\n".into(),
    });
    session.expect_stdout("hello bob\n");
    session.send(&StreamInput::StdinEnd);
    let (stdout, stderr, last) = session.output_until_other();
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", "more: []\n"));
    let StreamEvent::Result(result) = last else {
        panic!("wanted the result, got {last:?}");
    };
    let run = result.run.expect("a run stage");
    assert_eq!(run.status, StageStatus::Succeeded);
    assert_eq!(run.stdout, "name? hello bob\n");
    assert_eq!(run.stderr, "more: []\n");
}

#[test]
fn the_frames_stdin_comes_first_then_what_is_typed() {
    let mut frame = sh("read a; read b; echo \"$a,$b\"");
    frame.stdin = "given\n".into();
    let mut session = Session::start(frame);
    assert!(matches!(session.next(), StreamEvent::Stage { .. }));
    session.send(&StreamInput::Stdin {
        data: "typed\n".into(),
    });
    let result = session.result();
    assert_eq!(result.run.unwrap().stdout, "given,typed\n");
}

#[test]
fn a_signal_ends_the_running_program_as_that_signal_does() {
    let mut session = Session::start(sh("echo ready; exec sleep 60"));
    assert!(matches!(session.next(), StreamEvent::Stage { .. }));
    session.expect_stdout("ready\n");
    session.send(&StreamInput::Signal { signal: 15 });
    let run = session.result().run.expect("a run stage");
    assert_eq!(run.signal, Some(15));
    assert_eq!(run.status, StageStatus::Failed);
}

#[test]
fn output_past_the_cap_is_not_sent_and_the_status_says_so() {
    let mut frame = sh("yes 0123456789 | head -c 100000; sleep 60");
    frame.output_limit_bytes = 1000;
    let session = Session::start(frame);
    assert!(matches!(session.next(), StreamEvent::Stage { .. }));
    let (stdout, _, last) = session.output_until_other();
    assert_eq!(stdout.len(), 1000);
    let StreamEvent::Result(result) = last else {
        panic!("wanted the result, got {last:?}");
    };
    let run = result.run.expect("a run stage");
    assert_eq!(run.status, StageStatus::OutputLimitExceeded);
    assert!(run.stdout_truncated);
    assert_eq!(run.stdout, stdout);
}

#[test]
fn the_compile_stage_streams_before_the_run_stage() {
    let mut frame = sh("echo ran");
    frame.compile = Some(stage(&["sh", "-c", "echo compiling >&2"]));
    let session = Session::start(frame);
    assert_eq!(
        session.next(),
        StreamEvent::Stage {
            stage: StageName::Compile
        }
    );
    let (stdout, stderr, next) = session.output_until_other();
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", "compiling\n"));
    assert_eq!(
        next,
        StreamEvent::Stage {
            stage: StageName::Run
        }
    );
    session.expect_stdout("ran\n");
    let result = session.result();
    assert_eq!(result.compile.unwrap().stderr, "compiling\n");
    assert_eq!(result.run.unwrap().stdout, "ran\n");
}
