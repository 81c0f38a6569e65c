//! End-to-end latency of hello world: through HTTP with the warm pool in each of the six
//! languages, and the cold path (create, start, run and remove a container per job, with the
//! same hardening) for Python and Java, in one run. Beside them, the bare exchange with an
//! already started container for a job whose program is `true`: what the protocol and the
//! direct channel cost, whatever the program (the attach stream's cost, with
//! `CODEEXEC_DOCKER__CHANNEL_DIR=""`).
//!
//! Before each warm request the bench waits, untimed, until the language's pool is full again,
//! so every request finds a ready container: this is latency at low load, not the container
//! start rate at saturation (`codeexec-loadtest` measures that).

use std::path::Path;
use std::time::{Duration, Instant};

use codeexec::background::BackgroundService;
use codeexec::config::Settings;
use codeexec_engine::{ContainerRuntime, DockerRuntime, LanguageRegistry, READY_LIMIT};
use codeexec_loadtest::ceiling::labelled_runtime;
use codeexec_loadtest::workload::{hello_world, hello_world_job, HELLO_OUTPUT, HELLO_WORLD};
use codeexec_protocol::{JobFrame, StageCommand};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use serde_json::{json, Value};

/// Languages whose hello world compiles first: a sample takes seconds, so fewer are taken.
const COMPILED: [&str; 3] = ["java", "go", "cpp"];
/// The cold path is measured for these.
const COLD: [&str; 2] = ["python", "java"];

fn is_compiled(language: &str) -> bool {
    COMPILED.contains(&language)
}

/// The repository's settings and the environment, as the service binary reads them.
fn repository_settings() -> Settings {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut settings = Settings::load(&repository.join("config/default.toml")).expect("settings");
    // Benchmarks run in this crate's folder; the setting's relative path means the repository's.
    if settings.docker.seccomp_profile.is_relative() {
        settings.docker.seccomp_profile = repository.join(&settings.docker.seccomp_profile);
    }
    settings
}

/// The real service on the Docker runtime, in this process, under an instance of its own.
struct Service {
    running: BackgroundService,
    instance: String,
    http: reqwest::blocking::Client,
}

impl Service {
    fn start() -> Service {
        let mut settings = repository_settings();
        let prefix = std::env::var("CODEEXEC_TEST_INSTANCE_PREFIX").unwrap_or("bench".into());
        let instance = format!("{prefix}-bench-{}", std::process::id());
        settings.docker.instance = instance.clone();
        settings.rate_limit.enabled = false;
        Service {
            running: BackgroundService::start("bench", settings),
            instance,
            http: reqwest::blocking::Client::new(),
        }
    }

    fn languages(&self) -> Vec<Value> {
        let url = format!("{}/api/v1/languages", self.running.url);
        let body: Value = self.http.get(url).send().unwrap().json().unwrap();
        body["languages"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the pools of `languages` hold their target of ready containers and every
    /// version is known.
    fn wait_for_full_pools(&self, languages: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(240);
        while !self.languages().iter().all(|entry| {
            let pool = &entry["pool"];
            let wanted = languages.iter().any(|name| entry["name"] == *name);
            !wanted || (pool["ready"] == pool["target"] && !entry["version"].is_null())
        }) {
            assert!(Instant::now() < deadline, "pools did not fill in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn run(&self, language: &str, code: &str) -> Value {
        let url = format!("{}/api/v1/execute", self.running.url);
        let request = json!({ "language": language, "code": code });
        let body: Value = self
            .http
            .post(url)
            .json(&request)
            .send()
            .unwrap()
            .json()
            .unwrap();
        body["result"].clone()
    }
}

fn hello_world_latency(c: &mut Criterion) {
    let service = Service::start();
    let all: Vec<&str> = HELLO_WORLD.iter().map(|(language, _)| *language).collect();
    service.wait_for_full_pools(&all);
    let mut group = c.benchmark_group("warm_pool_http");
    group.sampling_mode(SamplingMode::Flat);
    for (language, code) in HELLO_WORLD {
        let (samples, time) = if is_compiled(language) {
            (10, 30)
        } else {
            (20, 10)
        };
        group
            .sample_size(samples)
            .measurement_time(Duration::from_secs(time));
        group.bench_function(BenchmarkId::from_parameter(language), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    service.wait_for_full_pools(&[language]);
                    let started = Instant::now();
                    let result = service.run(language, code);
                    total += started.elapsed();
                    assert_eq!(result["output"], HELLO_OUTPUT, "{result}");
                }
                total
            })
        });
    }
    group.finish();
    cold_path(c, &service.instance);
    bare_exchange(c, &service.instance);
}

/// What the engine-level benches drive containers with, outside the service: an async runtime,
/// the service's settings and languages, and the pools' Docker runtime, labelling its
/// containers as `instance`'s so the service's sweeps never touch them.
fn engine_parts(
    instance: &str,
) -> (
    tokio::runtime::Runtime,
    Settings,
    LanguageRegistry,
    DockerRuntime,
) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let settings = repository_settings();
    let registry = LanguageRegistry::new(&settings.languages);
    let docker = runtime
        .block_on(labelled_runtime(&settings, instance))
        .expect("Docker");
    (runtime, settings, registry, docker)
}

/// One container per job, created and removed around it, labelled apart from the service's so
/// its sweeps never touch them.
fn cold_path(c: &mut Criterion, service_instance: &str) {
    let (runtime, settings, registry, docker) = engine_parts(&format!("{service_instance}-cold"));
    let mut group = c.benchmark_group("cold_container");
    group.sampling_mode(SamplingMode::Flat);
    for language in COLD {
        let language = registry.resolve(language).unwrap();
        assert!(hello_world(&language.name).is_some());
        let job = hello_world_job(&settings, language).expect("a valid job");
        let frame = job.to_frame(&settings.limits);
        let (samples, time) = if is_compiled(&language.name) {
            (10, 40)
        } else {
            (20, 10)
        };
        group
            .sample_size(samples)
            .measurement_time(Duration::from_secs(time));
        group.bench_function(BenchmarkId::from_parameter(&language.name), |b| {
            b.to_async(&runtime).iter(|| async {
                let mut container = docker.start(language).await.expect("start");
                container.ready(READY_LIMIT).await.expect("ready");
                let deadline = Duration::from_secs(60);
                let report = container.run(&frame, job.memory_mb, deadline, None).await;
                container.remove().await;
                let run = report.result.expect("result").run.expect("run stage");
                assert_eq!(run.stdout, HELLO_OUTPUT);
            })
        });
    }
    group.finish();
}

/// A job whose program does nothing, on a container started (untimed) for it: the time of
/// sending the frame, the runner writing no files and starting `true`, and the result coming
/// back through the engine. The container is removed in the background, as the pool does.
fn bare_exchange(c: &mut Criterion, service_instance: &str) {
    let (runtime, settings, registry, docker) =
        engine_parts(&format!("{service_instance}-exchange"));
    let python = registry.resolve("python").unwrap();
    let memory_mb = python.settings.memory_mb;
    let frame = JobFrame {
        files: Vec::new(),
        stdin: String::new(),
        compile: None,
        run: StageCommand {
            argv: vec!["true".into()],
            cpu_time_limit_ms: Some(5000),
            wall_time_limit_ms: 10000,
        },
        output_limit_bytes: settings.limits.output_limit_bytes,
        program_argv: None,
        interactive: false,
    };
    let mut group = c.benchmark_group("container_exchange");
    group.sampling_mode(SamplingMode::Flat).sample_size(20);
    group.bench_function("python_noop", |b| {
        b.to_async(&runtime).iter_custom(|iterations| {
            let (docker, frame) = (&docker, &frame);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let mut container = docker.start(python).await.expect("start");
                    container.ready(READY_LIMIT).await.expect("ready");
                    let started = Instant::now();
                    let report = container
                        .run(frame, memory_mb, Duration::from_secs(30), None)
                        .await;
                    total += started.elapsed();
                    let run = report.result.expect("result").run.expect("run stage");
                    assert_eq!(run.exit_code, Some(0));
                }
                total
            }
        })
    });
    group.finish();
    // Removals still running in the background end with the runtime; finish them here.
    runtime
        .block_on(docker.remove_all())
        .expect("remove the exchange containers");
}

criterion_group!(benches, hello_world_latency);
criterion_main!(benches);
