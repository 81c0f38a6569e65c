//! Running the service: logging, the container runtime, the engine's pools, the HTTP server, and
//! an orderly shutdown (stop taking requests, finish those in flight, remove every container,
//! write the buffered execution logs). [`serve`] is the service as a library function, on a
//! listener and a shutdown signal of the caller's; [`run`] is the binary's way in, on the
//! configured address until SIGTERM or SIGINT.

use std::future::Future;
use std::io::IsTerminal;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use codeexec_engine::{connect_runtime, Engine, EngineError};
use serde_json::Value;

use crate::api::{self, AppState};
use crate::config::{LogFormat, Settings};
use crate::drain::{self, Drain};
use crate::execution_log::ExecutionLog;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Engine(EngineError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot use the MongoDB URI in DB or mongo.uri: {0}")]
    ExecutionLog(mongodb::error::Error),
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
}

/// Runs the service on the configured address until SIGTERM or SIGINT, then cleans up.
pub fn run(settings: Settings) -> Result<(), ServeError> {
    init_logging(settings.server.log_format);
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let listener =
        TcpListener::bind(&address).map_err(|source| ServeError::Bind { address, source })?;
    actix_web::rt::System::new().block_on(serve(settings, listener, shutdown_signal()))
}

/// Resolves at the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The OpenAPI description of the routes `api::app` registers, narrowed to this service's
/// languages and limits.
fn description(state: &AppState) -> Value {
    let settings = &state.settings;
    let (_, openapi) = api::app_serving(
        App::new(),
        settings.server.max_body_bytes,
        settings.judge0.enabled,
    );
    let description = serde_json::to_value(openapi).expect("an OpenAPI document is JSON");
    let description =
        api::openapi::for_languages(description, &state.registry, &state.settings.limits);
    let description = crate::judge0::description::narrowed(
        description,
        &state.registry,
        settings.judge0.max_submission_batch_size,
    );
    crate::piston::description::narrowed(description, &state.registry, &settings.limits)
}

/// Serves on `listener` until `shutdown` resolves, then drains (health 503 and new jobs
/// refused for at least `server.drain_secs`, until the admitted jobs have finished), stops
/// taking requests, lets those in flight finish (up to `server.shutdown_timeout_secs`), removes
/// every container of this instance and flushes the execution logs. Must run inside an actix system.
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), ServeError> {
    let settings = Arc::new(settings);
    let metrics = Arc::new(Metrics::new());
    let execution_log =
        ExecutionLog::start(&settings.mongo, metrics.execution_log_writes_total.clone())
            .await
            .map_err(ServeError::ExecutionLog)?;
    let engine_settings = settings.engine_settings();
    let runtime = connect_runtime(&engine_settings)
        .await
        .map_err(ServeError::Engine)?;
    let engine = Engine::start(engine_settings, runtime, metrics.clone())
        .await
        .map_err(ServeError::Engine)?;
    let judge0 = web::Data::new(
        crate::judge0::start(&settings, engine.clone())
            .await
            .map_err(ServeError::ExecutionLog)?,
    );
    let state = web::Data::new(AppState {
        settings: settings.clone(),
        registry: engine.languages().clone(),
        engine: engine.clone(),
        rate_limit: RateLimit::start(&settings.rate_limit, &metrics),
        execution_log: execution_log.clone(),
        metrics: metrics.clone(),
        drain: Drain::default(),
    });
    let max_body_bytes = settings.server.max_body_bytes;
    let judge0_after_stop = judge0.clone();
    let judge0_enabled = settings.judge0.enabled;
    let description = web::Data::new(api::openapi::Description(description(&state)));
    let address = listener
        .local_addr()
        .map(|address| address.to_string())
        .unwrap_or_default();
    let drain = state.drain.clone();
    let judge0_pending = judge0.clone();
    let server = HttpServer::new(move || {
        let (app, _) = api::app_serving(App::new(), max_body_bytes, judge0_enabled);
        // The body timeout and the drain wrap every route, inside the metrics so that a 408 or
        // a refusal while draining is counted.
        app.wrap(actix_web::middleware::from_fn(
            api::body_timeout::read_body_in_time,
        ))
        .wrap(actix_web::middleware::from_fn(drain::refuse_new_jobs))
        .wrap(actix_web::middleware::from_fn(api::http_metrics::record))
        .app_data(state.clone())
        .app_data(description.clone())
        .app_data(judge0.clone())
    })
    .workers(settings.server.workers)
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    .disable_signals()
    .listen(listener)
    .map_err(|source| ServeError::Bind { address, source })?;
    for bound in server.addrs() {
        tracing::info!("listening on http://{bound}");
    }
    let server = server.run();
    let handle = server.handle();
    let drain_secs = Duration::from_secs(settings.server.drain_secs);
    let shutdown_timeout = Duration::from_secs(settings.server.shutdown_timeout_secs);
    actix_web::rt::spawn(async move {
        shutdown.await;
        tracing::info!(
            drain_secs = drain_secs.as_secs(),
            "draining: health answers 503 and new jobs are refused; admitted jobs finish"
        );
        drain.begin();
        let idle = || metrics.jobs_in_flight.get() == 0 && judge0_pending.pending() == 0;
        if !drain.settle(drain_secs, shutdown_timeout, idle).await {
            tracing::warn!("admitted jobs still running at the end of the shutdown timeout");
        }
        tracing::info!("stopping: no new connections; finishing the requests in flight");
        handle.stop(true).await;
    });
    let outcome = server.await;
    tracing::info!("stopped taking requests; removing containers, flushing execution logs");
    tokio::join!(
        async {
            engine.shutdown().await;
            judge0_after_stop.shutdown().await;
        },
        execution_log.shutdown()
    );
    outcome.map_err(ServeError::Http)
}
