//! The verification tables in SQL (migration 0011), written once and stamped out per backend
//! by [`impl_verification_store!`] as `sql.rs` is. See [`crate::verification`] for what each
//! method does.

macro_rules! impl_verification_store {
    ($store:ident, $db:ident) => {
        mod verification_impl {
            use std::collections::BTreeMap;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use custodian_core::verification::{
                requests_to_flag, CallbackRecord, RequestParties, RiskAssessment, Suspended,
            };
            use custodian_core::{AgencyStatus, RequestStatus, Target};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::intake_sql::ROWS_PER_INSERT;
            use $crate::report_sql::BulkImport;
            use $crate::sql::{now, parse_column, statement_chunks};
            use $crate::verification::*;
            use $crate::{
                Actor, AuditEvent, RequestRecord, StoreError, StoreResult,
            };

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;
            type Conn = <super::$db as sqlx::Database>::Connection;

            fn time(t: DateTime<Utc>) -> DateTime<Utc> {
                custodian_audit::AuditEntry::truncate_time(t)
            }

            fn digest(text: &str) -> String {
                $crate::sha256_hex(text.as_bytes())
            }

            fn risk_row(row: &DbRow) -> StoreResult<StoredRisk> {
                let json: String = row.try_get("assessment")?;
                let assessment: RiskAssessment = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("risk assessment: {e}")))?;
                let cleared_by: Option<Uuid> = row.try_get("cleared_by")?;
                let cleared_at: Option<DateTime<Utc>> = row.try_get("cleared_at")?;
                let reason: Option<String> = row.try_get("clearance_reason")?;
                let clearance = match (cleared_by, cleared_at) {
                    (Some(by), Some(at)) => Some(Clearance {
                        by,
                        at,
                        reason: reason.unwrap_or_default(),
                    }),
                    _ => None,
                };
                Ok(StoredRisk {
                    request_id: row.try_get("request_id")?,
                    assessment,
                    network: row.try_get("network")?,
                    assessed_at: row.try_get("assessed_at")?,
                    clearance,
                })
            }

            fn callback_row(row: &DbRow) -> StoreResult<StoredCallback> {
                Ok(StoredCallback {
                    id: row.try_get("id")?,
                    request_id: row.try_get("request_id")?,
                    record: CallbackRecord {
                        outcome: parse_column("outcome", &row.try_get::<String, _>("outcome")?)?,
                        directory_phone: row.try_get("directory_phone")?,
                        called_number: row.try_get("called_number")?,
                        reviewer: row.try_get("reviewer_id")?,
                        called_at: row.try_get("called_at")?,
                        spoke_with: row.try_get("spoke_with")?,
                        note: row.try_get("note")?,
                    },
                })
            }

            const RISK_COLUMNS: &str = "request_id, assessment, network, assessed_at, \
                cleared_by, cleared_at, clearance_reason";

            impl Store {
                async fn write_risk_in(
                    tx: &mut Tx,
                    request_id: Uuid,
                    a: &RiskAssessment,
                    network: Option<&str>,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let json = serde_json::to_string(a)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    sqlx::query(
                        "INSERT INTO request_risk (request_id, score, level, hard_blocked, \
                         assessment, network, assessed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (request_id) DO UPDATE SET score = excluded.score, \
                         level = excluded.level, hard_blocked = excluded.hard_blocked, \
                         assessment = excluded.assessment, assessed_at = excluded.assessed_at",
                    )
                    .bind(request_id)
                    .bind(i64::from(a.score))
                    .bind(a.level.as_str())
                    .bind(a.hard_blocked)
                    .bind(json)
                    .bind(network)
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                    Ok(())
                }

                async fn flag_in(
                    tx: &mut Tx,
                    actor: &Actor,
                    request_id: Uuid,
                    kind: &'static str,
                    text: &str,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO request_flags (request_id, kind, text, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, kind) DO UPDATE \
                         SET text = excluded.text, created_at = excluded.created_at, \
                         resolved_at = NULL",
                    )
                    .bind(request_id)
                    .bind(kind)
                    .bind(text)
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                    Self::append_audit(
                        tx,
                        actor,
                        AuditEvent::new(
                            "request.flagged",
                            format!("request:{request_id}"),
                            serde_json::json!({"flag": kind}),
                        ),
                        at,
                    )
                    .await?;
                    Ok(())
                }

                /// Marks the network `network` of `user_id` seen `times` times more (and
                /// trusted, if `trusted`).
                async fn see_network_in(
                    tx: &mut Tx,
                    user_id: Uuid,
                    network: &str,
                    trusted: bool,
                    times: i64,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO officer_networks (user_id, network, trusted, first_seen, \
                         last_seen, seen) VALUES ($1, $2, $3, $4, $4, $5) \
                         ON CONFLICT (user_id, network) DO UPDATE SET \
                         last_seen = excluded.last_seen, seen = officer_networks.seen + $5, \
                         trusted = (officer_networks.trusted OR excluded.trusted)",
                    )
                    .bind(user_id)
                    .bind(network)
                    .bind(trusted)
                    .bind(at)
                    .bind(times)
                    .execute(&mut **tx)
                    .await?;
                    Ok(())
                }

                /// Trusts the network a request came from: its call-back confirmed it or an
                /// approver cleared it.
                async fn trust_request_network_in(tx: &mut Tx, request_id: Uuid) -> StoreResult<()> {
                    let row = sqlx::query(
                        "SELECT r.submitted_by, k.network FROM requests r \
                         JOIN request_risk k ON k.request_id = r.id WHERE r.id = $1",
                    )
                    .bind(request_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if let Some(row) = row {
                        let user: Uuid = row.try_get("submitted_by")?;
                        let network: Option<String> = row.try_get("network")?;
                        if let Some(n) = network {
                            sqlx::query(
                                "UPDATE officer_networks SET trusted = $1 \
                                 WHERE user_id = $2 AND network = $3",
                            )
                            .bind(true)
                            .bind(user)
                            .bind(n)
                            .execute(&mut **tx)
                            .await?;
                        }
                    }
                    Ok(())
                }

                /// Flags the open requests a suspension covers.
                async fn flag_suspended_in(
                    tx: &mut Tx,
                    actor: &Actor,
                    who: Suspended,
                    at: DateTime<Utc>,
                ) -> StoreResult<Vec<Uuid>> {
                    let (column, id, kind) = match who {
                        Suspended::Officer(id) => ("submitted_by", id, flag_kinds::OFFICER_SUSPENDED),
                        Suspended::Agency(id) => ("agency_id", id, flag_kinds::AGENCY_SUSPENDED),
                    };
                    let rows = sqlx::query(&format!(
                        "SELECT id, submitted_by, agency_id, status FROM requests WHERE {column} = $1"
                    ))
                    .bind(id)
                    .fetch_all(&mut **tx)
                    .await?;
                    let mut parties = Vec::with_capacity(rows.len());
                    for row in &rows {
                        parties.push(RequestParties {
                            request: row.try_get("id")?,
                            officer: row.try_get("submitted_by")?,
                            agency: row.try_get("agency_id")?,
                            status: parse_column::<RequestStatus>(
                                "status",
                                &row.try_get::<String, _>("status")?,
                            )?,
                        });
                    }
                    let flagged = requests_to_flag(&who, &parties);
                    for r in &flagged {
                        Self::flag_in(tx, actor, *r, kind, who.flag_text(), at).await?;
                    }
                    Ok(flagged)
                }

                async fn resolve_flags_in(
                    tx: &mut Tx,
                    column: &str,
                    id: Uuid,
                    kind: &str,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(&format!(
                        "UPDATE request_flags SET resolved_at = $1 WHERE kind = $2 \
                         AND resolved_at IS NULL \
                         AND request_id IN (SELECT id FROM requests WHERE {column} = $3)"
                    ))
                    .bind(at)
                    .bind(kind)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                    Ok(())
                }

                /// Requests of agencies other than `agency_id` about any of `targets`,
                /// received since `since`.
                async fn same_target_requests_on(
                    conn: &mut Conn,
                    agency_id: Uuid,
                    targets: &[Target],
                    since: DateTime<Utc>,
                ) -> StoreResult<Vec<SameTargetHit>> {
                    let mut out: Vec<SameTargetHit> = Vec::new();
                    for t in targets {
                        // Two ranges of the index (kind, value, agency_id, received_at), one
                        // each side of the asking agency, so that its own requests about the
                        // target, however many, are never read.
                        let rows = sqlx::query(
                            "WITH hits AS (\
                             SELECT request_id FROM request_targets WHERE kind = $1 \
                             AND value IN ($2, $5) AND agency_id < $3 AND received_at >= $4 \
                             UNION ALL \
                             SELECT request_id FROM request_targets WHERE kind = $1 \
                             AND value IN ($2, $5) AND agency_id > $3 AND received_at >= $4) \
                             SELECT r.id, r.agency_id, a.name, r.received_at, r.status, r.emergency \
                             FROM hits h JOIN requests r ON r.id = h.request_id \
                             JOIN agencies a ON a.id = r.agency_id",
                        )
                        .bind(t.kind.as_str())
                        .bind(&t.value)
                        .bind(agency_id)
                        .bind(time(since))
                        // An address written with capitals names the same mailbox in practice.
                        .bind(t.value.to_lowercase())
                        .fetch_all(&mut *conn)
                        .await?;
                        for row in &rows {
                            let id: Uuid = row.try_get("id")?;
                            if out.iter().any(|h| h.request_id == id) {
                                continue;
                            }
                            out.push(SameTargetHit {
                                request_id: id,
                                agency_id: row.try_get("agency_id")?,
                                agency_name: row.try_get("name")?,
                                received_at: row.try_get("received_at")?,
                                status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                                emergency: row.try_get("emergency")?,
                            });
                        }
                    }
                    Ok(out)
                }

                /// The audit entry of a new request's risk assessment, which intake appends
                /// right after the request's own `request.received` (`intake_sql.rs`).
                pub(crate) fn risk_assessed_event(
                    record: &RequestRecord,
                    a: &RiskAssessment,
                ) -> AuditEvent {
                    AuditEvent::new(
                        "request.risk_assessed",
                        format!("request:{}", record.id),
                        serde_json::json!({
                            "score": a.score,
                            "level": a.level.as_str(),
                            "hard_blocked": a.hard_blocked,
                            "reasons": a.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
                        }),
                    )
                }

                /// Stores new requests' risk assessments inside the transaction that stores
                /// the requests (`intake_sql.rs`), re-flags the earlier requests they concern
                /// and records the networks they came from. The assessments go in one
                /// statement per [`ROWS_PER_INSERT`] rows and each network in one upsert,
                /// however many requests came from it: a batch of intake costs a few
                /// statements, not a few per request.
                pub(crate) async fn store_intake_risks(
                    tx: &mut Tx,
                    items: &[(&Actor, &RequestRecord, &IntakeRisk)],
                ) -> StoreResult<()> {
                    for chunk in statement_chunks(&items, ROWS_PER_INSERT) {
                        let sql = format!(
                            "INSERT INTO request_risk (request_id, score, level, hard_blocked, \
                             assessment, network, assessed_at) VALUES {}",
                            <super::$db as BulkImport>::values_list(chunk.len(), 7)
                        );
                        let mut q = sqlx::query(&sql);
                        for (_, record, risk) in chunk {
                            let a = &risk.assessment;
                            let json = serde_json::to_string(a)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            q = q
                                .bind(record.id)
                                .bind(i64::from(a.score))
                                .bind(a.level.as_str())
                                .bind(a.hard_blocked)
                                .bind(json)
                                .bind(risk.network.clone())
                                .bind(record.updated_at);
                        }
                        q.execute(&mut **tx).await?;
                    }
                    // Flags are rare (a target other agencies asked about): one by one.
                    for (actor, record, risk) in items {
                        let at = record.updated_at;
                        if let Some(text) = &risk.same_target_flag {
                            Self::flag_in(tx, actor, record.id, flag_kinds::SAME_TARGET, text, at)
                                .await?;
                        }
                        for r in &risk.reflag {
                            let had: Option<String> = sqlx::query_scalar(
                                "SELECT network FROM request_risk WHERE request_id = $1",
                            )
                            .bind(r.request_id)
                            .fetch_optional(&mut **tx)
                            .await?
                            .flatten();
                            Self::write_risk_in(tx, r.request_id, &r.assessment, had.as_deref(), at)
                                .await?;
                            Self::flag_in(tx, actor, r.request_id, flag_kinds::SAME_TARGET, &r.text, at)
                                .await?;
                        }
                    }
                    // (officer, network) -> (times seen, trusted, last seen)
                    let mut seen: BTreeMap<(Uuid, &str), (i64, bool, DateTime<Utc>)> =
                        BTreeMap::new();
                    for (_, record, risk) in items {
                        if let Some(n) = &risk.network {
                            let e = seen
                                .entry((record.submitted_by, n.as_str()))
                                .or_insert((0, false, record.updated_at));
                            e.0 += 1;
                            e.1 |= risk.trust_network;
                            e.2 = e.2.max(record.updated_at);
                        }
                    }
                    for ((user, network), (times, trusted, at)) in seen {
                        Self::see_network_in(tx, user, network, trusted, times, at).await?;
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl VerificationStore for Store {
                async fn set_agency_source(
                    &self,
                    actor: &Actor,
                    agency_id: Uuid,
                    source: &str,
                    checked_at: DateTime<Utc>,
                ) -> StoreResult<AgencySource> {
                    let at = now();
                    let checked_at = time(checked_at);
                    let mut tx = self.writer().begin().await?;
                    let exists: Option<Uuid> =
                        sqlx::query_scalar("SELECT id FROM agencies WHERE id = $1")
                            .bind(agency_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    exists.ok_or(StoreError::NotFound)?;
                    sqlx::query(
                        "INSERT INTO agency_sources (agency_id, source, checked_at, recorded_by, \
                         recorded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agency_id) DO \
                         UPDATE SET source = excluded.source, checked_at = excluded.checked_at, \
                         recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                    )
                    .bind(agency_id)
                    .bind(source)
                    .bind(checked_at)
                    .bind(actor.label())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "agency.source_recorded",
                            format!("agency:{agency_id}"),
                            serde_json::json!({
                                "source_sha256": digest(source),
                                "checked_at": checked_at.to_rfc3339(),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(AgencySource {
                        agency_id,
                        source: source.to_string(),
                        checked_at,
                        recorded_by: actor.label(),
                        recorded_at: at,
                    })
                }

                async fn agency_source(&self, agency_id: Uuid) -> StoreResult<Option<AgencySource>> {
                    let row = sqlx::query(
                        "SELECT agency_id, source, checked_at, recorded_by, recorded_at \
                         FROM agency_sources WHERE agency_id = $1",
                    )
                    .bind(agency_id)
                    .fetch_optional(self.reader())
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    Ok(Some(AgencySource {
                        agency_id: row.try_get("agency_id")?,
                        source: row.try_get("source")?,
                        checked_at: row.try_get("checked_at")?,
                        recorded_by: row.try_get("recorded_by")?,
                        recorded_at: row.try_get("recorded_at")?,
                    }))
                }

                async fn intake_facts(
                    &self,
                    user_id: Uuid,
                    count_up_to: u32,
                    agency_id: Uuid,
                    targets: &[Target],
                    since: DateTime<Utc>,
                ) -> StoreResult<IntakeFacts> {
                    // One connection and three statements for all of it: each trip through
                    // the pool costs a ping of the connection on its return, each statement a
                    // round trip, and intake asks this every time.
                    let mut conn = self.reader().acquire().await?;
                    // The officer's earlier requests are counted through their index and only
                    // as far as asked: a busy officer's history must not slow intake.
                    let row = sqlx::query(
                        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM requests \
                         WHERE submitted_by = $1 LIMIT $2) AS a) AS n, \
                         (SELECT COUNT(*) FROM (SELECT 1 FROM requests \
                         WHERE submitted_by = $1 AND emergency LIMIT 1) AS b) AS e, \
                         (SELECT COUNT(*) FROM officer_suspensions WHERE user_id = $1) AS s, \
                         (SELECT checked_at FROM agency_sources WHERE agency_id = $3) AS checked",
                    )
                    .bind(user_id)
                    .bind(i64::from(count_up_to.max(1)))
                    .bind(agency_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    let n: i64 = row.try_get("n")?;
                    let e: i64 = row.try_get("e")?;
                    let s: i64 = row.try_get("s")?;
                    // Two lists in one statement: the officer's trusted networks and every
                    // verified agency's e-mail domains.
                    let lists = sqlx::query(
                        "SELECT 'network' AS list, network AS item FROM officer_networks \
                         WHERE user_id = $1 AND trusted = $2 \
                         UNION ALL SELECT 'domain' AS list, d.domain AS item \
                         FROM agency_domains d JOIN agencies a ON a.id = d.agency_id \
                         WHERE a.status = $3 ORDER BY list, item",
                    )
                    .bind(user_id)
                    .bind(true)
                    .bind(AgencyStatus::Verified.as_str())
                    .fetch_all(&mut *conn)
                    .await?;
                    let (mut known_networks, mut verified_domains) = (Vec::new(), Vec::new());
                    for row in &lists {
                        let item: String = row.try_get("item")?;
                        match row.try_get::<String, _>("list")?.as_str() {
                            "network" => known_networks.push(item),
                            _ => verified_domains.push(item),
                        }
                    }
                    Ok(IntakeFacts {
                        history: OfficerHistory {
                            previous_requests: u32::try_from(n).unwrap_or(u32::MAX),
                            has_sent_emergency: e > 0,
                            known_networks,
                            suspended: s > 0,
                        },
                        source_checked_at: row.try_get("checked")?,
                        verified_domains,
                        same_target: Self::same_target_requests_on(
                            &mut conn, agency_id, targets, since,
                        )
                        .await?,
                    })
                }

                async fn officer_networks(&self, user_id: Uuid) -> StoreResult<Vec<OfficerNetwork>> {
                    let rows = sqlx::query(
                        "SELECT network, trusted, first_seen, last_seen, seen FROM officer_networks \
                         WHERE user_id = $1 ORDER BY last_seen DESC, network",
                    )
                    .bind(user_id)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(OfficerNetwork {
                                network: row.try_get("network")?,
                                trusted: row.try_get("trusted")?,
                                first_seen: row.try_get("first_seen")?,
                                last_seen: row.try_get("last_seen")?,
                                seen: u64::try_from(row.try_get::<i64, _>("seen")?).unwrap_or(0),
                            })
                        })
                        .collect()
                }

                async fn record_sign_in_network(
                    &self,
                    user_id: Uuid,
                    network: &str,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await?;
                    let trusted: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM officer_networks WHERE user_id = $1 AND trusted = $2",
                    )
                    .bind(user_id)
                    .bind(true)
                    .fetch_one(&mut *tx)
                    .await?;
                    Self::see_network_in(&mut tx, user_id, network, trusted == 0, 1, time(at)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn risk(&self, request_id: Uuid) -> StoreResult<Option<StoredRisk>> {
                    let row = sqlx::query(&format!(
                        "SELECT {RISK_COLUMNS} FROM request_risk WHERE request_id = $1"
                    ))
                    .bind(request_id)
                    .fetch_optional(self.reader())
                    .await?;
                    row.as_ref().map(risk_row).transpose()
                }

                async fn risk_summaries(&self, ids: &[Uuid]) -> StoreResult<Vec<RiskSummary>> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let marks = (1..=ids.len())
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "SELECT request_id, score, level, hard_blocked, cleared_at \
                         FROM request_risk WHERE request_id IN ({marks})"
                    );
                    let mut q = sqlx::query(&sql);
                    for id in ids {
                        q = q.bind(*id);
                    }
                    let rows = q.fetch_all(self.reader()).await?;
                    let sql = format!(
                        "SELECT request_id, kind FROM request_flags WHERE resolved_at IS NULL \
                         AND request_id IN ({marks}) ORDER BY kind"
                    );
                    let mut q = sqlx::query(&sql);
                    for id in ids {
                        q = q.bind(*id);
                    }
                    let flag_rows = q.fetch_all(self.reader()).await?;
                    let mut flags: Vec<(Uuid, String)> = Vec::new();
                    for row in &flag_rows {
                        flags.push((row.try_get("request_id")?, row.try_get("kind")?));
                    }
                    let mut out = Vec::new();
                    for id in ids {
                        let row = rows
                            .iter()
                            .find(|r| r.try_get::<Uuid, _>("request_id").ok() == Some(*id));
                        let mine: Vec<String> = flags
                            .iter()
                            .filter(|(r, _)| r == id)
                            .map(|(_, k)| k.clone())
                            .collect();
                        let (score, level, hard, cleared) = match row {
                            Some(row) => (
                                u32::try_from(row.try_get::<i64, _>("score")?).unwrap_or(0),
                                parse_column("level", &row.try_get::<String, _>("level")?)?,
                                row.try_get("hard_blocked")?,
                                row.try_get::<Option<DateTime<Utc>>, _>("cleared_at")?.is_some(),
                            ),
                            None if mine.is_empty() => continue,
                            None => (0, custodian_core::verification::RiskLevel::Low, false, false),
                        };
                        out.push(RiskSummary {
                            request_id: *id,
                            score,
                            level,
                            hard_blocked: hard,
                            cleared,
                            flags: mine,
                        });
                    }
                    Ok(out)
                }

                async fn flags(&self, request_id: Uuid) -> StoreResult<Vec<RequestFlag>> {
                    let rows = sqlx::query(
                        "SELECT request_id, kind, text, created_at, resolved_at FROM request_flags \
                         WHERE request_id = $1 ORDER BY created_at, kind",
                    )
                    .bind(request_id)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(RequestFlag {
                                request_id: row.try_get("request_id")?,
                                kind: row.try_get("kind")?,
                                text: row.try_get("text")?,
                                created_at: row.try_get("created_at")?,
                                resolved_at: row.try_get("resolved_at")?,
                            })
                        })
                        .collect()
                }

                async fn record_callback(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    record: &CallbackRecord,
                ) -> StoreResult<StoredCallback> {
                    let at = now();
                    let id = Uuid::new_v4();
                    let mut record = record.clone();
                    record.called_at = time(record.called_at);
                    let mut tx = self.writer().begin().await?;
                    let exists: Option<Uuid> =
                        sqlx::query_scalar("SELECT id FROM requests WHERE id = $1")
                            .bind(request_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    exists.ok_or(StoreError::NotFound)?;
                    sqlx::query(
                        "INSERT INTO callbacks (id, request_id, outcome, directory_phone, \
                         called_number, reviewer_id, called_at, spoke_with, note) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(id)
                    .bind(request_id)
                    .bind(record.outcome.as_str())
                    .bind(&record.directory_phone)
                    .bind(&record.called_number)
                    .bind(record.reviewer)
                    .bind(record.called_at)
                    .bind(&record.spoke_with)
                    .bind(&record.note)
                    .execute(&mut *tx)
                    .await?;
                    let confirmed = record.outcome
                        == custodian_core::verification::CallbackOutcome::Confirmed
                        && record.called_directory_number();
                    if confirmed {
                        Self::trust_request_network_in(&mut tx, request_id).await?;
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "request.callback_recorded",
                            format!("request:{request_id}"),
                            serde_json::json!({
                                "outcome": record.outcome.as_str(),
                                "called_directory_number": record.called_directory_number(),
                                "called_sha256": digest(&record.called_number),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(StoredCallback {
                        id,
                        request_id,
                        record,
                    })
                }

                async fn callbacks(&self, request_id: Uuid) -> StoreResult<Vec<StoredCallback>> {
                    let rows = sqlx::query(
                        "SELECT id, request_id, outcome, directory_phone, called_number, \
                         reviewer_id, called_at, spoke_with, note FROM callbacks \
                         WHERE request_id = $1 ORDER BY called_at, id",
                    )
                    .bind(request_id)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(callback_row).collect()
                }

                async fn clear_risk(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    reason: &str,
                ) -> StoreResult<StoredRisk> {
                    let by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let row = sqlx::query(&format!(
                        "SELECT {RISK_COLUMNS} FROM request_risk WHERE request_id = $1"
                    ))
                    .bind(request_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let stored = risk_row(&row)?;
                    if stored.clearance.is_some() {
                        return Err(StoreError::Conflict("the risk is already cleared".into()));
                    }
                    let changed = sqlx::query(
                        "UPDATE request_risk SET cleared_by = $1, cleared_at = $2, \
                         clearance_reason = $3 WHERE request_id = $4 AND cleared_at IS NULL",
                    )
                    .bind(by)
                    .bind(at)
                    .bind(reason)
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::Conflict("the risk is already cleared".into()));
                    }
                    Self::trust_request_network_in(&mut tx, request_id).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "request.risk_cleared",
                            format!("request:{request_id}"),
                            serde_json::json!({
                                "score": stored.assessment.score,
                                "reason_sha256": digest(reason),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(StoredRisk {
                        clearance: Some(Clearance {
                            by,
                            at,
                            reason: reason.to_string(),
                        }),
                        ..stored
                    })
                }

                async fn suspend_officer(
                    &self,
                    actor: &Actor,
                    user_id: Uuid,
                    reason: &str,
                ) -> StoreResult<Vec<Uuid>> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let exists: Option<Uuid> =
                        sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                            .bind(user_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    exists.ok_or(StoreError::NotFound)?;
                    let inserted = sqlx::query(
                        "INSERT INTO officer_suspensions (user_id, reason, suspended_by, \
                         suspended_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(reason)
                    .bind(actor.label())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    if inserted.rows_affected() != 1 {
                        return Err(StoreError::Conflict("the officer is already suspended".into()));
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "user.suspended",
                            format!("user:{user_id}"),
                            serde_json::json!({"reason_sha256": digest(reason)}),
                        ),
                        at,
                    )
                    .await?;
                    let flagged =
                        Self::flag_suspended_in(&mut tx, actor, Suspended::Officer(user_id), at).await?;
                    tx.commit().await?;
                    Ok(flagged)
                }

                async fn lift_officer_suspension(
                    &self,
                    actor: &Actor,
                    user_id: Uuid,
                    reason: &str,
                ) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let gone = sqlx::query("DELETE FROM officer_suspensions WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    if gone.rows_affected() != 1 {
                        return Err(StoreError::NotFound);
                    }
                    Self::resolve_flags_in(&mut tx, "submitted_by", user_id, flag_kinds::OFFICER_SUSPENDED, at)
                        .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "user.suspension_lifted",
                            format!("user:{user_id}"),
                            serde_json::json!({"reason_sha256": digest(reason)}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn officer_suspension(
                    &self,
                    user_id: Uuid,
                ) -> StoreResult<Option<OfficerSuspension>> {
                    let row = sqlx::query(
                        "SELECT user_id, reason, suspended_by, suspended_at \
                         FROM officer_suspensions WHERE user_id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(self.reader())
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    Ok(Some(OfficerSuspension {
                        user_id: row.try_get("user_id")?,
                        reason: row.try_get("reason")?,
                        suspended_by: row.try_get("suspended_by")?,
                        suspended_at: row.try_get("suspended_at")?,
                    }))
                }

                async fn suspend_agency(
                    &self,
                    actor: &Actor,
                    agency_id: Uuid,
                    reason: &str,
                ) -> StoreResult<Vec<Uuid>> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let old: String =
                        sqlx::query_scalar("SELECT status FROM agencies WHERE id = $1")
                            .bind(agency_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                    sqlx::query("UPDATE agencies SET status = $1 WHERE id = $2")
                        .bind(AgencyStatus::Suspended.as_str())
                        .bind(agency_id)
                        .execute(&mut *tx)
                        .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "agency.status_changed",
                            format!("agency:{agency_id}"),
                            serde_json::json!({
                                "from": old,
                                "to": AgencyStatus::Suspended.as_str(),
                                "reason_sha256": digest(reason),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    let flagged =
                        Self::flag_suspended_in(&mut tx, actor, Suspended::Agency(agency_id), at).await?;
                    tx.commit().await?;
                    Ok(flagged)
                }

                async fn lift_agency_suspension(
                    &self,
                    actor: &Actor,
                    agency_id: Uuid,
                    reason: &str,
                ) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let old: String =
                        sqlx::query_scalar("SELECT status FROM agencies WHERE id = $1")
                            .bind(agency_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                    sqlx::query("UPDATE agencies SET status = $1 WHERE id = $2")
                        .bind(AgencyStatus::Verified.as_str())
                        .bind(agency_id)
                        .execute(&mut *tx)
                        .await?;
                    Self::resolve_flags_in(&mut tx, "agency_id", agency_id, flag_kinds::AGENCY_SUSPENDED, at)
                        .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "agency.status_changed",
                            format!("agency:{agency_id}"),
                            serde_json::json!({
                                "from": old,
                                "to": AgencyStatus::Verified.as_str(),
                                "reason_sha256": digest(reason),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use impl_verification_store;
