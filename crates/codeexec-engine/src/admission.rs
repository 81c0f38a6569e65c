//! Admission control: a global cap on execute jobs in flight (queued or running) across all
//! languages, beside the per-language queues, so a burst cannot pile up unbounded work. A job
//! over the cap is refused at once rather than made to wait.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::observer::EngineObserver;
use crate::EngineError;

pub struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
    /// Told the count of jobs admitted and not yet finished after each change.
    observer: Arc<dyn EngineObserver>,
}

/// A job's place under the cap. Dropping it, however the job ends (an error, a panic, a
/// cancelled request), frees the place and tells the observer.
pub struct InFlight<'a> {
    permit: Option<OwnedSemaphorePermit>,
    admission: &'a Admission,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.admission.report();
    }
}

impl Admission {
    pub fn new(limit: usize, observer: Arc<dyn EngineObserver>) -> Admission {
        Admission {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            observer,
        }
    }

    /// A place for one job, or [`EngineError::InFlightCap`] at once when all are taken.
    pub fn admit(&self) -> Result<InFlight<'_>, EngineError> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| EngineError::InFlightCap { limit: self.limit })?;
        self.report();
        Ok(InFlight {
            permit: Some(permit),
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
        (Admission::new(limit, gauge.clone()), gauge)
    }

    #[test]
    fn the_job_over_the_cap_is_refused_and_a_finished_job_frees_its_place() {
        let (admission, gauge) = admission(2);
        let first = admission.admit().unwrap();
        let _second = admission.admit().unwrap();
        assert_eq!(gauge.get(), 2);
        let refused = admission.admit().err().unwrap();
        assert!(matches!(refused, EngineError::InFlightCap { limit: 2 }));
        assert_eq!(gauge.get(), 2, "a refusal is not in flight");
        drop(first);
        assert_eq!(gauge.get(), 1);
        assert!(admission.admit().is_ok());
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
                let _in_flight = admission.admit().unwrap();
                std::future::pending::<()>().await;
            };
            let cancelled = tokio::time::timeout(std::time::Duration::from_millis(10), job).await;
            assert!(cancelled.is_err());
        });
        assert_eq!(gauge.get(), 0);
        assert!(admission.admit().is_ok());
    }
}
