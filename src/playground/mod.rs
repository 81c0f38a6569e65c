//! The playground at `/`: a page where a person runs code against this service without writing a
//! client. Every file is compiled into the binary (no CDN, works offline): the page, its script
//! and style, and the editor, CodeMirror 5 (refreshed from npm by
//! `scripts/refresh-playground-assets`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::api::endpoint::endpoint;
use crate::api::error::{ApiError, ErrorBody};

/// A file the page loads: its name under `/playground/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal, $path:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!($path),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!(
        "playground.js",
        "text/javascript; charset=utf-8",
        "assets/playground.js"
    ),
    asset!(
        "playground.css",
        "text/css; charset=utf-8",
        "assets/playground.css"
    ),
    asset!(
        "codemirror.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/codemirror.js"
    ),
    asset!(
        "codemirror.css",
        "text/css; charset=utf-8",
        "assets/codemirror/codemirror.css"
    ),
    asset!(
        "matchbrackets.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/matchbrackets.js"
    ),
    asset!(
        "python.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/python.js"
    ),
    asset!(
        "javascript.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/javascript.js"
    ),
    asset!(
        "clike.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/clike.js"
    ),
    asset!(
        "go.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/go.js"
    ),
    asset!(
        "ruby.js",
        "text/javascript; charset=utf-8",
        "assets/codemirror/ruby.js"
    ),
];

const PAGE: &str = include_str!("assets/index.html");

/// The playground's routes.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(endpoint(__path_page, page))
        .service(endpoint(__path_asset_file, asset_file));
}

/// The playground: pick a language, write code (several files if you like), give stdin and
/// arguments, run it and read its output, status and timings.
#[utoipa::path(
    get,
    path = "/",
    tag = "pages",
    responses((status = 200, description = "The playground's page", content_type = "text/html", body = String))
)]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// A file of the playground: its script, its style, the editor.
#[utoipa::path(
    get,
    path = "/playground/{file}",
    tag = "pages",
    params(("file" = String, Path, description = "A file of the playground", min_length = 1, example = "playground.js")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"), (String = "text/css"))),
        (status = 404, description = "No such file", body = ErrorBody),
    )
)]
pub async fn asset_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == file.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("the playground has no file {file:?}")))?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.bytes))
}
