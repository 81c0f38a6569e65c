//! Shared test support, a module per concern: talking HTTP to a service (`http`), the real binary
//! against the real Docker engine (`process`), a service inside the test process on the local
//! runtime (`in_process`), looking at Docker (`docker`), polling (`wait`), SecantusDB
//! (`secantus`), Redis (`redis`), a cluster from scripts/cluster (`cluster`), which languages
//! a test service offers (`languages`), and interactive sessions (`websocket`).
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod cluster;
pub mod docker;
pub mod held_job;
pub mod http;
pub mod in_process;
pub mod languages;
pub mod process;
pub mod redis;
pub mod secantus;
pub mod wait;
pub mod websocket;

pub use docker::{block_on_docker, instance_containers};
pub use held_job::HeldJob;
pub use in_process::InProcess;
pub use process::{run_on_each, test_instance, Service};
pub use wait::{wait_for, wait_until};
