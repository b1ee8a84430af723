//! The paging tables in SQL (migration 0010), written once and stamped out per backend by
//! [`impl_paging_store!`] as `sql.rs` is. See [`crate::paging`] for what each method does.
//!
//! Two hooks are called from the request store's own transactions: [`emergency_intake_in`]
//! when a request is stored (an emergency starts paging; a request that follows an emergency
//! is linked to it) and [`first_answer_in`] when the agency first sees something from the
//! provider (a message, a letter, a decision, a production).

macro_rules! impl_paging_store {
    ($store:ident, $db:ident) => {
        mod paging_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Duration, NaiveTime, Utc};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::paging::job_kinds::*;
            use $crate::paging::*;
            use $crate::sql::parse_column;
            use $crate::{
                Actor, AuditEvent, NewJob, NewMail, RequestRecord, Scope, StoreError,
                StoreResult,
            };

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn small(v: i64) -> u32 {
                u32::try_from(v).unwrap_or(0)
            }

            fn minute_of_day(v: Option<i64>) -> Option<NaiveTime> {
                let v = u32::try_from(v?).ok()?;
                NaiveTime::from_hms_opt(v / 60 % 24, v % 60, 0)
            }

            fn minutes(t: NaiveTime) -> i64 {
                i64::from(chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t))
            }

            fn days_text(days: &[u32]) -> String {
                days.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }

            fn days_of(raw: &str) -> Vec<u32> {
                raw.split(',')
                    .filter_map(|d| d.trim().parse().ok())
                    .collect()
            }

            fn request_object(id: Uuid) -> String {
                format!("request:{id}")
            }

            fn paging_actor() -> Actor {
                Actor::System("paging".into())
            }

            fn clip(s: &str) -> String {
                s.chars().take(500).collect()
            }

            fn entry_row(row: &DbRow) -> StoreResult<OnCallEntry> {
                let from = minute_of_day(row.try_get("window_start")?);
                let until = minute_of_day(row.try_get("window_end")?);
                Ok(OnCallEntry {
                    id: row.try_get("id")?,
                    tier: parse_column("tier", &row.try_get::<String, _>("tier")?)?,
                    position: small(row.try_get("position")?),
                    user_id: row.try_get("user_id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    window: match (from, until) {
                        (Some(from), Some(until)) => Some(DayWindow { from, until }),
                        _ => None,
                    },
                })
            }

            const EMERGENCY_SELECT: &str = "SELECT e.request_id, e.agency_id, e.status, \
                 e.rounds, e.paged_at, e.escalated_at, e.acknowledged_by, e.acknowledged_at, \
                 e.first_answer_at, e.first_answer_kind, e.followup_request_id, e.followup_at, \
                 e.reminders_sent, r.number, r.received_at, r.respond_by, \
                 u.name AS ack_name, f.number AS followup_number \
                 FROM emergencies e JOIN requests r ON r.id = e.request_id \
                 LEFT JOIN users u ON u.id = e.acknowledged_by \
                 LEFT JOIN requests f ON f.id = e.followup_request_id";

            fn emergency_row(row: &DbRow) -> StoreResult<EmergencyRecord> {
                Ok(EmergencyRecord {
                    request_id: row.try_get("request_id")?,
                    number: row.try_get("number")?,
                    agency_id: row.try_get("agency_id")?,
                    status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                    received_at: row.try_get("received_at")?,
                    respond_by: row.try_get("respond_by")?,
                    rounds: small(row.try_get("rounds")?),
                    paged_at: row.try_get("paged_at")?,
                    escalated_at: row.try_get("escalated_at")?,
                    acknowledged_by: row.try_get("acknowledged_by")?,
                    acknowledged_by_name: row.try_get("ack_name")?,
                    acknowledged_at: row.try_get("acknowledged_at")?,
                    first_answer_at: row.try_get("first_answer_at")?,
                    first_answer_kind: row.try_get("first_answer_kind")?,
                    followup_request_id: row.try_get("followup_request_id")?,
                    followup_number: row.try_get("followup_number")?,
                    followup_at: row.try_get("followup_at")?,
                    reminders_sent: small(row.try_get("reminders_sent")?),
                })
            }

            /// An emergency's paging state and what a page says about it.
            struct State {
                status: String,
                rounds: u32,
                paged_at: Option<DateTime<Utc>>,
                escalated_at: Option<DateTime<Utc>>,
                facts: PageFacts,
            }

            impl Store {
                async fn settings_in(tx: &mut Tx) -> StoreResult<PagingSettings> {
                    let row = sqlx::query(
                        "SELECT webhook_url, webhook_secret, secret_set_at, repage_minutes, \
                         escalate_minutes, followup_reminder_days, updated_at \
                         FROM paging_settings WHERE id = 1",
                    )
                    .fetch_optional(&mut **tx)
                    .await?;
                    let Some(row) = row else {
                        return Ok(PagingSettings::default());
                    };
                    Ok(PagingSettings {
                        webhook_url: row.try_get("webhook_url")?,
                        webhook_secret: row.try_get("webhook_secret")?,
                        secret_set_at: row.try_get("secret_set_at")?,
                        repage_minutes: small(row.try_get("repage_minutes")?),
                        escalate_minutes: small(row.try_get("escalate_minutes")?),
                        followup_reminder_days: days_of(
                            &row.try_get::<String, _>("followup_reminder_days")?,
                        ),
                        updated_at: row.try_get("updated_at")?,
                    })
                }

                async fn rota_in(tx: &mut Tx) -> StoreResult<Vec<OnCallEntry>> {
                    let rows = sqlx::query(
                        "SELECT o.id, o.tier, o.position, o.user_id, o.window_start, \
                         o.window_end, u.name, u.email FROM on_call o \
                         JOIN users u ON u.id = o.user_id WHERE u.active = $1 \
                         ORDER BY o.tier, o.position",
                    )
                    .bind(true)
                    .fetch_all(&mut **tx)
                    .await?;
                    rows.iter().map(entry_row).collect()
                }

                async fn facts_in(tx: &mut Tx, request_id: Uuid) -> StoreResult<State> {
                    let row = sqlx::query(
                        "SELECT e.status, e.rounds, e.paged_at, e.escalated_at, r.number, \
                         r.received_at, r.respond_by, a.name AS agency FROM emergencies e \
                         JOIN requests r ON r.id = e.request_id \
                         JOIN agencies a ON a.id = e.agency_id WHERE e.request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let escalated_at: Option<DateTime<Utc>> = row.try_get("escalated_at")?;
                    let rounds = small(row.try_get("rounds")?);
                    Ok(State {
                        status: row.try_get("status")?,
                        rounds,
                        paged_at: row.try_get("paged_at")?,
                        escalated_at,
                        facts: PageFacts {
                            request_id,
                            number: row.try_get("number")?,
                            agency: row.try_get("agency")?,
                            received_at: row.try_get("received_at")?,
                            respond_by: row.try_get("respond_by")?,
                            round: rounds,
                            escalated: escalated_at.is_some(),
                        },
                    })
                }

                #[allow(clippy::too_many_arguments)]
                async fn attempt_in(
                    tx: &mut Tx,
                    request_id: Uuid,
                    round: u32,
                    tier: &str,
                    user_id: Option<Uuid>,
                    channel: PageChannel,
                    result: AttemptResult,
                    mail_id: Option<Uuid>,
                    now: DateTime<Utc>,
                ) -> StoreResult<Uuid> {
                    let id = Uuid::new_v4();
                    sqlx::query(
                        "INSERT INTO page_attempts (id, request_id, round, tier, user_id, \
                         channel, at, result, mail_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(id)
                    .bind(request_id)
                    .bind(i64::from(round))
                    .bind(tier)
                    .bind(user_id)
                    .bind(channel.as_str())
                    .bind(now)
                    .bind(result.as_str())
                    .bind(mail_id)
                    .execute(&mut **tx)
                    .await?;
                    Ok(id)
                }

                /// The emergency an agency's request follows, by number or id, inside `tx`.
                async fn followed_in(
                    tx: &mut Tx,
                    agency_id: Uuid,
                    reference: &str,
                ) -> StoreResult<Option<Uuid>> {
                    let reference = reference.trim();
                    let id = Uuid::parse_str(reference).ok();
                    Ok(sqlx::query_scalar(
                        "SELECT r.id FROM requests r JOIN emergencies e ON e.request_id = r.id \
                         WHERE (r.number = $1 OR r.id = $2) AND r.agency_id = $3",
                    )
                    .bind(reference)
                    .bind(id)
                    .bind(agency_id)
                    .fetch_optional(&mut **tx)
                    .await?)
                }

                /// Called by `insert_request` in the request's own transaction: an emergency
                /// gets its paging row and its first round of pages, due at once; a request
                /// that follows an emergency is linked to it.
                pub(crate) async fn emergency_intake_in(
                    tx: &mut Tx,
                    actor: &Actor,
                    record: &RequestRecord,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    if record.emergency {
                        sqlx::query(
                            "INSERT INTO emergencies (request_id, agency_id, status, rounds, \
                             created_at) VALUES ($1, $2, 'paging', 0, $3)",
                        )
                        .bind(record.id)
                        .bind(record.agency_id)
                        .bind(at)
                        .execute(&mut **tx)
                        .await?;
                        let job = NewJob::new(
                            PAGE,
                            serde_json::json!({ "request_id": record.id }),
                            record.received_at.min(at),
                        )
                        .attempts(50)
                        .once(format!("emergency-page:{}:1", record.id));
                        Self::enqueue_job_in(tx, &job, at).await?;
                    }
                    if let Some(reference) = &record.intake.follows_emergency {
                        let followed = Self::followed_in(tx, record.agency_id, reference)
                            .await?
                            .filter(|f| *f != record.id)
                            .ok_or_else(|| {
                                StoreError::Conflict(format!(
                                    "follows_emergency: '{reference}' is not an emergency request \
                                     of this agency"
                                ))
                            })?;
                        let linked = sqlx::query(
                            "UPDATE emergencies SET followup_request_id = $1, followup_at = $2 \
                             WHERE request_id = $3 AND followup_request_id IS NULL",
                        )
                        .bind(record.id)
                        .bind(at)
                        .bind(followed)
                        .execute(&mut **tx)
                        .await?;
                        Self::append_audit(
                            tx,
                            actor,
                            AuditEvent::new(
                                "emergency.followed",
                                request_object(followed),
                                serde_json::json!({
                                    "by": record.id.to_string(),
                                    "number": record.number,
                                    "first": linked.rows_affected() == 1,
                                }),
                            ),
                            at,
                        )
                        .await?;
                    }
                    Ok(())
                }

                /// Called where the agency first sees something from the provider about a
                /// request (`message`, `letter`, `decision`, `production`): stamps an
                /// emergency's first answer once. A decision or a production starts the
                /// reminders that legal process must follow.
                pub(crate) async fn first_answer_in(
                    tx: &mut Tx,
                    request_id: Uuid,
                    kind: &str,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let stamped = sqlx::query(
                        "UPDATE emergencies SET first_answer_at = $1, first_answer_kind = $2 \
                         WHERE request_id = $3 AND first_answer_at IS NULL",
                    )
                    .bind(at)
                    .bind(kind)
                    .bind(request_id)
                    .execute(&mut **tx)
                    .await?;
                    if stamped.rows_affected() == 1 {
                        Self::append_audit(
                            tx,
                            &paging_actor(),
                            AuditEvent::new(
                                "emergency.first_answer",
                                request_object(request_id),
                                serde_json::json!({ "kind": kind }),
                            ),
                            at,
                        )
                        .await?;
                    }
                    if kind == "decision" || kind == "production" {
                        let due = sqlx::query(
                            "UPDATE emergencies SET followup_due_from = $1 \
                             WHERE request_id = $2 AND followup_due_from IS NULL \
                             AND followup_request_id IS NULL",
                        )
                        .bind(at)
                        .bind(request_id)
                        .execute(&mut **tx)
                        .await?;
                        if due.rows_affected() == 1 {
                            let settings = Self::settings_in(tx).await?;
                            for (n, days) in settings.followup_reminder_days.iter().enumerate() {
                                let job = NewJob::new(
                                    FOLLOWUP_REMINDER,
                                    serde_json::json!({ "request_id": request_id, "n": n + 1 }),
                                    at + Duration::days(i64::from(*days)),
                                )
                                .once(format!("emergency-followup:{request_id}:{}", n + 1));
                                Self::enqueue_job_in(tx, &job, at).await?;
                            }
                        }
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl PagingStore for Store {
                async fn rota(&self) -> StoreResult<Vec<OnCallEntry>> {
                    let mut tx = self.reader().begin().await?;
                    let rota = Self::rota_in(&mut tx).await?;
                    tx.commit().await?;
                    Ok(rota)
                }

                async fn set_rota(
                    &self,
                    actor: &Actor,
                    entries: &[NewOnCall],
                ) -> StoreResult<Vec<OnCallEntry>> {
                    let at = $crate::sql::now();
                    let mut tx = self.writer().begin().await?;
                    sqlx::query("DELETE FROM on_call").execute(&mut *tx).await?;
                    let mut positions = [0i64; 2];
                    let mut logged = Vec::with_capacity(entries.len());
                    for e in entries {
                        let slot = match e.tier {
                            OnCallTier::Primary => 0,
                            OnCallTier::Secondary => 1,
                        };
                        positions[slot] += 1;
                        sqlx::query(
                            "INSERT INTO on_call (id, tier, position, user_id, window_start, \
                             window_end, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(Uuid::new_v4())
                        .bind(e.tier.as_str())
                        .bind(positions[slot])
                        .bind(e.user_id)
                        .bind(e.window.map(|w| minutes(w.from)))
                        .bind(e.window.map(|w| minutes(w.until)))
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        logged.push(serde_json::json!({
                            "tier": e.tier.as_str(),
                            "user": e.user_id.to_string(),
                            "window": e.window.map(|w| format!("{}-{}", w.from.format("%H:%M"), w.until.format("%H:%M"))),
                        }));
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "on_call.rota_set",
                            "on_call:rota",
                            serde_json::json!({ "entries": logged }),
                        ),
                        at,
                    )
                    .await?;
                    let rota = Self::rota_in(&mut tx).await?;
                    tx.commit().await?;
                    Ok(rota)
                }

                async fn settings(&self) -> StoreResult<PagingSettings> {
                    let mut tx = self.reader().begin().await?;
                    let s = Self::settings_in(&mut tx).await?;
                    tx.commit().await?;
                    Ok(s)
                }

                async fn update_settings(
                    &self,
                    actor: &Actor,
                    update: &SettingsUpdate,
                ) -> StoreResult<PagingSettings> {
                    let at = $crate::sql::now();
                    let mut tx = self.writer().begin().await?;
                    let mut s = Self::settings_in(&mut tx).await?;
                    let webhook = match &update.webhook_url {
                        None => "unchanged",
                        Some(None) => "removed",
                        Some(Some(_)) => "set",
                    };
                    if let Some(url) = &update.webhook_url {
                        s.webhook_url = url.clone();
                    }
                    if let Some(secret) = &update.webhook_secret {
                        s.webhook_secret = Some(secret.clone());
                        s.secret_set_at = Some(at);
                    }
                    if let Some(m) = update.repage_minutes {
                        s.repage_minutes = m;
                    }
                    if let Some(m) = update.escalate_minutes {
                        s.escalate_minutes = m;
                    }
                    if let Some(d) = &update.followup_reminder_days {
                        s.followup_reminder_days = d.clone();
                    }
                    sqlx::query(
                        "INSERT INTO paging_settings (id, webhook_url, webhook_secret, \
                         secret_set_at, repage_minutes, escalate_minutes, \
                         followup_reminder_days, updated_at) \
                         VALUES (1, $1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (id) DO UPDATE SET webhook_url = $1, webhook_secret = $2, \
                         secret_set_at = $3, repage_minutes = $4, escalate_minutes = $5, \
                         followup_reminder_days = $6, updated_at = $7",
                    )
                    .bind(&s.webhook_url)
                    .bind(&s.webhook_secret)
                    .bind(s.secret_set_at)
                    .bind(i64::from(s.repage_minutes))
                    .bind(i64::from(s.escalate_minutes))
                    .bind(days_text(&s.followup_reminder_days))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    // Neither the address (it may carry a token) nor the secret is logged.
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "paging.settings_changed",
                            "paging:settings",
                            serde_json::json!({
                                "webhook": webhook,
                                "secret_changed": update.webhook_secret.is_some(),
                                "repage_minutes": s.repage_minutes,
                                "escalate_minutes": s.escalate_minutes,
                                "followup_reminder_days": s.followup_reminder_days,
                            }),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    s.updated_at = Some(at);
                    Ok(s)
                }

                async fn emergency(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Option<EmergencyRecord>> {
                    let sql = format!(
                        "{EMERGENCY_SELECT} WHERE e.request_id = $1 \
                         AND ($2 IS NULL OR e.agency_id = $2)"
                    );
                    let row = sqlx::query(&sql)
                        .bind(request_id)
                        .bind(scope.agency())
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(emergency_row).transpose()
                }

                async fn attempts(&self, request_id: Uuid) -> StoreResult<Vec<PageAttempt>> {
                    let rows = sqlx::query(
                        "SELECT p.id, p.round, p.tier, p.user_id, p.channel, p.at, p.result, \
                         p.detail, p.finished_at, u.name AS user_name, m.status AS mail_status, \
                         m.sent_at AS mail_sent_at, m.last_error AS mail_error \
                         FROM page_attempts p LEFT JOIN users u ON u.id = p.user_id \
                         LEFT JOIN mail_outbox m ON m.id = p.mail_id \
                         WHERE p.request_id = $1 ORDER BY p.at, p.round, p.channel, p.id",
                    )
                    .bind(request_id)
                    .fetch_all(self.reader())
                    .await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let mut result: AttemptResult =
                            parse_column("result", &row.try_get::<String, _>("result")?)?;
                        let mut detail: Option<String> = row.try_get("detail")?;
                        let mut finished_at: Option<DateTime<Utc>> = row.try_get("finished_at")?;
                        let mail_status: Option<String> = row.try_get("mail_status")?;
                        match mail_status.as_deref() {
                            Some("sent") => {
                                result = AttemptResult::Delivered;
                                finished_at = row.try_get("mail_sent_at")?;
                            }
                            Some("failed") => {
                                result = AttemptResult::Failed;
                                detail = row.try_get("mail_error")?;
                            }
                            _ => {}
                        }
                        out.push(PageAttempt {
                            id: row.try_get("id")?,
                            round: small(row.try_get("round")?),
                            tier: row.try_get("tier")?,
                            user_id: row.try_get("user_id")?,
                            user_name: row.try_get("user_name")?,
                            channel: parse_column("channel", &row.try_get::<String, _>("channel")?)?,
                            at: row.try_get("at")?,
                            result,
                            detail,
                            finished_at,
                        });
                    }
                    Ok(out)
                }

                async fn find_followed(
                    &self,
                    agency_id: Uuid,
                    reference: &str,
                ) -> StoreResult<Option<Uuid>> {
                    let mut tx = self.reader().begin().await?;
                    let found = Self::followed_in(&mut tx, agency_id, reference).await?;
                    tx.commit().await?;
                    Ok(found)
                }

                async fn page_round(
                    &self,
                    request_id: Uuid,
                    public_url: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<Round>> {
                    let mut tx = self.writer().begin().await?;
                    let State {
                        status,
                        rounds,
                        paged_at,
                        escalated_at,
                        mut facts,
                    } = Self::facts_in(&mut tx, request_id).await?;
                    if status != EmergencyStatus::Paging.as_str() {
                        return Ok(None);
                    }
                    let settings = Self::settings_in(&mut tx).await?;
                    let rota = Self::rota_in(&mut tx).await?;
                    let since = paged_at.unwrap_or(now);
                    let escalate_at = since + Duration::minutes(i64::from(settings.escalate_minutes));
                    let escalated = escalated_at.is_some() || now >= escalate_at;
                    let round = rounds + 1;
                    facts.round = round;
                    facts.escalated = escalated;

                    let primary = on_call_at(&rota, OnCallTier::Primary, now);
                    let secondary = on_call_at(&rota, OnCallTier::Secondary, now)
                        .filter(|s| !primary.is_some_and(|p| p.user_id == s.user_id));
                    let mut paged: Vec<(&str, &OnCallEntry)> = Vec::new();
                    if let Some(p) = primary {
                        paged.push(("primary", p));
                    }
                    if let Some(s) = secondary {
                        if escalated || primary.is_none() {
                            paged.push(("secondary", s));
                        }
                    }
                    let link = format!("{}/review/requests/{request_id}", public_url.trim_end_matches('/'));
                    let (subject, body) = page_mail_text(&facts, &link);
                    for (tier, who) in &paged {
                        let mail_id = Self::queue_mail_in(
                            &mut tx,
                            &paging_actor(),
                            &NewMail {
                                kind: PAGE_MAIL.into(),
                                recipient: who.email.clone(),
                                subject: subject.clone(),
                                body_text: body.clone(),
                                request_id: Some(request_id),
                                send_after: None,
                            },
                            now,
                        )
                        .await?;
                        Self::attempt_in(
                            &mut tx,
                            request_id,
                            round,
                            tier,
                            Some(who.user_id),
                            PageChannel::Email,
                            AttemptResult::Queued,
                            Some(mail_id),
                            now,
                        )
                        .await?;
                    }
                    let webhook = match &settings.webhook_url {
                        Some(url) => Some(WebhookCall {
                            attempt_id: Self::attempt_in(
                                &mut tx,
                                request_id,
                                round,
                                if escalated { "escalated" } else { "team" },
                                None,
                                PageChannel::Webhook,
                                AttemptResult::Sending,
                                None,
                                now,
                            )
                            .await?,
                            url: url.clone(),
                            secret: settings.webhook_secret.clone(),
                            facts: facts.clone(),
                        }),
                        None => None,
                    };
                    sqlx::query(
                        "UPDATE emergencies SET rounds = $1, \
                         paged_at = COALESCE(paged_at, $2), \
                         escalated_at = CASE WHEN $3 AND escalated_at IS NULL THEN $2 \
                         ELSE escalated_at END WHERE request_id = $4",
                    )
                    .bind(i64::from(round))
                    .bind(now)
                    .bind(escalated)
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
                    let repage = now + Duration::minutes(i64::from(settings.repage_minutes.max(1)));
                    let next = if escalated { repage } else { repage.min(escalate_at) };
                    let job = NewJob::new(PAGE, serde_json::json!({ "request_id": request_id }), next)
                        .attempts(50)
                        .once(format!("emergency-page:{request_id}:{}", round + 1));
                    Self::enqueue_job_in(&mut tx, &job, now).await?;
                    Self::append_audit(
                        &mut tx,
                        &paging_actor(),
                        AuditEvent::new(
                            "emergency.paged",
                            request_object(request_id),
                            serde_json::json!({
                                "round": round,
                                "escalated": escalated,
                                "paged": paged.iter().map(|(t, w)| serde_json::json!({"tier": t, "user": w.user_id.to_string()})).collect::<Vec<_>>(),
                                "webhook": webhook.is_some(),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(Some(Round {
                        facts,
                        mails: paged.len(),
                        webhook,
                    }))
                }

                async fn webhook_retry(
                    &self,
                    request_id: Uuid,
                    round: u32,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<WebhookCall>> {
                    let mut tx = self.writer().begin().await?;
                    let State {
                        status, mut facts, ..
                    } = Self::facts_in(&mut tx, request_id).await?;
                    if status != EmergencyStatus::Paging.as_str() {
                        return Ok(None);
                    }
                    let settings = Self::settings_in(&mut tx).await?;
                    let Some(url) = settings.webhook_url else {
                        return Ok(None);
                    };
                    facts.round = round;
                    let attempt_id = Self::attempt_in(
                        &mut tx,
                        request_id,
                        round,
                        if facts.escalated { "escalated" } else { "team" },
                        None,
                        PageChannel::Webhook,
                        AttemptResult::Sending,
                        None,
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(Some(WebhookCall {
                        attempt_id,
                        url,
                        secret: settings.webhook_secret,
                        facts,
                    }))
                }

                async fn finish_attempt(
                    &self,
                    attempt_id: Uuid,
                    delivered: bool,
                    detail: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let result = if delivered {
                        AttemptResult::Delivered
                    } else {
                        AttemptResult::Failed
                    };
                    sqlx::query(
                        "UPDATE page_attempts SET result = $1, detail = $2, finished_at = $3 \
                         WHERE id = $4",
                    )
                    .bind(result.as_str())
                    .bind(clip(detail))
                    .bind(now)
                    .bind(attempt_id)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn acknowledge(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<EmergencyRecord> {
                    let mut tx = self.writer().begin().await?;
                    let State {
                        status,
                        rounds,
                        facts,
                        ..
                    } = Self::facts_in(&mut tx, request_id).await?;
                    if status == EmergencyStatus::Paging.as_str() {
                        sqlx::query(
                            "UPDATE emergencies SET status = 'acknowledged', acknowledged_by = $1, \
                             acknowledged_at = $2 WHERE request_id = $3 AND status = 'paging'",
                        )
                        .bind(actor.user_id())
                        .bind(now)
                        .bind(request_id)
                        .execute(&mut *tx)
                        .await?;
                        // The pending round and webhook retry stop here (their handlers check
                        // the state too, should one already be running).
                        sqlx::query(
                            "UPDATE jobs SET status = 'cancelled', finished_at = $1 \
                             WHERE status = 'queued' AND dedupe_key IN ($2, $3)",
                        )
                        .bind(now)
                        .bind(format!("emergency-page:{request_id}:{}", rounds + 1))
                        .bind(format!("emergency-webhook:{request_id}:{rounds}"))
                        .execute(&mut *tx)
                        .await?;
                        Self::append_audit(
                            &mut tx,
                            actor,
                            AuditEvent::new(
                                "emergency.acknowledged",
                                request_object(request_id),
                                serde_json::json!({
                                    "rounds": rounds,
                                    "seconds_to_ack": (now - facts.received_at).num_seconds(),
                                }),
                            ),
                            now,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    self.emergency(Scope::Provider, request_id)
                        .await?
                        .ok_or(StoreError::NotFound)
                }

                async fn followup_reminder(
                    &self,
                    request_id: Uuid,
                    public_url: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.writer().begin().await?;
                    let row = sqlx::query(
                        "SELECT e.followup_request_id, e.reminders_sent, r.number, u.email, \
                         u.active FROM emergencies e JOIN requests r ON r.id = e.request_id \
                         JOIN users u ON u.id = r.submitted_by WHERE e.request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let followed: Option<Uuid> = row.try_get("followup_request_id")?;
                    let active: bool = row.try_get("active")?;
                    if followed.is_some() || !active {
                        return Ok(false);
                    }
                    let number: String = row.try_get("number")?;
                    let n = small(row.try_get("reminders_sent")?) + 1;
                    let link = format!(
                        "{}/portal/requests/{request_id}",
                        public_url.trim_end_matches('/')
                    );
                    let body = format!(
                        "The provider answered your emergency request {number} without legal \
                         process, as 18 U.S.C. 2702 allows in an emergency.\n\n\
                         The legal process that must follow it has not been served yet. Serve \
                         it through the portal and name the emergency in the field \"Follows \
                         emergency\" (follows_emergency: {number}).\n\n\
                         The request: {link}\n"
                    );
                    Self::queue_mail_in(
                        &mut tx,
                        &paging_actor(),
                        &NewMail {
                            kind: FOLLOWUP_MAIL.into(),
                            recipient: row.try_get("email")?,
                            subject: format!("Serve the legal process that follows emergency {number}"),
                            body_text: body,
                            request_id: Some(request_id),
                            send_after: None,
                        },
                        now,
                    )
                    .await?;
                    sqlx::query("UPDATE emergencies SET reminders_sent = $1 WHERE request_id = $2")
                        .bind(i64::from(n))
                        .bind(request_id)
                        .execute(&mut *tx)
                        .await?;
                    Self::append_audit(
                        &mut tx,
                        &paging_actor(),
                        AuditEvent::new(
                            "emergency.followup_reminded",
                            request_object(request_id),
                            serde_json::json!({ "reminder": n }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }
            }
        }
    };
}

pub(crate) use impl_paging_store;
