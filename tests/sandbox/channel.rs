//! The direct channel between the service and each runner: a program cannot reach it or speak
//! for its runner, the attach stream still serves when the channel is off (interactive jobs too),
//! and the channel's directory on the host is gone once the service has connected.

use std::path::PathBuf;

use crate::common::languages::PYTHON_ONLY;
use crate::common::websocket::Socket;
use crate::common::{instance_containers, test_instance, Service};
use serde_json::json;

/// A result frame as the runner writes one, claiming success with other output.
const FORGED_FRAME: &str = r#"{"compile":null,"run":{"status":"succeeded","stdout":"forged","stderr":"","stdout_truncated":false,"stderr_truncated":false,"exit_code":0,"signal":null,"wall_ms":1,"cpu_ms":1,"peak_rss_bytes":1,"oom_killed":false},"runner_error":null}"#;

/// Tries every way to the runner's channel and result, prints what each got, then forges a
/// result frame on stdout and stderr and exits 3.
const SPEAK_FOR_THE_RUNNER: &str = r#"
import os, socket, sys
forged = sys.stdin.read()
def attempt(name, action):
    try:
        action()
        print(name, "worked")
    except OSError as error:
        print(name, type(error).__name__)
attempt("list", lambda: os.listdir("/run/codeexec"))
attempt("connect", lambda: socket.socket(socket.AF_UNIX).connect("/run/codeexec/runner.sock"))
attempt("runner stdout", lambda: open("/proc/1/fd/1", "w").write(forged + "\n"))
print(forged)
print(forged, file=sys.stderr)
sys.exit(3)
"#;

#[test]
fn a_program_cannot_reach_the_channel_or_speak_for_its_runner() {
    let service = Service::start_ready("channel-forge", &PYTHON_ONLY);
    let result = service.run_with(json!({
        "language": "python",
        "code": SPEAK_FOR_THE_RUNNER,
        "stdin": FORGED_FRAME,
    }));
    assert_eq!(
        result["stdout"],
        format!(
            "list PermissionError\nconnect PermissionError\nrunner stdout PermissionError\n{FORGED_FRAME}\n"
        ),
        "{result}"
    );
    assert_eq!(result["stderr"], format!("{FORGED_FRAME}\n"), "{result}");
    assert_eq!(result["exitCode"], 3, "{result}");
    assert_eq!(result["runTimeStatus"], "runtime_error", "{result}");
}

#[test]
fn without_the_channel_the_attach_stream_carries_the_job() {
    let mut overrides = PYTHON_ONLY.to_vec();
    overrides.push(("CODEEXEC_DOCKER__CHANNEL_DIR", ""));
    let service = Service::start_ready("channel-off", &overrides);
    for container in service.containers() {
        let id = container.id.unwrap();
        let inspect = crate::common::block_on_docker(|docker| async move {
            docker.inspect_container(&id, None).await
        })
        .unwrap();
        let config = inspect.config.unwrap();
        assert_eq!(config.open_stdin, Some(true));
        assert_eq!(config.stdin_once, Some(true));
        let cmd = config.cmd.unwrap();
        assert!(!cmd.contains(&"--channel".to_string()), "{cmd:?}");
        assert_eq!(inspect.host_config.unwrap().binds, None);
    }
    let result = service.run_with(json!({
        "language": "python",
        "code": "import sys; print(sys.stdin.read().upper()); sys.exit(4)",
        "stdin": "through dockerd",
    }));
    assert_eq!(result["stdout"], "THROUGH DOCKERD\n", "{result}");
    assert_eq!(result["exitCode"], 4, "{result}");

    // An interactive job keeps the attach stream open both ways.
    let mut socket = Socket::connect(&service.url, "/api/v1/connect");
    let code = "print('name?', flush=True)\nprint('hello', input())\n";
    socket.send(&json!({ "language": "python", "code": code }));
    socket.expect_stdout("stdout", "name?\n");
    socket.send(&json!({ "type": "stdin", "data": "attach\n" }));
    socket.expect_stdout("stdout", "hello attach\n");
    let (messages, close, _) = socket.until_closed();
    assert_eq!(close, 1000, "{messages:?}");
    assert_eq!(messages.last().unwrap()["result"]["exitCode"], 0);
}

/// The channel directories of an instance's containers, from their labels.
fn channel_dirs(instance: &str) -> Vec<PathBuf> {
    instance_containers(instance)
        .into_iter()
        .map(|container| {
            let labels = container.labels.unwrap_or_default();
            PathBuf::from("/run/codeexec").join(&labels["codeexec.channel"])
        })
        .collect()
}

/// The directory is only the way in: once connected, the service removes it, and the runner
/// inside, having taken its one connection, has unlinked its socket. So a waiting container
/// leaves nothing on the host. (A service killed between making a directory and creating its
/// container leaves an orphan, which any service's sweeps remove once it is older than a start
/// can take: a unit test in the engine's `channel.rs`.)
#[test]
fn a_channel_directory_is_gone_once_the_runner_is_connected() {
    let instance = test_instance("channel-dirs");
    let service = Service::start_instance(&instance, &PYTHON_ONLY);
    service.wait_until_ready();
    let pooled = channel_dirs(&instance);
    assert_eq!(pooled.len(), 2, "{pooled:?}");
    assert!(pooled.iter().all(|dir| !dir.exists()), "{pooled:?}");
    assert_eq!(service.run("python", "print('used')")["stdout"], "used\n");
    // Once the pool has refilled, no container's directory is left, the replacement's included.
    crate::common::wait_until("the pool is full again", || {
        service.pools_full_and_settled()
    });
    let refilled = channel_dirs(&instance);
    assert!(refilled.iter().all(|dir| !dir.exists()), "{refilled:?}");

    // A service killed outright leaves its containers; the next start of the instance removes
    // them.
    service.signal(libc::SIGKILL);
    service.wait_for_exit();
    assert!(!instance_containers(&instance).is_empty());
    let restarted = Service::start_instance(&instance, &PYTHON_ONLY);
    restarted.wait_until_ready();
    let current = channel_dirs(&instance);
    assert_eq!(
        current.len(),
        2,
        "only the new pool's containers: {current:?}"
    );
    restarted.terminate();
    assert!(instance_containers(&instance).is_empty());
}
