//! What a pool container is: every hardening setting as Docker reports it, proof that the
//! container serving a job was started before the job was asked for (the pool is warm), and that
//! while it waits for its job it uses no CPU.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use crate::common::{block_on_docker, instance_containers, test_instance, wait_for, Service};
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;

fn inspect(id: &str) -> ContainerInspectResponse {
    let id = id.to_string();
    block_on_docker(|docker| async move { docker.inspect_container(&id, None).await })
        .expect("inspect container")
}

fn python_containers(service: &Service) -> Vec<String> {
    language_containers(service, "python")
}

fn language_containers(service: &Service, language: &str) -> Vec<String> {
    service
        .containers()
        .into_iter()
        .filter(|c| c.labels.as_ref().unwrap()["codeexec.language"] == language)
        .filter_map(|c| c.id)
        .collect()
}

/// The CPU time a container has used so far, in nanoseconds, as the engine reports it.
fn cpu_used_ns(id: &str) -> u64 {
    let id = id.to_string();
    let options = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(true)
        .build();
    let stats = block_on_docker(|docker| async move {
        docker
            .stats(&id, Some(options))
            .next()
            .await
            .map(|stats| stats.expect("stats"))
    })
    .expect("one stats sample");
    stats
        .cpu_stats
        .and_then(|cpu| cpu.cpu_usage)
        .and_then(|usage| usage.total_usage)
        .expect("CPU usage")
}

#[test]
fn pool_containers_are_hardened_and_warm() {
    let service = Service::start_ready("pool", &[]);
    check_idle_without_cpu(&service);
    check_hardening(&service);
    check_warm(&service);
    check_uids_apart(&service);
}

/// A ready pool container waiting for its job uses no CPU: its runner (Go and C++ start no
/// runtime before the job) and its pre-started interpreter (Python) sleep until the job comes,
/// so an idle service costs its machine nothing but memory. (A waiting JVM has periodic work of its
/// own, so Java is left out.)
fn check_idle_without_cpu(service: &Service) {
    let waiting: Vec<String> = ["go", "cpp", "python"]
        .iter()
        .flat_map(|language| language_containers(service, language))
        .collect();
    assert!(waiting.len() >= 3, "{waiting:?}");
    let before: Vec<u64> = waiting.iter().map(|id| cpu_used_ns(id)).collect();
    std::thread::sleep(Duration::from_secs(3));
    for (id, before) in waiting.iter().zip(before) {
        let used = cpu_used_ns(id) - before;
        // A runner that asked the kernel for its children every 5 ms used about 12 ms here.
        assert!(
            used < 1_000_000,
            "{id} used {used} ns of CPU in 3 s while waiting for its job"
        );
    }
}

/// Jobs running at once each run under a uid of their own, none of them the runner's.
fn check_uids_apart(service: &Service) {
    let code = "import os, time\ntime.sleep(1)\nprint(os.getuid(), os.getgid())\n";
    let outputs: Vec<String> = std::thread::scope(|scope| {
        let jobs: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| service.run("python", code)))
            .collect();
        jobs.into_iter()
            .map(|job| job.join().unwrap()["output"].as_str().unwrap().to_string())
            .collect()
    });
    let uids: HashSet<&str> = outputs
        .iter()
        .map(|output| {
            let (uid, gid) = output.trim().split_once(' ').unwrap();
            assert_eq!(uid, gid, "{outputs:?}");
            assert!(uid != "65534" && uid != "0", "{outputs:?}");
            uid
        })
        .collect();
    assert_eq!(uids.len(), 3, "three jobs at once, three uids: {outputs:?}");
}

fn check_hardening(service: &Service) {
    let id = python_containers(service)
        .pop()
        .expect("a python pool container");
    let container = inspect(&id);
    let state = container.state.as_ref().unwrap();
    assert_eq!(
        state.running,
        Some(true),
        "pool containers are already started"
    );
    let config = container.config.as_ref().unwrap();
    // Root only to start: the runner drops at once to 65534 with SETUID, SETGID and KILL alone,
    // and runs the program as a uid of the container's own (hostile_isolation.rs shows both).
    assert_eq!(config.user.as_deref(), Some("0:0"));
    let cmd = config.cmd.as_ref().unwrap();
    let program_uid = match &cmd[..5] {
        [_, user, runner, program, uid] if user == "--user" && program == "--program-user" => {
            assert_eq!(runner, "65534:65534", "{cmd:?}");
            uid.clone()
        }
        _ => panic!("the runner is told its user and the program's: {cmd:?}"),
    };
    assert!(program_uid != "65534" && program_uid != "0", "{cmd:?}");
    // The job comes over the direct channel (tests/sandbox/channel.rs), not on stdin.
    assert_eq!(&cmd[5..7], ["--channel", "/run/codeexec"], "{cmd:?}");
    assert_eq!(config.open_stdin, Some(false));
    let labels = config.labels.as_ref().unwrap();
    assert_eq!(labels["codeexec.managed"], "true");
    assert_eq!(labels["codeexec.language"], "python");
    assert_eq!(labels["codeexec.instance"], service.instance);

    let host = container.host_config.as_ref().unwrap();
    // One bind mount: the container's own channel directory, which only the runner's uid may
    // enter (tests/sandbox/channel.rs), and which the service removed from the host once it had
    // connected.
    let binds = host.binds.as_deref().unwrap_or_default();
    let [bind] = binds else {
        panic!("one bind mount, the channel's: {binds:?}")
    };
    let channel = format!("/run/codeexec/{}", labels["codeexec.channel"]);
    assert_eq!(bind, &format!("{channel}:/run/codeexec:rw"));
    assert!(!std::path::Path::new(&channel).exists(), "{channel}");
    assert_eq!(host.readonly_rootfs, Some(true), "read-only root");
    assert_eq!(host.network_mode.as_deref(), Some("none"), "no network");
    let memory = 256 * 1024 * 1024;
    assert_eq!(host.memory, Some(memory), "memory limit");
    assert_eq!(host.memory_swap, Some(memory), "swap equal to memory");
    assert_eq!(host.nano_cpus, Some(1_000_000_000), "CPU quota");
    assert_eq!(host.pids_limit, Some(64), "pids limit");
    assert_eq!(
        host.cap_drop.as_deref(),
        Some(&["ALL".to_string()][..]),
        "capabilities"
    );
    assert_eq!(
        host.cap_add.as_deref(),
        Some(
            &[
                "SETUID".to_string(),
                "SETGID".to_string(),
                "KILL".to_string()
            ][..]
        ),
        "the runner's capabilities, which the program does not get"
    );
    assert_eq!(host.privileged, Some(false));
    let security = host.security_opt.as_ref().unwrap();
    assert!(
        security.contains(&"no-new-privileges".to_string()),
        "{security:?}"
    );
    // Our own seccomp profile, as the repository's file holds it, in place of the engine's
    // default (and the runner stacks its own filter on every stage:
    // tests/sandbox/hostile_isolation.rs); never unconfined.
    assert!(
        !security.iter().any(|option| option.contains("unconfined")),
        "{security:?}"
    );
    let profiles: Vec<Value> = security
        .iter()
        .filter_map(|option| option.strip_prefix("seccomp="))
        .map(|json| serde_json::from_str(json).expect("the seccomp option holds JSON"))
        .collect();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/seccomp.json"))
        .expect("config/seccomp.json");
    let shipped: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(profiles, [shipped], "the container's seccomp profile");
    assert_eq!(security.len(), 2, "{security:?}");
    // AppArmor: Docker's default profile where the engine's kernel has AppArmor, none otherwise.
    let engine = block_on_docker(|docker| async move { docker.info().await }).unwrap();
    let apparmor = engine
        .security_options
        .unwrap_or_default()
        .iter()
        .any(|option| option.contains("name=apparmor"));
    let expected_profile = if apparmor { "docker-default" } else { "" };
    assert_eq!(
        container.app_armor_profile.as_deref().unwrap_or_default(),
        expected_profile
    );
    assert_eq!(
        host.init,
        Some(false),
        "no init process: the runner is PID 1"
    );
    assert_eq!(
        host.log_config.as_ref().unwrap().typ.as_deref(),
        Some("none"),
        "no logs"
    );

    let ulimits: Vec<(String, i64)> = host
        .ulimits
        .as_ref()
        .unwrap()
        .iter()
        .map(|u| (u.name.clone().unwrap(), u.hard.unwrap()))
        .collect();
    assert!(ulimits.contains(&("nofile".into(), 1024)), "{ulimits:?}");
    assert!(
        ulimits.contains(&("fsize".into(), 32 * 1024 * 1024)),
        "{ulimits:?}"
    );
    assert!(ulimits.contains(&("core".into(), 0)), "{ulimits:?}");

    let tmpfs = host.tmpfs.as_ref().unwrap();
    let sandbox = &tmpfs["/sandbox"];
    assert!(
        sandbox.contains("size=64m") && sandbox.contains("exec"),
        "{sandbox}"
    );
    assert!(
        sandbox.contains(&format!("uid={program_uid},gid={program_uid}")),
        "{sandbox}"
    );
    assert!(tmpfs["/tmp"].contains("size=64m"), "{tmpfs:?}");
    // Docker's own /dev/shm (64 MB, no inode limit) is replaced by one sized with the others.
    assert!(tmpfs["/dev/shm"].contains("size=16m"), "{tmpfs:?}");
    assert!(tmpfs["/dev/shm"].contains("noexec"), "{tmpfs:?}");
    for mount in ["/sandbox", "/tmp", "/dev/shm"] {
        assert!(
            tmpfs[mount].contains("nr_inodes=4096"),
            "{mount}: {tmpfs:?}"
        );
    }
}

/// With `docker.cpuset_cpus`, every container and its program keep to those CPUs: what a node
/// sharing its machine with others (scripts/cluster with CODEEXEC_CLUSTER_PIN_CPUS) relies on.
#[test]
fn a_configured_cpu_set_pins_the_containers_and_their_programs() {
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let last = (cpus - 1).max(0).to_string();
    let others: Vec<String> = ["JAVASCRIPT", "RUBY", "JAVA", "GO", "CPP"]
        .iter()
        .map(|other| format!("CODEEXEC_LANGUAGES__{other}__ENABLED"))
        .collect();
    let mut overrides = vec![("CODEEXEC_DOCKER__CPUSET_CPUS", last.as_str())];
    overrides.extend(others.iter().map(|key| (key.as_str(), "false")));
    let service = Service::start_ready("cpuset", &overrides);
    for id in python_containers(&service) {
        let host = inspect(&id).host_config.unwrap();
        assert_eq!(host.cpuset_cpus.as_deref(), Some(last.as_str()), "{id}");
    }
    let answer = service.run(
        "python",
        "import os\nprint(sorted(os.sched_getaffinity(0)))",
    );
    assert_eq!(answer["output"], format!("[{last}]\n"), "{answer}");
}

/// The service does not start without its seccomp profile: a missing file, or one that is not a
/// Docker profile, stops it before it creates a single container, with a message naming the file.
#[test]
fn a_missing_or_invalid_seccomp_profile_stops_the_service_at_start() {
    let broken = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken-seccomp.json");
    std::fs::write(
        &broken,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": "#,
    )
    .unwrap();
    let broken = broken.display().to_string();
    for (profile, says) in [
        (
            "config/no-such-profile.json",
            "cannot read the seccomp profile",
        ),
        (broken.as_str(), "is not a Docker seccomp profile"),
    ] {
        let instance = test_instance("no-profile");
        let mut service = std::process::Command::new(env!("CARGO_BIN_EXE_codeexec"))
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PORT", "0")
            .env("CODEEXEC_DOCKER__INSTANCE", &instance)
            .env("CODEEXEC_DOCKER__SECCOMP_PROFILE", profile)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn codeexec");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let exited = loop {
            if let Some(status) = service.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                // It started after all: SIGTERM makes it remove its containers on the way out.
                // SAFETY: kill(2) on the child this test spawned and has not yet reaped.
                unsafe { libc::kill(service.id() as i32, libc::SIGTERM) };
                service.wait().unwrap();
                panic!("{profile}: the service started without its seccomp profile");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut service.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!exited.success(), "{profile}: {exited}\n{stderr}");
        assert!(stderr.contains(says), "{profile}: {stderr}");
        assert!(stderr.contains(profile), "{profile}: {stderr}");
        assert!(stderr.contains("docker.seccomp_profile"), "{stderr}");
        assert!(instance_containers(&instance).is_empty(), "{profile}");
    }
}

fn check_warm(service: &Service) {
    let started: HashMap<String, DateTime<Utc>> = python_containers(service)
        .into_iter()
        .map(|id| {
            let started_at = started_at(&id).expect("a running pool container has a start time");
            (id, started_at)
        })
        .collect();
    let requested_at: DateTime<Utc> = SystemTime::now().into();
    let result = service.run("python", "print('warm')");
    assert_eq!(result["output"], "warm\n");
    // The container that served the job is the one of those that is no longer running: it is
    // used once and removed.
    let used = wait_for("the used container is gone", || {
        let running = running_python_containers(service);
        let gone: Vec<String> = started
            .keys()
            .filter(|id| !running.contains(id))
            .cloned()
            .collect();
        (!gone.is_empty()).then_some(gone)
    });
    assert_eq!(used.len(), 1, "one job uses one container: {used:?}");
    let started_at = started[&used[0]];
    assert!(
        started_at < requested_at,
        "started {started_at}, requested {requested_at}"
    );
}

fn running_python_containers(service: &Service) -> Vec<String> {
    python_containers(service)
        .into_iter()
        .filter(|id| started_at(id).is_some())
        .collect()
}

/// When the container started, while it runs.
fn started_at(id: &str) -> Option<DateTime<Utc>> {
    let id = id.to_string();
    let inspected =
        block_on_docker(|docker| async move { docker.inspect_container(&id, None).await });
    let state = inspected.ok()?.state?;
    if state.running != Some(true) {
        return None;
    }
    DateTime::parse_from_rfc3339(&state.started_at?)
        .ok()
        .map(Into::into)
}
