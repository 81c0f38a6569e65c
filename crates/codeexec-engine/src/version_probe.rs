//! Asking a language's image for its toolchain version, by running the configured version
//! command on a pool container exactly as a job would run.

use std::time::Duration;

use codeexec_protocol::{JobFrame, StageCommand};

use crate::runtime::Container;
use crate::settings::LanguageSettings;

/// The first line the version command printed (some, like `java -version`, print to stderr).
/// Uses up `container`, which is removed afterwards.
pub async fn probe_version(
    mut container: Container,
    settings: &LanguageSettings,
) -> Result<String, String> {
    let frame = JobFrame {
        files: vec![],
        stdin: String::new(),
        compile: None,
        run: StageCommand {
            argv: settings.version_command.clone(),
            cpu_time_limit_ms: None,
            wall_time_limit_ms: settings.compile_timeout_ms,
        },
        output_limit_bytes: 4096,
        program_argv: None,
        interactive: false,
    };
    let deadline = Duration::from_millis(settings.compile_timeout_ms * 2);
    let report = container
        .run(&frame, settings.memory_mb, deadline, None)
        .await;
    let run = report
        .result?
        .run
        .ok_or("the version command did not run")?;
    let text = if run.stdout.trim().is_empty() {
        run.stderr
    } else {
        run.stdout
    };
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "the version command printed nothing".to_string())
}
