//! Removing the containers this service instance owns: all of them at start (what a crashed run
//! left behind) and as the last step of shutdown, the stopped ones after a Docker engine outage.

use std::collections::HashMap;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use super::container;
use super::{LABEL_INSTANCE, LABEL_MANAGED};

/// Force-removes every container labelled as this instance's; returns how many there were.
pub async fn remove_instance_containers(
    docker: &Docker,
    instance: &str,
) -> Result<usize, bollard::errors::Error> {
    remove_matching(docker, instance, None).await
}

/// Force-removes this instance's containers that have stopped: after an engine outage, the pool
/// containers it killed, whose removal failed while it was away. Running ones (and ones just
/// created, which a pool may be starting) are left alone.
pub async fn remove_stopped_instance_containers(
    docker: &Docker,
    instance: &str,
) -> Result<usize, bollard::errors::Error> {
    remove_matching(docker, instance, Some(&["exited", "dead"])).await
}

async fn remove_matching(
    docker: &Docker,
    instance: &str,
    statuses: Option<&[&str]>,
) -> Result<usize, bollard::errors::Error> {
    let mut filters = HashMap::from([(
        "label",
        vec![
            format!("{LABEL_MANAGED}=true"),
            format!("{LABEL_INSTANCE}={instance}"),
        ],
    )]);
    if let Some(statuses) = statuses {
        filters.insert("status", statuses.iter().map(|s| s.to_string()).collect());
    }
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let ids: Vec<String> = docker
        .list_containers(Some(options))
        .await?
        .into_iter()
        .filter_map(|summary| summary.id)
        .collect();
    futures_util::future::join_all(ids.iter().map(|id| container::remove(docker, id))).await;
    Ok(ids.len())
}
