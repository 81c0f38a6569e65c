//! Piston's execute in the OpenAPI description, narrowed to one runtime at a time: its names,
//! its limits (in Piston's units) and its file-name rules, so that a body the description admits
//! is one the service runs, apart from what JSON Schema cannot say (stated in words): that
//! `version` must match the version the engine probes once it runs, that base64 and hex contents
//! decode to UTF-8 text, that the first `utf8` file is run and so must exist and not be blank,
//! and the cross-file rules of `/api/v2/execute` (unique names, no name both a file and a
//! folder, Java's entry point a `.java` file).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::handlers::PREFIXES;
use super::limits::{bounds, Bound};
use super::runtimes::{runtimes, Runtime};
use crate::api::openapi::file_name_pattern;
use crate::api::request::{MAX_ARGS, MAX_ARGS_TOTAL_BYTES, MAX_ARG_BYTES};
use crate::config::GlobalLimits;
use codeexec_engine::{LanguageRegistry, FILESYSTEM_NAME_MAX};

/// `description` with the body of Piston's execute, under each prefix, narrowed to a `oneOf` of
/// this service's runtimes.
pub fn narrowed(
    mut description: Value,
    registry: &LanguageRegistry,
    limits: &GlobalLimits,
) -> Value {
    let variants: Vec<Value> = runtimes(registry, &HashMap::new())
        .iter()
        .map(|runtime| runtime_schema(runtime, limits))
        .collect();
    for prefix in PREFIXES {
        let path = format!("{prefix}/execute");
        let body =
            &mut description["paths"][&path]["post"]["requestBody"]["content"]["application/json"];
        if body.is_object() {
            body["schema"] = json!({ "oneOf": variants });
        }
    }
    description
}

fn runtime_schema(runtime: &Runtime, limits: &GlobalLimits) -> Value {
    let settings = &runtime.ours.settings;
    let mut names = vec![runtime.language];
    names.extend(
        runtime
            .aliases
            .iter()
            .filter(|alias| **alias != runtime.language),
    );
    let name_pattern =
        file_name_pattern(settings.allow_subdirectories, settings.max_file_name_bytes);
    let mut properties = json!({
        "language": { "type": "string", "enum": names },
        "version": {
            "type": ["string", "null"],
            "description": "An npm semver range the runtime's version (as `runtimes` lists it) must satisfy; `*` when missing",
        },
        "files": {
            "type": "array",
            "minItems": 1,
            "maxItems": limits.max_files,
            "description": "The first `utf8` file (without an encoding, or `utf8`) is run: at least one is needed, and its content must not be blank",
            "items": {
                "type": "object",
                "required": ["content"],
                "properties": {
                    "name": {
                        "type": ["string", "null"],
                        "maxLength": FILESYSTEM_NAME_MAX,
                        "description": format!("Empty or missing: the language's default for the entry point, `file<i>.code` for the others. At most {FILESYSTEM_NAME_MAX} bytes of UTF-8, each part at most {} bytes; names unique, none both a file and the folder of another", settings.max_file_name_bytes),
                        "pattern": format!("^$|{name_pattern}"),
                    },
                    "content": { "type": "string" },
                    "encoding": {
                        "type": ["string", "null"],
                        "description": "`utf8` (the default; any other name reads as it), `base64` or `hex`; what it decodes to must be UTF-8 text",
                    },
                },
            },
        },
        "stdin": { "type": ["string", "null"] },
        "args": {
            "type": ["array", "null"],
            "maxItems": MAX_ARGS,
            "description": format!("At most {MAX_ARGS} arguments of at most {MAX_ARG_BYTES} bytes of UTF-8 each, {MAX_ARGS_TOTAL_BYTES} bytes in all"),
            "items": { "type": "string", "maxLength": MAX_ARG_BYTES, "pattern": "^[^\\u0000]*$" },
        },
    });
    if runtime.ours.compiles_sources() {
        // Which file is the entry point, and so takes the default name when it has none, depends
        // on the files' order and encodings: JSON Schema cannot say it, so the words do.
        let files = &mut properties["files"];
        let rule = format!(
            "{}; the compiler takes every source file ({}), and at least one is needed: a file \
             named so, or an entry point without a name (the language's default is one)",
            files["description"].as_str().unwrap_or_default(),
            settings.source_extensions.join(", ")
        );
        files["description"] = json!(rule);
    }
    for bound in bounds(&runtime.ours, limits) {
        properties[bound.field] = limit_schema(&bound);
    }
    json!({
        "title": runtime.language,
        "type": "object",
        "required": ["language", "files"],
        "properties": properties,
    })
}

/// Ours (absent, `null`, `-1` or `0`) or a number within the bounds.
fn limit_schema(bound: &Bound) -> Value {
    json!({
        "anyOf": [
            { "type": "null" },
            { "enum": [-1, 0] },
            { "type": "number", "minimum": bound.least, "maximum": bound.ours },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn each_runtime_is_a_variant_with_its_names_and_limits() {
        let settings = Settings::repository_defaults();
        let registry = LanguageRegistry::new(&settings.languages);
        let description = json!({"paths": {
            "/piston/api/v2/execute": {"post": {"requestBody": {"content": {"application/json": {"schema": {}}}}}},
            "/api/v2/piston/execute": {"post": {"requestBody": {"content": {"application/json": {"schema": {}}}}}},
        }});
        let narrowed = narrowed(description, &registry, &settings.limits);
        for path in ["/piston/api/v2/execute", "/api/v2/piston/execute"] {
            let variants = narrowed["paths"][path]["post"]["requestBody"]["content"]
                ["application/json"]["schema"]["oneOf"]
                .as_array()
                .unwrap()
                .clone();
            assert_eq!(variants.len(), registry.all().count());
            let cpp = variants
                .iter()
                .find(|variant| variant["title"] == "c++")
                .unwrap();
            assert_eq!(
                cpp["properties"]["language"]["enum"],
                json!(["c++", "cpp", "g++"])
            );
            let memory = &cpp["properties"]["run_memory_limit"]["anyOf"][2];
            assert_eq!(
                memory["maximum"],
                settings.languages["cpp"].memory_mb * 1024 * 1024
            );
        }
    }
}
