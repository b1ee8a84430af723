//! [`crate::orders::OrderStore`] written once and stamped out per backend by
//! [`impl_order_store!`] as `sql.rs` is.

macro_rules! impl_order_store {
    ($store:ident, $db:ident) => {
        mod orders_impl {
            use async_trait::async_trait;
            use custodian_core::routes::{EnforcingStateReply, RefusalGround, UsPersonAttestation};
            use custodian_core::RequestStatus;
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::orders::*;
            use $crate::sql::{now, parse_column};
            use $crate::{Actor, AuditEvent, LetterRecord, Scope, StoreError, StoreResult};

            type Store = super::$store;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn attestation_row(row: &DbRow) -> StoreResult<AttestationRecord> {
                Ok(AttestationRecord {
                    request_id: row.try_get("request_id")?,
                    attestation: UsPersonAttestation {
                        not_us_person: row.try_get("not_us_person")?,
                        not_located_in_us: row.try_get("not_located_in_us")?,
                        basis: row.try_get("basis")?,
                    },
                    attested_by: row.try_get("attested_by")?,
                    attested_at: row.try_get("attested_at")?,
                })
            }

            fn refusal_row(row: &DbRow) -> StoreResult<RefusalRecord> {
                Ok(RefusalRecord {
                    request_id: row.try_get("request_id")?,
                    ground: parse_column::<RefusalGround>(
                        "ground",
                        &row.try_get::<String, _>("ground")?,
                    )?,
                    details: row.try_get("details")?,
                    letter_id: row.try_get("letter_id")?,
                    refused_by: row.try_get("refused_by")?,
                    refused_at: row.try_get("refused_at")?,
                })
            }

            fn reply_row(row: &DbRow) -> StoreResult<EnforcingReplyRecord> {
                Ok(EnforcingReplyRecord {
                    request_id: row.try_get("request_id")?,
                    reply: parse_column::<EnforcingStateReply>(
                        "reply",
                        &row.try_get::<String, _>("reply")?,
                    )?,
                    note: row.try_get("note")?,
                    recorded_by: row.try_get("recorded_by")?,
                    recorded_at: row.try_get("recorded_at")?,
                })
            }

            #[async_trait]
            impl OrderStore for Store {
                async fn record_enforcing_reply(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    reply: EnforcingStateReply,
                    note: &str,
                ) -> StoreResult<EnforcingReplyRecord> {
                    let by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let status = Self::status_in(&mut tx, Scope::Provider, request_id).await?;
                    if !status.is_open() {
                        return Err(StoreError::Conflict(format!(
                            "a request that is {status} takes no reply from the enforcing state"
                        )));
                    }
                    sqlx::query("DELETE FROM order_enforcing_replies WHERE request_id = $1")
                        .bind(request_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO order_enforcing_replies (request_id, reply, note, \
                         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(request_id)
                    .bind(reply.as_str())
                    .bind(note)
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "order.enforcing_state_replied",
                            format!("request:{request_id}"),
                            serde_json::json!({
                                "reply": reply.as_str(),
                                "note_sha256": $crate::sha256_hex(note.as_bytes()),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(EnforcingReplyRecord {
                        request_id,
                        reply,
                        note: note.to_string(),
                        recorded_by: by,
                        recorded_at: at,
                    })
                }

                async fn enforcing_reply(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Option<EnforcingReplyRecord>> {
                    let row = sqlx::query(
                        "SELECT e.request_id, e.reply, e.note, e.recorded_by, e.recorded_at \
                         FROM order_enforcing_replies e JOIN requests r ON r.id = e.request_id \
                         WHERE e.request_id = $1 AND ($2 IS NULL OR r.agency_id = $2)",
                    )
                    .bind(request_id)
                    .bind(scope.agency())
                    .fetch_optional(self.reader())
                    .await?;
                    row.as_ref().map(reply_row).transpose()
                }

                async fn attest(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    a: &UsPersonAttestation,
                ) -> StoreResult<AttestationRecord> {
                    let by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let status = Self::status_in(&mut tx, Scope::Provider, request_id).await?;
                    if !status.is_open() {
                        return Err(StoreError::Conflict(format!(
                            "a request that is {status} takes no attestation"
                        )));
                    }
                    sqlx::query("DELETE FROM order_attestations WHERE request_id = $1")
                        .bind(request_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO order_attestations (request_id, not_us_person, \
                         not_located_in_us, basis, attested_by, attested_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(request_id)
                    .bind(a.not_us_person)
                    .bind(a.not_located_in_us)
                    .bind(&a.basis)
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "order.us_person_attested",
                            format!("request:{request_id}"),
                            serde_json::json!({
                                "not_us_person": a.not_us_person,
                                "not_located_in_us": a.not_located_in_us,
                                "basis_sha256": $crate::sha256_hex(a.basis.as_bytes()),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(AttestationRecord {
                        request_id,
                        attestation: a.clone(),
                        attested_by: by,
                        attested_at: at,
                    })
                }

                async fn attestation(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Option<AttestationRecord>> {
                    let row = sqlx::query(
                        "SELECT a.request_id, a.not_us_person, a.not_located_in_us, a.basis, \
                         a.attested_by, a.attested_at FROM order_attestations a \
                         JOIN requests r ON r.id = a.request_id \
                         WHERE a.request_id = $1 AND ($2 IS NULL OR r.agency_id = $2)",
                    )
                    .bind(request_id)
                    .bind(scope.agency())
                    .fetch_optional(self.reader())
                    .await?;
                    row.as_ref().map(attestation_row).transpose()
                }

                async fn refuse(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    ground: RefusalGround,
                    details: &str,
                    body: &str,
                ) -> StoreResult<(RefusalRecord, LetterRecord)> {
                    let by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    Self::move_in(
                        &mut tx,
                        actor,
                        Scope::Provider,
                        request_id,
                        RequestStatus::Rejected,
                        Some("refusal"),
                        at,
                    )
                    .await?;
                    let letter = LetterRecord {
                        id: Uuid::new_v4(),
                        request_id,
                        kind: "refusal".to_string(),
                        body: body.to_string(),
                        author_id: by,
                        created_at: at,
                    };
                    sqlx::query(
                        "INSERT INTO letters (id, request_id, kind, body, author_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(letter.id)
                    .bind(request_id)
                    .bind(&letter.kind)
                    .bind(body)
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO order_refusals (request_id, ground, details, letter_id, \
                         refused_by, refused_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(request_id)
                    .bind(ground.as_str())
                    .bind(details)
                    .bind(letter.id)
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "order.refused",
                            format!("request:{request_id}"),
                            serde_json::json!({
                                "ground": ground.as_str(),
                                "letter": letter.id.to_string(),
                                "sha256": $crate::sha256_hex(body.as_bytes()),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok((
                        RefusalRecord {
                            request_id,
                            ground,
                            details: details.to_string(),
                            letter_id: letter.id,
                            refused_by: by,
                            refused_at: at,
                        },
                        letter,
                    ))
                }

                async fn refusal(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Option<RefusalRecord>> {
                    let row = sqlx::query(
                        "SELECT f.request_id, f.ground, f.details, f.letter_id, f.refused_by, \
                         f.refused_at FROM order_refusals f \
                         JOIN requests r ON r.id = f.request_id \
                         WHERE f.request_id = $1 AND ($2 IS NULL OR r.agency_id = $2)",
                    )
                    .bind(request_id)
                    .bind(scope.agency())
                    .fetch_optional(self.reader())
                    .await?;
                    row.as_ref().map(refusal_row).transpose()
                }
            }
        }
    };
}
pub(crate) use impl_order_store;
