//! The Docker runtime: hardened single-use containers on a Docker engine, the labels that mark
//! them as this service instance's, and the watch on the engine's events.

mod channel;
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
use channel::ChannelDirs;
use container::DockerContainer;
use program_uids::ProgramUids;
use seccomp::SeccompProfile;

/// Set to `true` on every container codeexec creates.
pub const LABEL_MANAGED: &str = "codeexec.managed";
/// The canonical language a container serves.
pub const LABEL_LANGUAGE: &str = "codeexec.language";
/// The service instance that created a container (see `docker.instance`).
pub const LABEL_INSTANCE: &str = "codeexec.instance";
/// The name of a container's channel directory under `docker.channel_dir`, if it has one.
pub const LABEL_CHANNEL: &str = "codeexec.channel";

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
    /// The direct channel's directories; `None` when the attach stream carries every job.
    channel: Option<Arc<ChannelDirs>>,
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
        let channel = uids_unmapped(&docker)
            .await
            .and_then(|()| ChannelDirs::set_up(settings))
            .inspect_err(|reason| {
                tracing::warn!(%reason, "no direct channel: jobs go through the attach stream")
            })
            .ok()
            .map(Arc::new);
        Ok(DockerRuntime {
            docker,
            settings: Arc::new(settings.clone()),
            limits: Arc::new(limits.clone()),
            seccomp: Arc::new(seccomp),
            program_uids: ProgramUids::new(settings.program_uids),
            channel,
        })
    }
}

/// The channel's directory is given to `docker.user`'s uid as the host numbers it, which is the
/// runner's only when the engine does not remap user namespaces.
async fn uids_unmapped(docker: &Docker) -> Result<(), String> {
    let info = tokio::time::timeout(PING_LIMIT, docker.info()).await;
    let options = info
        .map_err(|_| "the Docker engine did not say whether it remaps uids".to_string())?
        .map_err(|error| format!("the Docker engine did not say whether it remaps uids: {error}"))?
        .security_options
        .unwrap_or_default();
    if options.iter().any(|option| option.contains("name=userns")) {
        return Err("the Docker engine remaps uids (userns-remap)".into());
    }
    Ok(())
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn start(&self, language: &Language) -> Result<Container, String> {
        let program_uid = self.program_uids.lease()?;
        let channel = match &self.channel {
            Some(dirs) => Some(dirs.make()?),
            None => None,
        };
        let spec = hardening::container_spec(
            &self.settings,
            &self.limits,
            &self.seccomp,
            language,
            program_uid.uid(),
            channel.as_ref(),
        );
        let connect_limit = Duration::from_secs(self.settings.api_timeout_secs);
        DockerContainer::start(
            &self.docker,
            &spec,
            language.settings.memory_mb,
            program_uid,
            channel.map(|dir| (dir, connect_limit)),
        )
        .await
        .map(|container| Box::new(container) as Container)
        .map_err(|error| error.to_string())
    }

    async fn remove_all(&self) -> Result<usize, String> {
        let channel = self.channel.as_deref();
        cleanup::remove_instance_containers(&self.docker, &self.settings.instance, channel)
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
            self.channel.clone(),
        ));
    }
}
