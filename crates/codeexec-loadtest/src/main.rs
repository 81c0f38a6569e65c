//! The `codeexec-loadtest` command: reads the service's configuration as `codeexec` does, then
//! measures the service at `--url` and writes its report (see `scripts/loadtest`).

use std::process::ExitCode;

use clap::Parser;
use codeexec::config::Settings;
use codeexec_loadtest::engine_cpu::EngineCpuOptions;
use codeexec_loadtest::fast_path::FastPathOptions;
use codeexec_loadtest::scaling::ScalingOptions;
use codeexec_loadtest::Options;

/// Drive a running service with a mixed-language load, measure the Docker engine's container
/// ceiling beside it, and write docs/benchmarks.md (see scripts/loadtest).
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Measure one row of a cluster's scaling report (docs/scaling.md) through its load
    /// balancer, and write the report again (see scripts/cluster-scaling).
    Scaling(ScalingOptions),
    /// Measure the Docker engine's CPU per job with the direct channel and with the attach
    /// stream, and write docs/engine-cpu.md (see scripts/engine-cpu).
    EngineCpu(EngineCpuOptions),
    /// Measure the fast path (pre-started runtimes, the direct channel) against the same
    /// service without it, and write docs/fast-path.md (see scripts/fast-path).
    FastPath(FastPathOptions),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = Settings::load_default()
        .map_err(|error| error.to_string())
        .and_then(|settings| match cli.command {
            Some(Command::Scaling(options)) => codeexec_loadtest::run_scaling(settings, options),
            Some(Command::FastPath(options)) => codeexec_loadtest::run_fast_path(settings, options),
            Some(Command::EngineCpu(options)) => {
                codeexec_loadtest::run_engine_cpu(settings, options)
            }
            None => codeexec_loadtest::run(settings, cli.options),
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("codeexec-loadtest: {error}");
            ExitCode::FAILURE
        }
    }
}
