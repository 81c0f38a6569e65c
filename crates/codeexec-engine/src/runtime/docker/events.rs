//! Watches the Docker engine: its container events, so that a pool container that dies while
//! idle (killed from outside, crashed) is noticed at once and replaced, and the engine itself, so
//! that the pools stop serving when it goes away and refill when it comes back.

use std::collections::HashMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::cleanup;
use super::{LABEL_INSTANCE, LABEL_LANGUAGE};
use crate::runtime::RuntimeEvent;

/// First wait before asking an unreachable engine again; doubles up to [`MAX_RECONNECT_DELAY`].
const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(250);
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// Wait before subscribing again after the event stream broke while the engine still answered.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);
/// How long a ping may take before the engine counts as unreachable.
const PING_LIMIT: Duration = Duration::from_secs(5);

/// The engine as the watcher last saw it.
struct Watch {
    docker: Docker,
    instance: String,
    events: UnboundedSender<RuntimeEvent>,
    /// The engine was reported lost and not yet reported back.
    engine_lost: bool,
}

/// Reports every `die` event of this instance's containers, and when the engine stops answering
/// and when it answers again, for as long as anyone listens.
pub async fn watch_engine(docker: Docker, instance: String, events: UnboundedSender<RuntimeEvent>) {
    let mut watch = Watch {
        docker,
        instance,
        events,
        engine_lost: false,
    };
    let reconnect_delays = || {
        ExponentialBuilder::default()
            .with_min_delay(FIRST_RECONNECT_DELAY)
            .with_max_delay(MAX_RECONNECT_DELAY)
            .without_max_times()
            .build()
    };
    let mut delays = reconnect_delays();
    while !watch.events.is_closed() {
        match watch.ping().await {
            Ok(()) => {
                watch.engine_answers().await;
                delays = reconnect_delays();
                let broken = watch.forward_deaths().await;
                match watch.ping().await {
                    Ok(()) => {
                        tracing::warn!(%broken, "the Docker event stream broke; subscribing again");
                        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
                        watch.report_stopped_containers().await;
                    }
                    Err(reason) => watch.engine_gone(reason),
                }
            }
            Err(reason) => {
                watch.engine_gone(reason);
                let delay = delays.next().unwrap_or(MAX_RECONNECT_DELAY);
                tokio::time::sleep(delay).await;
            }
        }
    }
}

impl Watch {
    async fn ping(&self) -> Result<(), String> {
        match tokio::time::timeout(PING_LIMIT, self.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} s", PING_LIMIT.as_secs())),
        }
    }

    fn engine_gone(&mut self, reason: String) {
        if self.engine_lost {
            return;
        }
        self.engine_lost = true;
        tracing::error!(%reason, "the Docker engine is unreachable; refusing jobs until it is back");
        let _ = self.events.send(RuntimeEvent::Lost {
            reason: format!("the Docker engine is unreachable: {reason}"),
        });
    }

    /// After an outage: removes what the engine kept of this instance's stopped containers (their
    /// removal failed while it was away), then lets the pools refill.
    async fn engine_answers(&mut self) {
        if !self.engine_lost {
            return;
        }
        self.engine_lost = false;
        tracing::info!("the Docker engine answers again; refilling the pools");
        match cleanup::remove_stopped_instance_containers(&self.docker, &self.instance).await {
            Ok(removed) => tracing::info!(removed, "removed containers stopped by the outage"),
            Err(error) => {
                tracing::warn!(%error, "could not remove containers stopped by the outage")
            }
        }
        let _ = self.events.send(RuntimeEvent::Back);
    }

    /// Deaths while the stream was broken went unseen (an engine restarted within a ping would
    /// leave every pool holding dead containers): report each stopped container of this
    /// instance, as its `die` event would have.
    async fn report_stopped_containers(&self) {
        let filters = HashMap::from([
            ("label", vec![format!("{LABEL_INSTANCE}={}", self.instance)]),
            ("status", vec!["exited".to_string(), "dead".to_string()]),
        ]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let stopped = match self.docker.list_containers(Some(options)).await {
            Ok(stopped) => stopped,
            Err(error) => {
                tracing::warn!(%error, "could not list stopped containers");
                return;
            }
        };
        for container in stopped {
            let language = container
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_LANGUAGE));
            self.report_death(container.id, language);
        }
    }

    /// Forwards `die` events until the stream ends; returns why it ended.
    async fn forward_deaths(&self) -> String {
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            ("event", vec!["die".to_string()]),
            ("label", vec![format!("{LABEL_INSTANCE}={}", self.instance)]),
        ]);
        let options = EventsOptionsBuilder::default().filters(&filters).build();
        let mut events = self.docker.events(Some(options));
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => return error.to_string(),
            };
            let Some(actor) = event.actor else { continue };
            let language = actor
                .attributes
                .as_ref()
                .and_then(|attributes| attributes.get(LABEL_LANGUAGE));
            self.report_death(actor.id, language);
        }
        "the stream ended".to_string()
    }

    fn report_death(&self, id: Option<String>, language: Option<&String>) {
        if let (Some(id), Some(language)) = (id, language) {
            let _ = self.events.send(RuntimeEvent::ContainerDied {
                language: language.clone(),
                id,
            });
        }
    }
}
