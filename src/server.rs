//! Running the service: logging, the Docker connection, the engine's pools, the HTTP server, and
//! an orderly shutdown on SIGTERM or SIGINT (stop taking requests, finish those in flight, remove
//! every container, write the buffered execution logs).

use std::io::IsTerminal;
use std::sync::Arc;

use actix_web::{web, App, HttpServer};

use codeexec_engine::{connect_runtime, Engine, EngineError};

use crate::api::{self, AppState};
use crate::config::{LogFormat, Settings};
use crate::execution_log::ExecutionLog;
use crate::metrics::METRICS;
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

/// Runs the service until SIGTERM or SIGINT, then cleans up.
pub fn run(settings: Settings) -> Result<(), ServeError> {
    init_logging(settings.server.log_format);
    actix_web::rt::System::new().block_on(serve(Arc::new(settings)))
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

async fn serve(settings: Arc<Settings>) -> Result<(), ServeError> {
    let execution_log = ExecutionLog::start(&settings.mongo)
        .await
        .map_err(ServeError::ExecutionLog)?;
    let engine_settings = settings.engine_settings();
    let runtime = connect_runtime(&engine_settings)
        .await
        .map_err(ServeError::Engine)?;
    let engine = Engine::start(engine_settings, runtime, METRICS.clone())
        .await
        .map_err(ServeError::Engine)?;
    let state = web::Data::new(AppState {
        settings: settings.clone(),
        registry: engine.languages().clone(),
        engine: engine.clone(),
        rate_limit: RateLimit::start(&settings.rate_limit),
        execution_log: execution_log.clone(),
    });
    let max_body_bytes = settings.server.max_body_bytes;
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(api::http_metrics::record))
            .app_data(state.clone())
            .configure(|config| api::configure(config, max_body_bytes))
    })
    .workers(settings.server.workers)
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    .bind(&address)
    .map_err(|source| ServeError::Bind { address, source })?;
    for bound in server.addrs() {
        tracing::info!("listening on http://{bound}");
    }
    let outcome = server.run().await.map_err(ServeError::Http);
    tracing::info!("stopped taking requests; removing containers, flushing execution logs");
    tokio::join!(engine.shutdown(), execution_log.shutdown());
    outcome
}
