//! The Docker runtime: hardened single-use containers on a Docker engine, the labels that mark
//! them as this service instance's, and the watch on the engine's events.

mod cleanup;
mod container;
mod events;
mod hardening;
mod program_uids;
mod seccomp;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use tokio::sync::mpsc;

use super::{Container, ContainerRuntime, RuntimeEvent};
use crate::language::Language;
use crate::settings::{DockerSettings, GlobalLimits};
use container::DockerContainer;
use program_uids::ProgramUids;
use seccomp::SeccompProfile;

/// Set to `true` on every container codeexec creates.
pub const LABEL_MANAGED: &str = "codeexec.managed";
/// The canonical language a container serves.
pub const LABEL_LANGUAGE: &str = "codeexec.language";
/// The service instance that created a container (see `docker.instance`).
pub const LABEL_INSTANCE: &str = "codeexec.instance";

/// How long a ping may take before the engine counts as unreachable.
const PING_LIMIT: Duration = Duration::from_secs(2);

/// Connects to the engine named in the settings (or the local default) and negotiates the API
/// version, since Debian's engine answers 1.41 at most.
pub async fn connect(settings: &DockerSettings) -> Result<Docker, bollard::errors::Error> {
    let docker = if settings.host.is_empty() {
        Docker::connect_with_defaults()?
    } else {
        Docker::connect_with_host(&settings.host)?
    };
    docker
        .with_timeout(Duration::from_secs(settings.api_timeout_secs))
        .negotiate_version()
        .await
}

/// Containers of one service instance on one Docker engine.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    settings: Arc<DockerSettings>,
    limits: Arc<GlobalLimits>,
    seccomp: Arc<SeccompProfile>,
    program_uids: Arc<ProgramUids>,
}

impl DockerRuntime {
    /// Reads the seccomp profile and connects to the engine; the containers it makes carry
    /// `settings.instance`'s label and run under that profile.
    pub async fn connect(
        settings: &DockerSettings,
        limits: &GlobalLimits,
    ) -> Result<DockerRuntime, String> {
        let seccomp = SeccompProfile::load(&settings.seccomp_profile)?;
        let docker = connect(settings).await.map_err(|error| {
            format!("cannot reach the Docker engine ({error}); is dockerd running? (scripts/up starts it)")
        })?;
        Ok(DockerRuntime {
            docker,
            settings: Arc::new(settings.clone()),
            limits: Arc::new(limits.clone()),
            seccomp: Arc::new(seccomp),
            program_uids: ProgramUids::new(settings.program_uids),
        })
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn start(&self, language: &Language) -> Result<Container, String> {
        let program_uid = self.program_uids.lease()?;
        let spec = hardening::container_spec(
            &self.settings,
            &self.limits,
            &self.seccomp,
            language,
            program_uid.uid(),
        );
        DockerContainer::start(
            &self.docker,
            &spec,
            language.settings.memory_mb,
            program_uid,
        )
        .await
        .map(|container| Box::new(container) as Container)
        .map_err(|error| error.to_string())
    }

    async fn remove_all(&self) -> Result<usize, String> {
        cleanup::remove_instance_containers(&self.docker, &self.settings.instance)
            .await
            .map_err(|error| error.to_string())
    }

    async fn ping(&self) -> Result<(), String> {
        match tokio::time::timeout(PING_LIMIT, self.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(format!("the Docker engine does not answer: {error}")),
            Err(_) => Err(format!(
                "the Docker engine does not answer within {} s",
                PING_LIMIT.as_secs()
            )),
        }
    }

    async fn total_memory_mb(&self) -> Option<u64> {
        let info = tokio::time::timeout(PING_LIMIT, self.docker.info()).await;
        let bytes = info.ok()?.ok()?.mem_total?;
        u64::try_from(bytes).ok().map(|bytes| bytes / (1024 * 1024))
    }

    fn watch(&self, events: mpsc::UnboundedSender<RuntimeEvent>) {
        tokio::spawn(events::watch_engine(
            self.docker.clone(),
            self.settings.instance.clone(),
            events,
        ));
        tokio::spawn(cleanup::sweep_strays_forever(
            self.docker.clone(),
            self.settings.instance.clone(),
            Duration::from_secs(self.settings.stray_sweep_secs),
        ));
    }
}
