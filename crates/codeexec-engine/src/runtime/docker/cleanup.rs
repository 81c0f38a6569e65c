//! Removing the containers this service instance owns: all of them at start (what a crashed run
//! left behind, channel directories included) and as the last step of shutdown, the stopped ones
//! after a Docker engine outage, and on a timer the strays: stopped ones whose removal failed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use chrono::{DateTime, Utc};

use super::channel::{self, ChannelDirs};
use super::container;
use super::{LABEL_CHANNEL, LABEL_INSTANCE, LABEL_MANAGED};

/// Force-removes every container labelled as this instance's, and the channel directories their
/// labels name and every orphan one (see [`ChannelDirs::sweep_orphans`]); returns how many
/// containers there were.
pub async fn remove_instance_containers(
    docker: &Docker,
    instance: &str,
    channel: Option<&ChannelDirs>,
) -> Result<usize, bollard::errors::Error> {
    let containers = list(docker, instance, None).await?;
    futures_util::future::join_all(
        containers
            .iter()
            .map(|(id, _)| container::remove(docker, id)),
    )
    .await;
    if let Some(channel) = channel {
        for name in containers.iter().filter_map(|(_, name)| name.as_deref()) {
            if channel::is_channel_dir_name(name) {
                channel::remove_dir(&channel.root().join(name));
            }
        }
        channel.sweep_orphans(docker).await?;
    }
    Ok(containers.len())
}

/// Force-removes this instance's containers that have stopped: after an engine outage, the pool
/// containers it killed, whose removal failed while it was away. Running ones (and ones just
/// created, which a pool may be starting) are left alone.
pub async fn remove_stopped_instance_containers(
    docker: &Docker,
    instance: &str,
) -> Result<usize, bollard::errors::Error> {
    remove_matching(docker, instance, Some(&["exited", "dead"])).await
}

/// Every `interval`, removes this instance's containers that stopped at least `interval` ago: a
/// job's container stops when its runner exits and the job removes it right after, so one still
/// there a whole interval later is a stray whose removal failed (an engine hiccup). Pool
/// containers and containers serving a job run, and are never touched. Orphan channel
/// directories go too.
pub async fn sweep_strays_forever(
    docker: Docker,
    instance: String,
    interval: Duration,
    channel: Option<Arc<ChannelDirs>>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match remove_strays(&docker, &instance, interval).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed stray containers of this instance"),
            Err(error) => tracing::debug!(%error, "could not sweep stray containers"),
        }
        if let Some(channel) = &channel {
            match channel.sweep_orphans(&docker).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed orphan channel directories"),
                Err(error) => tracing::debug!(%error, "could not sweep channel directories"),
            }
        }
    }
}

async fn remove_strays(
    docker: &Docker,
    instance: &str,
    stopped_for: Duration,
) -> Result<usize, bollard::errors::Error> {
    let stopped = list(docker, instance, Some(&["exited", "dead"])).await?;
    let mut strays = Vec::new();
    for (id, _) in stopped {
        let Ok(inspect) = docker.inspect_container(&id, None).await else {
            continue;
        };
        let finished = inspect.state.and_then(|state| state.finished_at);
        if finished.is_some_and(|at| stopped_longer_than(&at, stopped_for)) {
            strays.push(id);
        }
    }
    futures_util::future::join_all(strays.iter().map(|id| container::remove(docker, id))).await;
    Ok(strays.len())
}

/// Whether a container that stopped at `finished_at` (RFC 3339, as Docker writes it) has been
/// stopped for longer than `period`. A time that cannot be read counts as long ago.
fn stopped_longer_than(finished_at: &str, period: Duration) -> bool {
    let Ok(finished) = DateTime::parse_from_rfc3339(finished_at) else {
        return true;
    };
    let stopped = Utc::now().signed_duration_since(finished);
    stopped.to_std().is_ok_and(|stopped| stopped > period)
}

async fn remove_matching(
    docker: &Docker,
    instance: &str,
    statuses: Option<&[&str]>,
) -> Result<usize, bollard::errors::Error> {
    let listed = list(docker, instance, statuses).await?;
    futures_util::future::join_all(listed.iter().map(|(id, _)| container::remove(docker, id)))
        .await;
    Ok(listed.len())
}

/// The ids of this instance's containers, of the given statuses (all when `None`), each with the
/// name of its channel directory if it has one.
async fn list(
    docker: &Docker,
    instance: &str,
    statuses: Option<&[&str]>,
) -> Result<Vec<(String, Option<String>)>, bollard::errors::Error> {
    let mut filters = HashMap::from([(
        "label",
        vec![
            format!("{LABEL_MANAGED}=true"),
            format!("{LABEL_INSTANCE}={instance}"),
        ],
    )]);
    if let Some(statuses) = statuses {
        filters.insert("status", statuses.iter().map(|s| s.to_string()).collect());
    }
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    Ok(docker
        .list_containers(Some(options))
        .await?
        .into_iter()
        .filter_map(|summary| {
            let channel = summary
                .labels
                .and_then(|mut labels| labels.remove(LABEL_CHANNEL));
            summary.id.map(|id| (id, channel))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_containers_stopped_longer_than_the_period_are_strays() {
        let minute = Duration::from_secs(60);
        let long_ago = (Utc::now() - chrono::Duration::seconds(120)).to_rfc3339();
        let just_now = Utc::now().to_rfc3339();
        assert!(stopped_longer_than(&long_ago, minute));
        assert!(!stopped_longer_than(&just_now, minute));
        assert!(stopped_longer_than("not a time", minute));
    }
}
