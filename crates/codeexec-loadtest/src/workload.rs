//! What the load consists of: a hello world program per language, and the order in which each
//! client worker sends them, so every language gets the same share of requests.

use std::sync::Arc;

use super::client::{ExecuteBody, ServiceClient};
use codeexec::api::request::{ExecuteRequest, ExecuteV1};
use codeexec::config::Settings;
use codeexec_engine::{JobSpec, Language, LanguageRegistry};

/// What every hello world prints.
pub const HELLO_OUTPUT: &str = "Hello, World!\n";

/// Hello world in each language, as (canonical language, code for `/api/v1/execute`). The
/// default workload sends every one the service runs; `--languages` picks any of them.
pub const HELLO_WORLD: [(&str, &str); 21] = [
    ("python", "print('Hello, World!')\n"),
    ("javascript", "console.log('Hello, World!');\n"),
    ("ruby", "puts 'Hello, World!'\n"),
    (
        "java",
        "public class Main { public static void main(String[] args) { System.out.println(\"Hello, World!\"); } }\n",
    ),
    (
        "go",
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"Hello, World!\") }\n",
    ),
    (
        "cpp",
        "#include <iostream>\n\nint main() { std::cout << \"Hello, World!\" << std::endl; }\n",
    ),
    ("c", "#include <stdio.h>\nint main(void) { puts(\"Hello, World!\"); return 0; }\n"),
    ("bash", "echo 'Hello, World!'\n"),
    ("lua", "print('Hello, World!')\n"),
    ("perl", "print \"Hello, World!\\n\";\n"),
    ("php", "<?php\necho \"Hello, World!\\n\";\n"),
    ("sqlite", "SELECT 'Hello, World!';\n"),
    ("typescript", "const greeting: string = 'Hello, World!';\nconsole.log(greeting);\n"),
    ("rust", "fn main() {\n    println!(\"Hello, World!\");\n}\n"),
    ("fortran", "program hello\n  print '(a)', 'Hello, World!'\nend program hello\n"),
    ("pascal", "program Hello;\nbegin\n  WriteLn('Hello, World!');\nend.\n"),
    ("ocaml", "let () = print_endline \"Hello, World!\"\n"),
    ("erlang", "main(_) ->\n    io:format(\"Hello, World!~n\").\n"),
    ("haskell", "main :: IO ()\nmain = putStrLn \"Hello, World!\"\n"),
    ("elixir", "IO.puts(\"Hello, World!\")\n"),
    ("r", "cat(\"Hello, World!\\n\")\n"),
];

/// The hello world program of `language`, if there is one.
pub fn hello_world(language: &str) -> Option<&'static str> {
    HELLO_WORLD
        .iter()
        .find(|(name, _)| *name == language)
        .map(|(_, code)| *code)
}

/// The request body that runs `language`'s hello world.
pub fn hello_world_body(language: &str) -> Option<ExecuteBody> {
    hello_world(language).map(|code| ExecuteBody {
        language: language.to_string(),
        code: code.to_string(),
    })
}

/// The job a hello world request for `language` becomes, validated as the service would.
pub fn hello_world_job(settings: &Settings, language: &Arc<Language>) -> Result<JobSpec, String> {
    let code = hello_world(&language.name)
        .ok_or_else(|| format!("no hello world program for {}", language.name))?;
    let request = ExecuteV1 {
        language: Some(language.name.clone()),
        code: Some(code.to_string()),
        ..Default::default()
    };
    let registry = LanguageRegistry::new(&settings.languages);
    request
        .validate(&registry, &settings.limits)
        .map_err(|invalid| invalid.0)
}

/// A mix of languages, each sent equally often.
#[derive(Debug, Clone)]
pub struct Workload {
    languages: Vec<String>,
    bodies: Vec<ExecuteBody>,
}

impl Workload {
    /// A workload over `languages`, each of which must have a hello world program.
    pub fn new(languages: &[String]) -> Result<Workload, String> {
        if languages.is_empty() {
            return Err("the workload needs at least one language".into());
        }
        if let Some(unknown) = languages.iter().find(|name| hello_world(name).is_none()) {
            let known: Vec<&str> = HELLO_WORLD.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "no hello world for {unknown:?}; give canonical names among {}",
                known.join(", ")
            ));
        }
        let bodies = languages
            .iter()
            .filter_map(|language| hello_world_body(language))
            .collect();
        Ok(Workload {
            languages: languages.to_vec(),
            bodies,
        })
    }

    /// A workload over `languages`, or when none is named over every language the service at
    /// `client` runs.
    pub async fn named_or_offered(
        languages: &[String],
        client: &ServiceClient,
    ) -> Result<Workload, String> {
        if !languages.is_empty() {
            return Workload::new(languages);
        }
        let offered = client.languages().await?;
        let names: Vec<String> = offered.into_iter().map(|language| language.name).collect();
        Workload::new(&names)
    }

    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The language and body of a worker's `round`-th request. Workers start at different
    /// languages, so at any concurrency the requests in flight spread over the mix instead of
    /// moving through it in lockstep.
    pub fn request_for(&self, worker: usize, round: usize) -> (&str, &ExecuteBody) {
        let index = (worker + round) % self.languages.len();
        (&self.languages[index], &self.bodies[index])
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};
    use figment::Figment;

    use super::*;

    fn workload(names: &[&str]) -> Result<Workload, String> {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        Workload::new(&names)
    }

    #[test]
    fn every_language_is_sent_equally_often_by_each_worker() {
        let mix = workload(&["python", "java", "go"]).unwrap();
        for worker in 0..4 {
            let sent: Vec<&str> = (0..6)
                .map(|round| mix.request_for(worker, round).0)
                .collect();
            for language in mix.languages() {
                assert_eq!(sent.iter().filter(|sent| *sent == language).count(), 2);
            }
        }
    }

    #[test]
    fn workers_start_at_different_languages() {
        let mix = workload(&["python", "java"]).unwrap();
        assert_ne!(mix.request_for(0, 0).0, mix.request_for(1, 0).0);
    }

    #[test]
    fn unknown_languages_are_refused_with_the_known_ones() {
        let error = workload(&["python", "cobol"]).unwrap_err();
        assert!(error.contains("\"cobol\"") && error.contains("javascript"));
        assert!(workload(&[]).is_err());
    }

    #[test]
    fn each_request_carries_its_own_languages_program() {
        let mix = workload(&["python", "java"]).unwrap();
        for round in 0..4 {
            let (language, body) = mix.request_for(0, round);
            assert_eq!(body.language, language);
            assert_eq!(body.code, hello_world(language).unwrap());
        }
    }

    /// The repository's `config/default.toml` alone, without the environment, which unit tests
    /// must not see.
    fn repository_defaults() -> Settings {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
        Figment::new()
            .merge(Toml::file_exact(path))
            .extract()
            .expect("the repository's default settings")
    }

    #[test]
    fn hello_world_jobs_are_validated_as_the_service_would() {
        let settings = repository_defaults();
        let registry = LanguageRegistry::new(&settings.languages);
        let java = hello_world_job(&settings, registry.resolve("java").unwrap()).unwrap();
        assert_eq!(java.entry, "Main.java");
        assert!(java.to_frame(&settings.limits).compile.is_some());
        let python = hello_world_job(&settings, registry.resolve("python").unwrap()).unwrap();
        assert!(python.to_frame(&settings.limits).compile.is_none());
    }

    #[test]
    fn bodies_name_the_language_and_its_code() {
        let body = hello_world_body("ruby").unwrap();
        assert_eq!(body.language, "ruby");
        assert_eq!(body.code, "puts 'Hello, World!'\n");
        assert!(hello_world_body("cobol").is_none());
    }
}
