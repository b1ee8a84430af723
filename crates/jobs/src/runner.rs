//! The job runner: claims due jobs from the store's job table and hands each to the handler
//! registered for its kind. Every `custodian serve` process runs one; they share the table, so
//! any of them may take any job, and a job whose worker died is taken again after its lease.
//!
//! Time comes from the store's [`Clock`](custodian_store::Clock): a test that moves the clock
//! forward and calls [`JobRunner::run_due`] sees exactly what a server would do on that day.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use custodian_store::{DynClock, DynStore, Job, JobStatus, StoreResult};
use tokio::sync::{Notify, Semaphore};

/// How a job went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again (a server that did not answer). `after` overrides the backoff.
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// Trying again cannot help (the object is gone, the input is invalid).
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError::Retry {
            message: message.into(),
            after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        JobError::Permanent(message.into())
    }
}

impl From<custodian_store::StoreError> for JobError {
    fn from(e: custodian_store::StoreError) -> Self {
        match e {
            // A row that is gone will not come back.
            custodian_store::StoreError::NotFound => JobError::permanent("not found"),
            other => JobError::retry(other.to_string()),
        }
    }
}

/// Does one kind of job. Handlers must be safe to run twice for the same job (a lease can run
/// out while a slow handler is still working): check the state before acting.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The job kind this handler takes, e.g. `mail.send`.
    fn kind(&self) -> &'static str;
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// What one pass over the due jobs did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
}

impl RunReport {
    pub fn ran(&self) -> usize {
        self.done + self.retried + self.failed
    }
}

/// The wait before attempt `n + 1` after `n` failed ones: 30 s, 1 min, 2 min, ... up to 1 h.
pub fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(7);
    Duration::seconds(30 * (1i64 << exp)).min(Duration::hours(1))
}

pub struct JobRunner {
    store: DynStore,
    clock: DynClock,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    worker: String,
    lease: Duration,
    concurrency: usize,
    poll: std::time::Duration,
    wake: Arc<Notify>,
}

impl JobRunner {
    pub fn new(store: DynStore, clock: DynClock) -> Self {
        Self {
            store,
            clock,
            handlers: HashMap::new(),
            worker: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            lease: Duration::minutes(15),
            concurrency: 4,
            poll: std::time::Duration::from_secs(1),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Registers the handler for its kind (a second handler for the same kind replaces it).
    pub fn handle(mut self, handler: impl JobHandler) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// How often to look for due jobs when nothing wakes the runner; other servers' jobs are
    /// seen at this pace.
    pub fn poll_every(mut self, poll: std::time::Duration) -> Self {
        self.poll = poll;
        self
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Wakes the runner at once: the web layer calls it after scheduling urgent work (an
    /// emergency page) so that it does not wait for the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs every job due now, to the end, including jobs that become due as a result (a mail
    /// queued by a handler). Returns what happened. For tests and `custodian jobs run`.
    pub async fn run_due(&self) -> StoreResult<RunReport> {
        let mut total = RunReport::default();
        loop {
            let now = self.clock.now();
            let jobs = self
                .store
                .jobs()
                .claim(&self.worker, now, self.lease, self.concurrency as u32)
                .await?;
            if jobs.is_empty() {
                return Ok(total);
            }
            let mut tasks = Vec::with_capacity(jobs.len());
            for job in jobs {
                tasks.push(self.spawn(job));
            }
            for t in tasks {
                if let Ok(outcome) = t.await {
                    total = add(total, outcome);
                }
            }
        }
    }

    /// Runs until `shutdown` resolves: claims due jobs as worker slots free up, sleeps until the
    /// next job is due, the poll interval passes, or someone wakes it.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        tokio::pin!(shutdown);
        loop {
            let free = slots.available_permits();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                match self
                    .store
                    .jobs()
                    .claim(&self.worker, self.clock.now(), self.lease, free as u32)
                    .await
                {
                    Ok(jobs) => jobs,
                    Err(e) => {
                        tracing::warn!(error = %e, "job runner: cannot claim jobs");
                        Vec::new()
                    }
                }
            };
            let busy = !claimed.is_empty();
            for job in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let handle = self.spawn(job);
                tokio::spawn(async move {
                    let _ = handle.await;
                    drop(permit);
                });
            }
            if busy && slots.available_permits() > 0 {
                // There may be more due right now.
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Runs one claimed job in its own task, so that a panicking handler costs one attempt,
    /// not the runner, and records the outcome.
    fn spawn(&self, job: Job) -> tokio::task::JoinHandle<RunReport> {
        let store = self.store.clone();
        let clock = self.clock.clone();
        let handler = self.handlers.get(job.kind.as_str()).cloned();
        tokio::spawn(async move {
            let outcome = match handler {
                None => Err(JobError::permanent(format!(
                    "no handler for job kind '{}'",
                    job.kind
                ))),
                Some(h) => {
                    let inner = {
                        let job = job.clone();
                        tokio::spawn(async move { h.run(&job).await })
                    };
                    match inner.await {
                        Ok(result) => result,
                        Err(e) => Err(JobError::retry(format!("the handler panicked: {e}"))),
                    }
                }
            };
            record(&store, &clock, &job, outcome).await
        })
    }
}

fn add(a: RunReport, b: RunReport) -> RunReport {
    RunReport {
        done: a.done + b.done,
        retried: a.retried + b.retried,
        failed: a.failed + b.failed,
    }
}

async fn record(
    store: &DynStore,
    clock: &DynClock,
    job: &Job,
    outcome: Result<(), JobError>,
) -> RunReport {
    let now = clock.now();
    let jobs = store.jobs();
    let result = match &outcome {
        Ok(()) => jobs.complete(job.id, now).await.map(|()| RunReport {
            done: 1,
            ..Default::default()
        }),
        Err(JobError::Retry { message, after }) => {
            let at = now + after.unwrap_or_else(|| backoff(job.attempts));
            jobs.retry(job.id, at, message).await.map(|status| {
                if status == JobStatus::Failed {
                    tracing::warn!(job = %job.id, kind = %job.kind, "job gave up after {} attempts", job.attempts);
                    RunReport {
                        failed: 1,
                        ..Default::default()
                    }
                } else {
                    RunReport {
                        retried: 1,
                        ..Default::default()
                    }
                }
            })
        }
        Err(JobError::Permanent(message)) => {
            tracing::warn!(job = %job.id, kind = %job.kind, "job failed for good");
            jobs.fail(job.id, now, message).await.map(|()| RunReport {
                failed: 1,
                ..Default::default()
            })
        }
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            // The lease will run out and the job will be taken again.
            tracing::warn!(job = %job.id, error = %e, "cannot record a job's outcome");
            RunReport::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(4), Duration::seconds(240));
        assert_eq!(backoff(8), Duration::hours(1));
        assert_eq!(backoff(50), Duration::hours(1));
        assert_eq!(backoff(0), Duration::seconds(30));
    }
}
