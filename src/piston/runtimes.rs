//! Piston's runtimes: its language names, aliases and `runtime` field for each of our languages
//! (as Piston's `packages/*/metadata.json` name them), each with the version our engine probed
//! from its image written as semver, and the resolution of a request's language and version
//! range to one of them.

use std::collections::HashMap;
use std::sync::Arc;

use semver::Version;
use serde::Serialize;

use super::version_range::satisfies;
use crate::judge0::languages::version_number;
use codeexec_engine::{Language, LanguageRegistry};

/// How Piston names one of our languages.
struct PistonName {
    /// Piston's language name.
    language: &'static str,
    /// Our canonical name.
    ours: &'static str,
    aliases: &'static [&'static str],
    /// The package that provides the language, where Piston names one (`node`, `gcc`).
    runtime: Option<&'static str>,
}

const fn named(
    language: &'static str,
    ours: &'static str,
    aliases: &'static [&'static str],
    runtime: Option<&'static str>,
) -> PistonName {
    PistonName {
        language,
        ours,
        aliases,
        runtime,
    }
}

/// Piston's names for our languages; aliases that name a version we do not run (`typescript5`,
/// `python3.12`) are left out.
const PISTON_NAMES: &[PistonName] = &[
    named("python", "python", &["py", "py3", "python3"], None),
    named(
        "javascript",
        "javascript",
        &["node-javascript", "node-js", "javascript", "js"],
        Some("node"),
    ),
    named("typescript", "typescript", &["ts", "node-ts", "tsc"], None),
    named("java", "java", &[], None),
    named("go", "go", &["go", "golang"], None),
    named("c++", "cpp", &["cpp", "g++"], Some("gcc")),
    named("c", "c", &["gcc"], Some("gcc")),
    named("fortran", "fortran", &["fortran", "f90"], Some("gcc")),
    named("ruby", "ruby", &["ruby3", "rb"], None),
    named("rust", "rust", &["rs"], None),
    named("bash", "bash", &["sh"], None),
    named("lua", "lua", &[], None),
    named("perl", "perl", &["pl"], None),
    named("php", "php", &[], None),
    named("sqlite3", "sqlite", &["sqlite", "sql"], None),
    named("pascal", "pascal", &["freepascal", "pp", "pas"], None),
    named("ocaml", "ocaml", &["ocaml", "ml"], None),
    named("erlang", "erlang", &["erlang", "erl", "escript"], None),
    named("elixir", "elixir", &["elixir", "exs"], None),
    named("haskell", "haskell", &["haskell", "hs"], None),
    named("rscript", "r", &["r"], None),
];

/// One runtime as `GET runtimes` lists it, with the language of ours it runs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Runtime {
    pub language: &'static str,
    #[serde(serialize_with = "as_text")]
    pub version: Version,
    pub aliases: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<&'static str>,
    #[serde(skip)]
    pub ours: Arc<Language>,
}

fn as_text<S: serde::Serializer>(version: &Version, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(version)
}

/// Every runtime of ours Piston has a name for, among the enabled languages of `registry`.
/// `versions` holds each language's version probe output (see `Engine::pool_states`); a language
/// not probed yet is listed as `0.0.0`, which `*` matches.
pub(crate) fn runtimes(
    registry: &LanguageRegistry,
    versions: &HashMap<String, String>,
) -> Vec<Runtime> {
    PISTON_NAMES
        .iter()
        .filter_map(|name| {
            let ours = registry.all().find(|language| language.name == name.ours)?;
            let version = versions
                .get(name.ours)
                .and_then(|probe| semver_of(probe))
                .unwrap_or(Version::new(0, 0, 0));
            Some(Runtime {
                language: name.language,
                version,
                aliases: name.aliases,
                runtime: name.runtime,
                ours: ours.clone(),
            })
        })
        .collect()
}

/// `3.11.2` from "Python 3.11.2"; a version of two parts gets `.0`, of more than three keeps
/// three (`18.0.1.1` is `18.0.1`).
pub(crate) fn semver_of(probe: &str) -> Option<Version> {
    let number = version_number(probe)?;
    let mut parts = number.split('.').map(|part| part.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some(Version::new(major, minor, patch))
}

/// The runtime a request names: Piston's language name or one of its aliases (or, as a
/// courtesy, one of our names for the language), whose version satisfies `range`.
pub(crate) fn resolve<'a>(
    runtimes: &'a [Runtime],
    registry: &LanguageRegistry,
    language: &str,
    range: &str,
) -> Option<&'a Runtime> {
    let language = language.trim();
    let piston_named = |runtime: &&Runtime| {
        runtime.language.eq_ignore_ascii_case(language)
            || runtime
                .aliases
                .iter()
                .any(|alias| alias.eq_ignore_ascii_case(language))
    };
    let ours = registry.resolve(language);
    let named = runtimes.iter().find(piston_named).or_else(|| {
        let ours = ours?;
        runtimes
            .iter()
            .find(|runtime| runtime.ours.name == ours.name)
    })?;
    satisfies(range, &named.version).then_some(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn registry() -> LanguageRegistry {
        LanguageRegistry::new(&Settings::repository_defaults().languages)
    }

    fn probed() -> HashMap<String, String> {
        HashMap::from([
            ("python".to_string(), "Python 3.11.2".to_string()),
            ("javascript".to_string(), "v18.20.4".to_string()),
            (
                "cpp".to_string(),
                "g++ (Debian 12.2.0-14) 12.2.0".to_string(),
            ),
        ])
    }

    #[test]
    fn every_language_of_ours_has_a_piston_name() {
        let registry = registry();
        let listed = runtimes(&registry, &probed());
        assert_eq!(listed.len(), registry.all().count());
        let javascript = listed.iter().find(|r| r.language == "javascript").unwrap();
        assert_eq!(javascript.runtime, Some("node"));
        assert_eq!(javascript.version.to_string(), "18.20.4");
        let cpp = listed.iter().find(|r| r.language == "c++").unwrap();
        assert_eq!((cpp.runtime, cpp.ours.name.as_str()), (Some("gcc"), "cpp"));
        let r = listed.iter().find(|r| r.language == "rscript").unwrap();
        assert_eq!(r.version, Version::new(0, 0, 0), "not probed yet");
    }

    #[test]
    fn listed_as_piston_lists_them() {
        let registry = registry();
        let listed = runtimes(&registry, &probed());
        let python = listed.iter().find(|r| r.language == "python").unwrap();
        assert_eq!(
            serde_json::to_value(python).unwrap(),
            serde_json::json!({"language": "python", "version": "3.11.2", "aliases": ["py", "py3", "python3"]})
        );
        let javascript = listed.iter().find(|r| r.language == "javascript").unwrap();
        assert_eq!(serde_json::to_value(javascript).unwrap()["runtime"], "node");
    }

    #[test]
    fn versions_are_semver_whatever_the_probe_wrote() {
        let cases = [
            ("Python 3.11.2", "3.11.2"),
            ("go version go1.19.8 linux/amd64", "1.19.8"),
            ("openjdk version \"17.0.19\" 2025-04-15", "17.0.19"),
            ("Lua 5.4", "5.4.0"),
            ("18.0.1.1", "18.0.1"),
        ];
        for (probe, version) in cases {
            assert_eq!(semver_of(probe).unwrap().to_string(), version, "{probe}");
        }
        assert_eq!(semver_of("no number"), None);
    }

    #[test]
    fn a_language_resolves_by_name_alias_or_our_name_within_the_range() {
        let registry = registry();
        let listed = runtimes(&registry, &probed());
        let ours = |language: &str, range: &str| {
            resolve(&listed, &registry, language, range).map(|r| r.ours.name.clone())
        };
        assert_eq!(ours("python", "*").as_deref(), Some("python"));
        assert_eq!(ours("py3", "3.x").as_deref(), Some("python"));
        assert_eq!(ours("node-js", "18.20.4").as_deref(), Some("javascript"));
        assert_eq!(ours("c++", "12").as_deref(), Some("cpp"));
        assert_eq!(ours("g++", "*").as_deref(), Some("cpp"));
        assert_eq!(ours("cxx", "*").as_deref(), Some("cpp"), "our own alias");
        assert_eq!(ours("sqlite", "*").as_deref(), Some("sqlite"));
        assert_eq!(ours("Python", "*").as_deref(), Some("python"));
        assert_eq!(ours("python", "9.9.9"), None);
        assert_eq!(ours("brainfuck", "*"), None);
    }
}
