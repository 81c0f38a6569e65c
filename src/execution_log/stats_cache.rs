//! `/api/v1/stats` aggregates the whole collection; this keeps its last answer for
//! `mongo.stats_cache_secs`, and lets concurrent callers share one aggregation, so the endpoint
//! costs the database at most one aggregation per period however often it is called.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::queries::LanguageStats;

pub struct StatsCache {
    ttl: Duration,
    /// Held while an aggregation runs, so that callers arriving meanwhile wait for its answer
    /// instead of starting their own.
    last: Mutex<Option<(Instant, Arc<Vec<LanguageStats>>)>>,
}

impl StatsCache {
    /// `ttl` zero keeps nothing: every call aggregates.
    pub fn new(ttl: Duration) -> StatsCache {
        StatsCache {
            ttl,
            last: Mutex::new(None),
        }
    }

    /// The kept answer while it is younger than the TTL, else the one `aggregate` gives now
    /// (kept when it succeeds; an error is never kept).
    pub async fn get_or<E, F>(&self, aggregate: F) -> Result<Arc<Vec<LanguageStats>>, E>
    where
        F: Future<Output = Result<Vec<LanguageStats>, E>>,
    {
        let mut last = self.last.lock().await;
        if let Some((taken, stats)) = last.as_ref() {
            if taken.elapsed() < self.ttl {
                return Ok(Arc::clone(stats));
            }
        }
        let stats = Arc::new(aggregate.await?);
        *last = Some((Instant::now(), Arc::clone(&stats)));
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(executions: i64) -> Vec<LanguageStats> {
        vec![LanguageStats {
            language: "python".into(),
            executions,
            succeeded: executions,
            success_rate: 1.0,
            mean_execution_time: None,
        }]
    }

    #[tokio::test]
    async fn an_answer_is_kept_for_the_ttl_and_an_error_never() {
        let cache = StatsCache::new(Duration::from_secs(3600));
        let failed = cache.get_or(async { Err::<Vec<LanguageStats>, &str>("down") });
        assert_eq!(failed.await.unwrap_err(), "down");
        let first = cache.get_or(async { Ok::<_, &str>(row(1)) }).await.unwrap();
        let second = cache.get_or(async { Ok::<_, &str>(row(2)) }).await.unwrap();
        assert_eq!(first, second, "the kept answer, not a new aggregation");
    }

    #[tokio::test]
    async fn a_zero_ttl_aggregates_every_time() {
        let cache = StatsCache::new(Duration::ZERO);
        cache.get_or(async { Ok::<_, ()>(row(1)) }).await.unwrap();
        let second = cache.get_or(async { Ok::<_, ()>(row(2)) }).await.unwrap();
        assert_eq!(second[0].executions, 2);
    }
}
