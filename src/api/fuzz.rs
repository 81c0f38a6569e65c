//! Property tests of request parsing and validation: arbitrary bytes, arbitrary JSON, plausible
//! requests and byte-level mutations of them go through the same steps as a request body
//! (`serde_json::from_slice`, then `validate`). None may panic, and whatever validation accepts
//! must respect the limits and file name rules. Case counts are set per property so the whole
//! module runs in a few seconds, in CI too.

use std::collections::HashSet;
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

use super::request::{ExecuteRequest, ExecuteV1, ExecuteV2, MAX_ARGS_TOTAL_BYTES, MAX_ARG_BYTES};
use crate::config::{GlobalLimits, Settings};
use codeexec_engine::JobSpec;
use codeexec_engine::LanguageRegistry;

/// Fields the endpoints know, so generated objects hit them often.
const FIELDS: &[&str] = &[
    "language",
    "code",
    "files",
    "filename",
    "isEntryPoint",
    "stdin",
    "args",
    "timeoutMs",
    "memoryLimitMb",
    "saveMetric",
];

/// The repository's languages and limits, read once for all cases.
static SETUP: LazyLock<(LanguageRegistry, GlobalLimits)> = LazyLock::new(|| {
    let settings = Settings::repository_defaults();
    (LanguageRegistry::new(&settings.languages), settings.limits)
});

/// Parses `body` as each endpoint would and validates what parses, checking what passes.
fn check(body: &[u8]) {
    let (registry, limits) = &*SETUP;
    check_body(body, registry, limits);
}

fn check_body(body: &[u8], registry: &LanguageRegistry, limits: &GlobalLimits) {
    if let Ok(request) = serde_json::from_slice::<ExecuteV1>(body) {
        if let Ok(spec) = request.validate(registry, limits) {
            assert_sound(&spec, limits);
        }
    }
    if let Ok(request) = serde_json::from_slice::<ExecuteV2>(body) {
        if let Ok(spec) = request.validate(registry, limits) {
            assert_sound(&spec, limits);
        }
    }
}

/// What validation promises the engine about every job it lets through.
fn assert_sound(spec: &JobSpec, limits: &GlobalLimits) {
    let language = &spec.language.settings;
    assert!((limits.min_timeout_ms..=language.timeout_ms).contains(&spec.timeout_ms));
    assert!((limits.min_memory_mb..=language.memory_mb).contains(&spec.memory_mb));
    assert!(!spec.files.is_empty() && spec.files.len() <= limits.max_files);
    assert!(spec.files.iter().any(|file| file.name == spec.entry));
    let mut names = HashSet::new();
    for file in &spec.files {
        let name = &file.name;
        assert!(names.insert(name), "duplicate {name:?}");
        assert!(!name.is_empty() && name.len() <= 255, "{name:?}");
        assert!(
            !name.starts_with('/') && !name.contains(['\\', '\0']),
            "{name:?}"
        );
        assert!(
            name.split('/')
                .all(|part| !part.is_empty() && part != "." && part != ".."),
            "{name:?}"
        );
        assert!(
            language.allow_subdirectories || !name.contains('/'),
            "{name:?}"
        );
        assert!(
            name.split('/')
                .all(|part| !part.starts_with(['-', '@'])
                    && part.len() <= language.max_file_name_bytes),
            "{name:?}"
        );
    }
    for file in &spec.files {
        let folder_of_another = spec
            .files
            .iter()
            .any(|other| other.name.starts_with(&format!("{}/", file.name)));
        assert!(!folder_of_another, "{:?} is a file and a folder", file.name);
    }
    assert!(spec.args.len() <= 256 && spec.args.iter().all(|arg| !arg.contains('\0')));
    assert!(spec.args.iter().all(|arg| arg.len() <= MAX_ARG_BYTES));
    assert!(spec.args.iter().map(String::len).sum::<usize>() <= MAX_ARGS_TOTAL_BYTES);
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        let key = prop_oneof![3 => proptest::sample::select(FIELDS).prop_map(String::from), 1 => ".{0,8}"];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            proptest::collection::vec((key, inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// File names a client might send, harmless or hostile.
fn file_name() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        12 => "[a-zA-Z0-9_.é-]{1,12}",
        2 => Just("Main.java".to_string()),
        2 => Just("main.py".to_string()),
        1 => Just(String::new()),
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
        1 => Just("a\\b".to_string()),
        1 => Just("nul\0".to_string()),
        1 => Just("x".repeat(300)),
    ];
    (
        proptest::option::weighted(0.1, Just("/")),
        proptest::collection::vec(part, 1..3),
    )
        .prop_map(|(root, parts)| format!("{}{}", root.unwrap_or(""), parts.join("/")))
}

fn limit() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => Just(Value::Null),
        3 => (0u64..10_000).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => Just(json!(-1)),
        1 => Just(json!(1.5)),
        1 => Just(json!("5000")),
    ]
}

/// Well-formed requests with plausible and hostile values, for either endpoint.
fn plausible_request() -> impl Strategy<Value = Value> {
    let language = proptest::sample::select(vec![
        "python",
        "py",
        "JavaScript",
        "node",
        "java",
        "go",
        "golang",
        "c++",
        "cpp",
        "rb",
        "cobol",
        "",
        " python",
    ]);
    let file = (
        file_name(),
        proptest::option::weighted(0.9, ".{0,16}"),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(filename, code, entry)| {
            json!({ "filename": filename, "code": code, "isEntryPoint": entry })
        });
    (
        language,
        proptest::option::weighted(0.9, ".{0,24}"),
        proptest::collection::vec(file, 0..4),
        proptest::collection::vec(".{0,4}", 0..4),
        limit(),
        limit(),
        proptest::option::of(".{0,8}"),
    )
        .prop_map(|(language, code, files, args, timeout, memory, stdin)| {
            json!({
                "language": language,
                "code": code,
                "files": files,
                "args": args,
                "timeoutMs": timeout,
                "memoryLimitMb": memory,
                "stdin": stdin,
            })
        })
}

/// One byte-level edit: delete, insert or overwrite at a position.
fn mutate(body: &mut Vec<u8>, (at, byte, kind): &(Index, u8, u8)) {
    let position = at.index(body.len() + 1);
    match kind % 3 {
        0 if position < body.len() => {
            body.remove(position);
        }
        1 => body.insert(position, *byte),
        _ if position < body.len() => body[position] = *byte,
        _ => body.push(*byte),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        check(&body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        check(value.to_string().as_bytes());
    }

    #[test]
    fn plausible_requests_validate_soundly(request in plausible_request()) {
        check(request.to_string().as_bytes());
    }

    #[test]
    fn mutated_requests_never_panic(
        request in plausible_request(),
        edits in proptest::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 1..8),
    ) {
        let mut body = request.to_string().into_bytes();
        for edit in &edits {
            mutate(&mut body, edit);
        }
        check(&body);
    }
}
