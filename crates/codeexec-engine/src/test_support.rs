//! The repository's `config/default.toml`, read for unit tests that need real language tables.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::settings::{
    DockerSettings, EngineSettings, GlobalLimits, LanguageSettings, RuntimeSettings,
};
use crate::LanguageRegistry;

#[derive(Deserialize)]
struct ConfigFile {
    docker: DockerSettings,
    runtime: RuntimeSettings,
    limits: GlobalLimits,
    languages: BTreeMap<String, LanguageSettings>,
}

pub fn repository_settings() -> EngineSettings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    let text = std::fs::read_to_string(&path).expect("read config/default.toml");
    let file: ConfigFile = toml::from_str(&text).expect("parse config/default.toml");
    EngineSettings {
        docker: file.docker,
        runtime: file.runtime,
        limits: file.limits,
        languages: file.languages,
    }
}

pub fn repository_registry() -> LanguageRegistry {
    LanguageRegistry::new(&repository_settings().languages)
}
