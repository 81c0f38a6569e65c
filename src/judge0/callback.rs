//! `callback_url`: Judge0's PUT of the finished submission (its default fields, base64) to a
//! URL the client named. Only hosts on `judge0.callback_allowed_hosts` may be named, redirects
//! are never followed, and each try is bounded in time, so the service cannot be made to reach
//! an internal address, and a receiver that never answers holds nothing but its own task.

use std::time::Duration;

use reqwest::Url;

use super::settings::Judge0Settings;
use super::submission::{Submission, DEFAULT_FIELDS};

/// Pause between tries.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Why `url` may not be called back, as the 422 message; `Ok` when it may.
pub fn check_url(url: &str, allowed_hosts: &[String]) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|error| format!("is not a valid URL: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if allowed_hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host))
    {
        Ok(())
    } else if allowed_hosts.is_empty() {
        Err("is not allowed: this service makes no callbacks (judge0.callback_allowed_hosts is empty)".into())
    } else {
        Err(format!(
            "is not allowed: host {host:?} is not in judge0.callback_allowed_hosts"
        ))
    }
}

/// Sends callbacks; cheap to clone.
#[derive(Clone)]
pub struct Callbacks {
    client: reqwest::Client,
    max_tries: u32,
}

impl Callbacks {
    pub fn new(settings: &Judge0Settings) -> Callbacks {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs_f64(settings.callback_timeout_secs))
            .no_proxy()
            .build()
            .expect("the callback HTTP client can be built");
        Callbacks {
            client,
            max_tries: settings.callback_max_tries.max(1),
        }
    }

    /// PUTs `submission` to its `callback_url` in a task of its own, trying up to
    /// `callback_max_tries` times; a 2xx answer ends it.
    pub fn send(&self, submission: &Submission) {
        let Some(url) = submission.callback_url.clone() else {
            return;
        };
        let body = serde_json::to_vec(&submission.render(&DEFAULT_FIELDS, true))
            .expect("a submission serializes");
        let client = self.client.clone();
        let max_tries = self.max_tries;
        let token = submission.token.clone();
        tokio::spawn(async move {
            for attempt in 1..=max_tries {
                let sent = client
                    .put(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => tracing::info!(
                        %token, attempt, status = response.status().as_u16(),
                        "the callback receiver refused the submission"
                    ),
                    Err(error) => tracing::info!(%token, attempt, %error, "the callback failed"),
                }
                if attempt < max_tries {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
            tracing::warn!(%token, tries = max_tries, "gave up on the callback");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_hosts_may_be_called_back() {
        let allowed = vec!["127.0.0.1".to_string(), "hooks.example".to_string()];
        assert!(check_url("http://127.0.0.1:8080/done", &allowed).is_ok());
        assert!(check_url("https://HOOKS.example/x", &allowed).is_ok());
        assert!(check_url("http://169.254.169.254/latest", &allowed).is_err());
        assert!(check_url("http://127.0.0.1.nip.io/", &allowed).is_err());
        assert!(check_url("ftp://127.0.0.1/", &allowed).is_err());
        assert!(check_url("not a url", &allowed).is_err());
        assert!(check_url("http://127.0.0.1/", &[]).is_err());
    }
}
