//! Watches the Docker engine's container events, so that a pool container that dies while idle
//! (killed from outside, crashed) is noticed at once and replaced.

use std::collections::HashMap;
use std::time::Duration;

use actix::Addr;
use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::supervisor::{ContainerDied, LanguageSupervisor};
use crate::docker::{LABEL_INSTANCE, LABEL_LANGUAGE};

/// Wait before subscribing again after the event stream broke (engine restart).
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

/// Forwards every `die` event of this instance's containers to the supervisor of its language,
/// resubscribing whenever the stream ends, for as long as the service runs.
pub async fn forward_container_deaths(
    docker: Docker,
    instance: String,
    supervisors: HashMap<String, Addr<LanguageSupervisor>>,
) {
    loop {
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            ("event", vec!["die".to_string()]),
            ("label", vec![format!("{LABEL_INSTANCE}={instance}")]),
        ]);
        let options = EventsOptionsBuilder::default().filters(&filters).build();
        let mut events = docker.events(Some(options));
        while let Some(event) = events.next().await {
            let Ok(event) = event else { break };
            let Some(actor) = event.actor else { continue };
            let language = actor
                .attributes
                .as_ref()
                .and_then(|attributes| attributes.get(LABEL_LANGUAGE));
            if let (Some(id), Some(supervisor)) =
                (actor.id, language.and_then(|l| supervisors.get(l)))
            {
                supervisor.do_send(ContainerDied { id });
            }
        }
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}
