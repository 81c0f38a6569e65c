//! The Judge0 operations of the OpenAPI description narrowed to what the handlers accept, which
//! only the settings and Judge0's own tables know: the `fields` a request may name, the size of a
//! batch, and a submission's required `source_code` and `language_id` (one of the ids this
//! service offers). Everything else a submission may hold is left open, as Judge0 ignores
//! unknown keys.

use serde_json::{json, Value};

use super::languages::LANGUAGES;
use super::submission::ALL_FIELDS;
use crate::api::openapi::WHITE_SPACE;
use codeexec_engine::LanguageRegistry;

/// `description` with every Judge0 operation (at the root and under `/judge0`) narrowed.
pub fn narrowed(mut description: Value, registry: &LanguageRegistry, max_batch: usize) -> Value {
    let submission = submission_schema(registry);
    let batch = json!({
        "type": "object",
        "required": ["submissions"],
        "properties": {
            "submissions": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_batch,
                // 201 when one submission is valid (the others get their errors), 422 when none.
                "contains": submission,
            },
        },
    });
    let Some(paths) = description["paths"].as_object_mut() else {
        return description;
    };
    for (path, item) in paths.iter_mut() {
        let route = path.strip_prefix("/judge0").unwrap_or(path);
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if !is_judge0(operation) {
                continue;
            }
            narrow_parameters(operation, max_batch);
            let body = match (method.as_str(), route) {
                ("post", "/submissions") => &submission,
                ("post", "/submissions/batch") => &batch,
                _ => continue,
            };
            operation["requestBody"]["required"] = json!(true);
            operation["requestBody"]["content"]["application/json"]["schema"] = body.clone();
        }
    }
    description
}

fn is_judge0(operation: &Value) -> bool {
    operation["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|tag| tag == "judge0"))
}

/// `fields` as `requested_fields` reads it, `tokens` as the batch GET reads it.
fn narrow_parameters(operation: &mut Value, max_batch: usize) {
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters {
        match parameter["name"].as_str() {
            Some("fields") => {
                parameter["schema"] = json!({"type": "string", "pattern": fields_pattern()})
            }
            Some("tokens") => {
                parameter["required"] = json!(true);
                parameter["schema"] =
                    json!({"type": "string", "pattern": tokens_pattern(max_batch)});
            }
            _ => {}
        }
    }
}

/// White space (as `str::trim` reads it) around `*`, or a comma-separated list of field names
/// and empty items.
fn fields_pattern() -> String {
    let space = format!("[{WHITE_SPACE}]*");
    let names = ALL_FIELDS.join("|");
    let item = format!("{space}(?:(?:{names}){space})?");
    format!("^(?:{space}\\*{space}|{item}(?:,{item})*)$")
}

/// One to `max_batch` tokens (items that are not blank once trimmed), empty items between.
fn tokens_pattern(max_batch: usize) -> String {
    let space = format!("[{WHITE_SPACE}]*");
    let solid = format!("[^,{WHITE_SPACE}]");
    let token = format!("{space}{solid}(?:[^,]*{solid})?{space}");
    let more = max_batch.saturating_sub(1);
    format!("^(?:{space},)*{token}(?:(?:,{space})*,{token}){{0,{more}}}(?:,{space})*$")
}

/// A submission: `source_code` not blank, `language_id` one this service offers. Like Judge0
/// (Rails), the service reads a number or boolean as text and a numeric string as a number.
fn submission_schema(registry: &LanguageRegistry) -> Value {
    let ids: Vec<i64> = LANGUAGES
        .iter()
        .filter(|language| registry.resolve(language.language).is_some())
        .map(|language| language.id)
        .collect();
    json!({
        "type": "object",
        "required": ["source_code", "language_id"],
        "properties": {
            "source_code": {
                "anyOf": [
                    { "type": "string", "pattern": format!("[^{WHITE_SPACE}]") },
                    { "type": ["number", "boolean"] },
                ],
            },
            "language_id": {
                "anyOf": [
                    { "type": "integer", "enum": ids },
                    { "type": "string", "pattern": numeric_id_pattern(&ids) },
                ],
            },
        },
    })
}

/// One of `ids` written as text, as `str::trim` and `f64`'s parser read it (without exponents).
fn numeric_id_pattern(ids: &[i64]) -> String {
    let space = format!("[{WHITE_SPACE}]*");
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("^{space}\\+?0*(?:{})(?:\\.0*)?{space}$", ids.join("|"))
}
