//! The device-return and reimbursement tables in SQL (migration 0013), written once and stamped
//! out per backend by [`impl_billing_store!`] as `custody_sql.rs` is. See [`crate::billing`]
//! for what each method does.

pub(crate) const INVOICE_COLUMNS: &str = "id, number, request_id, agency_id, process, currency, \
     fee_minor, billed_minutes, hourly_rate_minor, hours_minor, total_minor, amount_due_minor, \
     waiver, waiver_note, status, issued_by, issued_at, paid_on, paid_reference, updated_at";

/// The fee schedule row that holds the hourly rate (the others are process names).
pub(crate) const HOURLY_ITEM: &str = "hourly";

macro_rules! impl_billing_store {
    ($store:ident, $db:ident) => {
        mod billing_impl {
            use std::collections::BTreeMap;

            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use custodian_core::reimbursement::{
                Currency, FeeSchedule, InvoiceAmounts, InvoiceNumber, InvoiceStatus,
                WaiverReason,
            };
            use custodian_core::routes::device_return::{path_to_closed, DeviceReturnOutcome};
            use custodian_core::LegalProcess;
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::billing::*;
            use $crate::billing_sql::{HOURLY_ITEM, INVOICE_COLUMNS};
            use $crate::sql::parse_column;
            use $crate::{Actor, AuditEvent, NewMail, Scope, StoreError, StoreResult};

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn now() -> DateTime<Utc> {
                $crate::sql::now()
            }

            fn object(request_id: Uuid) -> String {
                format!("request:{request_id}")
            }

            fn count(v: i64) -> u64 {
                u64::try_from(v).unwrap_or(0)
            }

            fn big(v: u64) -> i64 {
                i64::try_from(v).unwrap_or(i64::MAX)
            }

            fn currency(raw: &str) -> StoreResult<Currency> {
                Currency::parse(raw).map_err(|e| StoreError::Corrupt(format!("currency: {e}")))
            }

            fn invoice_row(row: &DbRow) -> StoreResult<InvoiceRecord> {
                let waiver: Option<String> = row.try_get("waiver")?;
                let paid_on: Option<String> = row.try_get("paid_on")?;
                Ok(InvoiceRecord {
                    id: row.try_get("id")?,
                    number: row.try_get("number")?,
                    request_id: row.try_get("request_id")?,
                    agency_id: row.try_get("agency_id")?,
                    process: parse_column("process", &row.try_get::<String, _>("process")?)?,
                    amounts: InvoiceAmounts {
                        currency: currency(&row.try_get::<String, _>("currency")?)?,
                        fee_minor: row.try_get("fee_minor")?,
                        billed_minutes: count(row.try_get("billed_minutes")?),
                        hourly_rate_minor: row.try_get("hourly_rate_minor")?,
                        hours_minor: row.try_get("hours_minor")?,
                        total_minor: row.try_get("total_minor")?,
                        waiver: waiver
                            .as_deref()
                            .map(|w| parse_column::<WaiverReason>("waiver", w))
                            .transpose()?,
                        amount_due_minor: row.try_get("amount_due_minor")?,
                    },
                    waiver_note: row.try_get("waiver_note")?,
                    status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                    issued_by: row.try_get("issued_by")?,
                    issued_at: row.try_get("issued_at")?,
                    paid_on: paid_on
                        .map(|d| {
                            d.parse().map_err(|_| {
                                StoreError::Corrupt(format!("invoices.paid_on: '{d}' is not a day"))
                            })
                        })
                        .transpose()?,
                    paid_reference: row.try_get("paid_reference")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn marks_row(row: &DbRow) -> StoreResult<BillingMarks> {
                let waiver: Option<String> = row.try_get("waiver")?;
                Ok(BillingMarks {
                    burdensome: row.try_get("burdensome")?,
                    burdensome_reason: row.try_get("burdensome_reason")?,
                    waiver: waiver
                        .as_deref()
                        .map(|w| parse_column::<WaiverReason>("waiver", w))
                        .transpose()?,
                    waiver_note: row.try_get("waiver_note")?,
                    waived_by: row.try_get("waived_by")?,
                    waived_at: row.try_get("waived_at")?,
                })
            }

            fn device_return_row(row: &DbRow) -> StoreResult<DeviceReturnRecord> {
                Ok(DeviceReturnRecord {
                    request_id: row.try_get("request_id")?,
                    outcome: parse_column("outcome", &row.try_get::<String, _>("outcome")?)?,
                    mail_id: row.try_get("mail_id")?,
                    decided_by: row.try_get("decided_by")?,
                    decided_at: row.try_get("decided_at")?,
                })
            }

            impl Store {
                /// The request exists (for the provider): a billing action on a missing request
                /// is not found, not a foreign-key error.
                async fn request_exists_in(tx: &mut Tx, request_id: Uuid) -> StoreResult<()> {
                    Self::status_in(tx, Scope::Provider, request_id).await?;
                    Ok(())
                }

                async fn marks_in(tx: &mut Tx, request_id: Uuid) -> StoreResult<BillingMarks> {
                    let row = sqlx::query(
                        "SELECT burdensome, burdensome_reason, waiver, waiver_note, waived_by, \
                         waived_at FROM request_billing WHERE request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                    row.as_ref().map(marks_row).transpose().map(Option::unwrap_or_default)
                }

                async fn invoice_in(tx: &mut Tx, id: Uuid) -> StoreResult<InvoiceRecord> {
                    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    invoice_row(&row)
                }

                async fn set_invoice_status_in(
                    tx: &mut Tx,
                    invoice: &InvoiceRecord,
                    status: InvoiceStatus,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let changed = sqlx::query(
                        "UPDATE invoices SET status = $1, updated_at = $2 \
                         WHERE id = $3 AND status = $4",
                    )
                    .bind(status.as_str())
                    .bind(at)
                    .bind(invoice.id)
                    .bind(invoice.status.as_str())
                    .execute(&mut **tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "the invoice changed while this action was under way; try again"
                                .into(),
                        ));
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl BillingStore for Store {
                async fn record_device_return(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    outcome: DeviceReturnOutcome,
                    mail: Option<NewMail>,
                    letter: &str,
                ) -> StoreResult<DeviceReturnRecord> {
                    let decided_by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let done: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM device_returns WHERE request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if done > 0 {
                        return Err(StoreError::Conflict(
                            "the device return was already carried out".into(),
                        ));
                    }
                    let from = Self::status_in(&mut tx, Scope::Provider, request_id).await?;
                    let path = path_to_closed(from).ok_or_else(|| {
                        StoreError::Conflict(format!(
                            "a device return is carried out while the request is received or \
                             in review; this one is {from}"
                        ))
                    })?;
                    let reason = format!("device return: {}", outcome.as_str());
                    for step in path {
                        Self::move_in(
                            &mut tx,
                            actor,
                            Scope::Provider,
                            request_id,
                            *step,
                            Some(&reason),
                            at,
                        )
                        .await?;
                    }
                    let mail_id = match &mail {
                        Some(m) => Some(Self::queue_mail_in(&mut tx, actor, m, at).await?),
                        None => None,
                    };
                    let letter_id = Uuid::new_v4();
                    sqlx::query(
                        "INSERT INTO letters (id, request_id, kind, body, author_id, created_at) \
                         VALUES ($1, $2, 'device_return', $3, $4, $5)",
                    )
                    .bind(letter_id)
                    .bind(request_id)
                    .bind(letter)
                    .bind(decided_by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "request.letter_sent",
                            object(request_id),
                            serde_json::json!({
                                "letter": letter_id.to_string(),
                                "kind": "device_return",
                                "sha256": $crate::sha256_hex(letter.as_bytes()),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    sqlx::query(
                        "INSERT INTO device_returns (request_id, outcome, mail_id, decided_by, \
                         decided_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(request_id)
                    .bind(outcome.as_str())
                    .bind(mail_id)
                    .bind(decided_by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            outcome.audit_action(),
                            object(request_id),
                            serde_json::json!({ "outcome": outcome.as_str() }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(DeviceReturnRecord {
                        request_id,
                        outcome,
                        mail_id,
                        decided_by,
                        decided_at: at,
                    })
                }

                async fn device_return(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Option<DeviceReturnRecord>> {
                    let row = sqlx::query(
                        "SELECT d.request_id, d.outcome, d.mail_id, d.decided_by, d.decided_at \
                         FROM device_returns d JOIN requests r ON r.id = d.request_id \
                         WHERE d.request_id = $1 AND ($2 IS NULL OR r.agency_id = $2)",
                    )
                    .bind(request_id)
                    .bind(scope.agency())
                    .fetch_optional(self.reader())
                    .await?;
                    row.as_ref().map(device_return_row).transpose()
                }

                async fn fee_schedule(&self) -> StoreResult<Option<FeeSchedule>> {
                    let rows = sqlx::query(
                        "SELECT item, amount_minor, currency FROM fee_schedule ORDER BY item",
                    )
                    .fetch_all(self.reader())
                    .await?;
                    if rows.is_empty() {
                        return Ok(None);
                    }
                    let mut hourly = None;
                    let mut fees = BTreeMap::new();
                    let mut cur = None;
                    for row in &rows {
                        let item: String = row.try_get("item")?;
                        let amount: i64 = row.try_get("amount_minor")?;
                        cur = Some(currency(&row.try_get::<String, _>("currency")?)?);
                        if item == HOURLY_ITEM {
                            hourly = Some(amount);
                        } else {
                            fees.insert(parse_column::<LegalProcess>("item", &item)?, amount);
                        }
                    }
                    Ok(Some(FeeSchedule {
                        currency: cur.unwrap_or_else(Currency::usd),
                        hourly_rate_minor: hourly.unwrap_or(0),
                        fees,
                    }))
                }

                async fn set_fee_schedule(
                    &self,
                    actor: &Actor,
                    schedule: &FeeSchedule,
                ) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    sqlx::query("DELETE FROM fee_schedule").execute(&mut *tx).await?;
                    let items = std::iter::once((HOURLY_ITEM, schedule.hourly_rate_minor)).chain(
                        schedule.fees.iter().map(|(p, v)| (p.as_str(), *v)),
                    );
                    for (item, amount) in items {
                        sqlx::query(
                            "INSERT INTO fee_schedule (item, amount_minor, currency, updated_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(item)
                        .bind(amount)
                        .bind(schedule.currency.as_str())
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let details = serde_json::to_value(schedule)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new("billing.fee_schedule_set", "fee_schedule", details),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn log_time(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    user_id: Uuid,
                    minutes: u32,
                    note: &str,
                ) -> StoreResult<TimeEntry> {
                    let at = now();
                    let id = Uuid::new_v4();
                    let mut tx = self.writer().begin().await?;
                    Self::request_exists_in(&mut tx, request_id).await?;
                    sqlx::query(
                        "INSERT INTO time_entries (id, request_id, user_id, minutes, note, \
                         logged_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(request_id)
                    .bind(user_id)
                    .bind(i64::from(minutes))
                    .bind(note)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "billing.time_logged",
                            object(request_id),
                            serde_json::json!({ "minutes": minutes, "entry": id.to_string() }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(TimeEntry {
                        id,
                        request_id,
                        user_id,
                        minutes,
                        note: note.to_string(),
                        logged_at: at,
                    })
                }

                async fn time_entries(&self, request_id: Uuid) -> StoreResult<Vec<TimeEntry>> {
                    let rows = sqlx::query(
                        "SELECT id, request_id, user_id, minutes, note, logged_at \
                         FROM time_entries WHERE request_id = $1 ORDER BY logged_at, id",
                    )
                    .bind(request_id)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(TimeEntry {
                                id: row.try_get("id")?,
                                request_id: row.try_get("request_id")?,
                                user_id: row.try_get("user_id")?,
                                minutes: u32::try_from(row.try_get::<i64, _>("minutes")?)
                                    .unwrap_or(0),
                                note: row.try_get("note")?,
                                logged_at: row.try_get("logged_at")?,
                            })
                        })
                        .collect()
                }

                async fn billing_marks(&self, request_id: Uuid) -> StoreResult<BillingMarks> {
                    let mut tx = self.reader().begin().await?;
                    let marks = Self::marks_in(&mut tx, request_id).await?;
                    tx.commit().await?;
                    Ok(marks)
                }

                async fn set_burdensome(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    burdensome: bool,
                    reason: Option<&str>,
                ) -> StoreResult<BillingMarks> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    Self::request_exists_in(&mut tx, request_id).await?;
                    sqlx::query(
                        "INSERT INTO request_billing (request_id, burdensome, burdensome_reason, \
                         updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (request_id) DO UPDATE SET burdensome = $2, \
                         burdensome_reason = $3, updated_at = $4",
                    )
                    .bind(request_id)
                    .bind(burdensome)
                    .bind(reason)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "billing.burdensome_marked",
                            object(request_id),
                            serde_json::json!({ "burdensome": burdensome }),
                        ),
                        at,
                    )
                    .await?;
                    let marks = Self::marks_in(&mut tx, request_id).await?;
                    tx.commit().await?;
                    Ok(marks)
                }

                async fn record_waiver(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    reason: WaiverReason,
                    note: &str,
                ) -> StoreResult<BillingMarks> {
                    let by = actor.user_id();
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    Self::request_exists_in(&mut tx, request_id).await?;
                    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE request_id = $1");
                    let invoice = sqlx::query(&sql)
                        .bind(request_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .as_ref()
                        .map(invoice_row)
                        .transpose()?;
                    if let Some(inv) = &invoice {
                        let status = inv.status.waive().map_err(StoreError::Conflict)?;
                        Self::set_invoice_status_in(&mut tx, inv, status, at).await?;
                        sqlx::query(
                            "UPDATE invoices SET waiver = $1, waiver_note = $2, \
                             amount_due_minor = 0 WHERE id = $3",
                        )
                        .bind(reason.as_str())
                        .bind(note)
                        .bind(inv.id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query(
                        "INSERT INTO request_billing (request_id, waiver, waiver_note, waived_by, \
                         waived_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
                         ON CONFLICT (request_id) DO UPDATE SET waiver = $2, waiver_note = $3, \
                         waived_by = $4, waived_at = $5, updated_at = $5",
                    )
                    .bind(request_id)
                    .bind(reason.as_str())
                    .bind(note)
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "billing.fees_waived",
                            object(request_id),
                            serde_json::json!({
                                "reason": reason.as_str(),
                                "invoice": invoice.as_ref().map(|i| i.number.clone()),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    let marks = Self::marks_in(&mut tx, request_id).await?;
                    tx.commit().await?;
                    Ok(marks)
                }

                async fn issue_invoice(
                    &self,
                    actor: &Actor,
                    invoice: NewInvoice,
                ) -> StoreResult<InvoiceRecord> {
                    let issued_by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    Self::request_exists_in(&mut tx, invoice.request_id).await?;
                    let exists: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE request_id = $1")
                            .bind(invoice.request_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    if exists > 0 {
                        return Err(StoreError::Conflict(
                            "the request already has an invoice".into(),
                        ));
                    }
                    let year = chrono::Datelike::year(&at);
                    let sequence: i64 = sqlx::query_scalar(
                        "INSERT INTO invoice_counters (year, last) VALUES ($1, 1) \
                         ON CONFLICT (year) DO UPDATE SET last = invoice_counters.last + 1 \
                         RETURNING last",
                    )
                    .bind(year)
                    .fetch_one(&mut *tx)
                    .await?;
                    let number =
                        InvoiceNumber::new(year, u32::try_from(sequence).unwrap_or(u32::MAX))
                            .to_string();
                    let id = Uuid::new_v4();
                    let a = &invoice.amounts;
                    sqlx::query(
                        "INSERT INTO invoices (id, number, request_id, agency_id, process, \
                         currency, fee_minor, billed_minutes, hourly_rate_minor, hours_minor, \
                         total_minor, amount_due_minor, waiver, waiver_note, status, issued_by, \
                         issued_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                         $10, $11, $12, $13, $14, $15, $16, $17, $17)",
                    )
                    .bind(id)
                    .bind(&number)
                    .bind(invoice.request_id)
                    .bind(invoice.agency_id)
                    .bind(invoice.process.as_str())
                    .bind(a.currency.as_str())
                    .bind(a.fee_minor)
                    .bind(big(a.billed_minutes))
                    .bind(a.hourly_rate_minor)
                    .bind(a.hours_minor)
                    .bind(a.total_minor)
                    .bind(a.amount_due_minor)
                    .bind(a.waiver.map(|w| w.as_str()))
                    .bind(&invoice.waiver_note)
                    .bind(invoice.status.as_str())
                    .bind(issued_by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "billing.invoice_issued",
                            object(invoice.request_id),
                            serde_json::json!({
                                "invoice": number,
                                "status": invoice.status.as_str(),
                                "currency": a.currency.as_str(),
                                "fee_minor": a.fee_minor,
                                "billed_minutes": a.billed_minutes,
                                "total_minor": a.total_minor,
                                "amount_due_minor": a.amount_due_minor,
                                "waiver": a.waiver.map(|w| w.as_str()),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    let record = Self::invoice_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn invoice_for_request(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Option<InvoiceRecord>> {
                    let sql = format!(
                        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE request_id = $1 \
                         AND ($2 IS NULL OR agency_id = $2)"
                    );
                    let row = sqlx::query(&sql)
                        .bind(request_id)
                        .bind(scope.agency())
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(invoice_row).transpose()
                }

                async fn get_invoice(&self, id: Uuid) -> StoreResult<InvoiceRecord> {
                    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    invoice_row(&row)
                }

                async fn list_invoices(
                    &self,
                    status: Option<InvoiceStatus>,
                    limit: u32,
                ) -> StoreResult<Vec<InvoiceRecord>> {
                    let sql = format!(
                        "SELECT {INVOICE_COLUMNS} FROM invoices \
                         WHERE ($1 IS NULL OR status = $1) \
                         ORDER BY issued_at DESC, number DESC LIMIT $2"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(status.map(|s| s.as_str()))
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(invoice_row).collect()
                }

                async fn mark_paid(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    paid_on: NaiveDate,
                    reference: &str,
                ) -> StoreResult<InvoiceRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let inv = Self::invoice_in(&mut tx, id).await?;
                    let status = inv.status.mark_paid().map_err(StoreError::Conflict)?;
                    Self::set_invoice_status_in(&mut tx, &inv, status, at).await?;
                    sqlx::query(
                        "UPDATE invoices SET paid_on = $1, paid_reference = $2 WHERE id = $3",
                    )
                    .bind(paid_on.format("%Y-%m-%d").to_string())
                    .bind(reference)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "billing.invoice_paid",
                            object(inv.request_id),
                            serde_json::json!({
                                "invoice": inv.number,
                                "paid_on": paid_on.format("%Y-%m-%d").to_string(),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    let record = Self::invoice_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn mark_unpaid(&self, actor: &Actor, id: Uuid) -> StoreResult<InvoiceRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let inv = Self::invoice_in(&mut tx, id).await?;
                    let status = inv.status.mark_unpaid().map_err(StoreError::Conflict)?;
                    Self::set_invoice_status_in(&mut tx, &inv, status, at).await?;
                    sqlx::query(
                        "UPDATE invoices SET paid_on = NULL, paid_reference = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "billing.invoice_unpaid",
                            object(inv.request_id),
                            serde_json::json!({ "invoice": inv.number }),
                        ),
                        at,
                    )
                    .await?;
                    let record = Self::invoice_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }
            }
        }
    };
}
pub(crate) use impl_billing_store;
