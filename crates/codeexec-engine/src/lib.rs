//! The codeexec engine: runs untrusted jobs in warm pools of single-use containers.
//!
//! [`Engine`] is the front door: [`Engine::start`] with [`EngineSettings`], a
//! [`ContainerRuntime`] and an [`EngineObserver`]; [`Engine::execute`] a [`JobSpec`] into an
//! [`Execution`]; [`Engine::pool_states`]; [`Engine::shutdown`]. Each language has a supervisor
//! actor driving its pool, whose rules are a plain state machine. The runtime seam has two
//! sides: [`DockerRuntime`] (hardened containers, the only sandbox) and [`LocalRuntime`] (the
//! runner as a host process, for tests and development only).

mod admission;
mod engine;
mod error;
mod execution;
mod job;
mod language;
mod observer;
mod outcome;
mod pool;
mod runtime;
mod settings;
mod supervisor;
#[cfg(test)]
mod test_support;
mod version_probe;

pub use engine::Engine;
pub use error::EngineError;
pub use execution::{Execution, Timings};
pub use job::JobSpec;
pub use language::{Language, LanguageRegistry};
pub use observer::{ContainerFailure, EngineObserver, NoObserver};
pub use outcome::{RunStatus, TimeLimit, Verdict};
pub use pool::PoolState;
pub use runtime::{
    connect_docker, connect_runtime, ContainerReport, ContainerRuntime, DockerRuntime, LiveIo,
    LocalRuntime, RuntimeEvent, StartedContainer, LABEL_INSTANCE, LABEL_LANGUAGE, LABEL_MANAGED,
    READY_LIMIT,
};
pub use settings::{
    CpuList, DockerSettings, EngineSettings, GlobalLimits, InvalidSettings, LanguageSettings,
    RuntimeKind, RuntimeSettings, FILESYSTEM_NAME_MAX,
};
