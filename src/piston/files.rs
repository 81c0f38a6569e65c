//! Piston's `files`: each `{name, content, encoding}`, the content written as `utf8` (the
//! default, and what an unknown encoding means, as in Piston), `base64` or `hex`. The entry point
//! is the first `utf8` file, the one Piston runs; a request needs at least one.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value;

/// Base64 as Node's `Buffer.from(text, 'base64')` reads it: padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A file of the request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PistonFile {
    /// `None` when the request gave none.
    pub name: Option<String>,
    pub content: String,
    /// Written as `utf8` (or without an encoding): a code file, of which the first is run.
    pub is_code: bool,
}

/// The files of `files`, decoded, or Piston's message for what is wrong.
pub(crate) fn decode_files(files: Option<&Value>) -> Result<Vec<PistonFile>, String> {
    let Some(Value::Array(files)) = files else {
        return Err("files is required as an array".into());
    };
    let decoded = files
        .iter()
        .enumerate()
        .map(|(index, file)| decode_file(index, file))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(decoded)
}

/// The entry point: the first code file, or Piston's message when there is none.
pub(crate) fn entry_index(files: &[PistonFile]) -> Result<usize, String> {
    files
        .iter()
        .position(|file| file.is_code)
        .ok_or_else(|| "files must include at least one utf8 encoded file".into())
}

fn decode_file(index: usize, file: &Value) -> Result<PistonFile, String> {
    let Some(content) = file.get("content").and_then(Value::as_str) else {
        return Err(format!("files[{index}].content is required as a string"));
    };
    let name = match file.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if name.is_empty() => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(format!("files[{index}].name must be a string")),
    };
    let encoding = file.get("encoding").and_then(Value::as_str);
    let bytes = match encoding {
        Some("base64") => BASE64
            .decode(content.trim_end())
            .map_err(|error| format!("files[{index}].content is not valid base64: {error}"))?,
        Some("hex") => hex::decode(content.trim_end())
            .map_err(|error| format!("files[{index}].content is not valid hex: {error}"))?,
        _ => content.as_bytes().to_vec(),
    };
    let content = String::from_utf8(bytes).map_err(|_| {
        format!("files[{index}].content decodes to bytes that are not UTF-8; only text files can be given")
    })?;
    Ok(PistonFile {
        name,
        content,
        is_code: matches!(file.get("encoding"), None | Some(Value::Null))
            || encoding == Some("utf8"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoded(files: Value) -> Result<Vec<PistonFile>, String> {
        decode_files(Some(&files))
    }

    #[test]
    fn utf8_base64_and_hex_contents_are_decoded() {
        let files = decoded(json!([
            {"name": "main.py", "content": "import util"},
            {"name": "util.py", "content": "cHJpbnQoMSk=", "encoding": "base64"},
            {"name": "more.py", "content": "cHJpbnQoMSk", "encoding": "base64"},
            {"name": "data.txt", "content": "6869", "encoding": "hex"},
        ]))
        .unwrap();
        let contents: Vec<&str> = files.iter().map(|file| file.content.as_str()).collect();
        assert_eq!(contents, ["import util", "print(1)", "print(1)", "hi"]);
        let code: Vec<bool> = files.iter().map(|file| file.is_code).collect();
        assert_eq!(code, [true, false, false, false]);
    }

    #[test]
    fn a_missing_name_stays_missing_and_an_unknown_encoding_reads_as_text() {
        let files =
            decoded(json!([{"content": "x", "encoding": "utf-8"}, {"content": "y"}])).unwrap();
        assert_eq!(files[0].name, None);
        assert_eq!(files[0].content, "x");
        assert!(
            !files[0].is_code,
            "as in Piston, only `utf8` or no encoding is code"
        );
        assert!(files[1].is_code);
    }

    #[test]
    fn what_cannot_be_decoded_is_refused_with_the_file_named() {
        assert_eq!(
            decoded(json!([{"content": "x"}, {"content": "not base64!", "encoding": "base64"}]))
                .unwrap_err()
                .split(':')
                .next(),
            Some("files[1].content is not valid base64")
        );
        assert!(
            decoded(json!([{"content": "x"}, {"content": "zz", "encoding": "hex"}]))
                .unwrap_err()
                .starts_with("files[1].content is not valid hex")
        );
        assert!(
            decoded(json!([{"content": "x"}, {"content": "ff", "encoding": "hex"}]))
                .unwrap_err()
                .contains("not UTF-8")
        );
    }

    #[test]
    fn piston_messages_for_missing_files_and_contents() {
        assert_eq!(
            decode_files(None).unwrap_err(),
            "files is required as an array"
        );
        assert_eq!(
            decoded(json!({})).unwrap_err(),
            "files is required as an array"
        );
        assert_eq!(
            decoded(json!([{"name": "a.py"}])).unwrap_err(),
            "files[0].content is required as a string"
        );
    }

    #[test]
    fn the_entry_point_is_the_first_utf8_file() {
        let files = decoded(
            json!([{"content": "eA==", "encoding": "base64"}, {"content": "x"}, {"content": "y"}]),
        );
        assert_eq!(entry_index(&files.unwrap()), Ok(1));
        let none = "files must include at least one utf8 encoded file".to_string();
        let binary_only = decoded(json!([{"content": "eA==", "encoding": "base64"}])).unwrap();
        assert_eq!(entry_index(&binary_only), Err(none.clone()));
        assert_eq!(entry_index(&[]), Err(none));
    }
}
