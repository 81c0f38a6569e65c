//! The rules of one language's pool, as a plain state machine: no actor, no runtime, no clock.
//! The supervisor feeds it events (a job asks, a start finished or failed, a job finished, a
//! container died, drain, runtime lost or back) and does what it answers (begin starts, hand a
//! container over, schedule a retry). Every rule is unit-tested here:
//!
//! - a container serves at most one job: it leaves the pool when handed over, and never returns;
//! - the pool keeps `target` containers ready or starting, plus one per waiting job;
//! - a taken container's replacement waits until its job finishes while another container is
//!   still ready (so the start does not compete with the job for the CPU); a pool running dry
//!   refills at once;
//! - at most `queue_size` jobs wait; a job that gave up waiting no longer counts, and a container
//!   started for it that finds the pool already full is removed, so a burst whose clients left
//!   does not grow the pool past its target;
//! - failed starts are retried after a delay that doubles up to a cap, and while starts fail with
//!   nothing ready, jobs are refused at once rather than left to time out;
//! - draining refuses jobs, gives up the idle containers and discards those still starting;
//! - while the runtime is lost, nothing starts and jobs are refused; when it is back, the pool
//!   refills at once.

use std::collections::VecDeque;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::sync::oneshot;

use crate::EngineError;

/// First wait before retrying a failed container start; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(15);
/// A failed version probe is tried again after these: each try uses up a container.
const FIRST_PROBE_RETRY_DELAY: Duration = Duration::from_secs(2);
const MAX_PROBE_RETRY_DELAY: Duration = Duration::from_secs(300);

/// What the pool needs to know of a container.
pub trait Identified {
    fn id(&self) -> &str;
}

/// A container now, or the promise of the next one.
pub enum Ticket<C> {
    Ready {
        container: C,
        /// Its replacement waits for [`Pool::job_finished`] with this flag.
        replacement_deferred: bool,
    },
    Queued(oneshot::Receiver<C>),
}

/// Where a freshly started container went.
#[derive(Debug, PartialEq)]
pub enum Placement<C> {
    /// To the oldest job still waiting.
    HandedOver,
    /// Into the ready pool.
    Ready,
    /// The language's version is not known yet: run the version command on this one.
    Probe(C),
    /// Not needed: the pool is draining, or already full because the jobs it was started for
    /// left. Remove it.
    Discard(C),
}

/// A snapshot of a pool, for `/health` and `/api/v1/languages`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolState {
    pub ready: usize,
    pub starting: usize,
    pub target: usize,
    pub queued: usize,
    /// The toolchain's version as its image reports it, once probed.
    pub version: Option<String>,
    /// Why the last container start failed, while starts keep failing.
    pub last_error: Option<String>,
}

impl PoolState {
    /// A pool serves jobs when its starts succeed and it has or is making containers.
    pub fn is_healthy(&self) -> bool {
        self.last_error.is_none() && self.ready + self.starting > 0
    }
}

pub struct Pool<C> {
    language: String,
    target: usize,
    queue_size: usize,
    ready: VecDeque<C>,
    waiters: VecDeque<oneshot::Sender<C>>,
    starting: usize,
    /// Replacements held back until the jobs that took their containers finish.
    deferred: usize,
    retry_delays: ExponentialBackoff,
    /// A start failed and its retry is not due yet.
    backing_off: bool,
    last_error: Option<String>,
    version_probed: bool,
    probe_retry_delays: ExponentialBackoff,
    draining: bool,
    runtime_lost: bool,
}

impl<C: Identified> Pool<C> {
    pub fn new(language: &str, target: usize, queue_size: usize) -> Pool<C> {
        Pool {
            language: language.to_string(),
            target,
            queue_size,
            ready: VecDeque::new(),
            waiters: VecDeque::new(),
            starting: 0,
            deferred: 0,
            retry_delays: retry_delays(),
            backing_off: false,
            last_error: None,
            version_probed: false,
            probe_retry_delays: backoff(FIRST_PROBE_RETRY_DELAY, MAX_PROBE_RETRY_DELAY),
            draining: false,
            runtime_lost: false,
        }
    }

    /// A job asks for a container: one now, a place in the queue, or a refusal.
    pub fn acquire(&mut self) -> Result<Ticket<C>, EngineError> {
        if self.draining {
            return Err(EngineError::ShuttingDown);
        }
        if self.runtime_lost {
            return Err(self.unavailable());
        }
        if let Some(container) = self.ready.pop_front() {
            let replacement_deferred = !self.ready.is_empty();
            if replacement_deferred {
                self.deferred += 1;
            }
            return Ok(Ticket::Ready {
                container,
                replacement_deferred,
            });
        }
        if self.last_error.is_some() {
            return Err(self.unavailable());
        }
        self.forget_departed_waiters();
        if self.waiters.len() >= self.queue_size {
            return Err(EngineError::QueueFull {
                language: self.language.clone(),
                queue_size: self.queue_size,
            });
        }
        let (sender, receiver) = oneshot::channel();
        self.waiters.push_back(sender);
        Ok(Ticket::Queued(receiver))
    }

    /// How many container starts to begin now; they count as starting from here on.
    pub fn starts_to_begin(&mut self) -> usize {
        if self.draining || self.runtime_lost || self.backing_off {
            return 0;
        }
        if self.ready.is_empty() {
            // A pool running dry refills at once, deferred replacements included.
            self.deferred = 0;
        }
        self.forget_departed_waiters();
        let wanted = self.target + self.waiters.len();
        let have = self.ready.len() + self.starting + self.deferred;
        let starts = wanted.saturating_sub(have);
        self.starting += starts;
        starts
    }

    /// A start succeeded: the container goes to the oldest waiting job, or waits ready.
    pub fn started(&mut self, container: C) -> Placement<C> {
        self.starting -= 1;
        self.retry_delays = retry_delays();
        self.backing_off = false;
        self.last_error = None;
        if self.draining {
            return Placement::Discard(container);
        }
        let mut container = container;
        while let Some(waiter) = self.waiters.pop_front() {
            match waiter.send(container) {
                Ok(()) => return Placement::HandedOver,
                // That job gave up waiting; try the next one.
                Err(returned) => container = returned,
            }
        }
        if !self.version_probed {
            self.version_probed = true;
            return Placement::Probe(container);
        }
        if self.ready.len() >= self.target {
            return Placement::Discard(container);
        }
        self.ready.push_back(container);
        Placement::Ready
    }

    /// The version probe failed: returns when to call [`Pool::probe_again`], so that one
    /// failure (a start-up race, a busy machine) does not leave the version unknown for good.
    pub fn version_probe_failed(&mut self) -> Duration {
        self.probe_retry_delays
            .next()
            .unwrap_or(MAX_PROBE_RETRY_DELAY)
    }

    /// A ready container to probe the version on now (the pool starts its replacement), or
    /// none, and then the next container started is probed.
    pub fn probe_again(&mut self) -> Option<C> {
        if self.draining {
            return None;
        }
        let container = self.ready.pop_front();
        if container.is_none() {
            self.version_probed = false;
        }
        container
    }

    /// A start failed: returns when to call [`Pool::retry_due`]. While nothing is ready, the
    /// waiting jobs are let go now: they would only time out.
    pub fn start_failed(&mut self, reason: String) -> Duration {
        self.starting -= 1;
        self.backing_off = true;
        // While the runtime is lost, the reason it gave then says it best.
        if !self.runtime_lost {
            self.last_error = Some(reason);
        }
        if self.ready.is_empty() {
            self.waiters.clear();
        }
        self.retry_delays.next().unwrap_or(MAX_RETRY_DELAY)
    }

    /// The delay after a failed start has passed.
    pub fn retry_due(&mut self) {
        self.backing_off = false;
    }

    /// A job that took a container finished, however it ended.
    pub fn job_finished(&mut self, replacement_deferred: bool) {
        if replacement_deferred {
            self.deferred = self.deferred.saturating_sub(1);
        }
    }

    /// A container stopped. Returns it when it was idle in the pool (it must be replaced);
    /// `None` when it was not this pool's, or was serving a job (which reports it).
    pub fn died(&mut self, id: &str) -> Option<C> {
        let position = self
            .ready
            .iter()
            .position(|container| container.id() == id)?;
        self.ready.remove(position)
    }

    /// Stops taking jobs; returns the idle containers, to be removed.
    pub fn drain(&mut self) -> Vec<C> {
        self.draining = true;
        self.waiters.clear();
        self.ready.drain(..).collect()
    }

    /// Draining, and no start is still under way: every container this pool made is accounted
    /// for.
    pub fn is_drained(&self) -> bool {
        self.draining && self.starting == 0
    }

    /// The runtime stopped answering: the ready containers went with it (returned, so that
    /// their removal is attempted), waiting jobs are let go, new ones refused.
    pub fn runtime_lost(&mut self, reason: String) -> Vec<C> {
        self.runtime_lost = true;
        self.last_error = Some(reason);
        self.waiters.clear();
        self.ready.drain(..).collect()
    }

    /// The runtime answers again: refill at once rather than after the backoff. A container
    /// that was still starting when it went away may have reached the pool since; it did not
    /// survive, so it is returned for removal too.
    pub fn runtime_back(&mut self) -> Vec<C> {
        self.runtime_lost = false;
        self.backing_off = false;
        self.retry_delays = retry_delays();
        self.ready.drain(..).collect()
    }

    pub fn state(&self, version: Option<String>) -> PoolState {
        PoolState {
            ready: self.ready.len(),
            starting: self.starting,
            target: self.target,
            queued: self.waiters.iter().filter(|w| !w.is_closed()).count(),
            version,
            last_error: self.last_error.clone(),
        }
    }

    fn forget_departed_waiters(&mut self) {
        self.waiters.retain(|waiter| !waiter.is_closed());
    }

    fn unavailable(&self) -> EngineError {
        EngineError::Unavailable {
            language: self.language.clone(),
            reason: self.last_error.clone().unwrap_or_default(),
        }
    }
}

fn retry_delays() -> ExponentialBackoff {
    backoff(FIRST_RETRY_DELAY, MAX_RETRY_DELAY)
}

fn backoff(first: Duration, max: Duration) -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(max)
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Fake(&'static str);

    impl Identified for Fake {
        fn id(&self) -> &str {
            self.0
        }
    }

    /// A pool of `target` whose version is known and whose starts all succeeded.
    fn warm_pool(target: usize, queue_size: usize, ids: &[&'static str]) -> Pool<Fake> {
        let mut pool = Pool::new("python", target, queue_size);
        pool.version_probed = true;
        assert_eq!(pool.starts_to_begin(), target);
        for id in ids {
            assert_eq!(pool.started(Fake(id)), Placement::Ready);
        }
        pool
    }

    fn take(pool: &mut Pool<Fake>) -> (Fake, bool) {
        match pool.acquire() {
            Ok(Ticket::Ready {
                container,
                replacement_deferred,
            }) => (container, replacement_deferred),
            Ok(Ticket::Queued(_)) => panic!("queued, expected a ready container"),
            Err(error) => panic!("refused: {error}"),
        }
    }

    #[test]
    fn containers_started_for_jobs_that_left_do_not_grow_the_pool() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        let taken = [take(&mut pool), take(&mut pool)];
        let waiters: Vec<_> = (0..3).map(|_| pool.acquire().unwrap()).collect();
        assert_eq!(
            pool.starts_to_begin(),
            5,
            "the target again, and one per waiting job"
        );
        drop(waiters);
        for (_container, deferred) in taken {
            pool.job_finished(deferred);
        }
        let placements: Vec<_> = ["c", "d", "e", "f", "g"]
            .into_iter()
            .map(|id| pool.started(Fake(id)))
            .collect();
        assert_eq!(placements[..2], [Placement::Ready, Placement::Ready]);
        assert_eq!(
            placements[2..],
            [
                Placement::Discard(Fake("e")),
                Placement::Discard(Fake("f")),
                Placement::Discard(Fake("g"))
            ]
        );
        assert_eq!(pool.state(None).ready, 2, "back to its target");
        assert_eq!(pool.starts_to_begin(), 0);
    }

    #[test]
    fn a_new_pool_starts_its_target() {
        let mut pool: Pool<Fake> = Pool::new("python", 3, 5);
        assert_eq!(pool.starts_to_begin(), 3);
        assert_eq!(pool.starts_to_begin(), 0, "starts under way count");
        assert_eq!(pool.state(None).starting, 3);
    }

    #[test]
    fn each_container_serves_one_job_only() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        let (first, _) = take(&mut pool);
        let (second, _) = take(&mut pool);
        assert_ne!(first, second);
        assert!(matches!(pool.acquire(), Ok(Ticket::Queued(_))));
        pool.job_finished(true);
        assert_eq!(pool.state(None).ready, 0, "a used container never returns");
    }

    #[test]
    fn the_first_container_probes_the_version_and_is_not_served() {
        let mut pool: Pool<Fake> = Pool::new("python", 1, 5);
        assert_eq!(pool.starts_to_begin(), 1);
        assert_eq!(pool.started(Fake("a")), Placement::Probe(Fake("a")));
        assert_eq!(pool.starts_to_begin(), 1, "the probed one is replaced");
        assert_eq!(pool.started(Fake("b")), Placement::Ready);
    }

    #[test]
    fn a_failed_version_probe_is_tried_again_on_a_ready_container_or_the_next_one() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        assert!(pool.version_probe_failed() > Duration::ZERO);
        assert_eq!(pool.probe_again(), Some(Fake("a")));
        assert_eq!(pool.starts_to_begin(), 1, "the probed one is replaced");
        assert_eq!(pool.started(Fake("c")), Placement::Ready);

        let mut pool: Pool<Fake> = Pool::new("python", 1, 5);
        pool.starts_to_begin();
        assert_eq!(pool.started(Fake("a")), Placement::Probe(Fake("a")));
        let first = pool.version_probe_failed();
        assert!(pool.version_probe_failed() > first, "the retries back off");
        assert_eq!(pool.probe_again(), None, "nothing is ready yet");
        assert_eq!(pool.starts_to_begin(), 1);
        assert_eq!(pool.started(Fake("b")), Placement::Probe(Fake("b")));
        assert_eq!(pool.starts_to_begin(), 1);
        assert_eq!(pool.started(Fake("c")), Placement::Ready);
    }

    #[test]
    fn the_replacement_waits_for_the_job_while_another_container_is_ready() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        let (_, deferred) = take(&mut pool);
        assert!(deferred);
        assert_eq!(pool.starts_to_begin(), 0, "held back while the job runs");
        pool.job_finished(deferred);
        assert_eq!(pool.starts_to_begin(), 1);
    }

    #[test]
    fn a_pool_running_dry_refills_at_once() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        let (_, first_deferred) = take(&mut pool);
        let (_, second_deferred) = take(&mut pool);
        assert!(first_deferred);
        assert!(!second_deferred);
        assert_eq!(
            pool.starts_to_begin(),
            2,
            "both replacements, the deferred one too"
        );
        pool.job_finished(first_deferred);
        assert_eq!(pool.starts_to_begin(), 0);
    }

    #[test]
    fn a_waiting_job_gets_the_next_started_container() {
        let mut pool = warm_pool(1, 5, &["a"]);
        take(&mut pool);
        let Ok(Ticket::Queued(mut receiver)) = pool.acquire() else {
            panic!("expected to wait");
        };
        assert_eq!(
            pool.starts_to_begin(),
            2,
            "the pool's own plus one for the waiter"
        );
        assert_eq!(pool.started(Fake("b")), Placement::HandedOver);
        assert_eq!(receiver.try_recv().unwrap(), Fake("b"));
        assert_eq!(pool.started(Fake("c")), Placement::Ready);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut pool = warm_pool(1, 2, &["a"]);
        take(&mut pool);
        let _first = pool.acquire().unwrap();
        let _second = pool.acquire().unwrap();
        let refused = pool.acquire().err().unwrap();
        assert!(matches!(
            refused,
            EngineError::QueueFull { queue_size: 2, .. }
        ));
        assert_eq!(pool.state(None).queued, 2);
    }

    #[test]
    fn a_job_that_gave_up_waiting_leaves_the_queue_and_is_skipped() {
        let mut pool = warm_pool(1, 1, &["a"]);
        take(&mut pool);
        let gave_up = pool.acquire().unwrap();
        drop(gave_up);
        assert_eq!(pool.state(None).queued, 0);
        let Ok(Ticket::Queued(mut receiver)) = pool.acquire() else {
            panic!("its place is free again");
        };
        assert_eq!(
            pool.starts_to_begin(),
            2,
            "one for the pool, one for the one waiter"
        );
        assert_eq!(pool.started(Fake("b")), Placement::HandedOver);
        assert_eq!(receiver.try_recv().unwrap(), Fake("b"));
    }

    #[test]
    fn failed_starts_back_off_doubling_up_to_a_cap_and_a_success_resets_it() {
        let mut pool: Pool<Fake> = Pool::new("python", 1, 5);
        let mut delays = Vec::new();
        for _ in 0..8 {
            assert_eq!(pool.starts_to_begin(), 1);
            delays.push(pool.start_failed("no image".into()));
            assert_eq!(
                pool.starts_to_begin(),
                0,
                "nothing starts before the retry is due"
            );
            pool.retry_due();
        }
        assert_eq!(delays[0], FIRST_RETRY_DELAY);
        assert_eq!(delays[1], FIRST_RETRY_DELAY * 2);
        assert_eq!(delays[2], FIRST_RETRY_DELAY * 4);
        assert_eq!(*delays.last().unwrap(), MAX_RETRY_DELAY);
        assert_eq!(pool.starts_to_begin(), 1);
        pool.started(Fake("a"));
        assert_eq!(pool.state(None).last_error, None);
        assert_eq!(pool.starts_to_begin(), 1);
        assert_eq!(pool.start_failed("again".into()), FIRST_RETRY_DELAY);
    }

    #[test]
    fn while_starts_fail_with_nothing_ready_jobs_are_refused_and_waiters_let_go() {
        let mut pool = warm_pool(1, 5, &["a"]);
        take(&mut pool);
        let Ok(Ticket::Queued(mut waiting)) = pool.acquire() else {
            panic!("expected to wait");
        };
        assert_eq!(pool.starts_to_begin(), 2);
        pool.start_failed("image missing".into());
        assert!(waiting.try_recv().is_err(), "the waiter was let go");
        let refused = pool.acquire().err().unwrap();
        assert!(
            matches!(refused, EngineError::Unavailable { ref reason, .. } if reason == "image missing")
        );
        assert!(!pool.state(None).is_healthy());
    }

    #[test]
    fn an_idle_container_that_died_is_replaced() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        assert_eq!(pool.died("a"), Some(Fake("a")));
        assert_eq!(pool.died("zzz"), None, "not this pool's, or serving a job");
        assert_eq!(pool.starts_to_begin(), 1);
        let (served, _) = take(&mut pool);
        assert_eq!(served, Fake("b"), "the dead one is never served");
    }

    #[test]
    fn draining_refuses_jobs_returns_idle_containers_and_discards_late_starts() {
        let mut pool = warm_pool(2, 5, &["a"]);
        let idle = pool.drain();
        assert_eq!(idle, [Fake("a")]);
        assert!(matches!(pool.acquire(), Err(EngineError::ShuttingDown)));
        assert!(!pool.is_drained(), "one start is still under way");
        assert_eq!(pool.started(Fake("b")), Placement::Discard(Fake("b")));
        assert!(pool.is_drained());
        assert_eq!(pool.starts_to_begin(), 0);
    }

    #[test]
    fn while_the_runtime_is_lost_nothing_starts_and_jobs_are_refused_then_it_refills() {
        let mut pool = warm_pool(2, 5, &["a", "b"]);
        let gone = pool.runtime_lost("the Docker engine is unreachable: gone".into());
        assert_eq!(gone.len(), 2);
        assert!(matches!(
            pool.acquire(),
            Err(EngineError::Unavailable { ref reason, .. }) if reason.contains("unreachable")
        ));
        assert_eq!(pool.starts_to_begin(), 0);
        assert!(pool.runtime_back().is_empty());
        assert_eq!(pool.starts_to_begin(), 2);
    }
}
