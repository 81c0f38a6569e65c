//! A Piston job body (`language`, `version`, `files`, `stdin`, `args` and the limits) checked
//! and turned into our engine's [`JobSpec`], with Piston's messages for what is wrong. Shared by
//! `POST execute` and the WebSocket `init` message.

use serde_json::Value;

use super::files::{decode_files, entry_index, PistonFile};
use super::limits::run_limits;
use super::runtimes::{resolve, Runtime};
use crate::api::request::{default_file_name, ExecuteRequest, ExecuteV2, FileInput, JobOptions};
use crate::config::GlobalLimits;
use codeexec_engine::{JobSpec, LanguageRegistry};

/// A job ready for the engine, and the runtime it was resolved to (answers name it).
#[derive(Debug)]
pub(crate) struct PistonJob {
    pub spec: JobSpec,
    pub runtime: Runtime,
}

/// What a Piston body is checked against: the runtimes offered and our limits.
pub(crate) struct JobContext<'a> {
    pub runtimes: &'a [Runtime],
    pub registry: &'a LanguageRegistry,
    pub limits: &'a GlobalLimits,
}

/// The job `body` asks for, or Piston's message (its 400 body's `message`) saying what is
/// wrong. Lenient where Piston's clients are: a missing version means `*`.
pub(crate) fn job_from_body(body: &Value, context: &JobContext) -> Result<PistonJob, String> {
    let Some(language) = body.get("language").and_then(Value::as_str) else {
        return Err("language is required as a string".into());
    };
    let version = match body.get("version") {
        None | Some(Value::Null) => "*",
        Some(Value::String(version)) => version.as_str(),
        Some(_) => return Err("version is required as a string".into()),
    };
    let files = decode_files(body.get("files"))?;
    let runtime = resolve(context.runtimes, context.registry, language, version)
        .ok_or_else(|| format!("{language}-{version} runtime is unknown"))?;
    let entry = entry_index(&files)?;
    let limits = run_limits(body, &runtime.ours, context.limits)?;
    let request = ExecuteV2 {
        language: Some(runtime.ours.name.clone()),
        files: Some(file_inputs(files, entry, runtime)),
        options: JobOptions {
            stdin: Some(stdin_of(body)?),
            args: Some(args_of(body)?),
            timeout_ms: limits.cpu_time_ms,
            wall_timeout_ms: limits.wall_time_ms,
            memory_limit_mb: limits.memory_mb,
            save_metric: None,
        },
    };
    let spec = request
        .validate(context.registry, context.limits)
        .map_err(|invalid| invalid.0)?;
    Ok(PistonJob {
        spec,
        runtime: runtime.clone(),
    })
}

/// Our files: the entry point marked, names given where the request left them out (the
/// language's default for the entry point, Java's from its public class; Piston's `file{i}.code`
/// for the others).
fn file_inputs(files: Vec<PistonFile>, entry: usize, runtime: &Runtime) -> Vec<FileInput> {
    files
        .into_iter()
        .enumerate()
        .map(|(index, file)| {
            let name = file.name.unwrap_or_else(|| {
                if index == entry {
                    default_file_name(&runtime.ours, &file.content)
                } else {
                    format!("file{index}.code")
                }
            });
            FileInput {
                filename: Some(name),
                code: Some(file.content),
                is_entry_point: Some(index == entry),
            }
        })
        .collect()
}

/// `stdin`, ending with a newline as Piston gives it to the program.
fn stdin_of(body: &Value) -> Result<String, String> {
    let mut stdin = match body.get("stdin") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(stdin)) => stdin.clone(),
        Some(_) => return Err("stdin must be a string".into()),
    };
    if !stdin.ends_with('\n') {
        stdin.push('\n');
    }
    Ok(stdin)
}

/// `args`: strings only (Node's spawn, under Piston, throws on anything else).
fn args_of(body: &Value) -> Result<Vec<String>, String> {
    let args = match body.get("args") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(args)) => args,
        Some(_) => return Err("args must be an array of strings".into()),
    };
    args.iter()
        .map(|arg| match arg {
            Value::String(arg) => Ok(arg.clone()),
            _ => Err("args must be an array of strings".to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::piston::runtimes::runtimes;
    use serde_json::json;
    use std::collections::HashMap;

    fn job(body: Value) -> Result<PistonJob, String> {
        let settings = Settings::repository_defaults();
        let registry = LanguageRegistry::new(&settings.languages);
        let versions = HashMap::from([("python".to_string(), "Python 3.11.2".to_string())]);
        let runtimes = runtimes(&registry, &versions);
        let context = JobContext {
            runtimes: &runtimes,
            registry: &registry,
            limits: &settings.limits,
        };
        job_from_body(&body, &context)
    }

    #[test]
    fn the_npm_clients_body_becomes_a_job() {
        let job = job(json!({
            "language": "py", "files": [{"content": "print(1)"}], "stdin": "",
            "args": ["1", "2", "3"], "compile_timeout": 10000, "run_timeout": 3000,
            "compile_memory_limit": -1, "run_memory_limit": -1
        }))
        .unwrap();
        assert_eq!(job.runtime.language, "python");
        assert_eq!(job.spec.language.name, "python");
        assert_eq!(job.spec.entry, "main.py");
        assert_eq!(job.spec.stdin, "\n", "Piston ends stdin with a newline");
        assert_eq!(job.spec.args, ["1", "2", "3"]);
        assert_eq!(job.spec.wall_timeout_ms, 3000);
        assert_eq!(job.spec.memory_mb, job.spec.language.settings.memory_mb);
    }

    #[test]
    fn the_first_utf8_file_is_the_entry_point_and_java_is_named_by_its_class() {
        let job = job(json!({
            "language": "java", "version": "*",
            "files": [{"content": "eA==", "encoding": "base64", "name": "data.bin"},
                      {"content": "public class Hello { public static void main(String[] a) {} }"}]
        }))
        .unwrap();
        assert_eq!(job.spec.entry, "Hello.java");
        assert_eq!(job.spec.files[0].name, "data.bin");
        assert_eq!(job.spec.files[0].content, "x");
    }

    #[test]
    fn pistons_messages_for_what_is_wrong() {
        let code = json!([{"content": "print(1)"}]);
        let cases = [
            (json!({"files": code}), "language is required as a string"),
            (
                json!({"language": "python", "version": 3, "files": code}),
                "version is required as a string",
            ),
            (
                json!({"language": "python"}),
                "files is required as an array",
            ),
            (
                json!({"language": "python", "version": "9.9.9", "files": code}),
                "python-9.9.9 runtime is unknown",
            ),
            (
                json!({"language": "cobol", "files": code}),
                "cobol-* runtime is unknown",
            ),
            (
                json!({"language": "python", "files": code, "args": "1 2"}),
                "args must be an array of strings",
            ),
            (
                json!({"language": "python", "files": code, "args": [1, 2]}),
                "args must be an array of strings",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(job(body.clone()).unwrap_err(), message, "{body}");
        }
    }

    #[test]
    fn our_own_checks_still_apply() {
        let message =
            job(json!({"language": "python", "files": [{"name": "../x.py", "content": "1"}]}))
                .unwrap_err();
        assert!(message.contains("\"..\""), "{message}");
    }
}
