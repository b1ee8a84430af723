//! The job handlers of custody. Each checks the state before acting, so that running twice
//! (a lease that ran out) does no harm.

use std::sync::Arc;

use async_trait::async_trait;
use custodian_jobs::{JobError, JobHandler, JobRunner};
use custodian_store::custody::job_kinds;
use custodian_store::Job;
use uuid::Uuid;

use crate::Custody;

fn id(job: &Job, field: &str) -> Result<Uuid, JobError> {
    job.payload
        .get(field)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::permanent(format!("the job's payload has no {field}")))
}

macro_rules! handler {
    ($name:ident, $kind:expr, |$c:ident, $job:ident| $body:expr) => {
        struct $name(Arc<Custody>);

        #[async_trait]
        impl JobHandler for $name {
            fn kind(&self) -> &'static str {
                $kind
            }

            async fn run(&self, $job: &Job) -> Result<(), JobError> {
                let $c = &self.0;
                $body.map_err(JobError::from)
            }
        }
    };
}

handler!(HoldCapture, job_kinds::HOLD_CAPTURE, |c, job| c
    .capture_job(id(job, "hold_id")?, job.attempts >= job.max_attempts)
    .await);
handler!(HoldExpire, job_kinds::HOLD_EXPIRE, |c, job| c
    .expire(id(job, "hold_id")?)
    .await);
handler!(HoldReminder, job_kinds::HOLD_REMINDER, |c, job| c
    .remind(id(job, "hold_id")?)
    .await);
handler!(ProductionBuild, job_kinds::PRODUCTION_BUILD, |c, job| c
    .build(id(job, "production_id")?, job.attempts >= job.max_attempts)
    .await);
handler!(
    ProductionRelease,
    job_kinds::PRODUCTION_RELEASE,
    |c, job| c.release(id(job, "production_id")?).await
);
handler!(NoticePlan, job_kinds::NOTICE_PLAN, |c, job| c
    .plan_notice(id(job, "request_id")?)
    .await);
handler!(NoticeSend, job_kinds::NOTICE_SEND, |c, job| c
    .send_scheduled(id(job, "request_id")?)
    .await);
handler!(NoticeReview, job_kinds::NOTICE_REVIEW, |c, job| c
    .review_due(id(job, "request_id")?)
    .await);

/// Registers custody's job handlers with a runner.
pub fn register(runner: JobRunner, custody: Arc<Custody>) -> JobRunner {
    runner
        .handle(HoldCapture(custody.clone()))
        .handle(HoldExpire(custody.clone()))
        .handle(HoldReminder(custody.clone()))
        .handle(ProductionBuild(custody.clone()))
        .handle(ProductionRelease(custody.clone()))
        .handle(NoticePlan(custody.clone()))
        .handle(NoticeSend(custody.clone()))
        .handle(NoticeReview(custody))
}
