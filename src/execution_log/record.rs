//! One execution as it is stored in the `executions` collection: what ran, how it ended and what
//! it cost. Built from the finished job alone, so nothing about the client (address, headers)
//! can reach the database: the service is anonymous.

use codeexec_protocol::SourceFile;
use mongodb::bson::DateTime;
use serde::Serialize;

use crate::api::response::format_cpu_usage;
use codeexec_engine::Execution;
use codeexec_engine::RunStatus;

/// Every record belongs to the anonymous user: the service has no accounts.
pub const ANONYMOUS_USER: &str = "anonymous";
/// Every record belongs to the one project the service has.
pub const DEFAULT_PROJECT: &str = "default";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    pub job_id: String,
    pub language: String,
    pub version: Option<String>,
    /// The source of a one-file job (`/api/v1/execute`, or v2 with one file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Every file of a job with several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<StoredFile>>,
    /// The run stage's stdout, cut at `mongo.max_output_bytes`.
    pub output: String,
    /// Cut at `mongo.max_output_bytes`.
    pub error_message: Option<String>,
    pub exit_code: Option<i32>,
    #[schema(schema_with = crate::api::response::run_status_schema)]
    pub run_time_status: RunStatus,
    /// Run stage wall time, seconds.
    pub execution_time: f64,
    /// Run stage CPU time, seconds.
    pub cpu_time: f64,
    /// Peak resident memory of the program (BSON has no unsigned integers).
    pub memory_bytes: i64,
    /// CPU time over wall time, e.g. "78.1%".
    pub cpu_usage: String,
    /// When the job finished (RFC 3339 in answers).
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime,
    pub user_id: &'static str,
    pub project_id: &'static str,
}

/// One file of a several-file job, named as in the v2 request.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredFile {
    pub filename: String,
    pub code: String,
    pub is_entry_point: bool,
}

impl ExecutionRecord {
    /// The record of `execution`, with `output` and `errorMessage` each cut to `max_output_bytes`.
    pub fn new(execution: &Execution, max_output_bytes: usize, created_at: DateTime) -> Self {
        let spec = &execution.spec;
        let run = execution.run.as_ref();
        let wall_ms = run.map_or(0, |stage| stage.wall_ms);
        let cpu_ms = run.map_or(0, |stage| stage.cpu_ms);
        let peak_rss = run.map_or(0, |stage| stage.peak_rss_bytes);
        let (code, files) = match spec.files.as_slice() {
            [only] => (Some(only.content.clone()), None),
            many => (None, Some(stored_files(many, &spec.entry))),
        };
        ExecutionRecord {
            job_id: spec.id.to_string(),
            language: spec.language.name.clone(),
            version: execution.version.clone(),
            code,
            files,
            output: cap(
                run.map_or("", |stage| stage.stdout.as_str()),
                max_output_bytes,
            ),
            error_message: execution
                .verdict
                .error_message
                .as_deref()
                .map(|message| cap(message, max_output_bytes)),
            exit_code: run.and_then(|stage| stage.exit_code),
            run_time_status: execution.verdict.status,
            execution_time: wall_ms as f64 / 1000.0,
            cpu_time: cpu_ms as f64 / 1000.0,
            memory_bytes: i64::try_from(peak_rss).unwrap_or(i64::MAX),
            cpu_usage: format_cpu_usage(cpu_ms, wall_ms),
            created_at,
            user_id: ANONYMOUS_USER,
            project_id: DEFAULT_PROJECT,
        }
    }
}

impl ExecutionRecord {
    /// Roughly the memory the record holds: its text, which dwarfs everything else.
    pub fn approximate_bytes(&self) -> usize {
        let files = self.files.iter().flatten();
        let texts = [
            self.code.as_deref().unwrap_or_default(),
            &self.output,
            self.error_message.as_deref().unwrap_or_default(),
        ];
        texts.iter().map(|text| text.len()).sum::<usize>()
            + files
                .map(|file| file.filename.len() + file.code.len())
                .sum::<usize>()
            + std::mem::size_of::<ExecutionRecord>()
    }
}

fn stored_files(files: &[SourceFile], entry: &str) -> Vec<StoredFile> {
    files
        .iter()
        .map(|file| StoredFile {
            filename: file.name.clone(),
            code: file.content.clone(),
            is_entry_point: file.name == entry,
        })
        .collect()
}

/// The longest prefix of `text` that fits in `max_bytes` without splitting a character.
pub fn cap(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let end = (0..=max_bytes)
        .rev()
        .find(|&end| text.is_char_boundary(end))
        .unwrap_or(0);
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use codeexec_protocol::{StageReport, StageStatus};
    use mongodb::bson::{self, Bson};
    use uuid::Uuid;

    use super::*;
    use crate::config::Settings;
    use codeexec_engine::JobSpec;
    use codeexec_engine::LanguageRegistry;
    use codeexec_engine::Timings;
    use codeexec_engine::Verdict;

    fn execution(files: &[(&str, &str)], stdout: &str, error: Option<&str>) -> Execution {
        let registry = LanguageRegistry::new(&Settings::repository_defaults().languages);
        let spec = JobSpec {
            id: Uuid::from_u128(7),
            language: registry.resolve("python").unwrap().clone(),
            files: files
                .iter()
                .map(|(name, content)| SourceFile {
                    name: name.to_string(),
                    content: content.to_string(),
                })
                .collect(),
            entry: files[files.len() - 1].0.to_string(),
            stdin: "secret stdin".into(),
            args: vec![],
            timeout_ms: 1000,
            wall_timeout_ms: 2000,
            memory_mb: 128,
            save_metric: true,
        };
        let run = StageReport {
            status: StageStatus::Failed,
            stdout: stdout.into(),
            stderr: "warning".into(),
            stdout_truncated: false,
            stderr_truncated: false,
            exit_code: Some(1),
            signal: None,
            wall_ms: 1250,
            cpu_ms: 500,
            peak_rss_bytes: 9_400_000,
            oom_killed: Some(false),
        };
        Execution {
            spec,
            version: Some("Python 3.11.2".into()),
            verdict: Verdict {
                status: RunStatus::RuntimeError,
                error_message: error.map(str::to_string),
                time_limit: None,
            },
            compile: None,
            run: Some(run),
            timings: Timings {
                queue: Duration::ZERO,
                acquire: Duration::ZERO,
                compile: Duration::ZERO,
                run: Duration::from_millis(1250),
                exchange: Duration::from_millis(1290),
                total: Duration::from_millis(1300),
            },
        }
    }

    #[test]
    fn one_file_job_stores_its_code_and_every_listed_field() {
        let created_at = DateTime::from_millis(1_700_000_000_000);
        let record = ExecutionRecord::new(
            &execution(&[("main.py", "print(1)")], "out\n", Some("boom")),
            1024,
            created_at,
        );
        let document = bson::to_document(&record).unwrap();
        let keys: Vec<&str> = document.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "jobId",
                "language",
                "version",
                "code",
                "output",
                "errorMessage",
                "exitCode",
                "runTimeStatus",
                "executionTime",
                "cpuTime",
                "memoryBytes",
                "cpuUsage",
                "createdAt",
                "userId",
                "projectId"
            ]
        );
        assert_eq!(
            document.get_str("jobId").unwrap(),
            Uuid::from_u128(7).to_string()
        );
        assert_eq!(document.get_str("code").unwrap(), "print(1)");
        assert_eq!(document.get_str("runTimeStatus").unwrap(), "runtime_error");
        assert_eq!(document.get_f64("executionTime").unwrap(), 1.25);
        assert_eq!(document.get_f64("cpuTime").unwrap(), 0.5);
        assert_eq!(document.get_i64("memoryBytes").unwrap(), 9_400_000);
        assert_eq!(document.get_str("cpuUsage").unwrap(), "40.0%");
        assert_eq!(document.get_i32("exitCode").unwrap(), 1);
        assert_eq!(document.get("createdAt"), Some(&Bson::DateTime(created_at)));
        assert_eq!(document.get_str("userId").unwrap(), "anonymous");
        assert_eq!(document.get_str("projectId").unwrap(), "default");
    }

    #[test]
    fn several_file_job_stores_files_and_marks_the_entry() {
        let record = ExecutionRecord::new(
            &execution(
                &[("util.py", "x = 1"), ("main.py", "import util")],
                "",
                None,
            ),
            1024,
            DateTime::now(),
        );
        assert_eq!(record.code, None);
        let files = record.files.unwrap();
        assert_eq!(files[0].filename, "util.py");
        assert!(!files[0].is_entry_point);
        assert!(files[1].is_entry_point);
        assert_eq!(record.error_message, None);
    }

    #[test]
    fn output_and_error_message_are_capped_but_code_is_not() {
        let long = "x".repeat(100);
        let record = ExecutionRecord::new(
            &execution(&[("main.py", &long)], &long, Some(&long)),
            10,
            DateTime::now(),
        );
        assert_eq!(record.output, "x".repeat(10));
        assert_eq!(record.error_message.unwrap(), "x".repeat(10));
        assert_eq!(record.code.unwrap(), long);
    }

    #[test]
    fn stdin_and_stderr_are_not_stored() {
        let record = ExecutionRecord::new(
            &execution(&[("main.py", "x")], "", None),
            1024,
            DateTime::now(),
        );
        let text = bson::to_document(&record).unwrap().to_string();
        assert!(!text.contains("secret stdin") && !text.contains("warning"));
    }

    #[test]
    fn size_counts_the_code_of_every_file() {
        let big = "y".repeat(10_000);
        let record = ExecutionRecord::new(
            &execution(&[("a.py", &big), ("main.py", &big)], "", None),
            1024,
            DateTime::now(),
        );
        assert!(record.approximate_bytes() > 20_000);
    }

    #[test]
    fn cap_never_splits_a_character() {
        assert_eq!(cap("héllo", 2), "h");
        assert_eq!(cap("héllo", 3), "hé");
        assert_eq!(cap("short", 10), "short");
        assert_eq!(cap("€", 0), "");
    }
}
