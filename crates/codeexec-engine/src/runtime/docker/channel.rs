//! The direct channel's host side: a directory per container under `docker.channel_dir`, given
//! to the runner's uid alone and mounted at [`CHANNEL_DIR`], where the runner listens on a Unix
//! socket for its one job. The service connects while the container waits in its pool, so a job
//! costs one write and one read, with no dockerd in between. Once connected, the directory has
//! served its purpose and is removed (the container keeps its mount of it), so a container that
//! is waiting or serving leaves nothing behind on the host, however the service ends.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use codeexec_protocol::{CHANNEL_DIR, CHANNEL_FLAG, CHANNEL_SOCKET};
use tokio::net::UnixStream;

use super::{LABEL_CHANNEL, LABEL_MANAGED};

use crate::settings::DockerSettings;

/// Where this service makes channel directories, and for whom.
#[derive(Debug)]
pub struct ChannelDirs {
    root: PathBuf,
    runner_uid: u32,
    runner_gid: u32,
    /// Older than any container start can take (create, start and connect, each bounded by
    /// `docker.api_timeout_secs`): a directory this old that no container names is an orphan.
    orphan_age: Duration,
}

impl ChannelDirs {
    /// The channel as the settings allow it, or why there is none: then the attach stream
    /// carries every job.
    pub fn set_up(settings: &DockerSettings) -> Result<ChannelDirs, String> {
        if settings.channel_dir.as_os_str().is_empty() {
            return Err("docker.channel_dir is empty".into());
        }
        if engine_is_remote(settings) {
            return Err(
                "the Docker engine is reached over the network, so its containers \
                        cannot see this machine's directories"
                    .into(),
            );
        }
        let (runner_uid, runner_gid) = numeric_user(&settings.user).ok_or_else(|| {
            format!(
                "docker.user {:?} is not a numeric uid:gid to give the directory to",
                settings.user
            )
        })?;
        let root = settings.channel_dir.clone();
        std::fs::create_dir_all(&root)
            .map_err(|error| format!("cannot make {}: {error}", root.display()))?;
        let dirs = ChannelDirs {
            root,
            runner_uid,
            runner_gid,
            orphan_age: Duration::from_secs(settings.api_timeout_secs.max(1) * 4),
        };
        // One directory made and given away now says whether every later one can be.
        drop(dirs.make()?);
        Ok(dirs)
    }

    /// A fresh directory for one container, the runner's alone.
    pub fn make(&self) -> Result<ChannelDir, String> {
        let path = self.root.join(uuid::Uuid::new_v4().simple().to_string());
        let made = std::fs::create_dir(&path)
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)))
            .and_then(|()| {
                std::os::unix::fs::chown(&path, Some(self.runner_uid), Some(self.runner_gid))
            });
        match made {
            Ok(()) => Ok(ChannelDir { path }),
            Err(error) => {
                let _ = std::fs::remove_dir_all(&path);
                Err(format!(
                    "cannot make a channel directory in {} for uid {}: {error}",
                    self.root.display(),
                    self.runner_uid
                ))
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes the orphans under the root (see [`remove_orphans`]), every service's container on
    /// the engine counting as naming its directory. Returns how many were removed.
    pub async fn sweep_orphans(&self, docker: &Docker) -> Result<usize, bollard::errors::Error> {
        let filters = HashMap::from([("label", vec![format!("{LABEL_MANAGED}=true")])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let named = docker
            .list_containers(Some(options))
            .await?
            .into_iter()
            .filter_map(|summary| summary.labels?.remove(LABEL_CHANNEL))
            .collect();
        Ok(remove_orphans(&self.root, &named, self.orphan_age))
    }
}

/// One container's channel directory on the host, removed (with the socket, should the runner
/// have left it) when this is dropped: by [`ChannelDir::connect`], and however a container's
/// start ends, a cancelled one included.
#[derive(Debug)]
pub struct ChannelDir {
    path: PathBuf,
}

impl Drop for ChannelDir {
    fn drop(&mut self) {
        remove_dir(&self.path);
    }
}

impl ChannelDir {
    /// The runner's arguments that make it listen there.
    pub fn runner_args() -> [String; 2] {
        [CHANNEL_FLAG.to_string(), CHANNEL_DIR.to_string()]
    }

    /// The bind mount, in Docker's `binds` form.
    pub fn bind(&self) -> String {
        format!("{}:{CHANNEL_DIR}:rw", self.path.display())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Connects to the runner once it listens, waiting at most `limit` (the runner makes the
    /// socket as it starts, a few milliseconds after the container does), then removes the
    /// directory.
    pub async fn connect(self, limit: Duration) -> Result<UnixStream, String> {
        let socket = self.path.join(CHANNEL_SOCKET);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match UnixStream::connect(&socket).await {
                Ok(stream) => return Ok(stream),
                Err(error) if started.elapsed() >= limit => {
                    return Err(format!(
                        "the runner did not open its channel within {} s: {error}",
                        limit.as_secs()
                    ));
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
            }
        }
    }
}

/// Removes a channel directory, with what it holds.
pub fn remove_dir(path: &Path) {
    if let Err(error) = std::fs::remove_dir_all(path) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), %error, "could not remove a channel directory");
        }
    }
}

/// Whether `name` can be a channel directory's: a simple UUID, as [`ChannelDirs::make`] names
/// them (and so nothing else, such as a path, that a label could hold).
pub fn is_channel_dir_name(name: &str) -> bool {
    name.len() == 32 && name.chars().all(|c| c.is_ascii_hexdigit())
}

/// Removes the directories under `root` that no container in `named` names and that are older
/// than `older_than`: what a service killed between making a directory and creating its
/// container left, whichever service it was. A directory in use is younger than any start can
/// take, or named by its container. Returns how many were removed.
pub fn remove_orphans(root: &Path, named: &HashSet<String>, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age > older_than));
        if is_channel_dir_name(&name) && !named.contains(&name) && old {
            remove_dir(&entry.path());
            removed += 1;
        }
    }
    removed
}

/// Whether the engine's address (the setting, else `DOCKER_HOST`) is not a local socket.
fn engine_is_remote(settings: &DockerSettings) -> bool {
    let host = if settings.host.is_empty() {
        std::env::var("DOCKER_HOST").unwrap_or_default()
    } else {
        settings.host.clone()
    };
    !(host.is_empty() || host.starts_with("unix://") || host.starts_with('/'))
}

/// `uid:gid` as numbers.
fn numeric_user(user: &str) -> Option<(u32, u32)> {
    let (uid, gid) = user.split_once(':')?;
    Some((uid.parse().ok()?, gid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_directories_no_container_names_are_orphans() {
        let root = tempfile::tempdir().unwrap();
        let name = |n: u8| format!("{n:032x}");
        for n in 1..=3 {
            std::fs::create_dir(root.path().join(name(n))).unwrap();
        }
        std::fs::create_dir(root.path().join("not-a-channel")).unwrap();
        let named = HashSet::from([name(1)]);
        assert_eq!(
            remove_orphans(root.path(), &named, Duration::from_secs(60)),
            0
        );
        assert_eq!(remove_orphans(root.path(), &named, Duration::ZERO), 2);
        let mut left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [name(1), "not-a-channel".to_string()]);
    }

    #[test]
    fn only_a_numeric_user_can_own_the_directory() {
        assert_eq!(numeric_user("65534:65534"), Some((65534, 65534)));
        assert_eq!(numeric_user("nobody:nogroup"), None);
        assert_eq!(numeric_user("65534"), None);
    }
}
