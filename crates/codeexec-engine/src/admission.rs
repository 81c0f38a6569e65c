//! Admission control: a global cap on execute jobs in flight (queued or running) across all
//! languages, beside the per-language queues, so a burst cannot pile up unbounded work; and a
//! budget for the memory limits of those jobs together, so the jobs admitted at once cannot
//! need more memory than the machine has. A job over either is refused at once rather than made
//! to wait.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::observer::EngineObserver;
use crate::runtime::ContainerRuntime;
use crate::settings::EngineSettings;
use crate::EngineError;

/// The memory budget of the jobs in flight: `limits.max_memory_in_flight_mb`, or when that is 0
/// the memory of the machine the runtime runs containers on. A budget below the largest
/// language's memory limit would refuse that language's every job, so it is raised to it.
pub async fn memory_budget(
    settings: &EngineSettings,
    runtime: &dyn ContainerRuntime,
) -> Option<u64> {
    let configured = settings.limits.max_memory_in_flight_mb;
    let budget = if configured > 0 {
        configured
    } else {
        let Some(total) = runtime.total_memory_mb().await else {
            tracing::warn!(
                "the container runtime does not say how much memory its machine has: jobs are \
                 admitted by count alone; set limits.max_memory_in_flight_mb"
            );
            return None;
        };
        total
    };
    let largest = settings
        .languages
        .values()
        .filter(|language| language.enabled)
        .map(|language| language.memory_mb)
        .max()
        .unwrap_or(0);
    if budget < largest {
        tracing::warn!(
            budget_mb = budget,
            largest_mb = largest,
            "the memory budget for jobs in flight is below a language's memory limit; raised to it"
        );
    }
    Some(budget.max(largest))
}

pub struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
    /// One permit per MB of the jobs' memory limits; `None` when no budget is known.
    memory: Option<MemoryBudget>,
    /// Told the count of jobs admitted and not yet finished after each change.
    observer: Arc<dyn EngineObserver>,
}

struct MemoryBudget {
    megabytes: Arc<Semaphore>,
    budget_mb: u64,
}

/// A job's place under the caps. Dropping it, however the job ends (an error, a panic, a
/// cancelled request), frees the place and its memory and tells the observer.
pub struct InFlight<'a> {
    permit: Option<OwnedSemaphorePermit>,
    _memory: Option<OwnedSemaphorePermit>,
    admission: &'a Admission,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.admission.report();
    }
}

impl Admission {
    /// `memory_budget_mb`: the most the memory limits of the jobs in flight may add up to.
    pub fn new(
        limit: usize,
        memory_budget_mb: Option<u64>,
        observer: Arc<dyn EngineObserver>,
    ) -> Admission {
        let memory = memory_budget_mb.map(|budget_mb| MemoryBudget {
            megabytes: Arc::new(Semaphore::new(budget_mb as usize)),
            budget_mb,
        });
        Admission {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            memory,
            observer,
        }
    }

    /// A place for one job whose memory limit is `memory_mb`, or at once
    /// [`EngineError::InFlightCap`] when all places are taken, [`EngineError::MemoryCap`] when
    /// its memory does not fit beside the jobs already admitted.
    pub fn admit(&self, memory_mb: u64) -> Result<InFlight<'_>, EngineError> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| EngineError::InFlightCap { limit: self.limit })?;
        let memory = match &self.memory {
            None => None,
            Some(budget) => {
                let wanted = u32::try_from(memory_mb).unwrap_or(u32::MAX);
                let taken = budget.megabytes.clone().try_acquire_many_owned(wanted);
                Some(taken.map_err(|_| EngineError::MemoryCap {
                    budget_mb: budget.budget_mb,
                })?)
            }
        };
        self.report();
        Ok(InFlight {
            permit: Some(permit),
            _memory: memory,
            admission: self,
        })
    }

    fn report(&self) {
        let in_flight = self.limit - self.permits.available_permits();
        self.observer.jobs_in_flight(in_flight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Remembers the last in-flight count it was told.
    #[derive(Default)]
    struct Gauge(AtomicUsize);

    impl EngineObserver for Gauge {
        fn jobs_in_flight(&self, count: usize) {
            self.0.store(count, Ordering::SeqCst);
        }
    }

    impl Gauge {
        fn get(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn admission(limit: usize) -> (Admission, Arc<Gauge>) {
        let gauge = Arc::new(Gauge::default());
        (Admission::new(limit, None, gauge.clone()), gauge)
    }

    #[test]
    fn the_job_over_the_cap_is_refused_and_a_finished_job_frees_its_place() {
        let (admission, gauge) = admission(2);
        let first = admission.admit(64).unwrap();
        let _second = admission.admit(64).unwrap();
        assert_eq!(gauge.get(), 2);
        let refused = admission.admit(64).err().unwrap();
        assert!(matches!(refused, EngineError::InFlightCap { limit: 2 }));
        assert_eq!(gauge.get(), 2, "a refusal is not in flight");
        drop(first);
        assert_eq!(gauge.get(), 1);
        assert!(admission.admit(64).is_ok());
    }

    #[test]
    fn jobs_are_refused_when_their_memory_does_not_fit_beside_those_admitted() {
        let admission = Admission::new(10, Some(600), Arc::new(Gauge::default()));
        let python = admission.admit(256).unwrap();
        let refused = admission.admit(512).err().unwrap();
        assert!(matches!(refused, EngineError::MemoryCap { budget_mb: 600 }));
        let small = admission.admit(64).unwrap();
        drop(python);
        assert!(
            admission.admit(512).is_ok(),
            "a finished job frees its memory"
        );
        drop(small);
    }

    #[test]
    fn a_job_refused_for_memory_takes_no_place() {
        let gauge = Arc::new(Gauge::default());
        let admission = Admission::new(1, Some(100), gauge.clone());
        assert!(admission.admit(200).is_err());
        assert_eq!(gauge.get(), 0);
        assert!(admission.admit(100).is_ok());
    }

    #[test]
    fn a_cancelled_job_frees_its_place() {
        let (admission, gauge) = admission(1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let job = async {
                let _in_flight = admission.admit(64).unwrap();
                std::future::pending::<()>().await;
            };
            let cancelled = tokio::time::timeout(std::time::Duration::from_millis(10), job).await;
            assert!(cancelled.is_err());
        });
        assert_eq!(gauge.get(), 0);
        assert!(admission.admit(64).is_ok());
    }
}
