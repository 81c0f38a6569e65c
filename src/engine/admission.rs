//! Admission control: a global cap on execute jobs in flight (queued or running) across all
//! languages, beside the per-language queues, so a burst cannot pile up unbounded work. A job
//! over the cap is refused at once rather than made to wait.

use std::sync::Arc;

use prometheus::IntGauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::supervisor::AcquireError;

pub struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
    /// Counts the jobs admitted and not yet finished (`codeexec_jobs_in_flight`).
    in_flight: IntGauge,
}

/// A job's place under the cap. Dropping it, however the job ends (an error, a panic, a
/// cancelled request), frees the place and lowers the gauge.
pub struct InFlight {
    _permit: OwnedSemaphorePermit,
    in_flight: IntGauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.in_flight.dec();
    }
}

impl Admission {
    pub fn new(limit: usize, in_flight: IntGauge) -> Admission {
        Admission {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            in_flight,
        }
    }

    /// A place for one job, or [`AcquireError::InFlightCap`] at once when all are taken.
    pub fn admit(&self) -> Result<InFlight, AcquireError> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| AcquireError::InFlightCap { limit: self.limit })?;
        self.in_flight.inc();
        Ok(InFlight {
            _permit: permit,
            in_flight: self.in_flight.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(limit: usize) -> (Admission, IntGauge) {
        let gauge = IntGauge::new("test_jobs_in_flight", "test").unwrap();
        (Admission::new(limit, gauge.clone()), gauge)
    }

    #[test]
    fn the_job_over_the_cap_is_refused_and_a_finished_job_frees_its_place() {
        let (admission, gauge) = admission(2);
        let first = admission.admit().unwrap();
        let _second = admission.admit().unwrap();
        assert_eq!(gauge.get(), 2);
        let refused = admission.admit().err().unwrap();
        assert!(matches!(refused, AcquireError::InFlightCap { limit: 2 }));
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
