//! Judge0's language ids for the languages codeexec runs, and their names, which carry the
//! versions the engine's version probe read from our images.

use std::collections::HashMap;

use serde::Serialize;

/// One Judge0 language id and the codeexec language it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Judge0Language {
    pub id: i64,
    /// Canonical codeexec language name.
    pub language: &'static str,
    /// Name before the version, e.g. "JavaScript (Node.js" + " 18.19.0)".
    label: &'static str,
    pub source_file: &'static str,
    pub compile_cmd: Option<&'static str>,
    pub run_cmd: &'static str,
}

/// The ids Judge0 CE 1.13.1 gives these languages, in its order. C answers to 48, 49 and 50 and
/// C++ to 52, 53 and 54: Judge0 has a GCC version behind each, and its Python SDK sends 52 for
/// `LanguageAlias.CPP`. An id whose language is not configured (or disabled) is not offered.
pub const LANGUAGES: &[Judge0Language] = &[
    Judge0Language {
        id: 46,
        language: "bash",
        label: "Bash (",
        source_file: "script.sh",
        compile_cmd: None,
        run_cmd: "bash script.sh",
    },
    Judge0Language {
        id: 48,
        language: "c",
        label: "C (GCC",
        source_file: "main.c",
        compile_cmd: Some("gcc %s main.c"),
        run_cmd: "./a.out",
    },
    Judge0Language {
        id: 49,
        language: "c",
        label: "C (GCC",
        source_file: "main.c",
        compile_cmd: Some("gcc %s main.c"),
        run_cmd: "./a.out",
    },
    Judge0Language {
        id: 50,
        language: "c",
        label: "C (GCC",
        source_file: "main.c",
        compile_cmd: Some("gcc %s main.c"),
        run_cmd: "./a.out",
    },
    Judge0Language {
        id: 52,
        language: "cpp",
        label: "C++ (GCC",
        source_file: "main.cpp",
        compile_cmd: Some("g++ -std=c++17 -O2 -fuse-ld=gold %s main.cpp -o main"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 53,
        language: "cpp",
        label: "C++ (GCC",
        source_file: "main.cpp",
        compile_cmd: Some("g++ -std=c++17 -O2 -fuse-ld=gold %s main.cpp -o main"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 54,
        language: "cpp",
        label: "C++ (GCC",
        source_file: "main.cpp",
        compile_cmd: Some("g++ -std=c++17 -O2 -fuse-ld=gold %s main.cpp -o main"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 57,
        language: "elixir",
        label: "Elixir (",
        source_file: "script.exs",
        compile_cmd: None,
        run_cmd: "elixir script.exs",
    },
    Judge0Language {
        id: 58,
        language: "erlang",
        label: "Erlang (OTP",
        source_file: "main.erl",
        compile_cmd: None,
        run_cmd: "escript main.erl",
    },
    Judge0Language {
        id: 59,
        language: "fortran",
        label: "Fortran (GFortran",
        source_file: "main.f90",
        compile_cmd: Some("gfortran %s main.f90"),
        run_cmd: "./a.out",
    },
    Judge0Language {
        id: 60,
        language: "go",
        label: "Go (",
        source_file: "main.go",
        compile_cmd: Some("go build -ldflags=-w %s -o main main.go"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 61,
        language: "haskell",
        label: "Haskell (GHC",
        source_file: "main.hs",
        compile_cmd: Some("ghc %s main.hs"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 62,
        language: "java",
        label: "Java (OpenJDK",
        source_file: "Main.java",
        compile_cmd: Some("javac %s Main.java"),
        run_cmd: "java Main",
    },
    Judge0Language {
        id: 63,
        language: "javascript",
        label: "JavaScript (Node.js",
        source_file: "script.js",
        compile_cmd: None,
        run_cmd: "node script.js",
    },
    Judge0Language {
        id: 64,
        language: "lua",
        label: "Lua (",
        source_file: "script.lua",
        compile_cmd: None,
        run_cmd: "lua5.4 script.lua",
    },
    Judge0Language {
        id: 65,
        language: "ocaml",
        label: "OCaml (",
        source_file: "main.ml",
        compile_cmd: Some("ocamlopt %s main.ml -o main"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 67,
        language: "pascal",
        label: "Pascal (FPC",
        source_file: "main.pas",
        compile_cmd: Some("fpc %s main.pas"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 68,
        language: "php",
        label: "PHP (",
        source_file: "script.php",
        compile_cmd: None,
        run_cmd: "php script.php",
    },
    Judge0Language {
        id: 71,
        language: "python",
        label: "Python (",
        source_file: "script.py",
        compile_cmd: None,
        run_cmd: "python3 script.py",
    },
    Judge0Language {
        id: 72,
        language: "ruby",
        label: "Ruby (",
        source_file: "script.rb",
        compile_cmd: None,
        run_cmd: "ruby script.rb",
    },
    Judge0Language {
        id: 73,
        language: "rust",
        label: "Rust (",
        source_file: "main.rs",
        compile_cmd: Some("rustc %s main.rs"),
        run_cmd: "./main",
    },
    Judge0Language {
        id: 74,
        language: "typescript",
        label: "TypeScript (",
        source_file: "script.ts",
        compile_cmd: Some("tsc %s script.ts"),
        run_cmd: "node script.js",
    },
    Judge0Language {
        id: 78,
        language: "kotlin",
        label: "Kotlin (",
        source_file: "Main.kt",
        compile_cmd: Some("kotlinc %s Main.kt"),
        run_cmd: "kotlin MainKt",
    },
    Judge0Language {
        id: 80,
        language: "r",
        label: "R (",
        source_file: "script.r",
        compile_cmd: None,
        run_cmd: "Rscript script.r",
    },
    Judge0Language {
        id: 81,
        language: "scala",
        label: "Scala (",
        source_file: "Main.scala",
        compile_cmd: Some("scalac %s Main.scala"),
        run_cmd: "scala Main",
    },
    Judge0Language {
        id: 82,
        language: "sqlite",
        label: "SQL (SQLite",
        source_file: "script.sql",
        compile_cmd: None,
        run_cmd: "sqlite3 :memory: '.read script.sql'",
    },
    Judge0Language {
        id: 85,
        language: "perl",
        label: "Perl (",
        source_file: "script.pl",
        compile_cmd: None,
        run_cmd: "perl script.pl",
    },
];

/// The Judge0 language with this id, if codeexec runs it.
pub fn by_id(id: i64) -> Option<&'static Judge0Language> {
    LANGUAGES.iter().find(|language| language.id == id)
}

impl Judge0Language {
    /// "Python (3.11.2)", from the probe's "Python 3.11.2"; without a known version, the
    /// label alone ("Python").
    pub fn name(&self, versions: &HashMap<String, String>) -> String {
        let version = versions
            .get(self.language)
            .and_then(|probe| version_number(probe));
        let label = self.label.trim_end_matches(" (").trim_end_matches('(');
        match version {
            Some(version) if self.label.ends_with('(') => format!("{}{version})", self.label),
            Some(version) => format!("{} {version})", self.label),
            None if self.label.ends_with('(') => label.trim_end().to_string(),
            None => format!("{})", self.label),
        }
    }
}

/// The first dotted version number in a version command's output: `3.11.2` in "Python
/// 3.11.2", `18.19.0` in "v18.19.0", `1.19.8` in "go version go1.19.8 linux/amd64", `12.2.0`
/// in "g++ (Debian 12.2.0-14) 12.2.0", `17.0.9` in `openjdk version "17.0.9" 2023-10-17`.
pub fn version_number(probe: &str) -> Option<String> {
    probe.split_whitespace().find_map(|word| {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let word = word
            .strip_prefix("go")
            .or_else(|| word.strip_prefix('v'))
            .unwrap_or(word);
        let end = word
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(word.len());
        let number = word[..end].trim_end_matches('.');
        let dotted = number.contains('.') && number.starts_with(|c: char| c.is_ascii_digit());
        dotted.then(|| number.to_string())
    })
}

/// `{id, name}`: an item of `GET /languages`.
#[derive(Debug, Serialize)]
pub struct LanguageSummary {
    pub id: i64,
    pub name: String,
}

/// `{id, name, is_archived}`: an item of `GET /languages/all`.
#[derive(Debug, Serialize)]
pub struct LanguageListed {
    pub id: i64,
    pub name: String,
    pub is_archived: bool,
}

/// `GET /languages/{id}`.
#[derive(Debug, Serialize)]
pub struct LanguageDetail {
    pub id: i64,
    pub name: String,
    pub is_archived: bool,
    pub source_file: &'static str,
    pub compile_cmd: Option<&'static str>,
    pub run_cmd: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_are_read_from_every_probe_format() {
        let cases = [
            ("Python 3.11.2", "3.11.2"),
            ("v18.19.0", "18.19.0"),
            ("go version go1.19.8 linux/amd64", "1.19.8"),
            ("g++ (Debian 12.2.0-14) 12.2.0", "12.2.0"),
            ("openjdk version \"17.0.9\" 2023-10-17", "17.0.9"),
            (
                "ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]",
                "3.1.2",
            ),
        ];
        for (probe, version) in cases {
            assert_eq!(version_number(probe).as_deref(), Some(version), "{probe}");
        }
        assert_eq!(version_number("no version here"), None);
    }

    #[test]
    fn names_carry_the_probed_version() {
        let versions = HashMap::from([
            ("python".to_string(), "Python 3.11.2".to_string()),
            ("javascript".to_string(), "v18.19.0".to_string()),
        ]);
        assert_eq!(by_id(71).unwrap().name(&versions), "Python (3.11.2)");
        assert_eq!(
            by_id(63).unwrap().name(&versions),
            "JavaScript (Node.js 18.19.0)"
        );
        assert_eq!(by_id(72).unwrap().name(&versions), "Ruby");
        assert_eq!(by_id(54).unwrap().name(&versions), "C++ (GCC)");
    }

    #[test]
    fn added_languages_carry_judge0s_ids_and_their_probed_versions() {
        let versions = HashMap::from([
            (
                "bash".to_string(),
                "GNU bash, version 5.2.15(1)-release".to_string(),
            ),
            ("c".to_string(), "gcc (Debian 12.2.0-14) 12.2.0".to_string()),
            ("erlang".to_string(), "Erlang/OTP 25.2.3".to_string()),
            (
                "sqlite".to_string(),
                "3.40.1 2022-12-28 14:03:47 df5c".to_string(),
            ),
            ("typescript".to_string(), "Version 4.8.4".to_string()),
        ]);
        assert_eq!(by_id(46).unwrap().name(&versions), "Bash (5.2.15)");
        for id in [48, 49, 50] {
            assert_eq!(by_id(id).unwrap().name(&versions), "C (GCC 12.2.0)");
        }
        assert_eq!(by_id(58).unwrap().name(&versions), "Erlang (OTP 25.2.3)");
        assert_eq!(by_id(82).unwrap().name(&versions), "SQL (SQLite 3.40.1)");
        assert_eq!(by_id(74).unwrap().name(&versions), "TypeScript (4.8.4)");
        assert_eq!(by_id(73).unwrap().language, "rust");
        assert_eq!(by_id(61).unwrap().language, "haskell");
    }
}
