//! Connecting to the Docker engine, and the labels that mark codeexec's containers.

use std::time::Duration;

use bollard::Docker;

use crate::config::DockerSettings;

/// Set to `true` on every container codeexec creates.
pub const LABEL_MANAGED: &str = "codeexec.managed";
/// The canonical language a container serves.
pub const LABEL_LANGUAGE: &str = "codeexec.language";
/// The service instance that created a container (see `docker.instance`).
pub const LABEL_INSTANCE: &str = "codeexec.instance";
/// On images: hash of the Dockerfile, base, package list, labels and runner it was built from.
pub const LABEL_IMAGE_HASH: &str = "codeexec.image-hash";

/// Connects to the engine named in the settings (or the local default) and negotiates the API
/// version, since Debian's engine answers 1.41 at most.
pub async fn connect(settings: &DockerSettings) -> Result<Docker, bollard::errors::Error> {
    let timeout = settings.api_timeout_secs;
    let docker = if settings.host.is_empty() {
        Docker::connect_with_defaults()?
    } else {
        Docker::connect_with_host(&settings.host)?
    };
    docker
        .with_timeout(Duration::from_secs(timeout))
        .negotiate_version()
        .await
}
