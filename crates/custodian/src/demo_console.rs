//! The review console's part of `serve --demo`: holiday calendars (the provider's US calendar
//! with a company holiday, a UK calendar of its own), open requests in the reviewers' hands,
//! some due soon and some overdue, a fresh emergency nobody has taken yet, a warrant whose
//! content disclosure one reviewer decided and the approver has still to approve, and a
//! subpoena rejected with its letter for the portal's officer to read.

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use custodian_core::deadline::{respond_by, CalendarBase};
use custodian_core::letters::{self, LetterContext};
use custodian_core::policy::Decision;
use custodian_core::request::EmergencyAttestation;
use custodian_core::review::{CategoryRuling, ReviewDecision};
use custodian_core::{
    Country, DataCategory, LegalProcess, ReceivedVia, RequestIntake, RequestStatus, Target,
    TargetKind,
};
use custodian_report::pdf::text_pdf;
use custodian_store::{
    Actor, Blobs, DynStore, NewDocument, NewRequest, QueueFilter, RequestRecord, Submission, User,
};
use custodian_web::api::admin::deadline_calendar;
use custodian_web::WebConfig;

/// The UK's bank holidays in England and Wales for 2026 and 2027, as published.
const UK_BANK_HOLIDAYS: &[(i32, u32, u32, &str)] = &[
    (2026, 1, 1, "New Year's Day"),
    (2026, 4, 3, "Good Friday"),
    (2026, 4, 6, "Easter Monday"),
    (2026, 5, 4, "Early May bank holiday"),
    (2026, 5, 25, "Spring bank holiday"),
    (2026, 8, 31, "Summer bank holiday"),
    (2026, 12, 25, "Christmas Day"),
    (2026, 12, 28, "Boxing Day (substitute day)"),
    (2027, 1, 1, "New Year's Day"),
    (2027, 3, 26, "Good Friday"),
    (2027, 3, 29, "Easter Monday"),
    (2027, 5, 3, "Early May bank holiday"),
    (2027, 5, 31, "Spring bank holiday"),
    (2027, 8, 30, "Summer bank holiday"),
    (2027, 12, 27, "Christmas Day (substitute day)"),
    (2027, 12, 28, "Boxing Day (substitute day)"),
];

/// Returns how many requests it added.
pub async fn fill(store: &DynStore, blobs: &Blobs, config: &WebConfig) -> anyhow::Result<usize> {
    let admin = Actor::User(
        store
            .find_user_by_email("admin@legal.provider.example")
            .await?
            .id,
    );
    calendars(store, &admin).await?;

    let riley = staff(store, "riley.reviewer@legal.provider.example").await?;
    let sam = staff(store, "sam.reviewer@legal.provider.example").await?;
    let officer = store
        .find_user_by_email("det.alvarez@springfieldpd.gov")
        .await?;
    let met = store.find_user_by_email("ds.patel@met.police.uk").await?;
    let now = Utc::now();
    let demo = Demo {
        store,
        blobs,
        config,
    };

    // The open history in the queue goes to the two reviewers, a few left for whoever takes
    // them; emergencies are everyone's first concern and stay in view.
    let open = store
        .review_queue(&QueueFilter {
            open_only: true,
            limit: 500,
            ..Default::default()
        })
        .await?;
    for (i, r) in open
        .iter()
        .filter(|r| r.assignee_id.is_none() && r.status != RequestStatus::Received)
        .enumerate()
    {
        let who = if i % 2 == 0 { riley.id } else { sam.id };
        store.assign(&Actor::User(who), r.id, Some(who)).await?;
    }

    // Due within 48 hours, with Riley: a 2703(d) order received nine business days ago.
    let nine_days_ago = business_days_back(store, config, now, 9).await?;
    let soon = demo
        .request(&officer, LegalProcess::CourtOrder2703d, nine_days_ago, None)
        .await?;
    store
        .assign(&Actor::User(riley.id), soon.id, Some(riley.id))
        .await?;
    // Overdue, with Sam: a subpoena received twelve business days ago, still in review.
    let twelve_days_ago = business_days_back(store, config, now, 12).await?;
    let late = demo
        .request(&officer, LegalProcess::Subpoena, twelve_days_ago, None)
        .await?;
    store
        .assign(&Actor::User(sam.id), late.id, Some(sam.id))
        .await?;
    // A UK CLOUD Act order, counted in the UK's own calendar, not yet taken.
    demo.request(
        &met,
        LegalProcess::CloudActOrder,
        now - Duration::days(2),
        None,
    )
    .await?;
    // An emergency that arrived twenty minutes ago: first in the queue, due within the hour.
    demo.request(
        &officer,
        LegalProcess::Emergency,
        now - Duration::minutes(20),
        Some(EmergencyAttestation {
            danger_of_death_or_serious_injury: true,
            supervisor_name: Some("Sgt. Daniel Okafor".into()),
            supervisor_phone: Some("+1 217 555 0100".into()),
            narrative: Some(
                "A caller threatened to harm a named person tonight from this account.".into(),
            ),
        }),
    )
    .await?;

    // A warrant for content: Riley decided to disclose; it waits for Alex (two-person rule).
    let warrant = demo
        .request(
            &officer,
            LegalProcess::SearchWarrant,
            now - Duration::days(3),
            None,
        )
        .await?;
    store
        .assign(&Actor::User(riley.id), warrant.id, Some(riley.id))
        .await?;
    let decision = ReviewDecision {
        categories: warrant
            .intake
            .categories
            .iter()
            .map(|c| {
                (
                    *c,
                    CategoryRuling {
                        decision: Decision::Disclose,
                        reason: None,
                    },
                )
            })
            .collect(),
        illegal_conduct_reason: None,
    }
    .validate(warrant.process, &warrant.intake.categories)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .record_decision(
            &Actor::User(riley.id),
            warrant.id,
            &decision,
            decision.needs_approval(warrant.emergency),
        )
        .await?;

    // A subpoena rejected, with the letter the officer reads on the portal.
    let rejected = demo
        .request(
            &officer,
            LegalProcess::Subpoena,
            now - Duration::days(6),
            None,
        )
        .await?;
    let agency = store.get_agency(rejected.agency_id).await?;
    let letter = letters::rejection(
        &LetterContext {
            number: &rejected.number,
            agency: &agency.name,
            process: rejected.process,
            case_reference: rejected.intake.case_reference.as_deref(),
        },
        "The subpoena is not signed by the issuing officer, and its attachment lists no account.",
    );
    store
        .send_letter(
            &Actor::User(sam.id),
            rejected.id,
            "rejection",
            &letter,
            Some(RequestStatus::Rejected),
        )
        .await?;
    Ok(6)
}

async fn staff(store: &DynStore, email: &str) -> anyhow::Result<User> {
    store
        .find_user_by_email(email)
        .await
        .with_context(|| format!("the demo's {email}"))
}

/// The provider's US calendar (the federal holidays and the day after Thanksgiving, a company
/// holiday) and the UK's own.
async fn calendars(store: &DynStore, admin: &Actor) -> anyhow::Result<()> {
    let cal = store.deadlines();
    cal.create_calendar(admin, "US", "United States", CalendarBase::UsFederal)
        .await?;
    let year = Utc::now().year();
    for y in year - 1..=year + 1 {
        if let Some(thanksgiving) = NaiveDate::from_weekday_of_month_opt(y, 11, Weekday::Thu, 4) {
            if let Some(friday) = thanksgiving.succ_opt() {
                cal.add_holiday(
                    admin,
                    "US",
                    friday,
                    "Day after Thanksgiving (company holiday)",
                )
                .await?;
            }
        }
    }
    cal.create_calendar(
        admin,
        "GB",
        "United Kingdom (England and Wales)",
        CalendarBase::Empty,
    )
    .await?;
    for (y, m, d, name) in UK_BANK_HOLIDAYS {
        if let Some(day) = NaiveDate::from_ymd_opt(*y, *m, *d) {
            cal.add_holiday(admin, "GB", day, name).await?;
        }
    }
    Ok(())
}

/// The moment `n` business days before `now` (US calendar), at the same time of day.
async fn business_days_back(
    store: &DynStore,
    config: &WebConfig,
    now: DateTime<Utc>,
    n: u32,
) -> anyhow::Result<DateTime<Utc>> {
    let calendar = deadline_calendar(store, &config.calendar, &Country::US, now).await?;
    let mut at = now;
    let mut left = n;
    while left > 0 {
        at -= Duration::days(1);
        if calendar.is_business_day(at.date_naive()) {
            left -= 1;
        }
    }
    Ok(at)
}

struct Demo<'a> {
    store: &'a DynStore,
    blobs: &'a Blobs,
    config: &'a WebConfig,
}

impl Demo<'_> {
    /// A request served by `officer` at `received_at`, its deadline counted in the stored
    /// calendar of its country, with a one-page PDF.
    async fn request(
        &self,
        officer: &User,
        process: LegalProcess,
        received_at: DateTime<Utc>,
        emergency: Option<EmergencyAttestation>,
    ) -> anyhow::Result<RequestRecord> {
        let agency_id = officer.agency_id.context("an officer's agency")?;
        let agency = self.store.get_agency(agency_id).await?;
        let categories = match process {
            LegalProcess::SearchWarrant | LegalProcess::CloudActOrder | LegalProcess::Emergency => {
                vec![
                    DataCategory::Subscriber,
                    DataCategory::Transactional,
                    DataCategory::Content,
                ]
            }
            _ => vec![DataCategory::Subscriber, DataCategory::Transactional],
        };
        let day = received_at.date_naive();
        let intake = RequestIntake {
            process,
            issuing_authority: agency.name.clone(),
            issuing_country: agency.country,
            received_via: ReceivedVia::Portal,
            requesting_country: None,
            emergency,
            case_reference: Some(received_at.format("%Y-C%m%d%H").to_string()),
            targets: vec![Target {
                kind: TargetKind::Email,
                value: format!("casey.okoro{}@example.com", day.format("%d")),
            }],
            date_range: Some(custodian_core::request::DateRange {
                from: day - Duration::days(90),
                to: day,
            }),
            categories,
            return_date: None,
            ndo_until: None,
            judicial_authorisation: false,
            renews: None,
            follows_emergency: None,
            order: crate::routes_demo::order_for(process, false),
            device_return: None,
            fraud: None,
        };
        let validated = intake.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let pdf = text_pdf(&[
            agency.name.to_uppercase(),
            String::new(),
            process.label().to_uppercase(),
            format!(
                "Case reference: {}",
                validated.intake.case_reference.clone().unwrap_or_default()
            ),
            format!("Issued: {}", day.format("%B %-d, %Y")),
            String::new(),
            "TO: Custodian of Records, legal.provider.example".into(),
            "(Demonstration document generated by Custodian.)".into(),
        ]);
        let blob = self.blobs.put(pdf.into()).await?;
        let calendar = deadline_calendar(
            self.store,
            &self.config.calendar,
            &validated.intake.issuing_country,
            received_at,
        )
        .await?;
        let due = respond_by(
            process,
            validated.is_emergency(),
            received_at,
            None,
            &calendar,
        );
        let submission = self
            .store
            .submit_request(
                &Actor::User(officer.id),
                NewRequest {
                    agency_id,
                    submitted_by: officer.id,
                    intake: validated,
                    received_at,
                    respond_by: due,
                    documents: vec![NewDocument {
                        blob,
                        file_name: format!("{}.pdf", process.as_str()),
                        content_type: "application/pdf".into(),
                    }],
                    idempotency: None,
                    risk: None,
                },
            )
            .await?;
        Ok(match submission {
            Submission::Created(r) | Submission::Replayed(r) => r,
        })
    }
}
