//! End-to-end latency of a Python hello world: through HTTP with the warm pool, against the cold
//! path (create, start, run and remove a container per job, with the same hardening), in one run.
//!
//! The warm requests are paced (the pause is not timed) so each finds a ready container: this
//! measures latency at low load, not the container start rate at saturation.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use codeexec::config::Settings;
use codeexec::docker;
use codeexec::engine::container::WarmContainer;
use codeexec::engine::hardening::container_spec;
use codeexec::language::LanguageRegistry;
use codeexec_protocol::{JobFrame, SourceFile, StageCommand};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

const HELLO: &str = "print('Hello, World!')\n";
/// Long enough for the pool to replace the container the previous request used.
const PACE: Duration = Duration::from_millis(400);

fn python_hello_world(c: &mut Criterion) {
    let service = common::Service::start_ready("bench", &[]);
    let mut group = c.benchmark_group("python_hello_world");
    group.sampling_mode(SamplingMode::Flat).sample_size(20);

    group.bench_function("warm_pool_http", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                std::thread::sleep(PACE);
                let started = Instant::now();
                let result = service.run("python", HELLO);
                total += started.elapsed();
                assert_eq!(result["output"], "Hello, World!\n", "{result}");
            }
            total
        })
    });

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let settings = Settings::load_default().expect("settings");
    let registry = LanguageRegistry::new(&settings);
    let python = registry.resolve("python").unwrap();
    let mut spec = container_spec(&settings, python);
    // Its own instance label, so the service's sweep never touches these.
    let labels = spec.labels.get_or_insert_with(Default::default);
    labels.insert(
        "codeexec.instance".into(),
        format!("{}-cold", service.instance),
    );
    let docker = runtime
        .block_on(docker::connect(&settings.docker))
        .expect("Docker");
    let frame = JobFrame {
        files: vec![SourceFile {
            name: "main.py".into(),
            content: HELLO.into(),
        }],
        stdin: String::new(),
        compile: None,
        run: StageCommand {
            argv: vec!["python3".into(), "main.py".into()],
            time_limit_ms: 5000,
        },
        output_limit_bytes: 65536,
    };
    group.bench_function("cold_container", |b| {
        b.to_async(&runtime).iter(|| async {
            let memory_mb = python.settings.memory_mb;
            let container = WarmContainer::start(&docker, &spec, memory_mb)
                .await
                .expect("start");
            let deadline = Duration::from_secs(30);
            let report = container.run_and_remove(&frame, memory_mb, deadline).await;
            let run = report.result.expect("result").run.expect("run stage");
            assert_eq!(run.stdout, "Hello, World!\n");
        })
    });
    group.finish();
    service.terminate();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(8));
    targets = python_hello_world
}
criterion_main!(benches);
