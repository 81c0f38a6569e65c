//! A Redis server (Debian's redis-server) that a test runs on a free loopback port, in memory
//! only, and can stop and start again on the same port. Killed when dropped.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Names the `redis-server` executable; `scripts/test` installs it (pinned) and sets this.
pub const REDIS_SERVER_VARIABLE: &str = "CODEEXEC_TEST_REDIS_SERVER";

pub struct RedisServer {
    executable: PathBuf,
    pub port: u16,
    process: Option<Child>,
}

impl RedisServer {
    /// A server on a free port, started.
    pub fn started() -> RedisServer {
        let executable = std::env::var_os(REDIS_SERVER_VARIABLE).map(PathBuf::from);
        let executable = executable.filter(|path| path.is_file()).unwrap_or_else(|| {
            panic!(
                "{REDIS_SERVER_VARIABLE} must name redis-server. scripts/test sets it up; by hand: \
                 `source scripts/lib.sh && ensure_redis` (installs Debian's pinned redis-server)"
            )
        });
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut server = RedisServer {
            executable,
            port,
            process: None,
        };
        server.start();
        server
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server and waits until it takes connections.
    pub fn start(&mut self) {
        use std::os::unix::process::CommandExt;
        assert!(self.process.is_none(), "Redis is already running");
        let mut command = Command::new(&self.executable);
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut process = command.spawn().expect("spawn redis-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Ok(Some(status)) = process.try_wait() {
                panic!("redis-server exited ({status}) before listening");
            }
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.process = Some(process);
    }

    /// Stops the server at once (SIGKILL, as a crash) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
