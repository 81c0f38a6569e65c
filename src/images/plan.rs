//! What each language image is built from: the one Dockerfile template, the language's base and
//! labels, the runner; and the hash that tells whether a built image is still what those inputs
//! would make.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::ImageError;
use crate::config::{ImageSettings, LanguageSettings, Settings};

/// Name of the runner inside the build context; the Dockerfile copies it from there.
pub const RUNNER_IN_CONTEXT: &str = "codeexec-runner";

/// The template every language's image is built from, inside `images.dockerfiles_dir`.
pub const DOCKERFILE: &str = "Dockerfile";

/// OCI labels naming what an image holds, given by the builder since the template is shared.
const LABEL_TITLE: &str = "org.opencontainers.image.title";
const LABEL_DESCRIPTION: &str = "org.opencontainers.image.description";

/// The image the Dockerfile is built `FROM` for a language.
#[derive(Debug, Clone, PartialEq)]
pub enum Base {
    /// An official language image, pulled from a registry when absent.
    Official(String),
    /// A Debian root file system made with debootstrap and imported into the engine.
    Debian(DebianBase),
}

/// An offline base: which Debian packages, from where, under which tag.
#[derive(Debug, Clone, PartialEq)]
pub struct DebianBase {
    /// `codeexec-base/<language>:<suite>-<hash>`; see [`offline_base_tag`].
    pub tag: String,
    pub suite: String,
    pub mirror: String,
    pub packages: Vec<String>,
}

impl Base {
    /// The image name passed as the Dockerfile's `BASE` build argument.
    pub fn name(&self) -> &str {
        match self {
            Base::Official(name) => name,
            Base::Debian(debian) => &debian.tag,
        }
    }
}

/// Everything needed to build one language's image.
#[derive(Debug, Clone)]
pub struct ImagePlan {
    pub language: String,
    /// The image's name, e.g. `codeexec/python:latest`.
    pub image: String,
    pub base: Base,
    /// The image's title and description labels.
    pub labels: BTreeMap<&'static str, String>,
    /// The Dockerfile template, the same for every language.
    pub dockerfile: Arc<[u8]>,
    /// The language's `image_prepare`, given to the template as its `PREPARE` argument.
    pub prepare: String,
    pub runner: Runner,
    /// Value of the image-hash label an up-to-date image carries.
    pub hash: String,
}

impl ImagePlan {
    fn new(
        language: &str,
        settings: &LanguageSettings,
        images: &ImageSettings,
        dockerfile: Arc<[u8]>,
        runner: Runner,
    ) -> ImagePlan {
        let base = if images.offline {
            Base::Debian(DebianBase {
                tag: offline_base_tag(language, &images.debian_suite, &settings.debian_packages),
                suite: images.debian_suite.clone(),
                mirror: images.debian_mirror.clone(),
                packages: settings.debian_packages.clone(),
            })
        } else {
            Base::Official(settings.base_image.clone())
        };
        let labels = BTreeMap::from([
            (LABEL_TITLE, format!("codeexec-{language}")),
            (
                LABEL_DESCRIPTION,
                format!(
                    "{} toolchain and the codeexec runner",
                    settings.display_name
                ),
            ),
        ]);
        let prepare = settings.image_prepare.clone();
        let hash = image_hash(&dockerfile, &base, &prepare, &labels, &runner.digest);
        ImagePlan {
            language: language.to_string(),
            image: settings.image.clone(),
            base,
            labels,
            dockerfile,
            prepare,
            runner,
            hash,
        }
    }
}

/// Reads the runner and the Dockerfile template and plans the images of `requested` (all
/// languages when empty). Everything that can be checked without the engine is checked here,
/// before any build.
pub fn load(settings: &Settings, requested: &[String]) -> Result<Vec<ImagePlan>, ImageError> {
    let languages = select_languages(settings, requested)?;
    let runner = read_runner(&settings.images.runner_path)?;
    let path = settings.images.dockerfiles_dir.join(DOCKERFILE);
    let dockerfile: Arc<[u8]> = std::fs::read(&path)
        .map_err(|source| ImageError::Dockerfile { path, source })?
        .into();
    Ok(languages
        .iter()
        .map(|language| {
            ImagePlan::new(
                language,
                &settings.languages[language],
                &settings.images,
                dockerfile.clone(),
                runner.clone(),
            )
        })
        .collect())
}

/// The runner binary, shared by every plan since all languages copy the same one. Its digest is
/// taken once, so that hashing six images does not read the (multi-MB) bytes six times.
#[derive(Debug, Clone)]
pub struct Runner {
    pub bytes: Arc<[u8]>,
    pub digest: [u8; 32],
}

impl Runner {
    pub fn new(bytes: Vec<u8>) -> Runner {
        let digest = Sha256::digest(&bytes).into();
        Runner {
            bytes: bytes.into(),
            digest,
        }
    }
}

fn read_runner(path: &Path) -> Result<Runner, ImageError> {
    std::fs::read(path)
        .map(Runner::new)
        .map_err(|source| ImageError::RunnerMissing {
            path: path.to_path_buf(),
            source,
        })
}

/// Canonical names of the languages asked for, in the order asked, each once. A name may be an
/// alias (`py`); no names means every configured language.
pub fn select_languages(
    settings: &Settings,
    requested: &[String],
) -> Result<Vec<String>, ImageError> {
    if requested.is_empty() {
        return Ok(settings.languages.keys().cloned().collect());
    }
    let mut selected: Vec<String> = Vec::new();
    for name in requested {
        let canonical =
            canonical_name(settings, name).ok_or_else(|| ImageError::UnknownLanguage {
                name: name.clone(),
                known: settings
                    .languages
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if !selected.contains(&canonical) {
            selected.push(canonical);
        }
    }
    Ok(selected)
}

fn canonical_name(settings: &Settings, name: &str) -> Option<String> {
    settings
        .languages
        .iter()
        .find(|(key, language)| {
            key.eq_ignore_ascii_case(name)
                || language
                    .aliases
                    .iter()
                    .any(|alias| alias.eq_ignore_ascii_case(name))
        })
        .map(|(key, _)| key.clone())
}

/// Tag of the offline base for `language`. It names the suite and a hash of the package set, so a
/// changed package list gets a new base instead of silently reusing the old one. The mirror is left
/// out: the same suite from another mirror is the same base.
pub fn offline_base_tag(language: &str, suite: &str, packages: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(suite.as_bytes());
    hasher.update(b"\n");
    for package in sorted_packages(packages) {
        hasher.update(package.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hex::encode(hasher.finalize());
    format!("codeexec-base/{language}:{suite}-{}", &digest[..12])
}

fn sorted_packages(packages: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = packages.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// Hash of every input of an image: Dockerfile, base, (offline) suite and packages, the prepare
/// command, the helpers it may build, labels, runner (which holds the loaders).
pub fn image_hash(
    dockerfile: &[u8],
    base: &Base,
    prepare: &str,
    labels: &BTreeMap<&str, String>,
    runner_digest: &[u8],
) -> String {
    let mut hasher = Sha256::new();
    // Each field is named and length-prefixed so that bytes moving between fields change the hash.
    let mut field = |name: &str, bytes: &[u8]| {
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field("dockerfile", dockerfile);
    field("base", base.name().as_bytes());
    if let Base::Debian(debian) = base {
        field("suite", debian.suite.as_bytes());
        field(
            "packages",
            sorted_packages(&debian.packages).join(",").as_bytes(),
        );
    }
    field("prepare", prepare.as_bytes());
    for (_, file, source) in codeexec_protocol::IMAGE_HELPERS {
        field("helper", file.as_bytes());
        field("helper source", source.as_bytes());
    }
    for (key, value) in labels {
        field("label", format!("{key}={value}").as_bytes());
    }
    field("runner", runner_digest);
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::repository_defaults()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    fn debian(packages: &[&str]) -> Base {
        Base::Debian(DebianBase {
            tag: offline_base_tag("python", "bookworm", &names(packages)),
            suite: "bookworm".into(),
            mirror: "http://deb.debian.org/debian".into(),
            packages: names(packages),
        })
    }

    #[test]
    fn no_names_selects_every_configured_language() {
        let settings = settings();
        let selected = select_languages(&settings, &[]).unwrap();
        let configured: Vec<&String> = settings.languages.keys().collect();
        assert_eq!(selected.iter().collect::<Vec<_>>(), configured);
        for language in ["c", "rust", "haskell", "sqlite", "python"] {
            assert!(selected.iter().any(|name| name == language), "{language}");
        }
    }

    #[test]
    fn names_and_aliases_select_canonical_languages_once_in_order() {
        let selected = select_languages(&settings(), &names(&["ruby", "py", "python", "Go"]));
        assert_eq!(selected.unwrap(), ["ruby", "python", "go"]);
    }

    #[test]
    fn unknown_name_is_refused_with_the_configured_ones() {
        let error = select_languages(&settings(), &names(&["cobol"])).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("cobol"), "{message}");
        assert!(
            message.contains("bash, c, cpp, elixir, erlang"),
            "{message}"
        );
    }

    #[test]
    fn base_tag_names_language_suite_and_twelve_hex_digits() {
        let tag = offline_base_tag("python", "bookworm", &names(&["python3"]));
        let (repo, version) = tag.split_once(':').unwrap();
        assert_eq!(repo, "codeexec-base/python");
        let hash = version.strip_prefix("bookworm-").unwrap();
        assert_eq!(hash.len(), 12);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn base_tag_ignores_package_order_but_not_packages_or_suite() {
        let tag = |suite, packages: &[&str]| offline_base_tag("cpp", suite, &names(packages));
        assert_eq!(
            tag("bookworm", &["g++", "make"]),
            tag("bookworm", &["make", "g++"])
        );
        assert_ne!(tag("bookworm", &["g++"]), tag("bookworm", &["g++", "make"]));
        assert_ne!(tag("bookworm", &["g++"]), tag("trixie", &["g++"]));
    }

    fn labels(title: &str) -> BTreeMap<&'static str, String> {
        BTreeMap::from([(LABEL_TITLE, title.to_string())])
    }

    fn plan(language: &str, offline: bool, dockerfile: &[u8]) -> ImagePlan {
        let mut settings = settings();
        settings.images.offline = offline;
        ImagePlan::new(
            language,
            &settings.languages[language],
            &settings.images,
            dockerfile.into(),
            Runner::new(Vec::new()),
        )
    }

    #[test]
    fn hash_changes_with_the_dockerfile() {
        let base = Base::Official("python:3.11-slim-bookworm".into());
        let labels = labels("codeexec-python");
        assert_ne!(
            image_hash(b"FROM a", &base, "", &labels, b"runner"),
            image_hash(b"FROM b", &base, "", &labels, b"runner")
        );
    }

    #[test]
    fn hash_changes_with_the_runner() {
        let base = Base::Official("python:3.11-slim-bookworm".into());
        let labels = labels("codeexec-python");
        assert_ne!(
            image_hash(b"FROM a", &base, "", &labels, b"v1"),
            image_hash(b"FROM a", &base, "", &labels, b"v2")
        );
    }

    #[test]
    fn hash_changes_with_the_package_list_and_the_base() {
        let hash =
            |base: &Base| image_hash(b"FROM a", base, "", &labels("codeexec-python"), b"runner");
        assert_ne!(
            hash(&debian(&["python3"])),
            hash(&debian(&["python3", "python3-numpy"]))
        );
        assert_ne!(
            hash(&debian(&["python3"])),
            hash(&Base::Official("python:3.11".into()))
        );
    }

    #[test]
    fn hash_changes_with_the_labels() {
        let base = Base::Official("python:3.11-slim-bookworm".into());
        assert_ne!(
            image_hash(b"FROM a", &base, "", &labels("codeexec-python"), b"runner"),
            image_hash(b"FROM a", &base, "", &labels("codeexec-py"), b"runner")
        );
    }

    #[test]
    fn hash_is_stable_for_the_same_inputs() {
        let hash = || {
            image_hash(
                b"FROM a",
                &debian(&["python3"]),
                "",
                &labels("x"),
                b"runner",
            )
        };
        assert_eq!(hash(), hash());
    }

    #[test]
    fn languages_sharing_the_template_get_their_own_labels_and_hashes() {
        for offline in [false, true] {
            let python = plan("python", offline, b"FROM x");
            let ruby = plan("ruby", offline, b"FROM x");
            assert_eq!(python.labels[LABEL_TITLE], "codeexec-python");
            assert_eq!(
                ruby.labels[LABEL_DESCRIPTION],
                "Ruby toolchain and the codeexec runner"
            );
            assert_ne!(python.hash, ruby.hash);
            assert_ne!(python.hash, plan("python", offline, b"FROM y").hash);
        }
    }

    #[test]
    fn every_language_is_planned_from_the_one_template_on_its_configured_base() {
        let mut settings = settings();
        // Any readable file stands in for the runner.
        settings.images.runner_path = "Cargo.toml".into();
        let template = std::fs::read("docker-images/Dockerfile").unwrap();
        let plans = load(&settings, &[]).unwrap();
        assert_eq!(plans.len(), settings.languages.len());
        for plan in plans {
            assert_eq!(*plan.dockerfile, *template);
            let language = &settings.languages[&plan.language];
            assert_eq!(plan.base.name(), language.base_image);
            assert_eq!(plan.image, language.image);
        }
    }

    #[test]
    fn the_template_takes_its_base_as_an_argument_and_runs_only_the_prepare_command() {
        let template = std::fs::read_to_string("docker-images/Dockerfile").unwrap();
        let instructions: Vec<&str> = template
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .collect();
        assert_eq!(instructions[..2], ["ARG BASE", "FROM ${BASE}"]);
        let runs: Vec<&&str> = instructions
            .iter()
            .filter(|line| line.starts_with("RUN"))
            .collect();
        assert_eq!(
            runs,
            [&r#"RUN if [ -n "$PREPARE" ]; then sh -ec "$PREPARE"; fi"#]
        );
    }

    #[test]
    fn hash_changes_with_the_prepare_command() {
        let base = Base::Official("gcc:12-bookworm".into());
        let labels = labels("codeexec-cpp");
        assert_ne!(
            image_hash(b"FROM a", &base, "", &labels, b"runner"),
            image_hash(
                b"FROM a",
                &base,
                "g++ -x c++-header x.h",
                &labels,
                b"runner"
            )
        );
    }

    #[test]
    fn offline_setting_picks_a_debian_base() {
        let offline = plan("python", true, b"FROM x");
        assert!(offline
            .base
            .name()
            .starts_with("codeexec-base/python:bookworm-"));
        let online = plan("python", false, b"FROM x");
        assert_eq!(online.base.name(), "python:3.11-slim-bookworm");
    }
}
