//! Watches the Docker engine: its container events, so that a pool container that dies while
//! idle (killed from outside, crashed) is noticed at once and replaced, and the engine itself, so
//! that the pools stop serving when it goes away and refill when it comes back.

use std::collections::HashMap;
use std::time::Duration;

use actix::Addr;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;

use super::cleanup;
use super::supervisor::{ContainerDied, EngineBack, EngineLost, LanguageSupervisor};
use crate::docker::{LABEL_INSTANCE, LABEL_LANGUAGE};

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
    supervisors: HashMap<String, Addr<LanguageSupervisor>>,
    /// The supervisors were told the engine is gone and not yet told it is back.
    engine_lost: bool,
}

/// Forwards every `die` event of this instance's containers to the supervisor of its language,
/// and tells every supervisor when the engine stops answering and when it answers again, for as
/// long as the service runs.
pub async fn watch_engine(
    docker: Docker,
    instance: String,
    supervisors: HashMap<String, Addr<LanguageSupervisor>>,
) {
    let mut watch = Watch {
        docker,
        instance,
        supervisors,
        engine_lost: false,
    };
    let mut delay = FIRST_RECONNECT_DELAY;
    loop {
        match watch.ping().await {
            Ok(()) => {
                watch.engine_answers().await;
                delay = FIRST_RECONNECT_DELAY;
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
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RECONNECT_DELAY);
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
        for supervisor in self.supervisors.values() {
            supervisor.do_send(EngineLost {
                reason: reason.clone(),
            });
        }
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
        for supervisor in self.supervisors.values() {
            supervisor.do_send(EngineBack);
        }
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
            if let (Some(id), Some(supervisor)) =
                (container.id, language.and_then(|l| self.supervisors.get(l)))
            {
                supervisor.do_send(ContainerDied { id });
            }
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
            if let (Some(id), Some(supervisor)) =
                (actor.id, language.and_then(|l| self.supervisors.get(l)))
            {
                supervisor.do_send(ContainerDied { id });
            }
        }
        "the stream ended".to_string()
    }
}
