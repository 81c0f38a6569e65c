//! The direct channel's host side: a directory per container under `docker.channel_dir`, given
//! to the runner's uid alone and mounted at [`CHANNEL_DIR`], where the runner listens on a Unix
//! socket for its one job. The service connects while the container waits in its pool, so a job
//! costs one write and one read, with no dockerd in between. Once connected, the directory has
//! served its purpose and is removed (the container keeps its mount of it), so a container that
//! is waiting or serving leaves nothing behind on the host, however the service ends.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codeexec_protocol::{CHANNEL_DIR, CHANNEL_FLAG, CHANNEL_SOCKET};
use tokio::net::UnixStream;

use crate::settings::DockerSettings;

/// Where this service makes channel directories, and for whom.
#[derive(Debug)]
pub struct ChannelDirs {
    root: PathBuf,
    runner_uid: u32,
    runner_gid: u32,
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
        };
        // One directory made and given away now says whether every later one can be.
        dirs.make()?.remove();
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
}

/// One container's channel directory on the host, until [`ChannelDir::connect`] or
/// [`ChannelDir::remove`] removes it.
#[derive(Debug)]
pub struct ChannelDir {
    path: PathBuf,
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
                Ok(stream) => {
                    self.remove();
                    return Ok(stream);
                }
                Err(error) if started.elapsed() >= limit => {
                    self.remove();
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

    /// Removes the directory (and the socket, should the runner have left it).
    pub fn remove(self) {
        remove_dir(&self.path);
    }
}

/// Removes a channel directory named in a container's label, as the sweeps do.
pub fn remove_dir(path: &Path) {
    if let Err(error) = std::fs::remove_dir_all(path) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), %error, "could not remove a channel directory");
        }
    }
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
    fn only_a_numeric_user_can_own_the_directory() {
        assert_eq!(numeric_user("65534:65534"), Some((65534, 65534)));
        assert_eq!(numeric_user("nobody:nogroup"), None);
        assert_eq!(numeric_user("65534"), None);
    }
}
