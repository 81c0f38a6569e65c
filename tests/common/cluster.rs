//! A cluster brought up by `scripts/cluster` for a test: N real `codeexec` nodes on the shared
//! Docker engine, HAProxy in front, Redis and SecantusDB. The handle knows every address and
//! process from what the script prints; dropping it sends the script SIGTERM, which drains the
//! nodes and stops the rest, waits for it, and removes the containers of a node killed outright.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::docker::{block_on_docker, instance_containers};
use super::http::Http;

/// One node of the cluster.
pub struct Node {
    pub http: Http,
    pub pid: i32,
    pub instance: String,
}

pub struct Cluster {
    pub balancer: Http,
    pub nodes: Vec<Node>,
    pub redis_pid: i32,
    pub haproxy_socket: PathBuf,
    script: Child,
}

impl Cluster {
    /// Runs `scripts/cluster NODES` with the codeexec binary under test, the given environment
    /// on top, and waits until it prints the load balancer's address (every node healthy).
    pub fn start(nodes: usize, instance: &str, environment: &[(&str, &str)]) -> Cluster {
        use std::os::unix::process::CommandExt;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(instance);
        let _ = std::fs::remove_dir_all(&dir);
        let mut command = Command::new("scripts/cluster");
        command
            .arg(nodes.to_string())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CODEEXEC_BIN", env!("CARGO_BIN_EXE_codeexec"))
            .env("CODEEXEC_CLUSTER_DIR", &dir)
            .env("CODEEXEC_CLUSTER_INSTANCE", instance)
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child: if
        // the test process dies, the script still stops what it started.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut script = command.spawn().expect("run scripts/cluster");
        let stdout = BufReader::new(script.stdout.take().unwrap());
        let mut cluster = Cluster {
            balancer: Http::new(String::new()),
            nodes: Vec::new(),
            redis_pid: 0,
            haproxy_socket: PathBuf::new(),
            script,
        };
        for line in stdout.lines() {
            let line = line.expect("read scripts/cluster's output");
            let words: Vec<&str> = line.split_whitespace().collect();
            let pid = || {
                let at = words.iter().position(|word| *word == "(pid").unwrap();
                words[at + 1].trim_end_matches([',', ')']).parse().unwrap()
            };
            match words.as_slice() {
                ["node", _, url, ..] => cluster.nodes.push(Node {
                    http: Http::new(url.to_string()),
                    pid: pid(),
                    instance: words.last().unwrap().trim_end_matches(')').to_string(),
                }),
                ["redis:", ..] => cluster.redis_pid = pid(),
                ["haproxy:", "stats", "socket", path, ..] => {
                    cluster.haproxy_socket = PathBuf::from(path)
                }
                ["load", "balancer:", url] => {
                    cluster.balancer = Http::new(url.to_string());
                    return cluster;
                }
                _ => {}
            }
        }
        panic!("scripts/cluster ended before printing the load balancer's address");
    }

    /// What HAProxy says of `server` (`node1`, ...): its status (`UP`, `DOWN`, ...) and the
    /// sessions it has sent it in all, from `show stat` on its admin socket.
    pub fn balancer_view(&self, server: &str) -> (String, u64) {
        use std::io::{Read, Write};
        let mut socket = std::os::unix::net::UnixStream::connect(&self.haproxy_socket)
            .expect("connect to HAProxy's admin socket");
        socket.write_all(b"show stat\n").unwrap();
        let mut stat = String::new();
        socket.read_to_string(&mut stat).unwrap();
        let header: Vec<&str> = stat.lines().next().unwrap().split(',').collect();
        let column = |name: &str| header.iter().position(|field| *field == name).unwrap();
        let (status, total) = (column("status"), column("stot"));
        stat.lines()
            .map(|line| line.split(',').collect::<Vec<&str>>())
            .find(|fields| fields.get(1) == Some(&server))
            .map(|fields| (fields[status].to_string(), fields[total].parse().unwrap()))
            .unwrap_or_else(|| panic!("HAProxy knows no server {server}:\n{stat}"))
    }
}

impl Drop for Cluster {
    /// Stops the cluster, then removes what a node killed outright left behind: a node stopped
    /// by a signal it can handle removes its own containers.
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        unsafe { libc::kill(self.script.id() as i32, libc::SIGTERM) };
        let _ = self.script.wait();
        for node in &self.nodes {
            for container in instance_containers(&node.instance) {
                let Some(id) = container.id else { continue };
                let options = RemoveContainerOptionsBuilder::default().force(true).build();
                let _ = block_on_docker(|docker| async move {
                    docker.remove_container(&id, Some(options)).await
                });
            }
        }
    }
}

/// Whether process `pid` is still there.
pub fn is_alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Sends `signal` to process `pid`.
pub fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) on a process this test started (through scripts/cluster).
    unsafe { libc::kill(pid, signal) };
}
