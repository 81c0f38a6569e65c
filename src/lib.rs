//! codeexec: anonymous remote code execution through warm pools of hardened, single-use Docker
//! containers. `main.rs` is the command line; this crate holds everything it runs.

pub mod api;
pub mod background;
pub mod config;
pub mod drain;
pub mod execution_log;
pub mod images;
pub mod interactive;
pub mod judge0;
pub mod metrics;
pub mod piston;
pub mod playground;
pub mod rate_limit;
pub mod server;
