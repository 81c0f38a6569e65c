//! Looking at the Docker engine from a synchronous test: the containers of one instance.

use std::collections::HashMap;

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

/// Every container labelled with `instance`, running or not.
pub fn instance_containers(instance: &str) -> Vec<ContainerSummary> {
    let filters = HashMap::from([("label", vec![format!("codeexec.instance={instance}")])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    block_on_docker(|docker| async move { docker.list_containers(Some(options)).await })
        .expect("list containers")
}

/// Runs one Docker call from a synchronous test.
pub fn block_on_docker<F, Fut, T>(call: F) -> T
where
    F: FnOnce(Docker) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let docker = Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .expect("the Docker engine answers");
        call(docker).await
    })
}
