//! The direct channel on the host: the runner takes its job from the first connection to its
//! socket, answers there and not on stdout, and lets no second connection in.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codeexec_protocol::{StageStatus, CHANNEL_FLAG, CHANNEL_SOCKET};
use common::{parse_result, sh, Sandbox};

/// Connects to the runner's socket once it is there.
fn connect(socket: &std::path::Path) -> UnixStream {
    let started = Instant::now();
    loop {
        match UnixStream::connect(socket) {
            Ok(stream) => return stream,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(error) => panic!("the runner never listened on {}: {error}", socket.display()),
        }
    }
}

#[test]
fn the_job_comes_and_its_result_goes_over_the_channel_only() {
    let (sandbox, channel) = (Sandbox::new(), Sandbox::new());
    let runner = Command::new(env!("CARGO_BIN_EXE_codeexec-runner"))
        .arg("--sandbox")
        .arg(sandbox.path())
        .arg(CHANNEL_FLAG)
        .arg(channel.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let socket = channel.path().join(CHANNEL_SOCKET);
    let mut engine = connect(&socket);
    engine
        .write_all(&serde_json::to_vec(&sh("echo over the channel")).unwrap())
        .unwrap();
    engine.shutdown(Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    engine.read_to_end(&mut answer).unwrap();
    let result = parse_result(&answer);
    let run = result.run.expect("a run stage");
    assert_eq!(run.status, StageStatus::Succeeded);
    assert_eq!(run.stdout, "over the channel\n");
    assert!(
        UnixStream::connect(&socket).is_err(),
        "a second connection is refused"
    );

    let output = runner.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
}
