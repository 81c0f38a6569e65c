//! Docker faults: a container killed or removed from outside while it runs a job, and the Docker
//! engine itself stopping and coming back. The engine outage runs against a private dockerd
//! (see `private_engine`), never the shared one.

use crate::common::languages::{configured_image, PYTHON_ONLY};
use crate::common::{block_on_docker, wait_for, wait_until, Service};
use crate::private_engine::PrivateEngine;
use bollard::query_parameters::{KillContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use serde_json::{json, Value};

/// A job that runs until something stops it from outside (its own limit is raised to two
/// minutes, so the test has time to find its container however loaded the machine is).
const ENDLESS_JOB: &str = "import time\nprint('started', flush=True)\ntime.sleep(110)\n";

fn python_service(name: &str, extra: &[(&str, &str)]) -> Service {
    let mut overrides = PYTHON_ONLY.to_vec();
    overrides.extend_from_slice(extra);
    Service::start_ready(name, &overrides)
}

fn python_pool(service: &Service) -> Value {
    let (_, languages) = service.get("/api/v1/languages");
    languages["languages"][0]["pool"].clone()
}

/// The id of the container whose processes include the job's program.
fn container_running_the_job(service: &Service) -> String {
    wait_for("the job's program runs in a pool container", || {
        service.containers().into_iter().find_map(|container| {
            let id = container.id?;
            let probe = id.clone();
            let top =
                block_on_docker(|docker| async move { docker.top_processes(&probe, None).await })
                    .ok()?;
            let runs_job = top.processes.unwrap_or_default().iter().any(|process| {
                process
                    .iter()
                    .any(|column| column.contains("python3 -u main.py"))
            });
            runs_job.then_some(id)
        })
    })
}

/// Starts the endless job, lets `sabotage` act on its container, and returns the job's result
/// once the service has replaced the container and still runs a hello world.
fn sabotage_a_job_in_flight(name: &str, sabotage: impl FnOnce(String)) -> Value {
    let service = python_service(
        name,
        &[("CODEEXEC_LANGUAGES__PYTHON__TIMEOUT_MS", "120000")],
    );
    let result = std::thread::scope(|scope| {
        let job = scope.spawn(|| {
            service.post(
                "/api/v1/execute",
                &json!({ "language": "python", "code": ENDLESS_JOB }),
            )
        });
        let victim = container_running_the_job(&service);
        sabotage(victim.clone());
        let (status, body) = job.join().unwrap();
        assert_eq!(status, 200, "{body}");
        wait_until("the sabotaged container is gone and the pool full", || {
            let ids: Vec<String> = service
                .containers()
                .into_iter()
                .filter_map(|c| c.id)
                .collect();
            let pool = python_pool(&service);
            !ids.contains(&victim) && pool["ready"] == pool["target"]
        });
        body["result"].clone()
    });
    let hello = service.run("python", "print('still here')");
    assert_eq!(hello["output"], "still here\n", "{hello}");
    assert!(service.terminate().success());
    assert!(service.containers().is_empty(), "containers left behind");
    result
}

#[test]
fn a_container_killed_while_it_runs_a_job_gives_internal_error_and_is_replaced() {
    let result = sabotage_a_job_in_flight("kill-in-use", |id| {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        block_on_docker(|docker| async move { docker.kill_container(&id, Some(options)).await })
            .expect("kill the container");
    });
    assert_eq!(result["runTimeStatus"], "internal_error", "{result}");
    let message = result["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("exited without a result") && message.contains("killed from outside"),
        "{message}"
    );
}

#[test]
fn a_container_removed_while_it_runs_a_job_gives_internal_error_and_is_replaced() {
    let result = sabotage_a_job_in_flight("remove-in-use", |id| {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        block_on_docker(|docker| async move { docker.remove_container(&id, Some(options)).await })
            .expect("remove the container");
    });
    assert_eq!(result["runTimeStatus"], "internal_error", "{result}");
    let message = result["errorMessage"].as_str().unwrap();
    // `docker rm -f` kills first, so the job may see the kill or the removal; either way the
    // message says the container was taken from outside.
    assert!(
        message.contains("exited without a result") && message.contains("from outside"),
        "{message}"
    );
}

#[test]
fn when_the_docker_engine_stops_jobs_get_503_and_pools_refill_when_it_is_back() {
    let mut engine = PrivateEngine::start();
    engine.load_image(&configured_image("python"));
    let service = python_service("engine-outage", &[("CODEEXEC_DOCKER__HOST", &engine.host)]);
    let hello = service.run("python", "print('before')");
    assert_eq!(hello["output"], "before\n", "{hello}");

    engine.stop();
    let health = wait_for("/health reports the engine gone", || {
        let (status, body) = service.get("/health");
        let pool_down = body["pools"]["python"]["healthy"] == false;
        (status == 503 && body["docker"] == "unreachable" && pool_down).then_some(body)
    });
    assert_eq!(health["status"], "UNAVAILABLE", "{health}");
    let (status, headers, body) = service.post_raw(
        "/api/v1/execute",
        br#"{"language": "python", "code": "print(1)"}"#.to_vec(),
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers["retry-after"], "1");
    // Refused because the engine is known to be gone, not after waiting out the queue.
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("the Docker engine is unreachable"),
        "{message}"
    );

    engine.resume();
    wait_until("/health is OK and the pool full again", || {
        let (status, _) = service.get("/health");
        let pool = python_pool(&service);
        status == 200 && pool["ready"] == pool["target"]
    });
    let hello = service.run("python", "print('after')");
    assert_eq!(hello["output"], "after\n", "{hello}");
    assert!(service.terminate().success());
    let left = engine.instance_containers(&service.instance);
    assert!(left.is_empty(), "containers left behind: {left:?}");
}
