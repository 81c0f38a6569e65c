//! Building a language's image from the Dockerfile template on its base with the engine's classic
//! builder, and pulling an official base first when building online.

use std::collections::HashMap;

use bollard::errors::Error as DockerError;
use bollard::models::BuildInfo;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateImageOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::inspect::image_exists;
use super::plan::{ImagePlan, DOCKERFILE, RUNNER_IN_CONTEXT};
use super::progress::Progress;
use super::ImageError;
use super::LABEL_IMAGE_HASH;
use codeexec_engine::LABEL_LANGUAGE;

/// Builds `plan.image` from the Dockerfile template. `nocache` makes every step run again
/// (`--force`).
pub async fn build(
    docker: &Docker,
    plan: &ImagePlan,
    nocache: bool,
    progress: &Progress,
) -> Result<(), ImageError> {
    let context =
        build_context(&plan.dockerfile, &plan.runner.bytes).map_err(|source| ImageError::Io {
            action: "pack the build context".into(),
            source,
        })?;
    let options = build_options(plan, nocache);
    let mut output = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = output.next().await {
        show_build_output(item.map_err(|source| build_error(plan, source))?, progress);
    }
    Ok(())
}

fn build_options(plan: &ImagePlan, nocache: bool) -> bollard::query_parameters::BuildImageOptions {
    let build_args = HashMap::from([("BASE", plan.base.name()), ("PREPARE", &plan.prepare)]);
    let mut labels: HashMap<&str, &str> = plan
        .labels
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    labels.insert(LABEL_IMAGE_HASH, &plan.hash);
    labels.insert(LABEL_LANGUAGE, &plan.language);
    // The base is pulled before the build (or was imported locally), and the prepare step needs
    // only what it holds: nothing needs the network, and machines that build offline have none.
    BuildImageOptionsBuilder::new()
        .dockerfile(DOCKERFILE)
        .t(&plan.image)
        .buildargs(&build_args)
        .labels(&labels)
        .nocache(nocache)
        .rm(true)
        .forcerm(true)
        .version(BuilderVersion::BuilderV1)
        .networkmode("none")
        .build()
}

fn show_build_output(info: BuildInfo, progress: &Progress) {
    if let Some(text) = info.stream {
        progress.say_build_output(&text);
    }
    // A build pulls its base itself when it is absent.
    progress.say_pull_status(
        info.id.as_deref(),
        info.status.as_deref(),
        info.progress_detail.as_ref(),
    );
}

fn build_error(plan: &ImagePlan, source: DockerError) -> ImageError {
    let message = match source {
        DockerError::DockerStreamError { error } => error,
        other => other.to_string(),
    };
    ImageError::Build {
        language: plan.language.clone(),
        message,
    }
}

/// The build context: the Dockerfile, the runner, executable, and the pre-start loaders' and the
/// image helpers' sources under `loaders/` (for a language that compiles its loader or a helper
/// ahead, in its `image_prepare`), as an in-memory tar.
pub fn build_context(dockerfile: &[u8], runner: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    let loaders = codeexec_protocol::PRESTART_LOADERS
        .iter()
        .chain(codeexec_protocol::IMAGE_HELPERS.iter())
        .map(|(_, file, source)| (format!("loaders/{file}"), 0o644, source.as_bytes()));
    let files = [
        (DOCKERFILE.to_string(), 0o644, dockerfile),
        (RUNNER_IN_CONTEXT.to_string(), 0o755, runner),
    ];
    for (name, mode, bytes) in files.into_iter().chain(loaders) {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        // A fixed time keeps the context identical for identical inputs.
        header.set_mtime(0);
        archive.append_data(&mut header, &name, bytes)?;
    }
    archive.into_inner()
}

/// Pulls an official base unless the engine already has it, as `docker build` would, but as its
/// own step so that a machine without registry access gets an error that says what to do.
pub async fn pull_if_absent(
    docker: &Docker,
    base: &str,
    progress: &Progress,
) -> Result<(), ImageError> {
    if image_exists(docker, base).await? {
        return Ok(());
    }
    progress.say(format!("pulling {base}"));
    let options = CreateImageOptionsBuilder::new().from_image(base).build();
    let mut output = docker.create_image(Some(options), None, None);
    while let Some(item) = output.next().await {
        let info = item.map_err(|source| ImageError::Pull {
            base: base.to_string(),
            message: source.to_string(),
        })?;
        progress.say_pull_status(
            info.id.as_deref(),
            info.status.as_deref(),
            info.progress_detail.as_ref(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_holds_the_dockerfile_an_executable_runner_the_loaders_and_helpers() {
        let context = build_context(b"FROM scratch\n", b"\x7fELF").unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                let path = entry.path().unwrap().display().to_string();
                (path, header.mode().unwrap(), header.size().unwrap())
            })
            .collect();
        assert_eq!(
            entries[..2],
            [
                ("Dockerfile".to_string(), 0o644, 13),
                ("codeexec-runner".to_string(), 0o755, 4)
            ]
        );
        let java = codeexec_protocol::prestart_loader("java").unwrap();
        assert!(entries[2..].contains(&(
            "loaders/java.java".to_string(),
            0o644,
            java.len() as u64
        )));
        let (_, _, go_build) = codeexec_protocol::IMAGE_HELPERS[0];
        assert!(entries[2..].contains(&(
            "loaders/go_build.go".to_string(),
            0o644,
            go_build.len() as u64
        )));
    }
}
