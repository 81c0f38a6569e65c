//! Asking a language's image for its toolchain version, by running the configured version
//! command on a pool container exactly as a job would run.

use std::time::Duration;

use codeexec_protocol::{JobFrame, StageCommand, StageReport, StageStatus};

use crate::runtime::Container;
use crate::settings::LanguageSettings;

/// The first line the version command printed (some, like `java -version`, print to stderr), once
/// it has succeeded. Uses up `container`, which is removed afterwards.
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
    version_in(&run)
}

/// The version a finished version command names: the first line it printed, on stdout or else on
/// stderr. A command that failed names none, whatever it printed (e.g. that it cannot be started).
fn version_in(run: &StageReport) -> Result<String, String> {
    let text = if run.stdout.trim().is_empty() {
        &run.stderr
    } else {
        &run.stdout
    };
    let first_line = text.lines().map(str::trim).find(|line| !line.is_empty());
    if run.status != StageStatus::Succeeded {
        let ended = match (run.exit_code, run.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("signal {signal}"),
            (None, None) => format!("{:?}", run.status),
        };
        return Err(format!(
            "the version command failed ({ended}): {}",
            first_line.unwrap_or("it printed nothing")
        ));
    }
    first_line
        .map(str::to_string)
        .ok_or_else(|| "the version command printed nothing".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(status: StageStatus, exit_code: i32, stdout: &str, stderr: &str) -> StageReport {
        StageReport {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
            stdout_truncated: false,
            stderr_truncated: false,
            exit_code: Some(exit_code),
            signal: None,
            wall_ms: 1,
            cpu_ms: 1,
            peak_rss_bytes: 0,
            oom_killed: None,
        }
    }

    #[test]
    fn the_first_line_printed_is_the_version() {
        let run = finished(StageStatus::Succeeded, 0, "\n  Python 3.11.2\nmore\n", "");
        assert_eq!(version_in(&run).unwrap(), "Python 3.11.2");
        let java = finished(
            StageStatus::Succeeded,
            0,
            "",
            "openjdk version \"17.0.13\"\n",
        );
        assert_eq!(version_in(&java).unwrap(), "openjdk version \"17.0.13\"");
        let silent = finished(StageStatus::Succeeded, 0, " \n", "");
        assert!(version_in(&silent).is_err());
    }

    #[test]
    fn a_failed_command_names_no_version_whatever_it_printed() {
        let missing = finished(
            StageStatus::Failed,
            127,
            "",
            "cannot start \"javac\": No such file or directory\n",
        );
        assert_eq!(
            version_in(&missing).unwrap_err(),
            "the version command failed (exit code 127): cannot start \"javac\": No such file or directory"
        );
    }
}
