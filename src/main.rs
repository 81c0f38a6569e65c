//! The `codeexec` command: `serve` (the default) runs the HTTP service, `images build` builds the
//! language images it needs. The load tool is a binary of its own, `codeexec-loadtest`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use codeexec::config::Settings;

#[derive(Parser)]
#[command(
    version,
    about = "Run untrusted code in warm pools of hardened Docker containers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Manage the language images.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// Build the images of the given languages (all when none is named), skipping up-to-date ones.
    Build {
        /// Canonical language names, e.g. python java.
        languages: Vec<String>,
        /// Rebuild even when the image is up to date.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load_default() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("codeexec: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => codeexec::server::run(settings).map_err(|error| error.to_string()),
        Command::Images {
            command: ImagesCommand::Build { languages, force },
        } => codeexec::images::build_from_cli(&settings, &languages, force)
            .map_err(|error| error.to_string()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("codeexec: {error}");
            ExitCode::FAILURE
        }
    }
}
