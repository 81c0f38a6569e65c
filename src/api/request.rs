//! Request bodies of the execute endpoints and their validation into a [`JobSpec`]. Everything a
//! client can get wrong is caught here, before any container is touched.

use std::collections::HashSet;

use codeexec_protocol::SourceFile;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::GlobalLimits;
use codeexec_engine::JobSpec;
use codeexec_engine::{Language, LanguageRegistry, FILESYSTEM_NAME_MAX};

/// Arguments a program may be given.
pub const MAX_ARGS: usize = 256;
/// Bytes of one argument: well under the kernel's 128 KiB per argument (`MAX_ARG_STRLEN`), past
/// which no program could be started with it.
pub const MAX_ARG_BYTES: usize = 64 * 1024;
/// Bytes of all arguments together, well inside what `execve` takes for argv and environment.
pub const MAX_ARGS_TOTAL_BYTES: usize = 256 * 1024;

/// `POST /api/v1/execute`: one file of code.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"language": "python", "code": "import sys\nprint(sys.stdin.read().upper(), sys.argv[1:])", "stdin": "hi", "args": ["a", "b"]}))]
pub struct ExecuteV1 {
    /// A language's name or alias (`python`, `py`, `js`, `c++`, ...), as `/api/v1/languages`
    /// lists them; case does not matter.
    #[schema(required = true, nullable = false, example = "python")]
    pub language: Option<String>,
    /// The program's source; it must hold more than white space.
    #[schema(required = true, nullable = false, example = "print('Hello, World!')")]
    pub code: Option<String>,
    #[serde(flatten)]
    pub options: JobOptions,
}

/// `POST /api/v2/execute`: several files, one of them the entry point.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"language": "java", "files": [
    {"filename": "Main.java", "code": "public class Main { public static void main(String[] a) { System.out.println(Util.twice(21)); } }", "isEntryPoint": true},
    {"filename": "Util.java", "code": "class Util { static int twice(int x) { return 2 * x; } }"}
]}))]
pub struct ExecuteV2 {
    /// A language's name or alias, as `/api/v1/languages` lists them; case does not matter.
    #[schema(required = true, nullable = false, example = "java")]
    pub language: Option<String>,
    /// The program's files: names unique, at most one marked as the entry point (else the
    /// first is), the entry point's code more than white space.
    #[schema(required = true, nullable = false)]
    pub files: Option<Vec<FileInput>>,
    #[serde(flatten)]
    pub options: JobOptions,
}

/// One file of a v2 request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInput {
    /// A path relative to the sandbox: no `..`, `.` or empty component; folders only where the
    /// language allows them (Python, JavaScript, Ruby).
    #[schema(required = true, nullable = false, example = "main.py")]
    pub filename: Option<String>,
    #[schema(required = true, nullable = false, example = "print('Hello, World!')")]
    pub code: Option<String>,
    /// Marks the file to run; without a mark, the first file is the entry point.
    pub is_entry_point: Option<bool>,
}

/// What both versions accept beside the code.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobOptions {
    /// Given to the program on its standard input.
    pub stdin: Option<String>,
    /// Command-line arguments, at most 256, none holding a NUL character.
    pub args: Option<Vec<String>>,
    /// The run stage's CPU-time limit in milliseconds, from `limits.min_timeout_ms` up to the
    /// language's limit (its default). The program is judged on the CPU time its processes use.
    #[serde(default, deserialize_with = "whole_number")]
    pub timeout_ms: Option<u64>,
    /// The run stage's wall-time limit in milliseconds: the backstop for a program that sleeps
    /// or blocks, from `limits.min_timeout_ms` up to `limits.max_wall_timeout_ms`. By default
    /// `limits.wall_time_factor` times the CPU-time limit, within that cap.
    #[serde(default, deserialize_with = "whole_number")]
    pub wall_timeout_ms: Option<u64>,
    /// The memory limit, from `limits.min_memory_mb` (or the language's higher `min_memory_mb`
    /// or, pre-started, `prestart_min_memory_mb`) up to the language's limit (its default).
    #[serde(default, deserialize_with = "whole_number")]
    pub memory_limit_mb: Option<u64>,
    /// Keep a record of this execution in the execution log, when a database is configured.
    pub save_metric: Option<bool>,
}

/// A count that JSON may write either way: `47` or `47.0` is the same number, as JSON Schema's
/// `integer` says; a fraction or a negative number is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(whole) = number.as_u64() {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        Some(value) if value >= 0.0 && value.fract() == 0.0 && value < u64::MAX as f64 => {
            Ok(Some(value as u64))
        }
        _ => Err(serde::de::Error::custom(format!(
            "{number} is not a whole number of 0 or more"
        ))),
    }
}

/// A request that cannot run, with a message saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid<T>(message: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(message.into()))
}

/// A body of either execute endpoint, checked into the job it asks for.
pub trait ExecuteRequest: serde::de::DeserializeOwned + 'static {
    fn validate(
        self,
        registry: &LanguageRegistry,
        limits: &GlobalLimits,
    ) -> Result<JobSpec, Invalid>;
}

impl ExecuteRequest for ExecuteV1 {
    fn validate(
        self,
        registry: &LanguageRegistry,
        limits: &GlobalLimits,
    ) -> Result<JobSpec, Invalid> {
        let language = resolve_language(registry, self.language.as_deref())?;
        let code = match self.code {
            Some(code) if !code.trim().is_empty() => code,
            _ => return invalid("code is required and must not be empty"),
        };
        let name = default_file_name(&language, &code);
        check_file_name(&language, &name).map_err(|Invalid(why)| {
            Invalid(format!(
                "the file name {name:?} given to the code (from its public class) {why}"
            ))
        })?;
        let file = SourceFile {
            name,
            content: code,
        };
        build_spec(language, vec![file], 0, self.options, limits)
    }
}

impl ExecuteRequest for ExecuteV2 {
    fn validate(
        self,
        registry: &LanguageRegistry,
        limits: &GlobalLimits,
    ) -> Result<JobSpec, Invalid> {
        let language = resolve_language(registry, self.language.as_deref())?;
        let inputs = self.files.unwrap_or_default();
        if inputs.is_empty() {
            return invalid("files must hold at least one file");
        }
        if inputs.len() > limits.max_files {
            return invalid(format!(
                "{} files given; at most {} are allowed",
                inputs.len(),
                limits.max_files
            ));
        }
        let entry = entry_index(&inputs)?;
        let mut names = HashSet::new();
        let mut files = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            let name = input.filename.unwrap_or_default();
            check_file_name(&language, &name).map_err(|Invalid(why)| {
                Invalid(format!("files[{index}].filename {name:?} {why}"))
            })?;
            if !names.insert(name.clone()) {
                return invalid(format!("files[{index}].filename {name:?} is given twice"));
            }
            let Some(content) = input.code else {
                return invalid(format!("files[{index}].code is required"));
            };
            if index == entry && content.trim().is_empty() {
                return invalid(format!(
                    "files[{index}].code, the entry point, must not be empty"
                ));
            }
            files.push(SourceFile { name, content });
        }
        check_no_file_is_a_folder(&files)?;
        build_spec(language, files, entry, self.options, limits)
    }
}

/// The language's default file name, except where the entry is named by its stem (Java): there
/// the file is named after the code's public class, as javac requires.
pub(crate) fn default_file_name(language: &Language, code: &str) -> String {
    let default = &language.settings.default_file_name;
    if !language.runs_entry_by_stem() {
        return default.clone();
    }
    let extension = default
        .rsplit_once('.')
        .map_or("", |(_, extension)| extension);
    match public_class_name(code) {
        Some(class) => format!("{class}.{extension}"),
        None => default.clone(),
    }
}

/// `Solution` in `public final class Solution {`.
fn public_class_name(code: &str) -> Option<&str> {
    let mut words = code.split(|c: char| c.is_whitespace() || c == '{');
    while let Some(word) = words.next() {
        if word != "public" {
            continue;
        }
        let mut next = words.by_ref().filter(|word| !word.is_empty());
        let mut word = next.next()?;
        while ["final", "abstract", "static", "strictfp"].contains(&word) {
            word = next.next()?;
        }
        if word == "class" {
            let name = next.next()?;
            let valid = name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
            return valid.then_some(name);
        }
    }
    None
}

fn resolve_language(
    registry: &LanguageRegistry,
    name: Option<&str>,
) -> Result<std::sync::Arc<Language>, Invalid> {
    let supported = || registry.describe_names();
    match name {
        None => invalid(format!("language is required; supported: {}", supported())),
        Some(name) => registry.resolve(name).cloned().ok_or_else(|| {
            Invalid(format!(
                "unsupported language {name:?}; supported: {}",
                supported()
            ))
        }),
    }
}

/// The file marked as entry point, else the first; two marks are an error.
fn entry_index(files: &[FileInput]) -> Result<usize, Invalid> {
    let marked: Vec<usize> = files
        .iter()
        .enumerate()
        .filter(|(_, file)| file.is_entry_point == Some(true))
        .map(|(index, _)| index)
        .collect();
    match marked.as_slice() {
        [] => Ok(0),
        [index] => Ok(*index),
        [first, second, ..] => invalid(format!(
            "files[{first}] and files[{second}] are both marked isEntryPoint; mark one"
        )),
    }
}

/// `lib` and `lib/util.py` cannot both be written: one name would have to be a file and a folder.
fn check_no_file_is_a_folder(files: &[SourceFile]) -> Result<(), Invalid> {
    let names: HashSet<&str> = files.iter().map(|file| file.name.as_str()).collect();
    for file in files {
        let folders = file
            .name
            .match_indices('/')
            .map(|(end, _)| &file.name[..end]);
        for folder in folders {
            if names.contains(folder) {
                return invalid(format!(
                    "{folder:?} is given as a file and is also the folder of {:?}",
                    file.name
                ));
            }
        }
    }
    Ok(())
}

/// The error says what is wrong with the name, to follow `files[i].filename "x"`.
fn check_file_name(language: &Language, name: &str) -> Result<(), Invalid> {
    if name.is_empty() {
        return invalid("is empty");
    }
    if name.len() > FILESYSTEM_NAME_MAX {
        return invalid(format!("is longer than {FILESYSTEM_NAME_MAX} bytes"));
    }
    if name.starts_with('/') {
        return invalid("is absolute; give a path relative to the sandbox");
    }
    if name.contains('\\') || name.contains('\0') || name.chars().any(char::is_control) {
        return invalid("contains a backslash or control character");
    }
    if name.contains('/') && !language.settings.allow_subdirectories {
        return invalid(format!(
            "contains a path separator, which {} does not allow",
            language.name
        ));
    }
    if name
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return invalid("contains an empty, \".\" or \"..\" path component");
    }
    // Compilers are handed the names as arguments, where `-x` reads as an option and `@x` as a
    // file of more arguments.
    if name.split('/').any(|part| part.starts_with(['-', '@'])) {
        return invalid("has a part that begins with '-' or '@', which compilers read as options");
    }
    let longest = language.settings.max_file_name_bytes;
    if name.split('/').any(|part| part.len() > longest) {
        return invalid(format!(
            "has a part longer than {longest} bytes, the longest {} allows",
            language.name
        ));
    }
    Ok(())
}

fn build_spec(
    language: std::sync::Arc<Language>,
    files: Vec<SourceFile>,
    entry: usize,
    options: JobOptions,
    limits: &GlobalLimits,
) -> Result<JobSpec, Invalid> {
    let settings = &language.settings;
    let timeout_ms = within_limits(
        "timeoutMs",
        options.timeout_ms,
        limits.min_timeout_ms,
        settings.timeout_ms,
        &language.name,
    )?;
    let wall_timeout_ms = match options.wall_timeout_ms {
        None => limits.default_wall_timeout_ms(timeout_ms),
        Some(_) => within_limits(
            "wallTimeoutMs",
            options.wall_timeout_ms,
            limits.min_timeout_ms,
            limits.max_wall_timeout_ms,
            "server's",
        )?,
    };
    let least_memory_mb = settings.least_memory_mb(limits);
    if let Some(asked) = options
        .memory_limit_mb
        .filter(|&asked| (limits.min_memory_mb..least_memory_mb).contains(&asked))
    {
        return invalid(format!(
            "memoryLimitMb {asked} is below the {} minimum of {least_memory_mb}: {}",
            language.name,
            settings.memory_floor_reason()
        ));
    }
    let memory_mb = within_limits(
        "memoryLimitMb",
        options.memory_limit_mb,
        least_memory_mb,
        settings.memory_mb,
        &language.name,
    )?;
    let args = options.args.unwrap_or_default();
    if args.len() > MAX_ARGS {
        return invalid(format!(
            "{} args given; at most {MAX_ARGS} are allowed",
            args.len()
        ));
    }
    if args.iter().any(|arg| arg.contains('\0')) {
        return invalid("args must not contain NUL characters");
    }
    if let Some(index) = args.iter().position(|arg| arg.len() > MAX_ARG_BYTES) {
        return invalid(format!(
            "args[{index}] is {} bytes; one argument may hold at most {MAX_ARG_BYTES}",
            args[index].len()
        ));
    }
    let total: usize = args.iter().map(String::len).sum();
    if total > MAX_ARGS_TOTAL_BYTES {
        return invalid(format!(
            "args hold {total} bytes in all; at most {MAX_ARGS_TOTAL_BYTES} are allowed"
        ));
    }
    let entry_name = files[entry].name.clone();
    if language.runs_entry_by_stem() && !language.is_source(&entry_name) {
        return invalid(format!(
            "the entry point {entry_name:?} must be a {} source file ({})",
            language.name,
            settings.source_extensions.join(", ")
        ));
    }
    if language.compiles_sources() && !files.iter().any(|file| language.is_source(&file.name)) {
        return invalid(format!(
            "{} compiles its source files ({}) and none was given",
            language.name,
            settings.source_extensions.join(", ")
        ));
    }
    Ok(JobSpec {
        id: Uuid::new_v4(),
        language,
        files,
        entry: entry_name,
        stdin: options.stdin.unwrap_or_default(),
        args,
        timeout_ms,
        wall_timeout_ms,
        memory_mb,
        save_metric: options.save_metric.unwrap_or(false),
    })
}

/// A requested limit may be lower than the language's, never higher, and not absurdly low.
fn within_limits(
    field: &str,
    requested: Option<u64>,
    minimum: u64,
    maximum: u64,
    language: &str,
) -> Result<u64, Invalid> {
    match requested {
        None => Ok(maximum),
        Some(value) if value > maximum => invalid(format!(
            "{field} {value} is above the {language} limit of {maximum}"
        )),
        Some(value) if value < minimum => {
            invalid(format!("{field} {value} is below the minimum of {minimum}"))
        }
        Some(value) => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn setup() -> (LanguageRegistry, GlobalLimits) {
        let settings = Settings::repository_defaults();
        (LanguageRegistry::new(&settings.languages), settings.limits)
    }

    fn v2(language: &str, files: &[(&str, &str, bool)]) -> Result<JobSpec, Invalid> {
        let (registry, limits) = setup();
        let request = ExecuteV2 {
            language: Some(language.into()),
            files: Some(
                files
                    .iter()
                    .map(|(name, code, entry)| FileInput {
                        filename: Some(name.to_string()),
                        code: Some(code.to_string()),
                        is_entry_point: entry.then_some(true),
                    })
                    .collect(),
            ),
            options: JobOptions::default(),
        };
        request.validate(&registry, &limits)
    }

    fn error_of(result: Result<JobSpec, Invalid>) -> String {
        result.unwrap_err().0
    }

    #[test]
    fn aliases_resolve_to_canonical_languages() {
        let (registry, _) = setup();
        for (alias, name) in [
            ("js", "javascript"),
            ("Node", "javascript"),
            ("py", "python"),
            ("python3", "python"),
            ("golang", "go"),
            ("c++", "cpp"),
            ("rb", "ruby"),
        ] {
            assert_eq!(registry.resolve(alias).unwrap().name, name, "{alias}");
        }
    }

    #[test]
    fn unknown_language_lists_names_and_aliases() {
        let message = error_of(v2("cobol", &[("a", "x", false)]));
        assert!(message.contains("\"cobol\""));
        assert!(message.contains("bash, c, cpp, elixir, erlang, fortran, go"));
        assert!(message.contains("c++") && message.contains("golang") && message.contains("rb"));
    }

    #[test]
    fn marked_entry_point_wins_over_the_first_file() {
        let spec = v2(
            "python",
            &[("util.py", "x = 1", false), ("main.py", "print(1)", true)],
        )
        .unwrap();
        assert_eq!(spec.entry, "main.py");
    }

    #[test]
    fn bad_file_names_are_refused_with_the_reason() {
        assert!(error_of(v2("python", &[("/etc/passwd", "x", false)])).contains("absolute"));
        assert!(error_of(v2("python", &[("a/../../b.py", "x", false)])).contains("\"..\""));
        assert!(error_of(v2("java", &[("pkg/Main.java", "x", false)])).contains("path separator"));
        assert!(v2("python", &[("pkg/mod.py", "x", false)]).is_ok());
        assert!(
            error_of(v2("python", &[("a.py", "x", false), ("a.py", "y", false)])).contains("twice")
        );
        assert!(
            error_of(v2("python", &[("a.py", "x", true), ("b.py", "y", true)]))
                .contains("both marked")
        );
    }

    #[test]
    fn a_name_cannot_be_both_a_file_and_a_folder() {
        let clash = v2(
            "python",
            &[
                ("main.py", "x", true),
                ("a/b", "y", false),
                ("a/b/c.py", "z", false),
            ],
        );
        assert!(error_of(clash).contains("\"a/b\" is given as a file"));
        assert!(v2("python", &[("main.py", "x", true), ("a/b.py", "y", false)]).is_ok());
    }

    #[test]
    fn names_that_compilers_would_read_as_options_are_refused() {
        for name in ["-o", "@args", "pkg/-x.py", "pkg/@x.py"] {
            let message = error_of(v2("python", &[("main.py", "x", true), (name, "y", false)]));
            assert!(
                message.contains("begins with '-' or '@'"),
                "{name}: {message}"
            );
        }
        assert!(v2(
            "python",
            &[("main.py", "x", true), ("a-b@c.py", "y", false)]
        )
        .is_ok());
    }

    #[test]
    fn each_language_has_its_longest_name() {
        let java = |stem_len: usize| {
            let name = format!("{}.java", "A".repeat(stem_len));
            v2("java", &[(name.as_str(), "class A {}", true)])
        };
        assert!(java(249).is_ok(), "A{{249}}.class fits in 255 bytes");
        assert!(error_of(java(250)).contains("longer than 254 bytes"));
        let python = format!("{}.py", "m".repeat(252));
        assert!(v2("python", &[(python.as_str(), "1", true)]).is_ok());
    }

    #[test]
    fn arguments_are_bounded_one_by_one_and_in_all() {
        let (registry, limits) = setup();
        let request = |args: Vec<String>| ExecuteV1 {
            language: Some("python".into()),
            code: Some("print(1)".into()),
            options: JobOptions {
                args: Some(args),
                ..Default::default()
            },
        };
        let validate = |args| request(args).validate(&registry, &limits);
        assert!(validate(vec!["a".repeat(MAX_ARG_BYTES)]).is_ok());
        let long = validate(vec!["x".into(), "a".repeat(MAX_ARG_BYTES + 1)]).unwrap_err();
        assert!(long.0.starts_with("args[1] is 65537 bytes"), "{}", long.0);
        let many = validate(vec!["a".repeat(MAX_ARG_BYTES); 5]).unwrap_err();
        assert!(many.0.contains("327680 bytes in all"), "{}", many.0);
    }

    #[test]
    fn limits_may_be_written_as_whole_floats_but_not_as_fractions() {
        let parse = |body: &str| serde_json::from_str::<ExecuteV1>(body);
        let request = parse(r#"{"timeoutMs": 1000.0, "memoryLimitMb": 64}"#).unwrap();
        assert_eq!(request.options.timeout_ms, Some(1000));
        assert_eq!(request.options.memory_limit_mb, Some(64));
        assert_eq!(
            parse(r#"{"timeoutMs": null}"#).unwrap().options.timeout_ms,
            None
        );
        for bad in ["1000.5", "-1", "-1.0", "1e300", "\"100\""] {
            let body = format!(r#"{{"timeoutMs": {bad}}}"#);
            assert!(parse(&body).is_err(), "{bad}");
        }
    }

    #[test]
    fn too_many_files_are_refused() {
        let names: Vec<String> = (0..65).map(|i| format!("f{i}.py")).collect();
        let files: Vec<(&str, &str, bool)> =
            names.iter().map(|n| (n.as_str(), "x", false)).collect();
        assert!(error_of(v2("python", &files)).contains("at most 64"));
    }

    #[test]
    fn limits_may_be_lowered_but_not_raised() {
        let (registry, limits) = setup();
        let request = |timeout_ms, memory_limit_mb| ExecuteV1 {
            language: Some("python".into()),
            code: Some("print(1)".into()),
            options: JobOptions {
                timeout_ms,
                memory_limit_mb,
                ..Default::default()
            },
        };
        let spec = request(Some(1000), Some(64))
            .validate(&registry, &limits)
            .unwrap();
        assert_eq!((spec.timeout_ms, spec.memory_mb), (1000, 64));
        let error = request(Some(60_000), None)
            .validate(&registry, &limits)
            .unwrap_err();
        assert!(error.0.contains("above the python limit of 5000"));
        let error = request(None, Some(1))
            .validate(&registry, &limits)
            .unwrap_err();
        assert!(error.0.contains("below the minimum"));
    }

    #[test]
    fn the_wall_time_limit_defaults_to_a_multiple_of_the_cpu_limit_within_its_cap() {
        let (registry, limits) = setup();
        let request = |timeout_ms, wall_timeout_ms| ExecuteV1 {
            language: Some("python".into()),
            code: Some("print(1)".into()),
            options: JobOptions {
                timeout_ms,
                wall_timeout_ms,
                ..Default::default()
            },
        };
        let spec = request(Some(1000), None)
            .validate(&registry, &limits)
            .unwrap();
        assert_eq!(spec.wall_timeout_ms, 1000 * limits.wall_time_factor);
        let spec = request(Some(1000), Some(300))
            .validate(&registry, &limits)
            .unwrap();
        assert_eq!((spec.timeout_ms, spec.wall_timeout_ms), (1000, 300));
        let above = limits.max_wall_timeout_ms + 1;
        let error = request(None, Some(above))
            .validate(&registry, &limits)
            .unwrap_err();
        assert_eq!(
            error.0,
            format!(
                "wallTimeoutMs {above} is above the server's limit of {}",
                limits.max_wall_timeout_ms
            )
        );
    }

    #[test]
    fn empty_code_is_refused() {
        let (registry, limits) = setup();
        let request = ExecuteV1 {
            language: Some("ruby".into()),
            code: Some("  \n".into()),
            ..Default::default()
        };
        assert!(request
            .validate(&registry, &limits)
            .unwrap_err()
            .0
            .contains("code is required"));
    }

    #[test]
    fn java_code_on_v1_is_named_after_its_public_class() {
        let (registry, limits) = setup();
        let request = |code: &str| ExecuteV1 {
            language: Some("java".into()),
            code: Some(code.into()),
            ..Default::default()
        };
        let named = request("import java.util.*;\npublic final class Solution {\n}")
            .validate(&registry, &limits)
            .unwrap();
        assert_eq!(named.entry, "Solution.java");
        let unnamed = request("class Main {}")
            .validate(&registry, &limits)
            .unwrap();
        assert_eq!(unnamed.entry, "Main.java");
    }

    #[test]
    fn a_compiled_language_needs_at_least_one_of_its_source_files() {
        let message = error_of(v2("ocaml", &[("main.py", "print('hi')", false)]));
        assert!(
            message.contains("ocaml compiles its source files (.ml) and none was given"),
            "{message}"
        );
        assert!(v2("ocaml", &[("main.py", "x", false), ("a.ml", "()", false)]).is_ok());
        assert!(error_of(v2("cpp", &[("main.txt", "int main(){}", true)])).contains("(.cpp"));
    }

    #[test]
    fn java_entry_point_must_be_a_java_file() {
        assert!(error_of(v2(
            "java",
            &[("notes.txt", "x", true), ("Main.java", "y", false)]
        ))
        .contains("source file"));
    }
}
