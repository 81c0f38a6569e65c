//! A private Docker engine for tests that must stop and restart one: its own dockerd (and the
//! containerd it manages) with its own socket, data root, exec root, pid file and containerd
//! namespace, so the shared engine other tests use is never touched. Dropping it stops the engine
//! and removes everything it stored, also when the test fails.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

/// Longest wait for a starting dockerd to answer.
const START_WAIT: Duration = Duration::from_secs(120);
/// Longest wait for a dockerd to stop after SIGTERM (it stops its containers first).
const STOP_WAIT: Duration = Duration::from_secs(90);

pub struct PrivateEngine {
    /// `unix:///run/...sock`, for `CODEEXEC_DOCKER__HOST` and `docker -H`.
    pub host: String,
    socket: PathBuf,
    data_root: PathBuf,
    exec_root: PathBuf,
    pid_file: PathBuf,
    namespace: String,
    log: PathBuf,
    dockerd: Option<Child>,
}

impl PrivateEngine {
    /// Starts a dockerd of its own and waits until it answers.
    pub fn start() -> PrivateEngine {
        let id = format!("codeexec-fault-docker-{}", std::process::id());
        let mut engine = PrivateEngine {
            host: format!("unix:///run/{id}.sock"),
            socket: PathBuf::from(format!("/run/{id}.sock")),
            data_root: PathBuf::from(format!("/var/lib/{id}")),
            exec_root: PathBuf::from(format!("/run/{id}")),
            pid_file: PathBuf::from(format!("/run/{id}.pid")),
            namespace: id.clone(),
            log: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{id}.log")),
            dockerd: None,
        };
        engine.resume();
        engine
    }

    /// Starts the engine (again), on the same data root, and waits until it answers.
    pub fn resume(&mut self) {
        assert!(self.dockerd.is_none(), "the private engine already runs");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the dockerd log");
        let mut command = Command::new("dockerd");
        command
            .arg("--host")
            .arg(&self.host)
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--pidfile")
            .arg(&self.pid_file)
            .args(["--containerd-namespace", &self.namespace])
            .args([
                "--containerd-plugins-namespace",
                &format!("{}-plugins", self.namespace),
            ])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // If the test process dies without dropping this, the engine is stopped all the same.
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        self.dockerd = Some(
            command
                .spawn()
                .expect("spawn dockerd (is docker.io installed?)"),
        );
        let started = Instant::now();
        while self.ping().is_err() {
            if let Some(status) = self.dockerd.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the private dockerd exited ({status}); see {}",
                    self.log.display()
                );
            }
            assert!(
                started.elapsed() < START_WAIT,
                "the private dockerd did not answer; see {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the engine as an operator would (SIGTERM) and waits until it has exited.
    pub fn stop(&mut self) {
        let Some(mut dockerd) = self.dockerd.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        unsafe { libc::kill(dockerd.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_WAIT;
        while dockerd.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = dockerd.kill();
                let _ = dockerd.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Copies an image of the shared engine into this one.
    pub fn load_image(&self, image: &str) {
        let mut save = Command::new("docker")
            .args(["save", image])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn docker save");
        let load = Command::new("docker")
            .args(["-H", &self.host, "load", "--quiet"])
            .stdin(save.stdout.take().unwrap())
            .stdout(Stdio::null())
            .status()
            .expect("run docker load");
        assert!(save.wait().unwrap().success(), "docker save {image} failed");
        assert!(load.success(), "docker load of {image} failed");
    }

    /// Whether the engine answers.
    pub fn ping(&self) -> Result<(), bollard::errors::Error> {
        self.call(|docker| async move { docker.ping().await.map(|_| ()) })
    }

    /// Every container of this engine labelled with `instance`.
    pub fn instance_containers(&self, instance: &str) -> Vec<ContainerSummary> {
        let filters = HashMap::from([("label", vec![format!("codeexec.instance={instance}")])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.call(|docker| async move { docker.list_containers(Some(options)).await })
            .expect("list the private engine's containers")
    }

    fn call<F, Fut, T>(&self, call: F) -> Result<T, bollard::errors::Error>
    where
        F: FnOnce(Docker) -> Fut,
        Fut: std::future::Future<Output = Result<T, bollard::errors::Error>>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let socket = self.socket.to_string_lossy().into_owned();
        runtime.block_on(async {
            let docker = Docker::connect_with_unix(&socket, 30, bollard::API_DEFAULT_VERSION)?
                .negotiate_version()
                .await?;
            call(docker).await
        })
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        self.stop();
        for root in [&self.exec_root, &self.data_root] {
            unmount_everything_under(root);
            if let Err(error) = std::fs::remove_dir_all(root) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    eprintln!("could not remove {}: {error}", root.display());
                }
            }
        }
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// A dockerd that stopped cleanly leaves no mount behind; one that had to be killed may leave
/// container layers or shm mounts, which must go before the folder can be removed.
fn unmount_everything_under(root: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .filter(|point| Path::new(point).starts_with(root))
        .collect();
    // Deepest first.
    points.sort_by_key(|point| std::cmp::Reverse(point.len()));
    for point in points {
        let path = std::ffi::CString::new(point).unwrap();
        // SAFETY: umount2 with a valid NUL-terminated path; MNT_DETACH cannot harm other mounts.
        unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    }
}
