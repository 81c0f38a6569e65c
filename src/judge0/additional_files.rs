//! `additional_files`: a base64 zip whose files are put beside the source code. Unpacked in
//! memory with limits on the number of files, their total size once unpacked (read, not
//! trusted from the archive's header) and their paths.

use std::io::{Cursor, Read};

use base64::Engine as _;
use codeexec_protocol::SourceFile;

/// What can be wrong with an archive, as the 422 message for `additional_files`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadArchive(pub String);

/// The archive's limits.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    pub max_files: usize,
    pub max_unpacked_bytes: u64,
    /// Whether paths may name folders (`lib/util.py`).
    pub allow_subdirectories: bool,
}

/// The files of a base64 zip, in archive order (folders skipped).
pub fn unpack(base64_zip: &str, limits: ArchiveLimits) -> Result<Vec<SourceFile>, BadArchive> {
    let compact: String = base64_zip.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| BadArchive("is not valid base64".into()))?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|error| BadArchive(format!("is not a zip archive: {error}")))?;
    let mut files = Vec::new();
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| BadArchive(format!("cannot be read: {error}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|error| BadArchive(format!("holds a file name that cannot be read: {error}")))?
            .to_string();
        check_path(&name, limits.allow_subdirectories)
            .map_err(|why| BadArchive(format!("holds {name:?}, which {why}")))?;
        if files.len() == limits.max_files {
            return Err(BadArchive(format!(
                "holds more than {} files",
                limits.max_files
            )));
        }
        let room = limits.max_unpacked_bytes - unpacked;
        let mut content = Vec::new();
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut content)
            .map_err(|error| BadArchive(format!("cannot be unpacked: {error}")))?;
        if content.len() as u64 > room {
            return Err(BadArchive(format!(
                "unpacks to more than {} KB",
                limits.max_unpacked_bytes / 1024
            )));
        }
        unpacked += content.len() as u64;
        let content = String::from_utf8(content)
            .map_err(|_| BadArchive(format!("holds {name:?}, which is not UTF-8 text")))?;
        files.push(SourceFile { name, content });
    }
    Ok(files)
}

/// Relative, without `.`/`..`, backslashes or control characters; folders only when allowed.
fn check_path(name: &str, allow_subdirectories: bool) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 255 {
        return Err("is empty or longer than 255 bytes");
    }
    if name.starts_with('/') {
        return Err("is an absolute path");
    }
    if name.contains('\\') || name.chars().any(char::is_control) {
        return Err("contains a backslash or control character");
    }
    if name
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("contains an empty, \".\" or \"..\" path component");
    }
    if name.contains('/') && !allow_subdirectories {
        return Err("is in a folder, which this language does not allow");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    const LIMITS: ArchiveLimits = ArchiveLimits {
        max_files: 2,
        max_unpacked_bytes: 1024,
        allow_subdirectories: true,
    };

    fn zip_of(files: &[(&str, &[u8])]) -> String {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in files {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .unwrap();
            writer.write_all(content).unwrap();
        }
        let bytes = writer.finish().unwrap().into_inner();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn files_come_out_in_order() {
        let files = unpack(
            &zip_of(&[("a.py", b"x = 1"), ("lib/b.py", b"y = 2")]),
            LIMITS,
        )
        .unwrap();
        assert_eq!(files[0].name, "a.py");
        assert_eq!(files[1].content, "y = 2");
    }

    #[test]
    fn escaping_paths_are_refused() {
        for name in ["../x.py", "/etc/passwd", "a/./b", "a\\b"] {
            let error = unpack(&zip_of(&[(name, b"1")]), LIMITS).unwrap_err();
            assert!(
                error.0.contains(name) || error.0.contains("holds"),
                "{error}"
            );
        }
        let flat = ArchiveLimits {
            allow_subdirectories: false,
            ..LIMITS
        };
        assert!(unpack(&zip_of(&[("lib/b.go", b"1")]), flat).is_err());
    }

    #[test]
    fn too_many_files_or_bytes_are_refused() {
        let three = zip_of(&[("a", b"1"), ("b", b"2"), ("c", b"3")]);
        assert_eq!(
            unpack(&three, LIMITS).unwrap_err().0,
            "holds more than 2 files"
        );
        let big = vec![b'a'; 1025];
        let error = unpack(&zip_of(&[("a", &big)]), LIMITS).unwrap_err();
        assert_eq!(error.0, "unpacks to more than 1 KB");
    }

    #[test]
    fn garbage_is_not_an_archive() {
        assert_eq!(unpack("!!!", LIMITS).unwrap_err().0, "is not valid base64");
        assert!(unpack("aGVsbG8=", LIMITS)
            .unwrap_err()
            .0
            .starts_with("is not a zip archive"));
    }
}
