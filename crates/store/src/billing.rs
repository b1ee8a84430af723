//! What the store keeps about device returns and reimbursement (migration 0013): the outcome of
//! a device return, the fee schedule, the time reviewers record on a request, a request's
//! billing marks (burdensome, waived) and its invoice. Reach it with `store.billing()`; the SQL
//! is in `billing_sql.rs`, stamped out per backend as `custody_sql.rs` is.
//!
//! Every change appends its audit entry in the same transaction, naming the request
//! (`request:<id>`) so that it shows on the request's timeline. Audit details carry outcomes,
//! amounts and reasons as codes: never the device owner, never free text a person typed.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::reimbursement::{FeeSchedule, InvoiceAmounts, InvoiceStatus, WaiverReason};
use custodian_core::routes::device_return::DeviceReturnOutcome;
use custodian_core::LegalProcess;
use serde::Serialize;
use uuid::Uuid;

use crate::{Actor, NewMail, Scope, StoreResult};

/// The outcome of a device return, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceReturnRecord {
    pub request_id: Uuid,
    pub outcome: DeviceReturnOutcome,
    /// The mail to the owner, in the outbox (provider staff only).
    pub mail_id: Option<Uuid>,
    pub decided_by: Uuid,
    pub decided_at: DateTime<Utc>,
}

/// Time a member of staff recorded on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeEntry {
    pub id: Uuid,
    pub request_id: Uuid,
    pub user_id: Uuid,
    pub minutes: u32,
    pub note: String,
    pub logged_at: DateTime<Utc>,
}

/// A request's billing marks; all unset until a reviewer sets one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BillingMarks {
    pub burdensome: bool,
    pub burdensome_reason: Option<String>,
    pub waiver: Option<WaiverReason>,
    pub waiver_note: Option<String>,
    pub waived_by: Option<Uuid>,
    pub waived_at: Option<DateTime<Utc>>,
}

/// An invoice about to be issued; the store gives it its number.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub request_id: Uuid,
    pub agency_id: Uuid,
    pub process: LegalProcess,
    pub amounts: InvoiceAmounts,
    pub waiver_note: Option<String>,
    pub status: InvoiceStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceRecord {
    pub id: Uuid,
    /// `INV-2026-000042`.
    pub number: String,
    pub request_id: Uuid,
    pub agency_id: Uuid,
    pub process: LegalProcess,
    pub amounts: InvoiceAmounts,
    pub waiver_note: Option<String>,
    pub status: InvoiceStatus,
    pub issued_by: Uuid,
    pub issued_at: DateTime<Utc>,
    pub paid_on: Option<NaiveDate>,
    pub paid_reference: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Ends a device return: moves the request through decided to closed (as the lifecycle
    /// allows from where it is), queues the owner's mail if there is one, sends the agency the
    /// letter of the outcome, records the outcome and audits it, in one transaction. A second
    /// call is a conflict.
    async fn record_device_return(
        &self,
        actor: &Actor,
        request_id: Uuid,
        outcome: DeviceReturnOutcome,
        mail: Option<NewMail>,
        letter: &str,
    ) -> StoreResult<DeviceReturnRecord>;
    /// The outcome of a device return the scope may see, if it has one.
    async fn device_return(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Option<DeviceReturnRecord>>;

    /// The admin's fee schedule, or None while the built-in default applies.
    async fn fee_schedule(&self) -> StoreResult<Option<FeeSchedule>>;
    /// Replaces the fee schedule (checked by the caller).
    async fn set_fee_schedule(&self, actor: &Actor, schedule: &FeeSchedule) -> StoreResult<()>;

    /// Records time spent on a request.
    async fn log_time(
        &self,
        actor: &Actor,
        request_id: Uuid,
        user_id: Uuid,
        minutes: u32,
        note: &str,
    ) -> StoreResult<TimeEntry>;
    /// The time recorded on a request, oldest first.
    async fn time_entries(&self, request_id: Uuid) -> StoreResult<Vec<TimeEntry>>;

    /// A request's billing marks (the defaults if none were set).
    async fn billing_marks(&self, request_id: Uuid) -> StoreResult<BillingMarks>;
    /// Marks a request burdensome or unusual (its hours are billed), or clears the mark.
    async fn set_burdensome(
        &self,
        actor: &Actor,
        request_id: Uuid,
        burdensome: bool,
        reason: Option<&str>,
    ) -> StoreResult<BillingMarks>;
    /// Waives a request's fees for a reason; an unpaid invoice already issued is waived too,
    /// a paid one is a conflict.
    async fn record_waiver(
        &self,
        actor: &Actor,
        request_id: Uuid,
        reason: WaiverReason,
        note: &str,
    ) -> StoreResult<BillingMarks>;

    /// Issues a request's invoice with the next number of the year; a second is a conflict.
    async fn issue_invoice(&self, actor: &Actor, invoice: NewInvoice)
        -> StoreResult<InvoiceRecord>;
    /// A request's invoice, if the scope may see it and one was issued.
    async fn invoice_for_request(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Option<InvoiceRecord>>;
    async fn get_invoice(&self, id: Uuid) -> StoreResult<InvoiceRecord>;
    /// Invoices, newest first, optionally in one state.
    async fn list_invoices(
        &self,
        status: Option<InvoiceStatus>,
        limit: u32,
    ) -> StoreResult<Vec<InvoiceRecord>>;
    /// Records a payment (unpaid to paid).
    async fn mark_paid(
        &self,
        actor: &Actor,
        id: Uuid,
        paid_on: NaiveDate,
        reference: &str,
    ) -> StoreResult<InvoiceRecord>;
    /// Undoes a payment recorded in error (paid to unpaid).
    async fn mark_unpaid(&self, actor: &Actor, id: Uuid) -> StoreResult<InvoiceRecord>;
}
