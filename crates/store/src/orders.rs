//! What the store keeps about the special routes (migration 0012): a reviewer's attestation
//! that a UK order under the US-UK agreement targets no US person and no one in the United
//! States, and the refusal of a foreign order (UK, EPOC, EPOC-PR) on a ground of the closed
//! list, whose answer reaches the agency as a letter. Reach it with `store.orders()`; the SQL is
//! in `orders_sql.rs`, stamped out per backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use custodian_core::routes::{EnforcingStateReply, RefusalGround, UsPersonAttestation};
use uuid::Uuid;

use crate::{Actor, LetterRecord, Scope, StoreResult};

/// An attestation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationRecord {
    pub request_id: Uuid,
    pub attestation: UsPersonAttestation,
    pub attested_by: Uuid,
    pub attested_at: DateTime<Utc>,
}

/// A refusal as recorded, with the letter that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    pub request_id: Uuid,
    pub ground: RefusalGround,
    pub details: String,
    pub letter_id: Uuid,
    pub refused_by: Uuid,
    pub refused_at: DateTime<Utc>,
}

/// The enforcing state's reply to the notice of an EU order, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcingReplyRecord {
    pub request_id: Uuid,
    pub reply: EnforcingStateReply,
    /// What the enforcing authority said (its ground, its reference), in the reviewer's words.
    pub note: String,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// The special routes' records. Every change appends its audit entry (`request:<id>`, with
/// codes and digests, never the reviewer's words) in its own transaction.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Records the attestation for a request that is still open; a second one replaces the
    /// first (both are in the audit log).
    async fn attest(
        &self,
        actor: &Actor,
        request_id: Uuid,
        attestation: &UsPersonAttestation,
    ) -> StoreResult<AttestationRecord>;
    async fn attestation(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Option<AttestationRecord>>;
    /// Refuses the order: the letter (kind `refusal`) is written, the request is rejected and
    /// the ground is kept, in one transaction. The lifecycle decides whether the request may
    /// still be rejected.
    async fn refuse(
        &self,
        actor: &Actor,
        request_id: Uuid,
        ground: RefusalGround,
        details: &str,
        letter: &str,
    ) -> StoreResult<(RefusalRecord, LetterRecord)>;
    async fn refusal(&self, scope: Scope, request_id: Uuid) -> StoreResult<Option<RefusalRecord>>;
    /// Records the enforcing state's reply for a request that is still open; a later reply
    /// replaces the earlier one (both are in the audit log).
    async fn record_enforcing_reply(
        &self,
        actor: &Actor,
        request_id: Uuid,
        reply: EnforcingStateReply,
        note: &str,
    ) -> StoreResult<EnforcingReplyRecord>;
    async fn enforcing_reply(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Option<EnforcingReplyRecord>>;
}
