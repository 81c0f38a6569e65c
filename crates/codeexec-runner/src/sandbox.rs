//! Writing the job's files into the sandbox directory.
//!
//! The engine has already validated the names; they are checked again here so that a bug there
//! cannot make the runner write outside the sandbox.

use std::fs;
use std::path::{Component, Path};

use codeexec_protocol::SourceFile;

/// Writes every file under `dir`, creating parent directories for names with `/`.
pub fn write_files(dir: &Path, files: &[SourceFile]) -> Result<(), String> {
    files.iter().try_for_each(|file| write_file(dir, file))
}

fn write_file(dir: &Path, file: &SourceFile) -> Result<(), String> {
    let path = dir.join(checked_name(&file.name)?);
    let fail = |error: std::io::Error| format!("cannot write file {:?}: {error}", file.name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    fs::write(&path, &file.content).map_err(fail)
}

/// Only plain names are allowed: no root, no `..`, and no `.` (which no sane name needs).
fn checked_name(name: &str) -> Result<&Path, String> {
    let path = Path::new(name);
    let plain = path
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    if name.is_empty() || !plain {
        return Err(format!(
            "refusing file name {name:?}: it must be a plain relative path"
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_names_are_accepted() {
        assert!(checked_name("main.py").is_ok());
        assert!(checked_name("src/lib/util.rs").is_ok());
    }

    #[test]
    fn names_that_could_leave_the_sandbox_are_refused() {
        for name in ["", "/etc/passwd", "../x", "a/../../x", "./x"] {
            assert!(checked_name(name).is_err(), "{name:?} was accepted");
        }
    }
}
