//! The per-client cap on execute jobs in flight: beside its token bucket, a client may have at
//! most a few jobs admitted and not yet answered at once, so that one client sending slow jobs
//! at its allowed rate cannot hold most of the service's places.

use std::net::IpAddr;
use std::sync::Arc;

use dashmap::DashMap;

/// Counts each client's jobs in flight.
#[derive(Debug, Clone)]
pub struct ClientJobs {
    cap: usize,
    counts: Arc<DashMap<IpAddr, usize>>,
}

/// One job's place under its client's cap; dropping it, however the request ends, frees it.
#[derive(Debug)]
pub struct ClientJob {
    client: IpAddr,
    counts: Arc<DashMap<IpAddr, usize>>,
}

impl Drop for ClientJob {
    fn drop(&mut self) {
        // A client's entry goes with its last job, so the map holds only clients with a job
        // in flight and stays bounded by the service's own in-flight cap.
        self.counts.remove_if_mut(&self.client, |_, count| {
            *count -= 1;
            *count == 0
        });
    }
}

impl ClientJobs {
    /// `cap` is at least 1 (the settings check it).
    pub fn new(cap: usize) -> ClientJobs {
        ClientJobs {
            cap,
            counts: Arc::new(DashMap::new()),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// A place for one more job of `client`, or `None` when it already has `cap` in flight.
    pub fn start(&self, client: IpAddr) -> Option<ClientJob> {
        let mut count = self.counts.entry(client).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(ClientJob {
            client,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Clients with a job in flight.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const BOB: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));

    #[test]
    fn a_client_at_its_cap_is_refused_while_others_are_not() {
        let jobs = ClientJobs::new(2);
        let first = jobs.start(ALICE).unwrap();
        let _second = jobs.start(ALICE).unwrap();
        assert!(jobs.start(ALICE).is_none());
        assert!(jobs.start(BOB).is_some());
        drop(first);
        assert!(
            jobs.start(ALICE).is_some(),
            "a finished job frees its place"
        );
    }

    #[test]
    fn a_client_whose_jobs_all_ended_is_forgotten() {
        let jobs = ClientJobs::new(1);
        let job = jobs.start(ALICE).unwrap();
        assert!(jobs.start(ALICE).is_none());
        // The refusal above must not have left a count behind either.
        drop(job);
        assert_eq!(jobs.tracked(), 0);
    }
}
