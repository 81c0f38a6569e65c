//! Raw HTTP checks of the Judge0 wire format: the exact default and `*` field sets, value
//! formats, error bodies, base64 both ways, `wait=true`, batches and their limits, compiler
//! options and the informational endpoints.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{service, wait_for_submission};

const DEFAULT_FIELDS: [&str; 8] = [
    "token",
    "time",
    "memory",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
];

const ALL_FIELDS: [&str; 35] = [
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
];

fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut fields: Vec<String> = fields.iter().map(|field| field.to_string()).collect();
    fields.sort();
    fields
}

/// `2024-04-03T05:40:51.306Z`.
fn assert_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp: {value}"));
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3fZ");
    assert!(parsed.is_ok() && text.len() == 24, "{text}");
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn unb64(value: &Value) -> String {
    let compact: String = value.as_str().unwrap().split_whitespace().collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn wait_true_answers_201_with_exactly_the_default_fields() {
    let (status, body) = service().post(
        "/submissions?wait=true",
        &json!({ "source_code": "print('hi')", "language_id": 71 }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(keys(&body), sorted(&DEFAULT_FIELDS), "{body}");
    assert_eq!(
        body["status"],
        json!({ "id": 3, "description": "Accepted" })
    );
    assert_eq!(body["stdout"], "hi\n");
    assert_eq!(body["stderr"], Value::Null);
    assert_eq!(body["compile_output"], Value::Null);
    assert_eq!(body["message"], Value::Null);
    let time: f64 = body["time"]
        .as_str()
        .expect("time is a string")
        .parse()
        .unwrap();
    assert!(time >= 0.0);
    assert!(body["memory"].as_i64().expect("memory is an integer (KB)") > 0);
}

#[test]
fn fields_star_gives_every_judge0_field_and_nothing_else() {
    let service = service();
    let (status, created) = service.post(
        "/judge0/submissions",
        &json!({ "source_code": "print(input())", "language_id": 71, "stdin": "x",
                 "memory_limit": 131072, "cpu_time_limit": "2" }),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(keys(&created), ["token"], "{created}");
    let token = created["token"].as_str().unwrap();
    let body = wait_for_submission(service, "/judge0", token);
    assert_eq!(keys(&body), sorted(&ALL_FIELDS), "{body}");
    assert_eq!(body["token"], token);
    assert_eq!(body["status_id"], 3);
    assert_eq!(body["stdout"], "x\n");
    assert_eq!(body["language_id"], 71);
    assert_eq!(body["language"]["id"], 71);
    assert!(
        body["language"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Python ("),
        "{body}"
    );
    assert_eq!(body["cpu_time_limit"], "2.0");
    assert_eq!(body["memory_limit"], 131072);
    assert_eq!(body["number_of_runs"], 1);
    assert_eq!(body["exit_code"], 0);
    assert_eq!(body["enable_network"], false);
    assert_timestamp(&body["created_at"]);
    assert_timestamp(&body["finished_at"]);
    assert!(body["wall_time"].is_string(), "{body}");

    let (status, some) = service.get(&format!("/submissions/{token}?fields=stdout,status_id"));
    assert_eq!(status, 200);
    assert_eq!(some, json!({ "stdout": "x\n", "status_id": 3 }));
}

#[test]
fn bad_requests_get_judge0_error_bodies() {
    let service = service();
    let (status, body) = service.post("/submissions", &json!({ "source_code": "print(1)" }));
    assert_eq!(status, 422);
    assert_eq!(body, json!({ "language_id": ["can't be blank"] }));

    let (status, body) = service.post(
        "/submissions",
        &json!({ "source_code": "print(1)", "language_id": 150000 }),
    );
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({ "language_id": ["language with id 150000 doesn't exist"] })
    );

    let (status, body) = service.post(
        "/submissions",
        &json!({ "source_code": "print(1)", "language_id": 71, "enable_network": true,
                 "memory_limit": 99999999 }),
    );
    assert_eq!(status, 422);
    assert!(
        body["enable_network"].is_array() && body["memory_limit"].is_array(),
        "{body}"
    );

    let (status, body) = service.get("/submissions/no-such-token");
    assert_eq!(status, 404, "{body}");

    let (status, body) = service.get("/submissions/no-such-token?fields=token,bogus");
    assert_eq!(status, 400);
    assert_eq!(body, json!({ "error": "invalid fields: [bogus]" }));
}

#[test]
fn base64_goes_both_ways() {
    let (status, body) = service().post(
        "/submissions?base64_encoded=true&wait=true&fields=stdout,stdin,source_code,status",
        &json!({ "source_code": b64("print(input()[::-1])"), "language_id": 71,
                 "stdin": b64("héllo") }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"]["id"], 3, "{body}");
    assert_eq!(unb64(&body["stdout"]), "olléh\n");
    assert_eq!(unb64(&body["stdin"]), "héllo");
    assert_eq!(unb64(&body["source_code"]), "print(input()[::-1])");
    assert!(
        body["stdout"].as_str().unwrap().ends_with('\n'),
        "Ruby's encode64: {body}"
    );

    let (status, body) = service().post(
        "/submissions?base64_encoded=true",
        &json!({ "source_code": "not base64!", "language_id": 71 }),
    );
    assert_eq!(status, 422);
    assert!(body["source_code"].is_array(), "{body}");
}

#[test]
fn expected_output_is_compared_as_judge0_does() {
    let run = |expected: &str| {
        let (status, body) = service().post(
            "/submissions?wait=true",
            &json!({ "source_code": "print('a  ')\nprint('b')", "language_id": 71,
                     "expected_output": expected }),
        );
        assert_eq!(status, 201, "{body}");
        body["status"]["description"].as_str().unwrap().to_string()
    };
    assert_eq!(run("a\nb\n\n"), "Accepted");
    assert_eq!(run("a\nc"), "Wrong Answer");
}

#[test]
fn batches_hold_one_to_twenty_and_answer_per_submission() {
    let service = service();
    let item = json!({ "source_code": "print(6 * 7)", "language_id": 71 });
    let (status, body) = service.post(
        "/submissions/batch",
        &json!({ "submissions": vec![item.clone(); 21] }),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "number of submissions in a batch should be less than or equal to 20" })
    );
    let (status, _) = service.post("/submissions/batch", &json!({ "submissions": [] }));
    assert_eq!(status, 400);

    let (status, body) = service.post(
        "/submissions/batch",
        &json!({ "submissions": [{ "source_code": "x" }, { "language_id": 71 }] }),
    );
    assert_eq!(status, 422);
    assert_eq!(body[0], json!({ "language_id": ["can't be blank"] }));
    assert_eq!(body[1], json!({ "source_code": ["can't be blank"] }));

    let (status, body) = service.post(
        "/submissions/batch",
        &json!({ "submissions": [item, { "source_code": "x" }] }),
    );
    assert_eq!(status, 201, "{body}");
    let token = body[0]["token"]
        .as_str()
        .expect("a token for the valid one");
    assert!(body[1]["language_id"].is_array(), "{body}");
    wait_for_submission(service, "", token);
    let (status, body) = service.get(&format!(
        "/submissions/batch?tokens={token},unknown&fields=stdout,status"
    ));
    assert_eq!(status, 200);
    assert_eq!(body["submissions"][0]["stdout"], "42\n");
    assert_eq!(body["submissions"][1], Value::Null);
}

#[test]
fn compiler_options_come_from_an_allow_list() {
    let service = service();
    let code = "#include <cstdio>\nint main() {\n#ifdef ONLINE_JUDGE\nputs(\"judged\");\n#endif\n}";
    let (status, body) = service.post(
        "/submissions?wait=true",
        &json!({ "source_code": code, "language_id": 54, "compiler_options": "-O0 -DONLINE_JUDGE" }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stdout"], "judged\n", "{body}");

    let (status, body) = service.post(
        "/submissions",
        &json!({ "source_code": code, "language_id": 54, "compiler_options": "-fplugin=/tmp/x.so" }),
    );
    assert_eq!(status, 422);
    assert!(body["compiler_options"].is_array(), "{body}");
    let (status, _) = service.post(
        "/submissions",
        &json!({ "source_code": "print(1)", "language_id": 71, "compiler_options": "-O2" }),
    );
    assert_eq!(status, 422);
}

#[test]
fn arguments_and_stderr_redirection_reach_the_program() {
    let (status, body) = service().post(
        "/submissions?wait=true",
        &json!({ "source_code": "import sys\nprint(sys.argv[1:])\nprint('e', file=sys.stderr)",
                 "language_id": 71, "command_line_arguments": "a 'b c'",
                 "redirect_stderr_to_stdout": true }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stdout"], "['a', 'b c']\ne\n", "{body}");
    assert_eq!(body["stderr"], Value::Null);
}

#[test]
fn the_informational_endpoints_answer_as_judge0() {
    let service = service();
    let (status, languages) = service.get("/languages");
    assert_eq!(status, 200);
    let ids: Vec<i64> = languages
        .as_array()
        .unwrap()
        .iter()
        .map(|language| language["id"].as_i64().unwrap())
        .collect();
    for id in [52, 53, 54, 60, 62, 63, 71, 72] {
        assert!(ids.contains(&id), "{languages}");
    }
    let python = &languages.as_array().unwrap()[ids.iter().position(|id| *id == 71).unwrap()];
    let name = python["name"].as_str().unwrap();
    assert!(
        name.starts_with("Python (3.") && name.ends_with(')'),
        "{name}"
    );

    let (status, language) = service.get("/languages/62");
    assert_eq!(status, 200);
    assert_eq!(language["source_file"], "Main.java");
    assert_eq!(language["is_archived"], false);
    let (status, _) = service.get("/languages/9999");
    assert_eq!(status, 404);

    let (_, statuses) = service.get("/statuses");
    assert_eq!(statuses.as_array().unwrap().len(), 14);
    assert_eq!(
        statuses[10],
        json!({ "id": 11, "description": "Runtime Error (NZEC)" })
    );

    let (_, about) = service.get("/judge0/about");
    assert_eq!(about["version"], "1.13.1");
    let (status, version) = service.get_text("/version");
    assert_eq!((status, version.as_str()), (200, "1.13.1"));

    let (_, config) = service.get("/config_info");
    assert_eq!(config.as_object().unwrap().len(), 39, "{config}");
    assert_eq!(config["max_submission_batch_size"], 20);
    assert_eq!(config["max_cpu_time_limit"], 5.0);
    assert_eq!(config["max_memory_limit"], 256 * 1024);
    assert_eq!(config["enable_network"], false);
    assert_eq!(config["enable_callbacks"], true);

    let (status, system) = service.get("/system_info");
    assert_eq!(status, 200);
    assert!(system["CPU(s)"].is_string(), "{system}");
}

fn zip_of(files: &[(&str, &str)]) -> String {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    b64_bytes(&writer.finish().unwrap().into_inner())
}

fn b64_bytes(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn additional_files_are_unpacked_beside_the_source_code() {
    let archive = zip_of(&[
        ("helper.py", "def twice(x):\n    return 2 * x\n"),
        ("data/input.txt", "21\n"),
    ]);
    let (status, body) = service().post(
        "/submissions?wait=true",
        &json!({ "source_code": "from helper import twice\nprint(twice(int(open('data/input.txt').read())))",
                 "language_id": 71, "additional_files": archive }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stdout"], "42\n", "{body}");

    let escaping = zip_of(&[("../outside.py", "x = 1")]);
    let (status, body) = service().post(
        "/submissions",
        &json!({ "source_code": "print(1)", "language_id": 71, "additional_files": escaping }),
    );
    assert_eq!(status, 422);
    assert!(body["additional_files"].is_array(), "{body}");
}

#[test]
fn number_of_runs_runs_the_program_that_many_times() {
    let (status, body) = service().post(
        "/submissions?wait=true&fields=status,stdout,number_of_runs,time",
        &json!({ "source_code": "print('again')", "language_id": 71, "number_of_runs": 2 }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"]["id"], 3, "{body}");
    assert_eq!(body["number_of_runs"], 2);
    assert_eq!(body["stdout"], "again\n");
    let (status, body) = service().post(
        "/submissions",
        &json!({ "source_code": "print(1)", "language_id": 71, "number_of_runs": 50 }),
    );
    assert_eq!(status, 422);
    assert!(body["number_of_runs"].is_array(), "{body}");
}
