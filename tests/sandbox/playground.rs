//! The playground at `/` and the reference at `/docs`, in headless Chromium against the real
//! service: a person picks a language, runs a program and reads its output, status and timings;
//! a compile error shows the compiler's message; the reference lists the endpoints. The browser
//! reaches loopback only, and every page must load all it needs from the service itself.

use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::Service;

/// Long enough for a cold JVM compile on a loaded machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| Service::start_ready("playground", &[]))
}

fn in_browser<F: std::future::Future<Output = ()>>(test: impl FnOnce(String) -> F) {
    let url = service().url.clone();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test(url));
}

async fn open_playground(browser: &Browser, url: &str) {
    browser.client.goto(url).await.expect("open the playground");
    browser
        .wait_for(
            "the playground to load its languages",
            "return document.body.dataset.ready === 'true';",
            Duration::from_secs(30),
        )
        .await;
}

async fn text(browser: &Browser, id: &str) -> String {
    let value = browser
        .eval(
            "return document.getElementById(arguments[0]).textContent;",
            vec![json!(id)],
        )
        .await;
    value.as_str().unwrap_or_default().to_string()
}

async fn choose_language(browser: &Browser, language: &str) {
    let select = browser.client.find(Locator::Id("language")).await.unwrap();
    select.select_by_value(language).await.unwrap();
}

/// Types `text` as stdin, the way a person does.
async fn type_stdin(browser: &Browser, text: &str) {
    let stdin = browser.client.find(Locator::Id("stdin")).await.unwrap();
    stdin.clear().await.unwrap();
    stdin.send_keys(text).await.unwrap();
}

async fn set_code(browser: &Browser, code: &str) {
    browser
        .eval(
            "document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0]);",
            vec![json!(code)],
        )
        .await;
}

/// Waits for the run to end; returns the `runTimeStatus` the page shows.
async fn wait_for_result(browser: &Browser) -> String {
    browser
        .wait_for(
            "the run to finish",
            "const s = document.getElementById('status'); \
             return s.dataset.state === 'succeeded' || s.dataset.state === 'failed';",
            RUN_TIMEOUT,
        )
        .await;
    let status = browser
        .eval(
            "return document.getElementById('status').dataset.runTimeStatus || '';",
            vec![],
        )
        .await;
    status.as_str().unwrap_or_default().to_string()
}

async fn assert_everything_came_from(browser: &Browser, url: &str) {
    let origin = url.trim_end_matches('/');
    let origins = browser.resource_origins().await;
    assert!(origins.len() > 3, "too few resources: {origins:?}");
    for loaded in origins {
        assert_eq!(loaded, origin, "the page loaded something from elsewhere");
    }
}

#[test]
fn the_playground_runs_python_and_java_and_shows_what_they_printed() {
    in_browser(|url| async move {
        let browser = Browser::start(1280, 900).await;
        open_playground(&browser, &url).await;
        assert_everything_came_from(&browser, &url).await;
        let options = browser
            .eval(
                "return [...document.querySelectorAll('#language option')].map(o => o.textContent);",
                vec![],
            )
            .await;
        let python_option = options
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .find(|option| option.starts_with("Python"))
            .expect("Python is offered")
            .to_string();
        assert!(
            python_option.contains("3."),
            "no version shown: {python_option}"
        );

        // Python: the hello world, with stdin typed in, run with the button.
        choose_language(&browser, "python").await;
        type_stdin(&browser, "codeexec").await;
        browser
            .client
            .find(Locator::Id("run"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(wait_for_result(&browser).await, "succeeded");
        assert_eq!(text(&browser, "stdout").await, "Hello, codeexec!\n");
        assert!(text(&browser, "status").await.starts_with("Succeeded"));
        assert!(text(&browser, "timing-run").await.ends_with('s'));

        // Java: choosing it loads its hello world (the files were untouched); Ctrl+Enter runs.
        choose_language(&browser, "java").await;
        let filename = browser.client.find(Locator::Id("filename")).await.unwrap();
        assert_eq!(
            filename.prop("value").await.unwrap().as_deref(),
            Some("Main.java")
        );
        type_stdin(&browser, "Java").await;
        let stdin = browser.client.find(Locator::Id("stdin")).await.unwrap();
        stdin
            .send_keys(&format!("{}{}", Key::Control, Key::Enter))
            .await
            .unwrap();
        assert_eq!(wait_for_result(&browser).await, "succeeded");
        assert_eq!(text(&browser, "stdout").await, "Hello, Java!\n");
        let timings = browser
            .eval(
                "return ['queue', 'compile', 'run'].map(k => document.getElementById('timing-' + k).textContent);",
                vec![],
            )
            .await;
        assert_eq!(timings.as_array().unwrap().len(), 3, "{timings}");
        let screenshot = browser.client.screenshot().await.unwrap();
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("playground.png");
        std::fs::write(&path, screenshot).unwrap();

        // The link reproduces the page: language, files and stdin.
        let link = browser.client.current_url().await.unwrap().to_string();
        assert!(link.contains('#'), "no state in the fragment: {link}");
        browser.client.goto("about:blank").await.unwrap();
        open_playground(&browser, &link).await;
        let language = browser.client.find(Locator::Id("language")).await.unwrap();
        assert_eq!(
            language.prop("value").await.unwrap().as_deref(),
            Some("java")
        );
        let stdin = browser.client.find(Locator::Id("stdin")).await.unwrap();
        assert_eq!(stdin.prop("value").await.unwrap().as_deref(), Some("Java"));

        // At a phone's width nothing runs off the side.
        browser.client.set_window_size(390, 844).await.unwrap();
        let overflow = browser
            .eval(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "wider than a phone: {overflow}"
        );
        browser.close().await;
    });
}

#[test]
fn the_playground_shows_a_compile_error_with_the_compilers_message() {
    in_browser(|url| async move {
        let browser = Browser::start(1280, 900).await;
        open_playground(&browser, &url).await;
        choose_language(&browser, "java").await;
        set_code(
            &browser,
            "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"missing semicolon\")\n    }\n}\n",
        )
        .await;
        browser
            .client
            .find(Locator::Id("run"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(wait_for_result(&browser).await, "compile_error");
        assert!(text(&browser, "status").await.starts_with("Compile error"));
        let compiler = text(&browser, "compile-output").await;
        assert!(
            compiler.contains("Main.java:3") && compiler.contains("';' expected"),
            "the compiler's message is not shown: {compiler}"
        );
        assert_eq!(text(&browser, "stdout").await, "");
        browser.close().await;
    });
}

#[test]
fn the_reference_at_docs_loads_offline_and_lists_every_endpoint() {
    in_browser(|url| async move {
        let browser = Browser::start(1280, 900).await;
        browser.client.goto(&format!("{url}/docs")).await.unwrap();
        browser
            .wait_for(
                "Swagger UI to list the operations",
                "return document.querySelectorAll('.opblock-summary-path').length > 0;",
                Duration::from_secs(30),
            )
            .await;
        let paths = browser
            .eval(
                "return [...document.querySelectorAll('.opblock-summary-path')]\
                 .map(e => e.getAttribute('data-path'));",
                vec![],
            )
            .await;
        let paths: Vec<String> = serde_json::from_value(paths).unwrap();
        for endpoint in [
            "/api/v1/execute",
            "/api/v2/execute",
            "/api/v1/languages",
            "/health",
            "/metrics",
            "/api/v1/executions/{jobId}",
            "/api/v1/stats",
            "/api/openapi.json",
        ] {
            assert!(
                paths.iter().any(|path| path == endpoint),
                "{endpoint} missing from {paths:?}"
            );
        }
        assert_everything_came_from(&browser, &url).await;
        browser.close().await;
    });
}

#[test]
fn the_playground_says_when_to_try_again_after_a_429() {
    let only_python: Vec<(String, String)> = ["javascript", "java", "go", "cpp", "ruby"]
        .iter()
        .map(|language| {
            let variable = format!("CODEEXEC_LANGUAGES__{}__ENABLED", language.to_uppercase());
            (variable, "false".to_string())
        })
        .collect();
    let mut overrides: Vec<(&str, &str)> = only_python
        .iter()
        .map(|(variable, value)| (variable.as_str(), value.as_str()))
        .collect();
    // One request at once, the next allowed after 30 s.
    overrides.extend([
        ("CODEEXEC_RATE_LIMIT__ENABLED", "true"),
        ("CODEEXEC_RATE_LIMIT__BURST", "1"),
        ("CODEEXEC_RATE_LIMIT__REQUESTS_PER_SECOND", "0.0334"),
    ]);
    let service = Service::start_ready("playground-429", &overrides);
    let url = service.url.clone();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let browser = Browser::start(1280, 900).await;
            open_playground(&browser, &url).await;
            let run = browser.client.find(Locator::Id("run")).await.unwrap();
            run.click().await.unwrap();
            assert_eq!(wait_for_result(&browser).await, "succeeded");
            run.click().await.unwrap();
            browser
                .wait_for(
                    "the refusal to show",
                    "return document.getElementById('status').dataset.state === 'refused';",
                    Duration::from_secs(30),
                )
                .await;
            let status = text(&browser, "status").await;
            assert!(
                status.contains("too many programs") && status.contains("run again in"),
                "{status}"
            );
            let seconds: u64 = status
                .split("run again in ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("no wait in {status:?}"));
            assert!((1..=30).contains(&seconds), "{status}");
            assert!(text(&browser, "error").await.contains("too many requests"));
            assert_eq!(run.prop("disabled").await.unwrap().as_deref(), Some("true"));
            browser.close().await;
        });
}
