//! What the engine already holds: whether an image exists, its id and the hash it was built
//! from; and removing the image a rebuild replaced.

use bollard::errors::Error as DockerError;
use bollard::models::ImageInspect;
use bollard::query_parameters::RemoveImageOptions;
use bollard::Docker;

use super::ImageError;
use super::LABEL_IMAGE_HASH;

/// The image's details, or `None` when the engine has no image of that name.
async fn inspect(docker: &Docker, image: &str) -> Result<Option<ImageInspect>, ImageError> {
    match docker.inspect_image(image).await {
        Ok(details) => Ok(Some(details)),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(source) => Err(ImageError::Docker {
            action: format!("inspect image {image}"),
            source,
        }),
    }
}

pub async fn image_exists(docker: &Docker, image: &str) -> Result<bool, ImageError> {
    Ok(inspect(docker, image).await?.is_some())
}

/// The image-hash label of `image`; `None` when the image is absent or has no such label.
pub async fn image_hash_label(docker: &Docker, image: &str) -> Result<Option<String>, ImageError> {
    let details = inspect(docker, image).await?;
    Ok(details
        .and_then(|details| details.config)
        .and_then(|config| config.labels)
        .and_then(|mut labels| labels.remove(LABEL_IMAGE_HASH)))
}

/// The content id of `image`, or `None` when it is absent.
pub async fn image_id(docker: &Docker, image: &str) -> Result<Option<String>, ImageError> {
    Ok(inspect(docker, image).await?.and_then(|details| details.id))
}

/// Removes `previous`, the image `image` named before a rebuild, if the rebuild made a new one:
/// otherwise each rebuild leaves a nameless image behind. Best effort: the engine refuses while a
/// container still uses it or another name points at it, and then it stays.
pub async fn remove_replaced(docker: &Docker, previous: Option<&str>, image: &str) {
    let Some(previous) = previous else { return };
    if let Ok(Some(current)) = image_id(docker, image).await {
        if current != previous {
            let _ = docker
                .remove_image(previous, None::<RemoveImageOptions>, None)
                .await;
        }
    }
}
