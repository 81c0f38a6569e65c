//! The Judge0 CE 1.13.1 endpoints, a named handler each, and [`register`], which lists every
//! route in one place (mounted at the root and under `/judge0`).

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{middleware, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Authorized;
use super::error::Judge0Error;
use super::info::{self, ConfigInfo, JUDGE0_VERSION};
use super::jobs::{now_ms, Judge0};
use super::languages::{self, LanguageDetail, LanguageListed, LanguageSummary};
use super::limits::Bounds;
use super::request::{self, Context};
use super::status::{self, StatusBody};
use super::submission::{requested_fields, InvalidFields, Submission};
use crate::api::endpoint::endpoint_under;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::AppState;

/// Every Judge0 route under `at` (`""` for the root), each an endpoint of the OpenAPI
/// description. The submission POST is
/// rate limited like `/api/v1/execute` (one token); a batch takes one token per submission in
/// its handler.
pub fn register(config: &mut ServiceConfig, at: &'static str) {
    config
        .service(
            endpoint_under(at, __path_create_submission, create_submission)
                .map(|resource| resource.wrap(middleware::from_fn(crate::api::rate_limit::limit))),
        )
        .service(
            endpoint_under(at, __path_create_batch, create_batch).and(__path_get_batch, get_batch),
        )
        .service(endpoint_under(at, __path_get_submission, get_submission))
        .service(endpoint_under(at, __path_list_languages, list_languages))
        .service(endpoint_under(
            at,
            __path_list_all_languages,
            list_all_languages,
        ))
        .service(endpoint_under(at, __path_get_language, get_language))
        .service(endpoint_under(at, __path_list_statuses, list_statuses))
        .service(endpoint_under(at, __path_about, about))
        .service(endpoint_under(at, __path_version, version))
        .service(endpoint_under(at, __path_config_info, config_info))
        .service(endpoint_under(at, __path_system_info, system_info));
}

/// Query parameters of the submission endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct SubmissionQuery {
    pub base64_encoded: Option<String>,
    pub wait: Option<String>,
    pub fields: Option<String>,
    pub tokens: Option<String>,
}

impl SubmissionQuery {
    fn base64(&self) -> bool {
        self.base64_encoded.as_deref() == Some("true")
    }

    fn wait(&self) -> bool {
        self.wait.as_deref() == Some("true")
    }

    fn fields(&self) -> Result<Vec<&'static str>, Judge0Error> {
        requested_fields(self.fields.as_deref()).map_err(|InvalidFields(invalid)| {
            Judge0Error::BadRequest(format!("invalid fields: [{}]", invalid.join(", ")))
        })
    }
}

/// `{"token": "..."}`.
#[derive(Debug, Serialize)]
pub struct TokenBody {
    pub token: String,
}

/// `POST /submissions/batch`'s body.
#[derive(Debug, Deserialize)]
pub struct BatchRequest {
    pub submissions: Option<Vec<Value>>,
}

/// `GET /submissions/batch`'s answer: each requested token's submission, or null.
#[derive(Debug, Serialize)]
pub struct BatchSubmissions {
    pub submissions: Vec<Value>,
}

/// The engine's probed version of each language.
async fn versions(judge0: &Judge0) -> HashMap<String, String> {
    judge0
        .engine
        .pool_states()
        .await
        .into_iter()
        .filter_map(|(language, pool)| Some((language, pool.ok()?.version?)))
        .collect()
}

fn render(submission: &Submission, fields: &[&'static str], base64: bool) -> Value {
    serde_json::to_value(submission.render(fields, base64)).unwrap_or(Value::Null)
}

/// `POST /submissions`: 201 `{token}`, or with `wait=true` 201 and the finished submission.
#[utoipa::path(post, path = "/submissions", tag = "judge0",
    params(("base64_encoded" = Option<String>, Query, description = "`true`: `source_code`, `stdin`, `expected_output` and the outputs are Base64"), ("wait" = Option<String>, Query, description = "`true`: answer once the submission has finished"), ("fields" = Option<String>, Query, description = "Comma-separated submission fields to answer with, or `*` for all")),
    request_body(content = Object, description = "A Judge0 submission: `source_code`, `language_id` and optional fields"),
    responses(
        (status = 201, description = "`{token}`, or with `wait=true` the finished submission", body = Object),
        (status = 400, description = "Invalid `fields`, a batch of the wrong size, or a body that is not JSON", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it"), (status = 422, description = "What is wrong with each field of the submission", body = Object), (status = 429, description = "Over the client's rate limit", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The queue is full or the submissions database does not answer", body = Object),
    ))]
pub async fn create_submission(
    _: Authorized,
    state: web::Data<AppState>,
    judge0: web::Data<Judge0>,
    query: web::Query<SubmissionQuery>,
    body: web::Json<Value>,
) -> Result<HttpResponse, Judge0Error> {
    let fields = query.fields()?;
    if !judge0.has_room_for(1) {
        return Err(Judge0Error::QueueFull);
    }
    let versions = versions(&judge0).await;
    let context = Context {
        registry: &state.registry,
        limits: &state.settings.limits,
        judge0: &judge0.settings,
        versions: &versions,
        now_ms: now_ms(),
    };
    let accepted =
        request::validate(&body, query.base64(), &context).map_err(Judge0Error::Invalid)?;
    let token = accepted.submission.token.clone();
    let running = judge0.submit(accepted).await?;
    if !query.wait() {
        return Ok(HttpResponse::Created().json(TokenBody { token }));
    }
    let submission = running
        .await
        .map_err(|_| Judge0Error::Internal("the submission's task failed".into()))?;
    Ok(HttpResponse::Created().json(render(&submission, &fields, query.base64())))
}

/// `GET /submissions/{token}`: 200 with the requested fields, 404 for an unknown token.
#[utoipa::path(get, path = "/submissions/{token}", tag = "judge0",
    params(("token" = String, Path, description = "The submission's token"), ("base64_encoded" = Option<String>, Query, description = "`true`: `source_code`, `stdin`, `expected_output` and the outputs are Base64"), ("fields" = Option<String>, Query, description = "Comma-separated submission fields to answer with, or `*` for all")),
    responses(
        (status = 200, description = "The submission's requested fields", body = Object),
        (status = 400, description = "Invalid `fields`, a batch of the wrong size, or a body that is not JSON", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it"), (status = 404, description = "Unknown", body = Object), (status = 503, description = "The queue is full or the submissions database does not answer", body = Object),
    ))]
pub async fn get_submission(
    _: Authorized,
    judge0: web::Data<Judge0>,
    token: web::Path<String>,
    query: web::Query<SubmissionQuery>,
) -> Result<HttpResponse, Judge0Error> {
    let fields = query.fields()?;
    let submission =
        judge0.store.get(&token).await?.ok_or_else(|| {
            Judge0Error::NotFound(format!("submission with token {token} not found"))
        })?;
    let seen = submission.seen_at(now_ms());
    Ok(HttpResponse::Ok().json(render(&seen, &fields, query.base64())))
}

/// `POST /submissions/batch`: 1 to `max_submission_batch_size` submissions; 201 with a
/// `{token}` or `{field: [errors]}` per submission, 422 when none is valid.
#[utoipa::path(post, path = "/submissions/batch", tag = "judge0",
    params(("base64_encoded" = Option<String>, Query, description = "`true`: `source_code`, `stdin`, `expected_output` and the outputs are Base64")),
    request_body(content = Object, description = "`{\"submissions\": [...]}`"),
    responses(
        (status = 201, description = "A `{token}` or the field errors for each submission", body = Vec<Object>),
        (status = 400, description = "Invalid `fields`, a batch of the wrong size, or a body that is not JSON", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it"),
        (status = 422, description = "No submission of the batch is valid", body = Vec<Object>),
        (status = 429, description = "Over the client's rate limit", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The queue is full or the submissions database does not answer", body = Object),
    ))]
pub async fn create_batch(
    _: Authorized,
    request: HttpRequest,
    state: web::Data<AppState>,
    judge0: web::Data<Judge0>,
    query: web::Query<SubmissionQuery>,
    body: web::Json<BatchRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    let items = body.into_inner().submissions.unwrap_or_default();
    check_batch_size(items.len(), judge0.settings.max_submission_batch_size)?;
    take_rate_limit_tokens(&request, &state, items.len()).await?;
    if !judge0.has_room_for(items.len()) {
        return Err(Judge0Error::QueueFull.into());
    }
    let versions = versions(&judge0).await;
    let mut answers = Vec::with_capacity(items.len());
    let mut any_valid = false;
    for item in &items {
        let context = Context {
            registry: &state.registry,
            limits: &state.settings.limits,
            judge0: &judge0.settings,
            versions: &versions,
            now_ms: now_ms(),
        };
        match request::validate(item, query.base64(), &context) {
            Ok(accepted) => {
                let token = accepted.submission.token.clone();
                judge0.submit(accepted).await.map_err(Judge0Error::from)?;
                any_valid = true;
                answers.push(json!({ "token": token }));
            }
            Err(errors) => answers.push(json!(errors)),
        }
    }
    Ok(if any_valid {
        HttpResponse::Created().json(answers)
    } else {
        HttpResponse::UnprocessableEntity().json(answers)
    })
}

/// Judge0's bounds on a batch: 1 to `max` submissions or tokens.
fn check_batch_size(count: usize, max: usize) -> Result<(), Judge0Error> {
    if count > max {
        return Err(Judge0Error::BadRequest(format!(
            "number of submissions in a batch should be less than or equal to {max}"
        )));
    }
    if count == 0 {
        return Err(Judge0Error::BadRequest(
            "there should be at least one submission in a batch".into(),
        ));
    }
    Ok(())
}

/// Takes `count` tokens from the client's rate limit bucket: a batch costs one per
/// submission. The answer is the 429 when the bucket runs dry.
async fn take_rate_limit_tokens(
    request: &HttpRequest,
    state: &AppState,
    count: usize,
) -> Result<(), ApiError> {
    let Some(rate_limit) = &state.rate_limit else {
        return Ok(());
    };
    let peer = request.peer_addr().map(|address| address.ip());
    let client = rate_limit.client(peer, request.headers());
    for _ in 0..count {
        let Some(decision) = rate_limit.check(client).await else {
            return Ok(());
        };
        if !decision.allowed {
            state.metrics.rate_limited_total.inc();
            return Err(ApiError::RateLimited(decision));
        }
    }
    Ok(())
}

/// `GET /submissions/batch?tokens=a,b`: each token's submission, or null when unknown.
#[utoipa::path(get, path = "/submissions/batch", tag = "judge0",
    params(("tokens" = Option<String>, Query, description = "Comma-separated submission tokens"), ("base64_encoded" = Option<String>, Query, description = "`true`: `source_code`, `stdin`, `expected_output` and the outputs are Base64"), ("fields" = Option<String>, Query, description = "Comma-separated submission fields to answer with, or `*` for all")),
    responses(
        (status = 200, description = "`{\"submissions\": [...]}`, null for an unknown token", body = Object),
        (status = 400, description = "Invalid `fields`, a batch of the wrong size, or a body that is not JSON", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it"), (status = 503, description = "The queue is full or the submissions database does not answer", body = Object),
    ))]
pub async fn get_batch(
    _: Authorized,
    judge0: web::Data<Judge0>,
    query: web::Query<SubmissionQuery>,
) -> Result<HttpResponse, Judge0Error> {
    let fields = query.fields()?;
    let tokens: Vec<String> = query
        .tokens
        .as_deref()
        .unwrap_or_default()
        .trim()
        .split(',')
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_string)
        .collect();
    check_batch_size(tokens.len(), judge0.settings.max_submission_batch_size)?;
    let found = judge0.store.get_many(&tokens).await?;
    let now = now_ms();
    let submissions = tokens
        .iter()
        .map(|token| match found.get(token) {
            Some(submission) => render(&submission.clone().seen_at(now), &fields, query.base64()),
            None => Value::Null,
        })
        .collect();
    Ok(HttpResponse::Ok().json(BatchSubmissions { submissions }))
}

/// The Judge0 languages whose codeexec language is enabled.
fn offered(state: &AppState) -> impl Iterator<Item = &'static languages::Judge0Language> + '_ {
    languages::LANGUAGES
        .iter()
        .filter(|language| state.registry.resolve(language.language).is_some())
}

/// `GET /languages`: `[{id, name}]`.
#[utoipa::path(get, path = "/languages", tag = "judge0",
    responses((status = 200, description = "`[{id, name}]`", body = Vec<Object>), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn list_languages(
    _: Authorized,
    state: web::Data<AppState>,
    judge0: web::Data<Judge0>,
) -> HttpResponse {
    let versions = versions(&judge0).await;
    let list: Vec<LanguageSummary> = offered(&state)
        .map(|language| LanguageSummary {
            id: language.id,
            name: language.name(&versions),
        })
        .collect();
    HttpResponse::Ok().json(list)
}

/// `GET /languages/all`: `[{id, name, is_archived}]`.
#[utoipa::path(get, path = "/languages/all", tag = "judge0",
    responses((status = 200, description = "`[{id, name, is_archived}]`", body = Vec<Object>), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn list_all_languages(
    _: Authorized,
    state: web::Data<AppState>,
    judge0: web::Data<Judge0>,
) -> HttpResponse {
    let versions = versions(&judge0).await;
    let list: Vec<LanguageListed> = offered(&state)
        .map(|language| LanguageListed {
            id: language.id,
            name: language.name(&versions),
            is_archived: false,
        })
        .collect();
    HttpResponse::Ok().json(list)
}

/// `GET /languages/{id}`: the language with its file and commands; 404 when unknown.
#[utoipa::path(get, path = "/languages/{id}", tag = "judge0",
    params(("id" = String, Path, description = "A Judge0 language id")),
    responses((status = 200, description = "The language", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it"), (status = 404, description = "Unknown", body = Object)))]
pub async fn get_language(
    _: Authorized,
    state: web::Data<AppState>,
    judge0: web::Data<Judge0>,
    id: web::Path<String>,
) -> Result<HttpResponse, Judge0Error> {
    let id = id.into_inner();
    let language = id
        .parse::<i64>()
        .ok()
        .and_then(languages::by_id)
        .filter(|language| state.registry.resolve(language.language).is_some());
    let language = language
        .ok_or_else(|| Judge0Error::NotFound(format!("language with id {id} doesn't exist")))?;
    let versions = versions(&judge0).await;
    Ok(HttpResponse::Ok().json(LanguageDetail {
        id: language.id,
        name: language.name(&versions),
        is_archived: false,
        source_file: language.source_file,
        compile_cmd: language.compile_cmd,
        run_cmd: language.run_cmd,
    }))
}

/// `GET /statuses`: `[{id, description}]` for ids 1 to 14.
#[utoipa::path(get, path = "/statuses", tag = "judge0",
    responses((status = 200, description = "`[{id, description}]`", body = Vec<Object>), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn list_statuses(_: Authorized) -> HttpResponse {
    let list: Vec<StatusBody> = status::ALL.into_iter().map(StatusBody::from).collect();
    HttpResponse::Ok().json(list)
}

/// `GET /about`: version 1.13.1, which the Python SDK reads to pick its language ids.
#[utoipa::path(get, path = "/about", tag = "judge0",
    responses((status = 200, description = "Judge0's version and maintainer", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn about(_: Authorized) -> HttpResponse {
    HttpResponse::Ok().json(info::ABOUT)
}

/// `GET /version`: the version as plain text.
#[utoipa::path(get, path = "/version", tag = "judge0",
    responses((status = 200, description = "The Judge0 version", content_type = "text/plain", body = String), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn version(_: Authorized) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(JUDGE0_VERSION)
}

/// `GET /config_info`: Judge0's 39 configuration keys with codeexec's real limits.
#[utoipa::path(get, path = "/config_info", tag = "judge0",
    responses((status = 200, description = "Judge0's configuration keys with this service's limits", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn config_info(
    _: Authorized,
    state: web::Data<AppState>,
    judge0: web::Data<Judge0>,
) -> HttpResponse {
    let limits = &state.settings.limits;
    let bounds = Bounds::common(state.registry.all(), limits, &judge0.settings).unwrap_or(Bounds {
        max_time_s: Duration::from_millis(limits.min_timeout_ms).as_secs_f64(),
        max_wall_time_s: Duration::from_millis(limits.min_timeout_ms).as_secs_f64(),
        default_wall_time_s: Duration::from_millis(limits.min_timeout_ms).as_secs_f64(),
        min_time_s: Duration::from_millis(limits.min_timeout_ms).as_secs_f64(),
        max_memory_kb: (limits.min_memory_mb * 1024) as i64,
        min_memory_kb: (limits.min_memory_mb * 1024) as i64,
        max_processes: 1,
        max_file_size_kb: (limits.file_size_mb * 1024) as i64,
        max_number_of_runs: 1,
    });
    let versions = versions(&judge0).await;
    let mut compile_option_languages = Vec::new();
    for language in offered(&state) {
        let allowed = judge0
            .settings
            .compiler_options
            .get(language.language)
            .is_some_and(|options| !options.is_empty());
        let name = language.name(&versions);
        if allowed && !compile_option_languages.contains(&name) {
            compile_option_languages.push(name);
        }
    }
    HttpResponse::Ok().json(ConfigInfo::new(
        &judge0.settings,
        bounds,
        compile_option_languages,
    ))
}

/// `GET /system_info`: the machine's CPU and memory, as a flat string map.
#[utoipa::path(get, path = "/system_info", tag = "judge0",
    responses((status = 200, description = "The machine's CPU and memory", body = Object), (status = 401, description = "`judge0.auth_token` is set and the request does not carry it")))]
pub async fn system_info(_: Authorized) -> HttpResponse {
    HttpResponse::Ok().json(info::system_info())
}
