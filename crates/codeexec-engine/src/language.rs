//! The language registry: canonical names, aliases and each language's settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::settings::LanguageSettings;

/// One configured language.
#[derive(Debug, Clone)]
pub struct Language {
    /// Canonical name, e.g. `python`.
    pub name: String,
    pub settings: LanguageSettings,
}

impl Language {
    /// Whether `file_name` is handed to the compiler as a source file.
    pub fn is_source(&self, file_name: &str) -> bool {
        self.settings
            .source_extensions
            .iter()
            .any(|extension| file_name.ends_with(extension.as_str()))
    }

    /// Whether the compile command takes every source file (`{sources}`), so that a job
    /// without one would compile nothing and leave no program to run.
    pub fn compiles_sources(&self) -> bool {
        self.settings.compile.iter().any(|part| part == "{sources}")
    }

    /// Whether the commands name the entry point by its stem (Java's class), which then must
    /// be a source file.
    pub fn runs_entry_by_stem(&self) -> bool {
        let settings = &self.settings;
        settings
            .compile
            .iter()
            .chain(&settings.run)
            .any(|part| part.contains("{entry_stem}"))
    }
}

/// Looks languages up by canonical name or alias, case-insensitively.
#[derive(Debug)]
pub struct LanguageRegistry {
    languages: BTreeMap<String, Arc<Language>>,
    by_any_name: BTreeMap<String, Arc<Language>>,
}

impl LanguageRegistry {
    /// The enabled languages of `settings`, keyed by canonical name.
    pub fn new(settings: &BTreeMap<String, LanguageSettings>) -> LanguageRegistry {
        let mut languages = BTreeMap::new();
        let mut by_any_name = BTreeMap::new();
        let enabled = settings.iter().filter(|(_, l)| l.enabled);
        for (name, language_settings) in enabled {
            let language = Arc::new(Language {
                name: name.clone(),
                settings: language_settings.clone(),
            });
            for alias in &language_settings.aliases {
                by_any_name.insert(alias.to_ascii_lowercase(), language.clone());
            }
            by_any_name.insert(name.to_ascii_lowercase(), language.clone());
            languages.insert(name.clone(), language);
        }
        LanguageRegistry {
            languages,
            by_any_name,
        }
    }

    /// The language called `name` (canonical or alias, any case, surrounding spaces ignored).
    pub fn resolve(&self, name: &str) -> Option<&Arc<Language>> {
        self.by_any_name.get(&name.trim().to_ascii_lowercase())
    }

    /// Every language, by canonical name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Language>> {
        self.languages.values()
    }

    /// "cpp, go, ... (aliases: c++, golang, ...)", for error messages.
    pub fn describe_names(&self) -> String {
        let names: Vec<&str> = self.languages.keys().map(String::as_str).collect();
        let mut aliases: Vec<&str> = self
            .languages
            .values()
            .flat_map(|language| language.settings.aliases.iter().map(String::as_str))
            .collect();
        aliases.sort_unstable();
        format!("{} (aliases: {})", names.join(", "), aliases.join(", "))
    }
}
