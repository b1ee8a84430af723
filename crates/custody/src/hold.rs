//! Legal holds: taking one (the row now, the snapshot by the `hold.capture` job), renewing it
//! once, releasing it, its expiry and the reviewer's reminder. The snapshot lives under the
//! hold's own prefix in the object store; the rows naming its objects commit only after every
//! object is durable, and the prefix is deleted when the hold ends.

use custodian_core::preservation::{hold_start, reminder_at, HoldStatus, HoldTerms};
use custodian_core::{DataCategory, RequestStatus};
use custodian_sources::SourceError;
use custodian_store::custody::{HeldAccount, HeldItem, HeldKind, HoldRecord, NewHold};
use custodian_store::{Actor, Scope};
use uuid::Uuid;

use crate::collect::{find_accounts, json_bytes, open, Body};
use crate::{Custody, CustodyError, CustodyResult};

/// The actor background custody work is recorded under.
pub(crate) fn system() -> Actor {
    Actor::System("custody".into())
}

impl Custody {
    /// Takes a legal hold for a request (a preservation request, or the preservation step of
    /// any order): the named accounts' data in `categories` (default: those the request names,
    /// or all three when it names none) for the request's date range. The snapshot is taken by
    /// a job; the hold is `capturing` until it is complete.
    pub async fn preserve(
        &self,
        actor: &Actor,
        reviewer: Option<Uuid>,
        request_id: Uuid,
        categories: Option<Vec<DataCategory>>,
    ) -> CustodyResult<HoldRecord> {
        self.source_or_unavailable()?;
        let request = self.store.get_request(Scope::Provider, request_id).await?;
        if matches!(
            request.status,
            RequestStatus::Withdrawn | RequestStatus::Rejected | RequestStatus::Redirected
        ) {
            return Err(CustodyError::Conflict(format!(
                "a {} request is not preserved",
                request.status
            )));
        }
        if let Some(earlier) = &request.intake.renews {
            return Err(CustodyError::Conflict(format!(
                "this request renews {earlier}: renew that request's hold (POST \
                 /api/v1/custody/holds/{{id}}/renew) rather than take a new one, so that the \
                 one renewal the law allows is counted"
            )));
        }
        let asked = &request.intake.categories;
        let categories = match categories {
            None if asked.is_empty() => DataCategory::ALL.to_vec(),
            None => asked.clone(),
            Some(c) if c.is_empty() => {
                return Err(CustodyError::invalid(
                    "categories",
                    "name at least one category to preserve",
                ))
            }
            Some(mut c) => {
                c.sort();
                c.dedup();
                if let Some(extra) = c.iter().find(|c| !asked.is_empty() && !asked.contains(c)) {
                    return Err(CustodyError::invalid(
                        "categories",
                        format!("{extra} was not requested; a hold keeps only what was asked for"),
                    ));
                }
                c
            }
        };
        let terms = HoldTerms::for_process(&*self.policy().await, request.process);
        let now = self.now();
        let started_at = hold_start(request.process, request.received_at, now);
        let expires_at = terms.expires_at(started_at);
        if expires_at <= now {
            return Err(CustodyError::Conflict(format!(
                "a preservation counts from receipt: this one ran out on {}",
                expires_at.format("%Y-%m-%d")
            )));
        }
        let hold = NewHold {
            request_id,
            categories,
            date_range: request.intake.date_range,
            terms,
            started_at,
            expires_at,
            reviewer_id: reviewer.or(request.assignee_id),
        };
        Ok(self.store.custody().create_hold(actor, hold, now).await?)
    }

    /// Renews an active hold once, by the terms it was taken under.
    pub async fn renew_hold(&self, actor: &Actor, hold_id: Uuid) -> CustodyResult<HoldRecord> {
        let hold = self.store.custody().get_hold(hold_id).await?;
        if hold.status != HoldStatus::Active {
            return Err(CustodyError::Conflict(format!(
                "only an active hold is renewed (this one is {})",
                hold.status
            )));
        }
        let expires_at = hold
            .terms
            .renew(hold.expires_at, hold.renewals)
            .map_err(|e| CustodyError::Conflict(e.to_string()))?;
        let now = self.now();
        Ok(self
            .store
            .custody()
            .renew_hold(
                actor,
                hold_id,
                hold.renewals,
                expires_at,
                reminder_at(expires_at, now),
                now,
            )
            .await?)
    }

    /// Ends a hold before its time (legal process followed and was answered, the agency
    /// withdrew it) and deletes its snapshot.
    pub async fn release_hold(
        &self,
        actor: &Actor,
        hold_id: Uuid,
        reason: &str,
    ) -> CustodyResult<HoldRecord> {
        let hold = self
            .store
            .custody()
            .release_hold(actor, hold_id, reason, self.now())
            .await?;
        // The `hold.expire` job the release scheduled deletes it too, should this fail.
        if let Err(e) = self.purge(&hold).await {
            tracing::warn!(hold = %hold.id, error = %e, "a released hold's snapshot is not deleted yet");
        }
        Ok(hold)
    }

    async fn purge(&self, hold: &HoldRecord) -> CustodyResult<()> {
        self.blobs.space(&hold.prefix())?.delete_all().await?;
        Ok(())
    }

    /// The `hold.capture` job. A hold that can never be captured (a permanent error, or the
    /// last attempt) says so and keeps nothing, rather than stay "capturing".
    pub(crate) async fn capture_job(&self, hold_id: Uuid, last_attempt: bool) -> CustodyResult<()> {
        match self.capture(hold_id).await {
            Err(e) if !e.is_transient() || last_attempt => {
                tracing::warn!(hold = %hold_id, "a hold could not be captured; see its error");
                let hold = self
                    .store
                    .custody()
                    .fail_capture(hold_id, &e.to_string(), self.now())
                    .await?;
                self.purge(&hold).await?;
                Err(e)
            }
            other => other,
        }
    }

    /// Copies the snapshot into the object store, then records it.
    async fn capture(&self, hold_id: Uuid) -> CustodyResult<()> {
        let hold = self.store.custody().get_hold(hold_id).await?;
        if hold.status != HoldStatus::Capturing {
            return Ok(());
        }
        let request = self
            .store
            .get_request(Scope::Provider, hold.request_id)
            .await?;
        let source = self.source_or_unavailable()?.clone();
        let mut notes = Vec::new();
        let accounts = find_accounts(source.as_ref(), &request.intake.targets, &mut notes).await?;
        let space = self.blobs.space(&hold.prefix())?;
        // Each attempt writes under a name of its own, so that a second worker taking the job
        // over after a lapsed lease never overwrites the first one's objects.
        let attempt = Uuid::new_v4().simple().to_string();
        let mut held = Vec::new();
        let mut items = Vec::new();
        for (account, targets) in accounts {
            let before = items.len();
            match self
                .capture_account(&hold, &account, &space, &attempt, &mut items)
                .await
            {
                Ok(()) => {}
                // Deleted between the lookup and the copy: nothing of it is left to keep.
                Err(CustodyError::Source(SourceError::NotFound(_))) => {
                    items.truncate(before);
                    notes.push(format!("account {account}: gone before it could be copied"));
                    continue;
                }
                Err(e) => return Err(e),
            }
            for target in targets {
                held.push(HeldAccount {
                    account_id: account.to_string(),
                    target,
                });
            }
        }
        let now = self.now();
        match self
            .store
            .custody()
            .complete_capture(
                hold_id,
                &held,
                &items,
                reminder_at(hold.expires_at, now),
                now,
            )
            .await
        {
            Ok(h) => {
                tracing::info!(hold = %h.id, accounts = h.accounts, files = h.files, bytes = h.bytes, notes = notes.len(), "hold captured");
                Ok(())
            }
            // Released while the copy was made: nothing is to be kept.
            Err(custodian_store::StoreError::Conflict(_)) => self.purge(&hold).await,
            Err(e) => Err(e.into()),
        }
    }

    async fn capture_account(
        &self,
        hold: &HoldRecord,
        account: &custodian_sources::AccountId,
        space: &custodian_store::BlobSpace,
        attempt: &str,
        items: &mut Vec<HeldItem>,
    ) -> CustodyResult<()> {
        let source = self.source_or_unavailable()?.clone();
        let cats = &hold.categories;
        let name = |seq: usize| format!("{attempt}/{seq}");
        if cats.contains(&DataCategory::Subscriber) {
            let bytes = json_bytes(&source.subscriber(account).await?)?;
            let object = space
                .put_stream(&name(items.len()), std::io::Cursor::new(bytes))
                .await?;
            items.push(item(
                items.len(),
                account,
                DataCategory::Subscriber,
                HeldKind::Subscriber,
                object,
            ));
        }
        if cats.contains(&DataCategory::Transactional) {
            let records = source.transactional(account, hold.date_range).await?;
            let object = space
                .put_stream(
                    &name(items.len()),
                    std::io::Cursor::new(json_bytes(&records)?),
                )
                .await?;
            items.push(item(
                items.len(),
                account,
                DataCategory::Transactional,
                HeldKind::Transactional,
                object,
            ));
        }
        if cats.contains(&DataCategory::Content) {
            for f in source.content(account, hold.date_range).await? {
                let body = Body::SourceFile {
                    account: account.clone(),
                    file_id: f.id.clone(),
                };
                let reader = open(&body, Some(source.as_ref()), &self.blobs).await?;
                let object = space.put_stream(&name(items.len()), reader).await?;
                if object.size != f.size {
                    return Err(CustodyError::Source(SourceError::Protocol(format!(
                        "file {} of account {account} gave {} bytes, not the {} listed",
                        f.id, object.size, f.size
                    ))));
                }
                let mut i = item(
                    items.len(),
                    account,
                    DataCategory::Content,
                    HeldKind::File,
                    object,
                );
                i.file_id = Some(f.id);
                i.path = Some(f.path);
                i.media_type = Some(f.media_type);
                i.file_created_at = Some(f.created_at);
                items.push(i);
            }
        }
        Ok(())
    }

    /// The `hold.expire` job: ends a hold whose time is up, and deletes the snapshot of any
    /// hold that has ended.
    pub(crate) async fn expire(&self, hold_id: Uuid) -> CustodyResult<()> {
        let hold = self.store.custody().get_hold(hold_id).await?;
        let now = self.now();
        match hold.status {
            HoldStatus::Released | HoldStatus::Failed => self.purge(&hold).await,
            _ if now >= hold.expires_at => {
                let hold = match self
                    .store
                    .custody()
                    .release_hold(&system(), hold_id, "expired", now)
                    .await
                {
                    Ok(h) => h,
                    // Released by someone else a moment ago.
                    Err(custodian_store::StoreError::Conflict(_)) => hold,
                    Err(e) => return Err(e.into()),
                };
                self.purge(&hold).await
            }
            // Renewed since this job was scheduled; the renewal scheduled another.
            _ => Ok(()),
        }
    }

    /// The `hold.reminder` job: a mail to the reviewer a week before the hold ends.
    pub(crate) async fn remind(&self, hold_id: Uuid) -> CustodyResult<()> {
        let hold = self.store.custody().get_hold(hold_id).await?;
        if hold.status != HoldStatus::Active {
            return Ok(());
        }
        let request = self
            .store
            .get_request(Scope::Provider, hold.request_id)
            .await?;
        let Some(reviewer) = hold.reviewer_id.or(request.assignee_id) else {
            tracing::warn!(hold = %hold.id, "a hold ends soon and no reviewer is named to remind");
            return Ok(());
        };
        let user = self.store.get_user(reviewer).await?;
        let mail = crate::mail::hold_reminder(&self.settings, &request, &hold, &user.email);
        self.store
            .outbox()
            .queue(&system(), mail, self.now())
            .await?;
        Ok(())
    }
}

fn item(
    seq: usize,
    account: &custodian_sources::AccountId,
    category: DataCategory,
    kind: HeldKind,
    object: custodian_store::StoredObject,
) -> HeldItem {
    HeldItem {
        seq: seq as u64,
        account_id: account.to_string(),
        category,
        kind,
        file_id: None,
        path: None,
        media_type: None,
        file_created_at: None,
        object,
    }
}
