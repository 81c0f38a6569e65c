//! Offline bases: a Debian root file system with the language's toolchain, made on the host and
//! imported into the engine (`docker import`), for machines without a registry.
//!
//! debootstrap of a minimal Debian takes half a minute (quiet) to a minute and a half (busy) on
//! our machines, most of it configuring the same ninety required packages, while installing a
//! toolchain into a copy of that root with apt takes seconds. So one build run makes the minimal
//! root once ([`Minbase`]) and each language's base is a copy of it with the language's packages
//! installed by apt inside it (chroot), the downloaded packages and lists removed again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, OnceCell};
use tokio_util::io::ReaderStream;

use super::inspect::image_exists;
use super::plan::DebianBase;
use super::progress::{DebootstrapLog, Progress};
use super::ImageError;

/// Docker's default PATH, recorded in the imported image so that it states where the toolchain
/// is, as the official images do.
const SET_DEFAULT_PATH: &str =
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Importing streams the whole root file system before the engine answers, which on a slow disk
/// takes longer than the timeout meant for ordinary API calls.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Makes `base.tag` unless the engine already has it.
pub async fn ensure(
    docker: &Docker,
    language: &str,
    base: &DebianBase,
    minbase: &Minbase,
    progress: &Progress,
) -> Result<(), ImageError> {
    if image_exists(docker, &base.tag).await? {
        progress.say(format!("base {} exists", base.tag));
        return Ok(());
    }
    let minbase_root = minbase.root(base, progress).await?;
    let root =
        std::env::temp_dir().join(format!("codeexec-base-{language}-{}", std::process::id()));
    let made = install_and_import(docker, base, minbase_root, &root, progress).await;
    // Removed on failure too: a half-made root file system is several hundred MB of nothing.
    match (made, remove_root(&root).await) {
        (Ok(()), removed) => removed,
        (Err(error), Ok(())) => Err(error),
        (Err(error), Err(left_behind)) => {
            progress.say(left_behind);
            Err(error)
        }
    }
}

/// The minimal Debian root (debootstrap's minbase, apt's package lists included) that every
/// language's base of one build run is copied from, made when the first base is missing and
/// removed when the run ends.
pub struct Minbase {
    root: OnceCell<PathBuf>,
}

impl Minbase {
    pub fn new() -> Minbase {
        Minbase {
            root: OnceCell::new(),
        }
    }

    /// The root, made now by the first caller while the others wait for it.
    async fn root(&self, base: &DebianBase, progress: &Progress) -> Result<&Path, ImageError> {
        let root = self
            .root
            .get_or_try_init(|| async {
                let root =
                    std::env::temp_dir().join(format!("codeexec-minbase-{}", std::process::id()));
                let started = Instant::now();
                match debootstrap(base, &root, progress).await {
                    Ok(()) => {
                        progress.say(format!(
                            "minimal Debian root made in {:.1}s; every base starts from it",
                            started.elapsed().as_secs_f64()
                        ));
                        Ok(root)
                    }
                    Err(error) => {
                        let _ = remove_root(&root).await;
                        Err(error)
                    }
                }
            })
            .await?;
        Ok(root)
    }

    /// Removes the root, if one was made.
    pub async fn remove(self) -> Result<(), ImageError> {
        match self.root.into_inner() {
            Some(root) => remove_root(&root).await,
            None => Ok(()),
        }
    }
}

async fn install_and_import(
    docker: &Docker,
    base: &DebianBase,
    minbase: &Path,
    root: &Path,
    progress: &Progress,
) -> Result<(), ImageError> {
    let started = Instant::now();
    copy_root(minbase, root).await?;
    install_packages(base, root, progress).await?;
    progress.say(format!(
        "installed {} in {:.1}s",
        base.packages.join(" "),
        started.elapsed().as_secs_f64()
    ));
    let started = Instant::now();
    import(docker, root, &base.tag).await?;
    progress.say(format!(
        "imported {} in {:.1}s",
        base.tag,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Runs debootstrap (a minimal Debian) into `root`, showing a condensed account of its output.
async fn debootstrap(
    base: &DebianBase,
    root: &Path,
    progress: &Progress,
) -> Result<(), ImageError> {
    progress.say(format!(
        "debootstrap a minimal {} from {}",
        base.suite, base.mirror
    ));
    let mut child = spawn_debootstrap(base, root)?;
    let log = show_output(&mut child, progress, "debootstrap").await;
    let status = child.wait().await.map_err(|source| ImageError::Io {
        action: "wait for debootstrap".into(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(ImageError::Debootstrap {
        suite: base.suite.clone(),
        status: status.to_string(),
        output: failure_details(&log, root).await,
    })
}

fn spawn_debootstrap(base: &DebianBase, root: &Path) -> Result<Child, ImageError> {
    Command::new("debootstrap")
        .arg("--variant=minbase")
        .arg(&base.suite)
        .arg(root)
        .arg(&base.mirror)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ImageError::DebootstrapMissing,
            _ => ImageError::Io {
                action: "start debootstrap".into(),
                source,
            },
        })
}

/// Copies the minimal root, keeping owners, modes and links (`cp -a`; a reflink where the file
/// system has them).
async fn copy_root(minbase: &Path, root: &Path) -> Result<(), ImageError> {
    let status = Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(minbase)
        .arg(root)
        .status()
        .await
        .map_err(|source| ImageError::Io {
            action: "start cp".into(),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    Err(ImageError::Io {
        action: format!("copy {} to {}", minbase.display(), root.display()),
        source: std::io::Error::other(status.to_string()),
    })
}

/// Installs the base's packages into `root` with apt inside it (with /proc mounted, which some
/// packages' scripts read), without recommended packages as debootstrap would, then removes
/// the downloaded packages and lists: they would only make the image larger.
async fn install_packages(
    base: &DebianBase,
    root: &Path,
    progress: &Progress,
) -> Result<(), ImageError> {
    progress.say(format!("apt-get install {}", base.packages.join(" ")));
    let proc_dir = root.join("proc");
    run_quietly(
        Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(&proc_dir),
    )
    .await?;
    let installed = apt_get_install(base, root, progress).await;
    let unmounted = run_quietly(Command::new("umount").arg(&proc_dir)).await;
    installed?;
    unmounted?;
    for leftover in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        clear_dir(&root.join(leftover)).await?;
    }
    Ok(())
}

async fn apt_get_install(
    base: &DebianBase,
    root: &Path,
    progress: &Progress,
) -> Result<(), ImageError> {
    let mut child = Command::new("chroot")
        .arg(root)
        .args(["apt-get", "install", "--yes", "--no-install-recommends"])
        // No fsync per file: the root is thrown away if anything fails.
        .args(["-o", "Dpkg::Options::=--force-unsafe-io"])
        .args(&base.packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ImageError::Io {
            action: "start apt-get in the new root".into(),
            source,
        })?;
    let log = show_output(&mut child, progress, "apt").await;
    let status = child.wait().await.map_err(|source| ImageError::Io {
        action: "wait for apt-get".into(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(ImageError::AptInstall {
        packages: base.packages.join(" "),
        status: status.to_string(),
        output: log.tail(),
    })
}

/// Runs a short command whose output says nothing unless it fails.
async fn run_quietly(command: &mut Command) -> Result<(), ImageError> {
    let described = format!("{:?}", command.as_std());
    let output = command.output().await.map_err(|source| ImageError::Io {
        action: format!("run {described}"),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ImageError::Io {
        action: format!("run {described}"),
        source: std::io::Error::other(String::from_utf8_lossy(&output.stderr).trim().to_string()),
    })
}

/// Removes what `dir` holds, keeping `dir` itself.
async fn clear_dir(dir: &Path) -> Result<(), ImageError> {
    let io_error = |source| ImageError::Io {
        action: format!("clear {}", dir.display()),
        source,
    };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(io_error)?;
    while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
        let path = entry.path();
        let removed = if entry.file_type().await.map_err(io_error)?.is_dir() {
            tokio::fs::remove_dir_all(&path).await
        } else {
            tokio::fs::remove_file(&path).await
        };
        removed.map_err(io_error)?;
    }
    Ok(())
}

/// Shows the child's output as it comes, condensed; returns the log once both pipes close.
async fn show_output(child: &mut Child, progress: &Progress, tool: &str) -> DebootstrapLog {
    let (sender, mut lines) = mpsc::unbounded_channel();
    forward_lines(child.stdout.take(), sender.clone());
    forward_lines(child.stderr.take(), sender);
    let mut log = DebootstrapLog::default();
    let say = |shown: String| progress.say(format_args!("{tool}: {shown}"));
    while let Some(line) = lines.recv().await {
        log.feed(&line)
            .into_iter()
            .filter(|shown| !is_per_package_apt_line(shown))
            .for_each(say);
    }
    log.finish().into_iter().for_each(say);
    log
}

/// apt's lines about one package each (hundreds for a toolchain); what is left says what it
/// resolved and any warning or error.
fn is_per_package_apt_line(line: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "Get:",
        "Selecting previously unselected",
        "Preparing to unpack",
        "Unpacking ",
        "Setting up ",
        "(Reading database",
    ];
    PREFIXES.iter().any(|prefix| line.starts_with(prefix))
}

/// Sends each line read from `pipe` to `sender`, from a task of its own so that debootstrap's
/// stdout and stderr are read together and neither pipe fills up.
fn forward_lines(
    pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
    sender: mpsc::UnboundedSender<String>,
) {
    let Some(pipe) = pipe else { return };
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
}

/// The last lines debootstrap printed and, when they point at its own log inside the root (as
/// they do when a package script failed), the end of that log too. Read now because the root is
/// about to be removed.
async fn failure_details(log: &DebootstrapLog, root: &Path) -> String {
    let printed = log.tail();
    if !printed.contains("debootstrap.log") {
        return printed;
    }
    let own_log = tokio::fs::read_to_string(root.join("debootstrap/debootstrap.log"))
        .await
        .unwrap_or_default();
    let lines: Vec<&str> = own_log.lines().collect();
    let end = lines[lines.len().saturating_sub(12)..].join("\n");
    format!("{printed}\nThe end of debootstrap.log:\n{end}")
}

/// `docker import`: streams `tar` of the root into the engine as the image `tag`.
async fn import(docker: &Docker, root: &Path, tag: &str) -> Result<(), ImageError> {
    let io_error = |action: &str| {
        let action = action.to_string();
        move |source| ImageError::Io { action, source }
    };
    let mut tar = Command::new("tar")
        .arg("--numeric-owner")
        .arg("-C")
        .arg(root)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        // Inherited: tar says little, and an unread pipe could block it.
        .stderr(Stdio::inherit())
        // If the engine fails mid-import, tar must not linger writing to a closed pipe.
        .kill_on_drop(true)
        .spawn()
        .map_err(io_error("start tar"))?;
    let archive = ReaderStream::new(tar.stdout.take().expect("tar's stdout is piped"));
    let (repo, version) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repo)
        .tag(version)
        .changes(vec![SET_DEFAULT_PATH.to_string()])
        .build();
    let docker = docker.clone().with_timeout(IMPORT_TIMEOUT);
    let mut output =
        docker.create_image(Some(options), Some(bollard::body_try_stream(archive)), None);
    while let Some(item) = output.next().await {
        item.map_err(|source| ImageError::Docker {
            action: format!("import {tag}"),
            source,
        })?;
    }
    let status = tar.wait().await.map_err(io_error("wait for tar"))?;
    if !status.success() {
        return Err(ImageError::Tar {
            root: root.to_path_buf(),
            status: status.to_string(),
        });
    }
    Ok(())
}

/// Removes the root, after unmounting what a debootstrap that died early may have left mounted
/// in it (/proc, /dev binds): deleting through a bind mount would delete the host's files.
async fn remove_root(root: &Path) -> Result<(), ImageError> {
    if !root.exists() {
        return Ok(());
    }
    for mount_point in mounts_under(&read_mountinfo().await, root)
        .into_iter()
        .rev()
    {
        let _ = Command::new("umount").arg(&mount_point).status().await;
    }
    if !mounts_under(&read_mountinfo().await, root).is_empty() {
        return Err(ImageError::StillMounted {
            root: root.to_path_buf(),
        });
    }
    tokio::fs::remove_dir_all(root)
        .await
        .map_err(|source| ImageError::Io {
            action: format!("remove {}", root.display()),
            source,
        })
}

async fn read_mountinfo() -> String {
    tokio::fs::read_to_string("/proc/self/mountinfo")
        .await
        .unwrap_or_default()
}

/// Mount points at or below `root`, outermost first, from the text of /proc/self/mountinfo.
fn mounts_under(mountinfo: &str, root: &Path) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(field.replace("\\040", " ")))
        .filter(|mount_point| mount_point.starts_with(root))
        .collect();
    mounts.sort();
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw - ext4 /dev/vda rw
90 22 0:5 / /tmp/codeexec-base-go-7/proc rw - proc proc rw
91 22 0:6 /null /tmp/codeexec-base-go-7/dev/null rw - devtmpfs udev rw
92 22 0:6 / /tmp/codeexec-base-go-7/dev rw - tmpfs nodev rw
93 22 0:7 / /tmp/codeexec-base-go-70 rw - tmpfs other rw";

    #[test]
    fn finds_mounts_inside_the_root_outermost_first() {
        let found = mounts_under(MOUNTINFO, Path::new("/tmp/codeexec-base-go-7"));
        let expected =
            ["dev", "dev/null", "proc"].map(|sub| Path::new("/tmp/codeexec-base-go-7").join(sub));
        assert_eq!(found, expected);
    }

    #[test]
    fn ignores_mounts_elsewhere() {
        assert!(mounts_under(MOUNTINFO, Path::new("/srv/root")).is_empty());
    }
}
