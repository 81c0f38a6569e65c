//! The OpenAPI 3.1 description of the service: built from the endpoints as they are registered
//! (`utoipa_actix_web`), then narrowed to this service's languages and limits, which only the
//! settings know (per language: its names, its time and memory limits, where its files may live),
//! and served at `/api/openapi.json`.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::error::ErrorBody;
use super::request::{MAX_ARGS, MAX_ARGS_TOTAL_BYTES, MAX_ARG_BYTES};
use super::response::ExecuteResponse;
use crate::config::GlobalLimits;
use codeexec_engine::{Language, LanguageRegistry, FILESYSTEM_NAME_MAX};

/// Title, version, description and tags; the paths come from the registered endpoints.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "codeexec",
        description = "Anonymous remote code execution: POST code in Python, JavaScript, Java, \
            Go, C++ or Ruby and get back its output, how it ended and what it cost. Every job \
            runs in a fresh, locked-down container. Interactive runs (stdin typed while the \
            program runs, output as it is written) are WebSocket sessions at `/api/v1/connect` \
            and Piston's `/piston/api/v2/connect`, which this description, HTTP only, leaves \
            out: the README describes them.",
    ),
    components(schemas(ExecuteResponse, ErrorBody)),
    tags(
        (name = "execute", description = "Run code (rate limited per client)"),
        (name = "service", description = "Languages, health, metrics and this description"),
        (name = "execution log", description = "Executions stored with `saveMetric` (MongoDB)"),
        (name = "pages", description = "The playground and this reference, for people"),
        (name = "judge0", description = "The Judge0 CE 1.13.1 compatible API, at the root and \
            under `/judge0` (rate limited per client where it runs code)"),
        (name = "piston", description = "The Piston v2 compatible API, under `/piston/api/v2` and \
            `/api/v2/piston` (execute is rate limited per client)"),
    )
)]
pub struct ApiDoc;

/// The document served at `/api/openapi.json`.
pub struct Description(pub Value);

/// This description, as OpenAPI 3.1 JSON.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 description of every endpoint",
        content_type = "application/json", body = Object))
)]
pub async fn openapi_json(description: web::Data<Description>) -> HttpResponse {
    HttpResponse::Ok().json(&description.0)
}

/// Characters a file name may never hold: `/` (between components only), a backslash, and
/// control characters (Rust's `char::is_control`, Unicode category Cc).
const NAME_CHARACTER: &str = r"[^/\\\u0000-\u001F\u007F-\u009F]";
/// A name character other than `.`.
const NAME_CHARACTER_NOT_DOT: &str = r"[^./\\\u0000-\u001F\u007F-\u009F]";
/// A name character that may begin a part of a name: not `.` (handled apart), nor `-` or `@`,
/// which compilers would read as an option or a file of arguments.
const NAME_CHARACTER_TO_BEGIN: &str = r"[^./\\\-@\u0000-\u001F\u007F-\u009F]";
/// White space as Rust's `char::is_whitespace` reads it (Unicode White_Space), which decides
/// whether code is empty.
pub(crate) const WHITE_SPACE: &str =
    r"\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// `description` with each execute endpoint's request body narrowed to one of this service's
/// languages at a time: its names, its limits and its file-name rules, so that a body the
/// description admits is one the service runs (apart from what JSON Schema cannot say across
/// files: unique names, one entry point, the entry point's code not blank, a Java entry point
/// being a `.java` file, no name both a file and a folder; and limits in bytes, where JSON
/// Schema counts characters: these are stated in words, `description`).
pub fn for_languages(
    mut description: Value,
    registry: &LanguageRegistry,
    limits: &GlobalLimits,
) -> Value {
    for (path, base) in [
        ("/api/v1/execute", "ExecuteV1"),
        ("/api/v2/execute", "ExecuteV2"),
    ] {
        let variants: Vec<Value> = registry
            .all()
            .map(|language| {
                json!({
                    "title": language.name,
                    "allOf": [
                        { "$ref": format!("#/components/schemas/{base}") },
                        narrowed(language, limits, base == "ExecuteV2"),
                    ]
                })
            })
            .collect();
        let example = description_example(&description, base);
        let body =
            &mut description["paths"][path]["post"]["requestBody"]["content"]["application/json"];
        body["schema"] = json!({ "oneOf": variants });
        body["example"] = example;
    }
    description
}

/// The example the request's schema carries, shown beside the body too so that tools try it.
fn description_example(description: &Value, schema: &str) -> Value {
    description["components"]["schemas"][schema]["example"].clone()
}

/// What a request for `language` must hold beyond the shape of its fields.
fn narrowed(language: &Language, limits: &GlobalLimits, files: bool) -> Value {
    let settings = &language.settings;
    let mut names = vec![language.name.clone()];
    names.extend(settings.aliases.iter().cloned());
    let code = json!({ "type": "string", "pattern": format!("[^{WHITE_SPACE}]") });
    let mut properties = json!({
        "language": { "type": "string", "enum": names },
        "timeoutMs": {
            "type": ["integer", "null"],
            "minimum": limits.min_timeout_ms,
            "maximum": settings.timeout_ms,
        },
        "wallTimeoutMs": {
            "type": ["integer", "null"],
            "minimum": limits.min_timeout_ms,
            "maximum": limits.max_wall_timeout_ms,
        },
        "memoryLimitMb": {
            "type": ["integer", "null"],
            // Above the global floor for a language whose runtime waits, pre-started, holding
            // memory of its own (Java's JVM).
            "minimum": settings.least_memory_mb(limits),
            "maximum": settings.memory_mb,
        },
        "args": {
            "type": ["array", "null"],
            "maxItems": MAX_ARGS,
            "description": format!("At most {MAX_ARGS} arguments of at most {MAX_ARG_BYTES} \
                bytes of UTF-8 each, {MAX_ARGS_TOTAL_BYTES} bytes in all"),
            "items": {
                "type": "string",
                "maxLength": MAX_ARG_BYTES,
                "pattern": "^[^\\u0000]*$",
            },
        },
    });
    if files {
        properties["files"] = json!({
            "type": "array",
            "minItems": 1,
            "maxItems": limits.max_files,
            "items": {
                "type": "object",
                "properties": {
                    "filename": {
                        "type": "string",
                        "maxLength": FILESYSTEM_NAME_MAX,
                        "description": format!("At most {FILESYSTEM_NAME_MAX} bytes of UTF-8, \
                            each part at most {} bytes; no part begins with `-` or `@`, and no \
                            name is both a file and the folder of another",
                            settings.max_file_name_bytes),
                        "pattern": file_name_pattern(
                            settings.allow_subdirectories,
                            settings.max_file_name_bytes,
                        ),
                    },
                    "code": { "type": "string" },
                },
            },
        });
        if language.compiles_sources() {
            properties["files"]["contains"] = json!({
                "type": "object",
                "required": ["filename"],
                "properties": {
                    "filename": {
                        "type": "string",
                        "pattern": ends_with_one_of(&settings.source_extensions),
                    },
                },
            });
            properties["files"]["description"] = json!(format!(
                "At least one of them a source file ({}): the compiler takes every one",
                settings.source_extensions.join(", ")
            ));
        }
    } else {
        properties["code"] = code;
    }
    json!({ "type": "object", "properties": properties })
}

/// A pattern matching a name that ends with one of `extensions`, as `Language::is_source` reads
/// it.
fn ends_with_one_of(extensions: &[String]) -> String {
    let escaped: Vec<String> = extensions
        .iter()
        .map(|extension| {
            extension
                .chars()
                .flat_map(|c| {
                    let special = r"\^$.|?*+()[]{}/".contains(c);
                    special.then_some('\\').into_iter().chain([c])
                })
                .collect()
        })
        .collect();
    format!("(?:{})$", escaped.join("|"))
}

/// A relative path: components that are neither empty, `.` nor `..`, begin with neither `-` nor
/// `@`, and hold at most `longest` characters (the service counts bytes, which JSON Schema
/// cannot), separated by `/` where the language allows folders.
pub(crate) fn file_name_pattern(allow_subdirectories: bool, longest: usize) -> String {
    let c = NAME_CHARACTER;
    let b = NAME_CHARACTER_TO_BEGIN;
    let d = NAME_CHARACTER_NOT_DOT;
    let rest = longest - 1;
    let after_dot = longest.saturating_sub(2);
    let component =
        format!(r"(?:{b}{c}{{0,{rest}}}|\.{d}{c}{{0,{after_dot}}}|\.\.{c}{{1,{after_dot}}})");
    if allow_subdirectories {
        format!("^{component}(?:/{component})*$")
    } else {
        format!("^{component}$")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(pattern: &str) -> impl Fn(&str) -> bool {
        let regex = regex::Regex::new(pattern).expect("a valid pattern");
        move |name| regex.is_match(name)
    }

    #[test]
    fn file_name_patterns_refuse_what_validation_refuses() {
        let flat = matcher(&file_name_pattern(false, 255));
        let nested = matcher(&file_name_pattern(true, 255));
        for good in ["main.py", ".env", "...", "..a", "a b.py", "é.py"] {
            assert!(flat(good) && nested(good), "{good}");
        }
        for bad in ["", ".", "..", "/abs", "a\\b", "a\u{7}b", "a\u{85}", "a\n"] {
            assert!(!flat(bad) && !nested(bad), "{bad:?}");
        }
        assert!(nested("pkg/mod.py") && !flat("pkg/mod.py"));
        for bad in ["a//b", "a/", "a/../b", "./a", "a/-b", "@a", "-o"] {
            assert!(!nested(bad), "{bad}");
        }
        assert!(flat(".-a") && flat("a-@b"));
        let java = matcher(&file_name_pattern(false, 254));
        assert!(java(&"A".repeat(254)) && !java(&"A".repeat(255)));
    }

    #[test]
    fn a_body_for_a_language_compiling_its_sources_must_hold_one_of_them() {
        let settings = crate::config::Settings::repository_defaults();
        let registry = LanguageRegistry::new(&settings.languages);
        let ocaml = registry.resolve("ocaml").expect("ocaml is configured");
        let files = &narrowed(ocaml, &settings.limits, true)["properties"]["files"];
        let source = matcher(
            files["contains"]["properties"]["filename"]["pattern"]
                .as_str()
                .unwrap(),
        );
        assert!(source("main.ml") && source("lib/x.ml"));
        assert!(!source("main.py") && !source("main.mli") && !source("ml"));
        let python = registry.resolve("python").expect("python is configured");
        let files = &narrowed(python, &settings.limits, true)["properties"]["files"];
        assert!(
            files.get("contains").is_none(),
            "python runs its entry point alone"
        );
    }

    #[test]
    fn a_source_pattern_reads_extensions_as_is_source_does() {
        let extensions = [".c++".to_string(), ".f".to_string(), ".R".to_string()];
        let source = matcher(&ends_with_one_of(&extensions));
        for name in ["a.c++", "a.f", "b.R", ".f"] {
            assert!(source(name), "{name}");
        }
        for name in ["a.c", "a.cxx", "a.r", "a.f90", "af", "a.c++x"] {
            assert!(!source(name), "{name}");
        }
    }

    #[test]
    fn code_is_blank_exactly_when_rust_trims_it_away() {
        let not_blank = matcher(&format!("[^{WHITE_SPACE}]"));
        for code in [" \t\n", "\u{85}\u{3000}", ""] {
            assert!(code.trim().is_empty() && !not_blank(code), "{code:?}");
        }
        for code in ["x", " \u{1c} ", "\u{feff}"] {
            assert!(!code.trim().is_empty() && not_blank(code), "{code:?}");
        }
    }
}
