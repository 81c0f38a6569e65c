//! The interactive reference at `/docs`: Swagger UI, its files compiled into the binary
//! (`utoipa-swagger-ui`'s `vendored` feature), reading `/api/openapi.json`. Nothing is fetched
//! from elsewhere: the UI's online validator is off.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use super::error::{ApiError, ErrorBody};

static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new(["/api/openapi.json"])
            .validator_url("none")
            .try_it_out_enabled(true),
    )
});

/// Sends `/docs` to `/docs/`, where the page's relative links work.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "pages",
    responses((status = 308, description = "To `/docs/`",
        headers(("Location" = String, description = "`/docs/`"))))
)]
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The API reference (Swagger UI), for people.
#[utoipa::path(
    get,
    path = "/docs/",
    tag = "pages",
    responses((status = 200, description = "The reference's page", content_type = "text/html", body = String))
)]
pub async fn docs_index() -> Result<HttpResponse, ApiError> {
    serve("index.html")
}

/// A file of the API reference: scripts, styles, icons.
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "pages",
    params(("file" = String, Path, description = "A file of Swagger UI's distribution", min_length = 1, example = "swagger-ui.css")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/html"), (String = "text/css"), (String = "text/javascript"),
            (String = "image/png"), (String = "application/json"))),
        (status = 404, description = "No such file", body = ErrorBody),
    )
)]
pub async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&file)
}

fn serve(file: &str) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("the reference has no file {file:?}"));
    let found = utoipa_swagger_ui::serve(file, CONFIG.clone()).map_err(|error| {
        tracing::warn!(%error, "Swagger UI file could not be prepared");
        not_found()
    })?;
    let found = found.ok_or_else(not_found)?;
    let mut response = HttpResponse::Ok();
    response.content_type(found.content_type);
    if found.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response.body(found.bytes.into_owned()))
}
