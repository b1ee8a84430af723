//! Production: a custodian asks for it ([`Custody::produce`]); the `production.build` job
//! collects exactly the records decided "disclose" and streams them into the package, which
//! goes into the object store under the production's own prefix as it is written; the
//! `production.release` job hands it to the agency once customer notice allows; the agency's
//! officers download it through a link that expires and works a limited number of times.

use chrono::{DateTime, Duration, Utc};
use custodian_audit::{public_key_text, Checkpoint, Hash};
use custodian_core::notice::{release_gate, ReleaseGate};
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, RequestNumber, Role};
use custodian_production::{
    AgeRecipient, AuditMaterial, InclusionProof, Options, PackageBuilder, Passphrase, Protection,
    ProtectionKind, Record, RequestFacts, SignOff,
};
use custodian_sources::{ContentFile, Period, SourceError, SubscriberRecord, TransactionalRecords};
use custodian_store::custody::{
    job_kinds, production_prefix, BuiltPackage, DownloadGrant, HeldAccount, HeldItem, HeldKind,
    HoldRecord, NewProduction, ProductionRecord, ProductionStatus,
};
use custodian_store::{
    Actor, BlobRead, DecisionRecord, NewJob, RequestRecord, Scope, StoredCheckpoint, User,
};
use serde_json::json;
use uuid::Uuid;

use crate::collect::{covers, find_accounts, open, read_held, AccountRecords, Body, FileOrigin};
use crate::hold::system;
use crate::{Custody, CustodyError, CustodyResult};

/// A production that was asked for.
#[derive(Debug)]
pub struct Produced {
    pub production: ProductionRecord,
    /// For a ZIP: the passphrase, to be shown once to the custodian and sent to the agency by
    /// another channel. It is kept only until the package is built.
    pub passphrase: Option<Passphrase>,
}

/// A download that was granted: the package's bytes, streamed.
pub struct Download {
    pub production: ProductionRecord,
    /// `LE-2026-000123.tar.age` or `.zip`.
    pub file_name: String,
    pub read: BlobRead,
}

/// How often a production waiting for its notice looks again.
const NOTICE_POLL_MINUTES: i64 = 15;

fn disclosed(decision: &DecisionRecord) -> Vec<DataCategory> {
    decision
        .decision
        .categories
        .iter()
        .filter(|(_, r)| r.decision == custodian_core::policy::Decision::Disclose)
        .map(|(c, _)| *c)
        .collect()
}

fn file_name(number: &str, protection: &str) -> String {
    if protection == ProtectionKind::ZipAes256.to_string() {
        format!("{number}.zip")
    } else {
        format!("{number}.tar.age")
    }
}

/// An active hold of the agency's, with what it keeps.
struct Held {
    hold: HoldRecord,
    accounts: Vec<HeldAccount>,
    items: Vec<HeldItem>,
}

impl Held {
    fn keeps(&self, account: &str, category: DataCategory, range: Option<DateRange>) -> bool {
        self.hold.categories.contains(&category)
            && self.accounts.iter().any(|a| a.account_id == account)
            && (category == DataCategory::Subscriber || covers(self.hold.date_range, range))
    }

    fn item(&self, account: &str, kind: HeldKind) -> Option<&HeldItem> {
        self.items
            .iter()
            .find(|i| i.account_id == account && i.kind == kind)
    }
}

impl Custody {
    /// A custodian asks for the production of a request whose decision may be acted on. The
    /// package is protected with the agency's age key, or else as an AES-256 ZIP whose
    /// passphrase comes back here, once.
    pub async fn produce(&self, custodian: &User, request_id: Uuid) -> CustodyResult<Produced> {
        if custodian.role != Role::Custodian {
            return Err(CustodyError::Conflict(
                "the business-records certificate is signed by a custodian of records".into(),
            ));
        }
        self.source_or_unavailable()?;
        if self.signer.is_none() {
            return Err(CustodyError::Unavailable(
                "the audit signing key is not configured; a package carries a signed checkpoint"
                    .into(),
            ));
        }
        let request = self.store.get_request(Scope::Provider, request_id).await?;
        let decision = match self.store.get_decision(Scope::Provider, request_id).await? {
            Some(d) if d.is_effective() => d,
            Some(_) => {
                return Err(CustodyError::Conflict(
                    "the decision waits for a second person's approval".into(),
                ))
            }
            None => {
                return Err(CustodyError::Conflict(
                    "the request is not decided yet".into(),
                ))
            }
        };
        if disclosed(&decision).is_empty() {
            return Err(CustodyError::Conflict(
                "nothing was decided for disclosure, so there is nothing to produce".into(),
            ));
        }
        let recipient = self
            .store
            .custody()
            .age_recipient(request.agency_id)
            .await?;
        let (protection, passphrase) = match recipient {
            Some(r) => {
                AgeRecipient::parse(&r).map_err(|e| {
                    CustodyError::Conflict(format!("the agency's age key cannot be used: {e}"))
                })?;
                (ProtectionKind::AgeX25519, None)
            }
            None => (ProtectionKind::ZipAes256, Some(Passphrase::generate())),
        };
        let production = self
            .store
            .custody()
            .create_production(
                &Actor::User(custodian.id),
                NewProduction {
                    request_id,
                    protection: protection.to_string(),
                    passphrase: passphrase.as_ref().map(|p| p.expose().to_string()),
                    custodian_id: custodian.id,
                    max_downloads: self.settings.max_downloads,
                    link_days: self.settings.link_days,
                },
                self.now(),
            )
            .await?;
        Ok(Produced {
            production,
            passphrase,
        })
    }

    /// The `production.build` job. A failure that may pass is retried while attempts remain;
    /// otherwise the production is marked failed and the custodian may produce again.
    pub(crate) async fn build(&self, production_id: Uuid, last_attempt: bool) -> CustodyResult<()> {
        let p = self.store.custody().get_production(production_id).await?;
        if p.status != ProductionStatus::Building {
            return Ok(());
        }
        match self.build_package(&p).await {
            Ok(built) => {
                self.store
                    .custody()
                    .record_package(p.id, built, self.now())
                    .await?;
                Ok(())
            }
            Err(e) if e.is_transient() && !last_attempt => Err(e),
            Err(e) => {
                // The error may name a record's path (a customer's file name): it is kept
                // with the production for the staff, not logged.
                tracing::warn!(production = %p.id, "a production failed; see its error");
                self.store
                    .custody()
                    .fail_production(p.id, &e.to_string(), self.now())
                    .await?;
                Err(CustodyError::Conflict(e.to_string()))
            }
        }
    }

    async fn build_package(&self, p: &ProductionRecord) -> CustodyResult<BuiltPackage> {
        let signer = self.signer.as_ref().ok_or_else(|| {
            CustodyError::Unavailable("the audit signing key is not configured".into())
        })?;
        let request = self
            .store
            .get_request(Scope::Provider, p.request_id)
            .await?;
        let decision = self
            .store
            .get_decision(Scope::Provider, p.request_id)
            .await?
            .filter(DecisionRecord::is_effective)
            .ok_or_else(|| CustodyError::Conflict("the decision is not effective".into()))?;
        let categories = disclosed(&decision);
        let agency = self.store.get_agency(request.agency_id).await?;
        let custodian = self.store.get_user(p.custodian_id).await?;
        let decided_by = self.store.get_user(decision.decided_by).await?.name;
        let approved_by = match decision.approved_by {
            Some(a) => Some(self.store.get_user(a).await?.name),
            None => None,
        };
        let number = RequestNumber::parse(&request.number).ok_or_else(|| {
            CustodyError::Conflict(format!("'{}' is not a request number", request.number))
        })?;
        let protection = if p.protection == ProtectionKind::AgeX25519.to_string() {
            let key = self
                .store
                .custody()
                .age_recipient(request.agency_id)
                .await?
                .ok_or_else(|| {
                    CustodyError::Conflict(
                        "the agency's age key was removed after the production was asked for; \
                         produce again"
                            .into(),
                    )
                })?;
            Protection::Age(AgeRecipient::parse(&key)?)
        } else {
            let phrase = self
                .store
                .custody()
                .production_passphrase(p.id)
                .await?
                .ok_or_else(|| {
                    CustodyError::Conflict("the passphrase is no longer kept; produce again".into())
                })?;
            Protection::ZipAes(Passphrase::new(phrase))
        };
        let (accounts, collection) = self.collect(&request, &categories).await?;
        let facts = RequestFacts {
            number,
            process: request.process,
            agency: agency.name.clone(),
            case_reference: request.intake.case_reference.clone(),
            categories,
            targets: request.intake.targets.clone(),
            date_range: request.intake.date_range,
            decided_by,
            approved_by,
        };
        let now = self.now();
        let sign_off = SignOff {
            name: custodian.name.clone(),
            title: self.settings.custodian_title.clone(),
            provider: self.settings.provider.clone(),
            date: now.date_naive(),
            place: self.settings.place.clone(),
        };
        let space = self.blobs.space(&production_prefix(p.id))?;
        let sink = space.writer("package").await?;
        let options = Options {
            spool_dir: self.settings.spool_dir.clone(),
            ..Options::default()
        };
        let mut builder = PackageBuilder::new(facts, sign_off, protection, sink, options)?;
        let source = self.source.as_deref();
        for account in &accounts {
            for piece in account.pieces()? {
                let reader = open(&piece.body, source, &self.blobs).await?;
                let line = builder
                    .add_record(
                        Record {
                            category: piece.category,
                            path: piece.path.clone(),
                            size: Some(piece.size),
                        },
                        reader,
                    )
                    .await?;
                if let Body::Held { sha256, .. } = &piece.body {
                    if line.sha256 != *sha256 {
                        return Err(CustodyError::Store(custodian_store::StoreError::Corrupt(
                            format!("a held file of account {} changed", account.account),
                        )));
                    }
                }
            }
        }
        let sealed = builder.seal().await?;
        let event = self
            .store
            .custody()
            .append_production_event(
                &Actor::User(p.custodian_id),
                p.request_id,
                sealed.audit_details(),
                self.now(),
            )
            .await?;
        let leaves = self.leaves().await?;
        let checkpoint = Checkpoint {
            origin: signer.origin.clone(),
            size: leaves.len() as u64,
            root: custodian_audit::root(&leaves),
        };
        let note = checkpoint
            .sign(&signer.key)
            .map_err(|e| CustodyError::Unavailable(format!("the audit origin: {e}")))?;
        self.store
            .save_checkpoint(StoredCheckpoint {
                size: checkpoint.size,
                root: checkpoint.root,
                note: note.clone(),
                created_at: self.now(),
            })
            .await?;
        let audit_idx = event.entry.idx;
        let proof = InclusionProof::new(event.entry, &leaves).map_err(|e| {
            CustodyError::Conflict(format!("the production event cannot be proved: {e}"))
        })?;
        let audit = AuditMaterial {
            proof,
            checkpoint_note: note,
            public_key_text: public_key_text(&signer.origin, &signer.key.verifying_key())
                .map_err(|e| CustodyError::Unavailable(format!("the audit origin: {e}")))?,
        };
        let finished = sealed.finish(audit).await?;
        let object = finished.sink.commit().await?;
        if object.sha256 != hex::encode(finished.package_sha256) {
            return Err(CustodyError::Store(custodian_store::StoreError::Corrupt(
                "the stored package does not match the package written".into(),
            )));
        }
        Ok(BuiltPackage {
            object,
            manifest_sha256: hex::encode(finished.manifest_sha256),
            files: finished.file_count,
            bytes: finished.total_bytes,
            audit_idx,
            collection,
        })
    }

    /// Every leaf hash of the audit log, for the proof of the production event.
    async fn leaves(&self) -> CustodyResult<Vec<Hash>> {
        let mut leaves = Vec::new();
        loop {
            let batch = self
                .store
                .audit_entries(leaves.len() as u64, 10_000)
                .await?;
            if batch.is_empty() {
                return Ok(leaves);
            }
            leaves.extend(batch.iter().map(|e| e.leaf_hash));
        }
    }

    /// The records of the disclosed categories for the request's targets and date range. An
    /// account the agency holds is produced from the hold's snapshot where the hold keeps the
    /// category for the range (what was preserved is what is produced, even if the customer
    /// deleted it since); anything else from the source.
    async fn collect(
        &self,
        request: &RequestRecord,
        categories: &[DataCategory],
    ) -> CustodyResult<(Vec<AccountRecords>, serde_json::Value)> {
        let source = self.source_or_unavailable()?.clone();
        let range = request.intake.date_range;
        let mut notes = Vec::new();
        let at_source = find_accounts(source.as_ref(), &request.intake.targets, &mut notes).await?;
        let mut held: Vec<Held> = Vec::new();
        let mut accounts: Vec<String> = at_source.iter().map(|(a, _)| a.to_string()).collect();
        for target in &request.intake.targets {
            for hold in self
                .store
                .custody()
                .active_holds_for_target(request.agency_id, target)
                .await?
            {
                let hold_accounts = self.store.custody().hold_accounts(hold.id).await?;
                for a in hold_accounts.iter().filter(|a| a.target == *target) {
                    if !accounts.contains(&a.account_id) {
                        accounts.push(a.account_id.clone());
                    }
                }
                if !held.iter().any(|h| h.hold.id == hold.id) {
                    let items = self.store.custody().hold_items(hold.id).await?;
                    held.push(Held {
                        hold,
                        accounts: hold_accounts,
                        items,
                    });
                }
            }
        }
        let mut out = Vec::new();
        let mut summary = Vec::new();
        for account in accounts {
            let id = custodian_sources::AccountId::parse(&account)?;
            let live = at_source.iter().any(|(a, _)| *a == id);
            let mut records = AccountRecords::new(id.clone());
            let mut origins = serde_json::Map::new();
            for &c in categories {
                let origin = match held.iter().find(|h| h.keeps(&account, c, range)) {
                    Some(h) => {
                        self.collect_held(h, &mut records, c, range).await?;
                        format!("hold:{}", h.hold.id)
                    }
                    None if live => match self.collect_live(&mut records, c, range).await {
                        Ok(()) => "source".to_string(),
                        Err(CustodyError::Source(SourceError::NotFound(_))) => {
                            notes.push(format!("account {account}: gone from the source"));
                            "missing".to_string()
                        }
                        Err(e) => return Err(e),
                    },
                    None => "missing".to_string(),
                };
                origins.insert(c.as_str().to_string(), json!(origin));
            }
            summary.push(json!({"account": account, "from": origins}));
            out.push(records);
        }
        Ok((out, json!({"accounts": summary, "notes": notes})))
    }

    async fn collect_live(
        &self,
        records: &mut AccountRecords,
        category: DataCategory,
        range: Option<DateRange>,
    ) -> CustodyResult<()> {
        let source = self.source_or_unavailable()?;
        let a = &records.account;
        match category {
            DataCategory::Subscriber => records.subscriber = Some(source.subscriber(a).await?),
            DataCategory::Transactional => {
                records.transactional = Some(source.transactional(a, range).await?)
            }
            DataCategory::Content => {
                let files = source.content(a, range).await?;
                records.files = Some(files.into_iter().map(|f| (f, FileOrigin::Source)).collect());
            }
        }
        Ok(())
    }

    async fn collect_held(
        &self,
        h: &Held,
        records: &mut AccountRecords,
        category: DataCategory,
        range: Option<DateRange>,
    ) -> CustodyResult<()> {
        let account = records.account.to_string();
        let unreadable = |e: serde_json::Error| {
            CustodyError::Store(custodian_store::StoreError::Corrupt(format!(
                "a held record of account {account} is unreadable: {e}"
            )))
        };
        match category {
            DataCategory::Subscriber => {
                if let Some(i) = h.item(&account, HeldKind::Subscriber) {
                    let bytes = read_held(&self.blobs, &i.object.key, &i.object.sha256).await?;
                    let r: SubscriberRecord = serde_json::from_slice(&bytes).map_err(unreadable)?;
                    records.subscriber = Some(r);
                }
            }
            DataCategory::Transactional => {
                if let Some(i) = h.item(&account, HeldKind::Transactional) {
                    let bytes = read_held(&self.blobs, &i.object.key, &i.object.sha256).await?;
                    let r: TransactionalRecords =
                        serde_json::from_slice(&bytes).map_err(unreadable)?;
                    records.transactional = Some(if r.date_range == range {
                        r
                    } else {
                        r.within(range)?
                    });
                }
            }
            DataCategory::Content => {
                let period = Period::of(range)?;
                let files = h
                    .items
                    .iter()
                    .filter(|i| i.account_id == account && i.kind == HeldKind::File)
                    .filter_map(|i| {
                        let created_at = i.file_created_at?;
                        period.contains(created_at).then(|| {
                            (
                                ContentFile {
                                    id: i.file_id.clone().unwrap_or_default(),
                                    path: i.path.clone().unwrap_or_default(),
                                    size: i.object.size,
                                    media_type: i.media_type.clone().unwrap_or_default(),
                                    created_at,
                                },
                                FileOrigin::Held {
                                    key: i.object.key.clone(),
                                    sha256: i.object.sha256.clone(),
                                },
                            )
                        })
                    })
                    .collect();
                records.files = Some(files);
            }
        }
        Ok(())
    }

    /// The `production.release` job: hands a built package to the agency when customer notice
    /// allows, or looks again when it may.
    pub(crate) async fn release(&self, production_id: Uuid) -> CustodyResult<()> {
        let p = self.store.custody().get_production(production_id).await?;
        if p.status != ProductionStatus::Built {
            return Ok(());
        }
        let now = self.now();
        let notice = self.store.custody().get_notice(p.request_id).await?;
        let state = notice.as_ref().map(|n| n.state());
        let again = |at: DateTime<Utc>| {
            NewJob::new(
                job_kinds::PRODUCTION_RELEASE,
                json!({ "production_id": production_id }),
                at,
            )
        };
        match release_gate(state.as_ref(), &self.settings.notice, now) {
            ReleaseGate::Open => {
                let expires_at = now + Duration::days(i64::from(p.link_days));
                self.store
                    .custody()
                    .release_production(&system(), p.id, expires_at, now)
                    .await?;
            }
            ReleaseGate::NotBefore(at) => {
                self.store.jobs().enqueue(again(at)).await?;
            }
            ReleaseGate::AwaitingNotice(why) => {
                tracing::info!(production = %p.id, "a production waits: {why}");
                self.store
                    .jobs()
                    .enqueue(again(now + Duration::minutes(NOTICE_POLL_MINUTES)))
                    .await?;
            }
        }
        Ok(())
    }

    /// Why a built production is not released yet, in words (None once it may be).
    pub async fn release_wait(&self, request_id: Uuid) -> CustodyResult<Option<String>> {
        let notice = self.store.custody().get_notice(request_id).await?;
        let state = notice.as_ref().map(|n| n.state());
        Ok(
            match release_gate(state.as_ref(), &self.settings.notice, self.now()) {
                ReleaseGate::Open => None,
                ReleaseGate::NotBefore(at) => Some(format!(
                    "the customer was told; the production is released from {}",
                    at.format("%Y-%m-%d %H:%M UTC")
                )),
                ReleaseGate::AwaitingNotice(why) => Some(why.to_string()),
            },
        )
    }

    /// An officer downloads the package: counted, audited, refused once the link expired or
    /// was used up. Another agency's request is not found.
    pub async fn download(
        &self,
        actor: &Actor,
        scope: Scope,
        request_id: Uuid,
    ) -> CustodyResult<Download> {
        let request = self.store.get_request(scope, request_id).await?;
        match self
            .store
            .custody()
            .take_download(actor, scope, request_id, self.now())
            .await?
        {
            DownloadGrant::Granted(p) => {
                let key = p
                    .object_key
                    .clone()
                    .ok_or_else(|| CustodyError::Conflict("the package is not stored".into()))?;
                let read = self.blobs.open_key(&key).await?;
                Ok(Download {
                    file_name: file_name(&request.number, &p.protection),
                    production: *p,
                    read,
                })
            }
            DownloadGrant::Expired(at) => Err(CustodyError::Gone {
                code: "link_expired",
                message: format!(
                    "the download link expired on {}; ask the provider's legal team for a new one",
                    at.format("%Y-%m-%d %H:%M UTC")
                ),
            }),
            DownloadGrant::Exhausted(n) => Err(CustodyError::Gone {
                code: "download_limit_reached",
                message: format!(
                    "the download link was used {n} times, as often as it may be; ask the \
                     provider's legal team for a new one"
                ),
            }),
        }
    }

    /// A new link for a delivered production.
    pub async fn renew_link(
        &self,
        actor: &Actor,
        production_id: Uuid,
        days: Option<u32>,
        max_downloads: Option<u32>,
    ) -> CustodyResult<ProductionRecord> {
        let days = days.unwrap_or(self.settings.link_days);
        let max = max_downloads.unwrap_or(self.settings.max_downloads);
        if !(1..=90).contains(&days) {
            return Err(CustodyError::invalid("days", "1 to 90 days"));
        }
        if !(1..=100).contains(&max) {
            return Err(CustodyError::invalid("max_downloads", "1 to 100 downloads"));
        }
        let now = self.now();
        Ok(self
            .store
            .custody()
            .renew_link(
                actor,
                production_id,
                now + Duration::days(i64::from(days)),
                max,
                now,
            )
            .await?)
    }
}
