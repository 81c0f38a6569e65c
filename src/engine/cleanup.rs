//! Removing every container this service instance owns: at start (what a crashed run left
//! behind) and as the last step of shutdown.

use std::collections::HashMap;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use super::container;
use crate::docker::{LABEL_INSTANCE, LABEL_MANAGED};

/// Force-removes every container labelled as this instance's; returns how many there were.
pub async fn remove_instance_containers(
    docker: &Docker,
    instance: &str,
) -> Result<usize, bollard::errors::Error> {
    let filters = HashMap::from([(
        "label",
        vec![
            format!("{LABEL_MANAGED}=true"),
            format!("{LABEL_INSTANCE}={instance}"),
        ],
    )]);
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
