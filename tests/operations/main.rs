//! Running the service as an operator does, against the real Docker engine and the real tools
//! around it: Docker faults (a private dockerd that is stopped and restarted), load, the load
//! report command, Prometheus monitoring, execution logs in SecantusDB, a node's drain on
//! SIGTERM, rate limits shared through Redis, and three nodes behind HAProxy (scripts/cluster). One binary, so it compiles once.

#[path = "../attack/mod.rs"]
mod attack;
#[path = "../common/mod.rs"]
mod common;
#[path = "../private_engine/mod.rs"]
mod private_engine;

mod cluster;
mod drain;
mod execution_log;
mod faults;
mod load;
mod loadtest;
mod monitoring;
mod shared_rate_limit;
