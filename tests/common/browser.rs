//! Headless Chromium driven over WebDriver (fantoccini), for tests of the pages a person uses.
//! Debian's `chromium` and `chromium-driver` (installed by `scripts/lib.sh`'s `ensure_browser`,
//! named by `CODEEXEC_TEST_CHROMIUM` and `CODEEXEC_TEST_CHROMEDRIVER`). The browser reaches
//! loopback only: every other host goes to a proxy on a closed loopback port and fails, and
//! names do not resolve, so a page that needs anything from elsewhere (a CDN) breaks.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Map, Value};

use super::wait::wait_until;

/// A chromedriver of this test, stopped when dropped, and a session of headless Chromium in it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn executable(variable: &str, what: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!(
            "{variable} must name {what}: run the tests through scripts/test, or \
             `source scripts/lib.sh && ensure_browser` first"
        )
    })
}

/// A free loopback port, for chromedriver to listen on.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a window of `width` x `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let chromium = executable("CODEEXEC_TEST_CHROMIUM", "Debian's chromium");
        let chromedriver = executable("CODEEXEC_TEST_CHROMEDRIVER", "Debian's chromedriver");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        tokio::task::spawn_blocking(move || {
            wait_until("chromedriver answers", || {
                reqwest::blocking::get(&status).is_ok_and(|response| response.status().is_success())
            })
        })
        .await
        .unwrap();
        // Nothing outside loopback: a proxy on a port where nothing listens (loopback itself
        // bypasses proxies), and no name resolves but localhost.
        let closed_port = free_port();
        let mut capabilities = Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--proxy-server=http://127.0.0.1:{closed_port}"),
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
                    format!("--window-size={width},{height}"),
                ]
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a Chromium session");
        Browser { client, driver }
    }

    /// Evaluates `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.expect("script ran")
    }

    /// Waits up to `timeout` until `script` returns true in the page.
    pub async fn wait_for(&self, what: &str, script: &str, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.eval(script, vec![]).await == Value::Bool(true) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The origins of every resource the page loaded (its own URL included).
    pub async fn resource_origins(&self) -> Vec<String> {
        let origins = self
            .eval(
                "return [location.href].concat(performance.getEntriesByType('resource')\
                 .map(e => e.name)).map(u => new URL(u).origin);",
                vec![],
            )
            .await;
        serde_json::from_value(origins).unwrap()
    }

    pub async fn close(self) {
        let Browser { client, mut driver } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}
