//! Building the language images (`codeexec images build`): the one Dockerfile template in
//! `docker-images/` on each language's base, with the runner copied in, labelled with the
//! language's title and description and a hash of everything it was built from so that an
//! up-to-date image is skipped.
//!
//! Online, the base is the official language image. Offline (`images.offline`), it is a Debian
//! root file system made with debootstrap and imported into the engine; see [`offline_base`].
//! `--force` rebuilds images without the builder's cache but reuses an offline base whose tag
//! exists (the tag names its suite and packages; `docker rmi` it to make it again).

mod dockerfile_build;
mod inspect;
mod offline_base;
mod plan;
mod progress;

use std::path::PathBuf;
use std::time::Instant;

use bollard::Docker;
use futures_util::StreamExt;

use crate::config::Settings;

/// On images: hash of the Dockerfile, package list and runner the image was built from.
pub const LABEL_IMAGE_HASH: &str = "codeexec.image-hash";
use offline_base::Minbase;
use plan::{Base, ImagePlan};
use progress::Progress;

/// Why an image could not be built, phrased to say what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("unknown language `{name}`; the configured languages are {known}")]
    UnknownLanguage { name: String, known: String },
    #[error("cannot read the runner at {path} ({source}): build it with scripts/build-runner, or set images.runner_path")]
    RunnerMissing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path} ({source}): run codeexec from the repository root, or set images.dockerfiles_dir")]
    Dockerfile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(
        "cannot reach the Docker engine ({0}): start dockerd, or set docker.host / DOCKER_HOST"
    )]
    Connect(bollard::errors::Error),
    #[error("cannot {action}: {source}")]
    Docker {
        action: String,
        source: bollard::errors::Error,
    },
    #[error("cannot {action}: {source}")]
    Io {
        action: String,
        source: std::io::Error,
    },
    #[error("cannot pull {base} ({message}); without registry access build offline: images.offline = true (CODEEXEC_IMAGES__OFFLINE=true)")]
    Pull { base: String, message: String },
    #[error("debootstrap is not installed, and offline images are made with it: apt-get install debootstrap")]
    DebootstrapMissing,
    #[error("debootstrap of {suite} failed ({status}); check the packages and images.debian_mirror. Its last lines:\n{output}")]
    Debootstrap {
        suite: String,
        status: String,
        output: String,
    },
    #[error("apt-get install {packages} failed ({status}); check the package names (`apt-cache policy NAME` on a Debian host). Its last lines:\n{output}")]
    AptInstall {
        packages: String,
        status: String,
        output: String,
    },
    #[error("tar of {root} failed ({status})")]
    Tar { root: PathBuf, status: String },
    #[error("{root} still has file systems mounted in it, so it was left in place: unmount them and remove it by hand")]
    StillMounted { root: PathBuf },
    #[error("building the {language} image failed: {message}")]
    Build { language: String, message: String },
    #[error("these images failed to build: {languages} (the reasons are above)")]
    Failed { languages: String },
}

impl ImageError {
    /// Errors no other language would escape either: stop at once instead of repeating them.
    fn stops_every_build(&self) -> bool {
        matches!(
            self,
            ImageError::DebootstrapMissing
                | ImageError::Connect(_)
                | ImageError::Debootstrap { .. }
        )
    }
}

/// Builds the images of `languages` (all when empty), skipping up-to-date ones unless `force`.
pub fn build_from_cli(
    settings: &Settings,
    languages: &[String],
    force: bool,
) -> Result<(), ImageError> {
    let runtime = tokio::runtime::Runtime::new().map_err(ImageError::Runtime)?;
    runtime.block_on(async {
        let plans = plan::load(settings, languages)?;
        let docker = codeexec_engine::connect_docker(&settings.docker)
            .await
            .map_err(ImageError::Connect)?;
        build_all(&docker, &plans, force).await
    })
}

/// Images built at once. Offline, each base is a copy of one minimal root with apt run inside
/// it, which waits on the mirror as much as on the cores, so two at once fill the time one
/// leaves idle on a 2-core machine; more would only compete for the same disk.
const BUILDS_AT_ONCE: usize = 2;

/// Builds the images, [`BUILDS_AT_ONCE`] at a time, going on past a failure so that one broken
/// language does not hold back the others.
async fn build_all(docker: &Docker, plans: &[ImagePlan], force: bool) -> Result<(), ImageError> {
    let started = Instant::now();
    let minbase = Minbase::new();
    let outcome = build_each(docker, plans, force, &minbase).await;
    let removed = minbase.remove().await;
    eprintln!(
        "[images] {} language(s) checked or built in {:.1}s",
        plans.len(),
        started.elapsed().as_secs_f64()
    );
    outcome.and(removed)
}

async fn build_each(
    docker: &Docker,
    plans: &[ImagePlan],
    force: bool,
    minbase: &Minbase,
) -> Result<(), ImageError> {
    let mut builds = futures_util::stream::iter(plans)
        .map(|plan| async move {
            let progress = Progress::new(&plan.language);
            let built = build_one(docker, plan, force, minbase, &progress).await;
            (plan, progress, built)
        })
        .buffer_unordered(BUILDS_AT_ONCE);
    let mut failed = Vec::new();
    while let Some((plan, progress, built)) = builds.next().await {
        match built {
            Ok(()) => {}
            Err(error) if error.stops_every_build() => return Err(error),
            Err(error) => {
                progress.say(format!("error: {error}"));
                failed.push(plan.language.as_str());
            }
        }
    }
    match failed.as_slice() {
        [] => Ok(()),
        languages => Err(ImageError::Failed {
            languages: languages.join(", "),
        }),
    }
}

async fn build_one(
    docker: &Docker,
    plan: &ImagePlan,
    force: bool,
    minbase: &Minbase,
    progress: &Progress,
) -> Result<(), ImageError> {
    if !force && is_up_to_date(docker, plan).await? {
        progress.say(format!("{} is up to date", plan.image));
        return Ok(());
    }
    let started = Instant::now();
    let previous = inspect::image_id(docker, &plan.image).await?;
    match &plan.base {
        Base::Official(base) => dockerfile_build::pull_if_absent(docker, base, progress).await?,
        Base::Debian(base) => {
            offline_base::ensure(docker, &plan.language, base, minbase, progress).await?
        }
    }
    progress.say(format!("building {} on {}", plan.image, plan.base.name()));
    // --force means the steps really run again, not that the builder reuses its cache.
    dockerfile_build::build(docker, plan, force, progress).await?;
    inspect::remove_replaced(docker, previous.as_deref(), &plan.image).await;
    progress.say(format!(
        "built {} in {:.1}s",
        plan.image,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn is_up_to_date(docker: &Docker, plan: &ImagePlan) -> Result<bool, ImageError> {
    let label = inspect::image_hash_label(docker, &plan.image).await?;
    Ok(label.as_deref() == Some(plan.hash.as_str()))
}
