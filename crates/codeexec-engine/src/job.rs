//! A validated job and the frame the runner receives for it.

use std::sync::Arc;
use std::time::Duration;

use codeexec_protocol::{JobFrame, SourceFile, StageCommand};
use uuid::Uuid;

use crate::language::Language;
use crate::settings::GlobalLimits;

/// A job that passed validation: everything the engine needs to run it.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub id: Uuid,
    pub language: Arc<Language>,
    /// The files in the order given; `entry` names one of them.
    pub files: Vec<SourceFile>,
    pub entry: String,
    pub stdin: String,
    pub args: Vec<String>,
    /// The run stage's CPU-time limit, at most the language's.
    pub timeout_ms: u64,
    /// The run stage's wall-time limit: the backstop for a program that sleeps or blocks.
    pub wall_timeout_ms: u64,
    /// Memory limit, at most the language's.
    pub memory_mb: u64,
    /// Whether the client asked for an execution log record.
    pub save_metric: bool,
}

impl JobSpec {
    /// The frame sent to the runner: the language's argv with placeholders filled in.
    pub fn to_frame(&self, limits: &GlobalLimits) -> JobFrame {
        let settings = &self.language.settings;
        let compile = (!settings.compile.is_empty()).then(|| StageCommand {
            argv: self.expand(&settings.compile),
            cpu_time_limit_ms: Some(settings.compile_timeout_ms),
            wall_time_limit_ms: limits.compile_wall_timeout_ms(settings.compile_timeout_ms),
        });
        let mut run_argv = self.expand(&settings.run);
        run_argv.extend(self.args.iter().cloned());
        let program_argv = settings
            .prestart
            .then(|| settings.program_argv_start())
            .flatten()
            .map(|start| run_argv[start..].to_vec());
        JobFrame {
            files: self.files.clone(),
            stdin: self.stdin.clone(),
            compile,
            run: StageCommand {
                argv: run_argv,
                cpu_time_limit_ms: Some(self.timeout_ms),
                wall_time_limit_ms: self.wall_timeout_ms,
            },
            output_limit_bytes: limits.output_limit_bytes,
            program_argv,
            interactive: false,
        }
    }

    /// How long to wait for the runner's result: the compile and run stages' wall-time limits,
    /// plus `limits.result_margin_ms` for the exchange itself.
    pub fn result_deadline(&self, limits: &GlobalLimits) -> Duration {
        let settings = &self.language.settings;
        let compile_ms = if settings.compile.is_empty() {
            0
        } else {
            limits.compile_wall_timeout_ms(settings.compile_timeout_ms)
        };
        Duration::from_millis(compile_ms + self.wall_timeout_ms + limits.result_margin_ms)
    }

    /// Fills `{entry}`, `{entry_stem}` and `{sources}` (which stands alone and becomes one
    /// argument per source file).
    fn expand(&self, template: &[String]) -> Vec<String> {
        let entry_stem = file_stem(&self.entry);
        let mut argv = Vec::with_capacity(template.len());
        for part in template {
            if part == "{sources}" {
                argv.extend(
                    self.files
                        .iter()
                        .filter(|file| self.language.is_source(&file.name))
                        .map(|file| file.name.clone()),
                );
            } else {
                argv.push(
                    part.replace("{entry_stem}", entry_stem)
                        .replace("{entry}", &self.entry),
                );
            }
        }
        argv
    }
}

/// `Main` for `Main.java`, `main` for `pkg/main.py`.
fn file_stem(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.rsplit_once('.').map_or(base, |(stem, _)| stem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::repository_registry;

    fn spec(language: &str, names: &[&str], entry: &str) -> JobSpec {
        let registry = repository_registry();
        JobSpec {
            id: Uuid::nil(),
            language: registry.resolve(language).unwrap().clone(),
            files: names
                .iter()
                .map(|name| SourceFile {
                    name: name.to_string(),
                    content: String::new(),
                })
                .collect(),
            entry: entry.to_string(),
            stdin: String::new(),
            args: vec!["a b".into(), "c".into()],
            timeout_ms: 1000,
            wall_timeout_ms: 2500,
            memory_mb: 128,
            save_metric: false,
        }
    }

    fn frame(spec: &JobSpec) -> JobFrame {
        spec.to_frame(&crate::test_support::repository_settings().limits)
    }

    #[test]
    fn java_runs_the_class_named_by_the_entry_file() {
        let frame = frame(&spec("java", &["Util.java", "Main.java"], "Main.java"));
        let compile = frame.compile.unwrap().argv;
        assert_eq!(compile[compile.len() - 2..], ["Util.java", "Main.java"]);
        assert_eq!(
            frame.run.argv[frame.run.argv.len() - 3..],
            ["Main", "a b", "c"]
        );
    }

    #[test]
    fn cpp_compiles_only_source_files() {
        let frame = frame(&spec(
            "cpp",
            &["main.cpp", "util.h", "util.cpp"],
            "main.cpp",
        ));
        let compile = frame.compile.unwrap().argv;
        assert!(compile.ends_with(&["main.cpp".to_string(), "util.cpp".to_string()]));
        assert!(!compile.contains(&"util.h".to_string()));
    }

    #[test]
    fn interpreted_languages_have_no_compile_stage_and_get_both_time_limits() {
        let frame = frame(&spec("python", &["main.py"], "main.py"));
        assert!(frame.compile.is_none());
        assert_eq!(frame.run.argv, ["python3", "-u", "main.py", "a b", "c"]);
        assert_eq!(frame.run.cpu_time_limit_ms, Some(1000));
        assert_eq!(frame.run.wall_time_limit_ms, 2500);
    }

    #[test]
    fn a_pre_started_runtime_is_handed_the_run_argv_from_the_entry_on() {
        let mut python = spec("python", &["main.py"], "main.py");
        let mut language = (*python.language).clone();
        language.settings.prestart = true;
        python.language = std::sync::Arc::new(language);
        assert_eq!(
            frame(&python).program_argv.unwrap(),
            ["main.py", "a b", "c"]
        );
        let mut cold = python.clone();
        let mut language = (*cold.language).clone();
        language.settings.prestart = false;
        cold.language = std::sync::Arc::new(language);
        assert_eq!(frame(&cold).program_argv, None);
    }

    #[test]
    fn a_pre_started_jvm_is_handed_the_entry_class_and_the_compile_command() {
        let java = spec("java", &["Main.java", "Helper.java"], "Main.java");
        assert!(
            java.language.settings.prestart,
            "Java pre-starts by default"
        );
        let frame = frame(&java);
        assert_eq!(frame.program_argv.unwrap(), ["Main", "a b", "c"]);
        let compile = frame.compile.unwrap().argv;
        assert_eq!(compile[0], "javac");
        assert!(compile.ends_with(&["Main.java".to_string(), "Helper.java".to_string()]));
    }

    #[test]
    fn a_compile_stage_gets_its_cpu_limit_and_the_factor_times_it_as_wall_limit() {
        let limits = crate::test_support::repository_settings().limits;
        let java = spec("java", &["Main.java"], "Main.java");
        let compile = frame(&java).compile.unwrap();
        let cpu = java.language.settings.compile_timeout_ms;
        assert_eq!(compile.cpu_time_limit_ms, Some(cpu));
        assert_eq!(compile.wall_time_limit_ms, cpu * limits.wall_time_factor);
    }

    #[test]
    fn the_result_is_awaited_for_the_job_s_own_limits_plus_the_margin() {
        let limits = crate::test_support::repository_settings().limits;
        let margin = limits.result_margin_ms;
        let java = spec("java", &["Main.java"], "Main.java");
        let compile = java.language.settings.compile_timeout_ms * limits.wall_time_factor;
        let deadline = java.result_deadline(&limits).as_millis() as u64;
        assert_eq!(deadline, compile + 2500 + margin);
        let python = spec("python", &["main.py"], "main.py");
        assert_eq!(
            python.result_deadline(&limits).as_millis() as u64,
            2500 + margin
        );
    }

    #[test]
    fn stem_ignores_folders_and_extension() {
        assert_eq!(file_stem("pkg/main.py"), "main");
        assert_eq!(file_stem("Main.java"), "Main");
        assert_eq!(file_stem("Makefile"), "Makefile");
    }
}
