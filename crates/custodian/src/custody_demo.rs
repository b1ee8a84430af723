//! The custody part of `serve --demo` (docs/custody.md, "In the demo"): legal holds (one on
//! the large account, one ending within the week), a production the Springfield officer can
//! download, a customer notice sent, one held back by a non-disclosure order, one under an
//! order with no end date (reviewed yearly), and an emergency disclosure whose notice waits
//! for the emergency to pass.
//!
//! It runs inside `demo::fill`, before the demo customer data exists (`customer_data.rs`
//! generates an account for every identifier the stored requests name, the large one for the
//! content request furthest along). So it only stores rows and schedules work: the snapshots,
//! the package and the mails are made by the job runner once the server starts, from the
//! customer data by then in place. Its content requests name the large request's own target
//! and period, so that whichever request the generator then picks as the large one, the large
//! account is the same.

use anyhow::Context;
use chrono::{Duration, Utc};
use custodian_core::policy::Decision;
use custodian_core::preservation::{hold_start, HoldTerms};
use custodian_core::request::DateRange;
use custodian_core::request::EmergencyAttestation;
use custodian_core::review::{CategoryRuling, ReviewDecision};
use custodian_core::{
    DataCategory, LegalProcess, NonDisclosureOrder, RequestIntake, RequestStatus, Target,
    TargetKind,
};
use custodian_store::custody::NewHold;
use custodian_store::{
    Actor, Blobs, DynStore, NewDocument, NewRequest, RequestFilter, RequestRecord, Scope,
    Submission, User,
};

/// The Springfield Police Department's age public key in the demo. Its identity (the secret
/// half) is printed in docs/custody.md, so that the demo's package can be opened:
/// `age -d -i demo-agency.key LE-....tar.age | tar -x`.
pub const DEMO_AGENCY_RECIPIENT: &str =
    "age1qzl4nrg5p9ly2tqesclh0jyq2kdc02ll2rc3632688w37cqa25dq867p5h";

struct Cast {
    officer: User,
    reviewer: User,
    approver: User,
    custodian: User,
}

async fn user(store: &DynStore, email: &str) -> anyhow::Result<User> {
    store
        .find_user_by_email(email)
        .await
        .with_context(|| format!("the demo user {email}"))
}

/// Adds the custody demo to a freshly filled demo store.
pub async fn fill(store: &DynStore, blobs: &Blobs) -> anyhow::Result<()> {
    let cast = Cast {
        officer: user(store, "det.alvarez@springfieldpd.gov").await?,
        reviewer: user(store, "riley.reviewer@legal.provider.example").await?,
        approver: user(store, "alex.approver@legal.provider.example").await?,
        custodian: user(store, "morgan.records@legal.provider.example").await?,
    };
    let agency = cast
        .officer
        .agency_id
        .context("the demo officer's agency")?;
    let history = all_requests(store).await?;
    // The demo's history predates custody: its old decisions are not noticed now.
    for r in &history {
        store
            .jobs()
            .cancel(&format!("notice-plan:{}", r.id), Utc::now())
            .await?;
    }
    let (large_target, large_period) = match crate::customer_data::large_request(&history) {
        Some(r) => (r.intake.targets[0].clone(), r.intake.date_range),
        None => (
            Target::parse(TargetKind::Email, "jordan.smith42@example.com")
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            None,
        ),
    };
    let near_target =
        Target::parse(TargetKind::Phone, "+1 555 0147 2210").map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .custody()
        .set_age_recipient(
            &Actor::System("demo".into()),
            agency,
            Some(DEMO_AGENCY_RECIPIENT),
            Utc::now(),
        )
        .await?;

    // A preservation letter about the large account, ten days old: its hold keeps the account's
    // hundreds of MiB of content.
    let p = serve(
        store,
        blobs,
        &cast,
        agency,
        LegalProcess::Preservation,
        &large_target,
        large_period,
        &[
            DataCategory::Subscriber,
            DataCategory::Transactional,
            DataCategory::Content,
        ],
        None,
        10,
    )
    .await?;
    hold(store, &cast, &p, 10).await?;
    // One received 85 days ago: its hold ends within the week, so the reviewer is reminded.
    let near = serve(
        store,
        blobs,
        &cast,
        agency,
        LegalProcess::Preservation,
        &near_target,
        None,
        &[DataCategory::Subscriber, DataCategory::Transactional],
        None,
        85,
    )
    .await?;
    hold(store, &cast, &near, 85).await?;

    // A subpoena answered: decided, produced by the custodian, released at once (no notice
    // for non-content data), ready for the officer to download.
    let s = serve(
        store,
        blobs,
        &cast,
        agency,
        LegalProcess::Subpoena,
        &near_target,
        None,
        &[DataCategory::Subscriber, DataCategory::Transactional],
        None,
        12,
    )
    .await?;
    decide(
        store,
        &cast,
        &s,
        &[DataCategory::Subscriber, DataCategory::Transactional],
    )
    .await?;
    store
        .custody()
        .create_production(
            &Actor::User(cast.custodian.id),
            custodian_store::custody::NewProduction {
                request_id: s.id,
                protection: "age-x25519".into(),
                passphrase: None,
                custodian_id: cast.custodian.id,
                max_downloads: 5,
                link_days: 14,
            },
            Utc::now(),
        )
        .await?;

    // A search warrant for the large account's content, decided and approved: the customer is
    // told at once, and a production would wait ten days after that.
    let w = serve(
        store,
        blobs,
        &cast,
        agency,
        LegalProcess::SearchWarrant,
        &large_target,
        large_period,
        &[DataCategory::Subscriber, DataCategory::Content],
        None,
        3,
    )
    .await?;
    decide(
        store,
        &cast,
        &w,
        &[DataCategory::Subscriber, DataCategory::Content],
    )
    .await?;

    // Another on the same account, under a non-disclosure order for two more months: its notice
    // waits for the order's end.
    let until = (Utc::now() + Duration::days(60)).date_naive();
    let g = serve(
        store,
        blobs,
        &cast,
        agency,
        LegalProcess::SearchWarrant,
        &large_target,
        large_period,
        &[DataCategory::Subscriber, DataCategory::Content],
        Some(NonDisclosureOrder::Until(until)),
        4,
    )
    .await?;
    decide(
        store,
        &cast,
        &g,
        &[DataCategory::Content, DataCategory::Subscriber],
    )
    .await?;
    notices_to_review(store, blobs, &cast, agency, &near_target).await?;
    Ok(())
}

/// The notices the review page acts on: a warrant under an order with no end date (its
/// review form), and an emergency disclosure whose notice waits for the emergency to pass
/// (sent early from the page).
async fn notices_to_review(
    store: &DynStore,
    blobs: &Blobs,
    cast: &Cast,
    agency: uuid::Uuid,
    target: &Target,
) -> anyhow::Result<()> {
    let both = [DataCategory::Subscriber, DataCategory::Content];
    let sealed = serve(
        store,
        blobs,
        cast,
        agency,
        LegalProcess::SearchWarrant,
        target,
        None,
        &both,
        Some(NonDisclosureOrder::Indefinite),
        20,
    )
    .await?;
    decide(store, cast, &sealed, &both).await?;
    let emergency = serve(
        store,
        blobs,
        cast,
        agency,
        LegalProcess::Emergency,
        target,
        None,
        &both,
        None,
        2,
    )
    .await?;
    decide(store, cast, &emergency, &both).await
}

async fn all_requests(store: &DynStore) -> anyhow::Result<Vec<RequestRecord>> {
    let mut out = Vec::new();
    loop {
        let page = store
            .list_requests(
                Scope::Provider,
                &RequestFilter {
                    status: None,
                    limit: 500,
                    offset: out.len() as u32,
                },
            )
            .await?;
        let n = page.items.len();
        out.extend(page.items);
        if n < 500 {
            return Ok(out);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    store: &DynStore,
    blobs: &Blobs,
    cast: &Cast,
    agency: uuid::Uuid,
    process: LegalProcess,
    target: &Target,
    range: Option<DateRange>,
    categories: &[DataCategory],
    ndo: Option<NonDisclosureOrder>,
    age_days: i64,
) -> anyhow::Result<RequestRecord> {
    let received_at = Utc::now() - Duration::days(age_days);
    let intake = RequestIntake {
        process,
        issuing_authority: "Springfield Police Department".into(),
        issuing_country: custodian_core::Country::US,
        received_via: Default::default(),
        requesting_country: None,
        emergency: (process == LegalProcess::Emergency).then(|| EmergencyAttestation {
            danger_of_death_or_serious_injury: true,
            supervisor_name: Some("Sgt. Daniel Okafor".into()),
            supervisor_phone: Some("+1 217 555 0100".into()),
            narrative: Some("A caller threatened to harm a named person from this account.".into()),
        }),
        case_reference: Some(format!(
            "SPD-{}-{:04}",
            received_at.format("%Y"),
            age_days * 37
        )),
        targets: vec![target.clone()],
        date_range: range,
        categories: categories.to_vec(),
        return_date: None,
        ndo_until: ndo,
        judicial_authorisation: false,
        renews: None,
        follows_emergency: None,
        order: None,
        device_return: None,
        fraud: None,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pdf = custodian_report::pdf::text_pdf(&[
        "SPRINGFIELD POLICE DEPARTMENT".into(),
        String::new(),
        process.label().to_uppercase(),
        "TO: Custodian of Records, legal.provider.example".into(),
        "(Demonstration document generated by Custodian.)".into(),
    ]);
    let blob = blobs.put(pdf.into()).await?;
    let record = match store
        .submit_request(
            &Actor::User(cast.officer.id),
            NewRequest {
                agency_id: agency,
                submitted_by: cast.officer.id,
                intake,
                received_at,
                respond_by: received_at + Duration::days(14),
                documents: vec![NewDocument {
                    blob,
                    file_name: format!("{}.pdf", process.as_str()),
                    content_type: "application/pdf".into(),
                }],
                idempotency: None,
                risk: None,
            },
        )
        .await?
    {
        Submission::Created(r) | Submission::Replayed(r) => r,
    };
    Ok(store
        .assign(
            &Actor::User(cast.reviewer.id),
            record.id,
            Some(cast.reviewer.id),
        )
        .await?)
}

/// A hold taken by the reviewer on the day the request arrived.
async fn hold(
    store: &DynStore,
    cast: &Cast,
    r: &RequestRecord,
    age_days: i64,
) -> anyhow::Result<()> {
    let profile = custodian_core::policy::PolicyProfile::builtin(
        custodian_core::policy::PolicyProfile::DEFAULT,
    )?;
    let terms = HoldTerms::for_process(&profile, r.process);
    let taken = Utc::now() - Duration::days(age_days);
    let started_at = hold_start(r.process, r.received_at, taken);
    store
        .custody()
        .create_hold(
            &Actor::User(cast.reviewer.id),
            NewHold {
                request_id: r.id,
                categories: r.intake.categories.clone(),
                date_range: r.intake.date_range,
                terms,
                started_at,
                expires_at: terms.expires_at(started_at),
                reviewer_id: Some(cast.reviewer.id),
            },
            Utc::now(),
        )
        .await?;
    Ok(())
}

async fn decide(
    store: &DynStore,
    cast: &Cast,
    r: &RequestRecord,
    disclose: &[DataCategory],
) -> anyhow::Result<()> {
    let decision = ReviewDecision {
        categories: r
            .intake
            .categories
            .iter()
            .map(|c| {
                (
                    *c,
                    if disclose.contains(c) {
                        CategoryRuling {
                            decision: Decision::Disclose,
                            reason: None,
                        }
                    } else {
                        CategoryRuling {
                            decision: Decision::Withhold,
                            reason: Some("Not needed for the investigation.".into()),
                        }
                    },
                )
            })
            .collect(),
        illegal_conduct_reason: None,
    }
    .validate(r.process, &r.intake.categories)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let needs = decision.needs_approval(r.emergency);
    store
        .record_decision(&Actor::User(cast.reviewer.id), r.id, &decision, needs)
        .await?;
    if needs {
        store
            .approve_decision(&Actor::User(cast.approver.id), r.id)
            .await?;
    }
    let status = store.get_request(Scope::Provider, r.id).await?.status;
    anyhow::ensure!(status == RequestStatus::Decided, "the demo decision took");
    Ok(())
}
