//! Which languages a test's service offers. The repository's config has twenty; a service that
//! warmed all of them for every test would start thirty-odd containers before each test on a
//! 2-core machine. So a test service offers the six original languages unless the test asks for
//! more: [`every_language`] for the tests of the languages themselves.

use std::path::Path;

use figment::providers::{Format, Toml};
use figment::Figment;

/// The languages every test service offers: those the tests written before the others use.
pub const ORIGINAL_LANGUAGES: [&str; 6] = ["cpp", "go", "java", "javascript", "python", "ruby"];

/// Overrides that turn off every original language but Python, for tests that need one pool
/// (the others are off already, see [`only_original_languages`]).
pub const PYTHON_ONLY: [(&str, &str); 5] = [
    ("CODEEXEC_LANGUAGES__JAVASCRIPT__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__RUBY__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__JAVA__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__GO__ENABLED", "false"),
    ("CODEEXEC_LANGUAGES__CPP__ENABLED", "false"),
];

/// Every language in the repository's config/default.toml, by its table name.
pub fn configured_languages() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let languages = Figment::from(Toml::file_exact(path))
        .find_value("languages")
        .expect("config/default.toml has [languages.*] tables");
    languages
        .into_dict()
        .expect("languages is a table")
        .into_keys()
        .collect()
}

/// Environment overrides that turn off every configured language outside the original six; a
/// test's own overrides come after them and may turn one back on.
pub fn only_original_languages() -> Vec<(String, String)> {
    configured_languages()
        .into_iter()
        .filter(|language| !ORIGINAL_LANGUAGES.contains(&language.as_str()))
        .map(|language| (enabled_key(&language), "false".to_string()))
        .collect()
}

/// Overrides that offer every configured language, each with its configured pool.
pub fn every_language() -> Vec<(String, String)> {
    configured_languages()
        .into_iter()
        .map(|language| (enabled_key(&language), "true".to_string()))
        .collect()
}

fn enabled_key(language: &str) -> String {
    format!(
        "CODEEXEC_LANGUAGES__{}__ENABLED",
        language.to_ascii_uppercase()
    )
}

/// The image a test service runs `language` in: the repository's name, unless the environment
/// names another (`CODEEXEC_LANGUAGES__<LANGUAGE>__IMAGE`, as a branch building images of its own
/// does).
pub fn configured_image(language: &str) -> String {
    std::env::var(format!(
        "CODEEXEC_LANGUAGES__{}__IMAGE",
        language.to_uppercase()
    ))
    .unwrap_or_else(|_| format!("codeexec/{language}:latest"))
}
