//! The service's containers over its life: leftovers of a crashed run are removed at start, a
//! pool container that dies while idle is replaced, and SIGTERM finishes the job in flight and
//! removes every container before the process exits.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::{block_on_docker, instance_containers, test_instance, wait_until, Service};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::KillContainerOptionsBuilder;
use serde_json::json;

/// A container labelled as `instance`'s Python container that prints its version and stops.
fn labelled_container(instance: &str) -> ContainerCreateBody {
    let labels = HashMap::from([
        ("codeexec.managed".to_string(), "true".to_string()),
        ("codeexec.language".to_string(), "python".to_string()),
        ("codeexec.instance".to_string(), instance.to_string()),
    ]);
    ContainerCreateBody {
        image: Some("codeexec/python:latest".into()),
        cmd: Some(vec!["python3".into(), "--version".into()]),
        labels: Some(labels),
        network_disabled: Some(true),
        ..Default::default()
    }
}

#[test]
fn containers_left_by_an_earlier_run_are_removed_at_start() {
    let instance = test_instance("leftover");
    let leftover = labelled_container(&instance);
    let id = block_on_docker(|docker| async move { docker.create_container(None, leftover).await })
        .expect("create a leftover container")
        .id;
    let service = Service::start_instance(&instance, &[]);
    // The sweep runs before the service listens, so the leftover is gone by now.
    let ids: Vec<String> = instance_containers(&instance)
        .into_iter()
        .filter_map(|c| c.id)
        .collect();
    assert!(!ids.contains(&id), "the leftover container is still there");
    assert!(service.terminate().success());
}

#[test]
fn a_pool_container_killed_while_idle_is_replaced() {
    let service = Service::start_ready("killed", &[]);
    let victim = service
        .containers()
        .into_iter()
        .find(|c| c.labels.as_ref().unwrap()["codeexec.language"] == "ruby")
        .and_then(|c| c.id)
        .expect("a ruby pool container");
    let target = victim.clone();
    let options = KillContainerOptionsBuilder::default()
        .signal("SIGKILL")
        .build();
    block_on_docker(|docker| async move { docker.kill_container(&target, Some(options)).await })
        .expect("kill the container");
    wait_until("the killed container is replaced", || {
        let ids: Vec<String> = service
            .containers()
            .into_iter()
            .filter_map(|c| c.id)
            .collect();
        let (_, languages) = service.get("/api/v1/languages");
        let ruby = languages["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "ruby")
            .cloned()
            .unwrap();
        !ids.contains(&victim) && ruby["pool"]["ready"] == 2
    });
    let result = service.run("ruby", "puts 6 * 7");
    assert_eq!(result["output"], "42\n", "{result}");
    assert!(service.terminate().success());
}

#[test]
fn sigterm_finishes_the_job_in_flight_and_removes_every_container() {
    let service = Service::start_ready("sigterm", &[]);
    assert!(!service.containers().is_empty());
    let in_flight = std::thread::scope(|scope| {
        let job = scope.spawn(|| {
            service.post(
                "/api/v1/execute",
                &json!({ "language": "python", "code": "import time\ntime.sleep(2)\nprint('done')" }),
            )
        });
        // The job is in flight once it has taken one of the two ready python containers: the
        // pool replaces it only after the job, so for the two seconds it sleeps one is ready.
        wait_until("the job has taken a container", || {
            service.metric(r#"codeexec_pool_ready{language="python"}"#) == Some(1.0)
        });
        let status = service.terminate();
        assert!(status.success(), "the service exits cleanly: {status}");
        job.join().unwrap()
    });
    let (status, body) = in_flight;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["output"], "done\n", "{body}");
    assert!(
        service.containers().is_empty(),
        "containers left after SIGTERM"
    );
}

#[test]
fn a_request_abandoned_by_its_client_leaves_no_container_behind() {
    let service = Service::start_ready("abandoned", &[]);
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let body = json!({ "language": "python", "code": "import time\ntime.sleep(3)" });
    let sent = impatient
        .post(format!("{}/api/v1/execute", service.url))
        .json(&body)
        .send();
    assert!(sent.is_err(), "the client gave up before the program ended");
    service.wait_until_only_pools_remain(12);
    assert!(service.terminate().success());
}

/// A stopped container of this instance (one whose removal failed) is removed by the periodic
/// sweep once it has been stopped for a sweep interval; another instance's is left alone.
#[test]
fn a_stray_stopped_container_is_swept_and_another_instances_is_not() {
    let service = Service::start_ready("stray", &[("CODEEXEC_DOCKER__STRAY_SWEEP_SECS", "1")]);
    let stopped_container = |instance: &str| {
        let spec = labelled_container(instance);
        block_on_docker(|docker| async move {
            let id = docker.create_container(None, spec).await?.id;
            docker.start_container(&id, None).await?;
            Ok::<_, bollard::errors::Error>(id)
        })
        .expect("create and start a container that stops at once")
    };
    let neighbour = test_instance("stray-neighbour");
    let theirs = stopped_container(&neighbour);
    let ours = stopped_container(&service.instance);
    let ids = |instance: &str| -> Vec<String> {
        instance_containers(instance)
            .into_iter()
            .filter_map(|c| c.id)
            .collect()
    };
    wait_until("the stray is swept", || {
        !ids(&service.instance).contains(&ours)
    });
    assert!(
        ids(&neighbour).contains(&theirs),
        "another instance's container was removed"
    );
    assert_eq!(service.run("python", "print('still')")["output"], "still\n");
    block_on_docker(|docker| async move {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
            .force(true)
            .build();
        docker.remove_container(&theirs, Some(options)).await
    })
    .expect("remove the neighbour's container");
    assert!(service.terminate().success());
}
