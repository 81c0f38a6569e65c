//! What needs the sandbox, against the real Docker engine: each test starts the real `codeexec`
//! binary on a loopback port under an instance label of its own. Jobs in all six languages, the
//! pool containers' hardening, the service's lifecycle and health, and the hostile-program
//! suites (which share one service, one attack at a time: `attack`). One binary, so it compiles
//! once.

#[path = "../attack/mod.rs"]
mod attack;
#[path = "../common/mod.rs"]
mod common;

mod channel;
mod execute;
mod health;
mod hostile_isolation;
mod hostile_processes;
mod hostile_resources;
mod interactive;
mod java_prestart;
mod judge0;
mod lifecycle;
mod piston;
mod piston_connect;
mod playground;
mod pool_containers;
mod prestart;
mod request_space;
mod typescript_prestart;
