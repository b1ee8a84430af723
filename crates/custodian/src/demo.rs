//! `serve --demo`: a believable provider to explore. Agencies in four countries (one still
//! pending verification), their officers, the provider's legal team, and requests of many kinds
//! in every state, received over the last two years.

use anyhow::Context;
use chrono::{Duration, Utc};
use custodian_core::deadline::respond_by;
use custodian_core::request::{DateRange, EmergencyAttestation};
use custodian_core::{
    Country, DataCategory, LegalProcess, NonDisclosureOrder, ReceivedVia, RequestIntake,
    RequestStatus, Target, TargetKind,
};
use custodian_store::{
    Actor, Blobs, DynStore, NewDocument, NewRequest, RequestRecord, Scope, Submission,
};
use custodian_web::WebConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::admin::{issue_token, new_agency, new_user};
use custodian_report::pdf::text_pdf;

/// The password of every demonstration account (for the web sign-in).
pub const DEMO_PASSWORD: &str = "custodian-demo-password";

pub struct DemoLogin {
    pub role: String,
    pub email: String,
    pub token: String,
}

pub struct DemoSummary {
    pub logins: Vec<DemoLogin>,
    pub requests: usize,
}

impl DemoSummary {
    pub fn print(&self, url: &str) {
        println!();
        println!(
            "Demo provider loaded: {} requests over the last two years.",
            self.requests
        );
        println!("Every demo account's password is: {DEMO_PASSWORD}");
        println!(
            "Web sign-in: {url}/signin with an address below and that password; the first \
             sign-in sets up an authenticator app (the page shows the key: any TOTP app, or \
             `oathtool --totp -b KEY`)."
        );
        println!("API tokens (send as 'Authorization: Bearer <token>'):");
        for l in &self.logins {
            println!("  {:<18} {:<40} {}", l.role, l.email, l.token);
        }
        if let Some(first) = self.logins.first() {
            println!();
            println!("Try:");
            println!(
                "  curl -H 'Authorization: Bearer {}' {url}/api/v1/requests",
                first.token
            );
        }
    }
}

struct DemoAgency {
    name: &'static str,
    country: &'static str,
    kind: &'static str,
    domain: &'static str,
    phone: &'static str,
    verified: bool,
    officers: &'static [(&'static str, &'static str, &'static str)],
    processes: &'static [LegalProcess],
}

const AGENCIES: &[DemoAgency] = &[
    DemoAgency {
        name: "Springfield Police Department",
        country: "US",
        kind: "local_police",
        domain: "springfieldpd.gov",
        phone: "+1 217 555 0100",
        verified: true,
        officers: &[
            (
                "agency_officer",
                "det.alvarez@springfieldpd.gov",
                "Det. Maria Alvarez",
            ),
            (
                "agency_supervisor",
                "sgt.okafor@springfieldpd.gov",
                "Sgt. Daniel Okafor",
            ),
        ],
        processes: &[
            LegalProcess::Subpoena,
            LegalProcess::SearchWarrant,
            LegalProcess::CourtOrder2703d,
            LegalProcess::Preservation,
            LegalProcess::Emergency,
            LegalProcess::DeviceReturn,
            LegalProcess::FraudReferral,
        ],
    },
    DemoAgency {
        name: "Federal Bureau of Investigation",
        country: "US",
        kind: "federal_agency",
        domain: "fbi.gov",
        phone: "+1 202 555 0111",
        verified: true,
        officers: &[("agency_officer", "sa.chen@fbi.gov", "SA Linda Chen")],
        processes: &[
            LegalProcess::Subpoena,
            LegalProcess::SearchWarrant,
            LegalProcess::CourtOrder2703d,
            LegalProcess::PenRegister,
            LegalProcess::NationalSecurityLetter,
            LegalProcess::Preservation,
        ],
    },
    DemoAgency {
        name: "Landeskriminalamt Berlin",
        country: "DE",
        kind: "foreign_law_enforcement",
        domain: "polizei.berlin.de",
        phone: "+49 30 4664 0",
        verified: true,
        officers: &[(
            "agency_officer",
            "k.schmidt@polizei.berlin.de",
            "KOK Katrin Schmidt",
        )],
        processes: &[
            LegalProcess::Epoc,
            LegalProcess::EpocPr,
            LegalProcess::ForeignDirect,
        ],
    },
    DemoAgency {
        name: "Metropolitan Police Service",
        country: "GB",
        kind: "foreign_law_enforcement",
        domain: "met.police.uk",
        phone: "+44 20 7230 1212",
        verified: true,
        officers: &[("agency_officer", "ds.patel@met.police.uk", "DS Arjun Patel")],
        processes: &[
            LegalProcess::CloudActOrder,
            LegalProcess::Emergency,
            LegalProcess::ForeignDirect,
        ],
    },
    DemoAgency {
        name: "US Department of Justice, Office of International Affairs",
        country: "US",
        kind: "federal_agency",
        domain: "usdoj.gov",
        phone: "+1 202 555 0140",
        verified: true,
        officers: &[("agency_officer", "j.morrow@usdoj.gov", "Jamie Morrow")],
        processes: &[LegalProcess::SearchWarrant, LegalProcess::Subpoena],
    },
    DemoAgency {
        name: "Riverside County Sheriff's Office",
        country: "US",
        kind: "local_police",
        domain: "riversidesheriff.gov",
        phone: "+1 951 555 0123",
        verified: false,
        officers: &[(
            "agency_officer",
            "dep.nguyen@riversidesheriff.gov",
            "Dep. Tran Nguyen",
        )],
        processes: &[],
    },
];

const STAFF: &[(&str, &str, &str)] = &[
    (
        "reviewer",
        "riley.reviewer@legal.provider.example",
        "Riley Brooks",
    ),
    (
        "reviewer",
        "sam.reviewer@legal.provider.example",
        "Sam Ortega",
    ),
    (
        "approver",
        "alex.approver@legal.provider.example",
        "Alex Kim",
    ),
    (
        "custodian",
        "morgan.records@legal.provider.example",
        "Morgan Lee",
    ),
    ("admin", "admin@legal.provider.example", "Pat Admin"),
    ("auditor", "audit@legal.provider.example", "Jordan Audit"),
];

/// The state each demonstration request ends in, by age: old ones are finished, new ones open.
fn final_state(rng: &mut StdRng, process: LegalProcess, age_days: i64) -> RequestStatus {
    use RequestStatus::*;
    if process == LegalProcess::ForeignDirect {
        return if age_days < 5 { Received } else { Redirected };
    }
    if age_days < 14 {
        return [Received, InReview, ClarificationRequested, Decided][rng.gen_range(0..4)];
    }
    if age_days < 45 {
        return [InReview, Decided, Producing, Delivered][rng.gen_range(0..4)];
    }
    match rng.gen_range(0..10) {
        0 => Rejected,
        1 => Withdrawn,
        2 => Delivered,
        _ => Closed,
    }
}

/// The legal path from `received` to `target`.
fn path_to(target: RequestStatus) -> &'static [RequestStatus] {
    use RequestStatus::*;
    match target {
        Received => &[],
        InReview => &[InReview],
        ClarificationRequested => &[InReview, ClarificationRequested],
        Decided => &[InReview, Decided],
        Producing => &[InReview, Decided, Producing],
        Delivered => &[InReview, Decided, Producing, Delivered],
        Closed => &[InReview, Decided, Producing, Delivered, Closed],
        Withdrawn => &[Withdrawn],
        Rejected => &[InReview, Rejected],
        Redirected => &[InReview, Redirected],
    }
}

fn categories_for(process: LegalProcess) -> Vec<DataCategory> {
    use DataCategory::*;
    match process {
        LegalProcess::SearchWarrant | LegalProcess::CloudActOrder | LegalProcess::Emergency => {
            vec![Subscriber, Transactional, Content]
        }
        LegalProcess::PenRegister => vec![Transactional],
        LegalProcess::NationalSecurityLetter => vec![Subscriber],
        LegalProcess::Epoc => vec![Subscriber, Transactional],
        LegalProcess::DeviceReturn => vec![],
        _ => vec![Subscriber, Transactional],
    }
}

fn demo_target(rng: &mut StdRng, process: LegalProcess) -> Target {
    const FIRST: &[&str] = &[
        "jordan", "casey", "taylor", "morgan", "avery", "riley", "quinn",
    ];
    const LAST: &[&str] = &[
        "smith",
        "garcia",
        "weber",
        "okoro",
        "lindqvist",
        "tanaka",
        "brown",
    ];
    let (kind, value) = match process {
        LegalProcess::DeviceReturn => (
            TargetKind::DeviceSerial,
            format!("FX{:08}", rng.gen_range(10_000_000..99_999_999)),
        ),
        LegalProcess::FraudReferral => (
            TargetKind::OrderId,
            format!(
                "112-{:07}-{:07}",
                rng.gen_range(0..9_999_999),
                rng.gen_range(0..9_999_999)
            ),
        ),
        _ => match rng.gen_range(0..4) {
            0 => (
                TargetKind::Phone,
                format!(
                    "+1 555 01{:02} {:04}",
                    rng.gen_range(0..99),
                    rng.gen_range(0..9999)
                ),
            ),
            1 => (
                TargetKind::AccountId,
                format!("acct-{:06}", rng.gen_range(0..999_999)),
            ),
            _ => (
                TargetKind::Email,
                format!(
                    "{}.{}{}@example.com",
                    FIRST[rng.gen_range(0..FIRST.len())],
                    LAST[rng.gen_range(0..LAST.len())],
                    rng.gen_range(1..99)
                ),
            ),
        },
    };
    Target { kind, value }
}

/// Fills an empty store; returns None (and changes nothing) if it already holds agencies.
pub async fn fill(
    store: &DynStore,
    blobs: &Blobs,
    config: &WebConfig,
) -> anyhow::Result<Option<DemoSummary>> {
    if !store.list_agencies().await?.is_empty() {
        return Ok(None);
    }
    let system = Actor::System("demo".into());
    let mut rng = StdRng::seed_from_u64(2026);
    let mut logins = Vec::new();

    let mut reviewer_ids = Vec::new();
    let mut approver_id = None;
    for (role, email, name) in STAFF {
        let u = store
            .create_user(
                &system,
                new_user(email, name, role, None, Some(DEMO_PASSWORD))?,
            )
            .await?;
        if *role == "reviewer" {
            reviewer_ids.push(u.id);
        }
        if *role == "approver" {
            approver_id = Some(u.id);
        }
        let token = issue_token(store, &system, email, "demo").await?;
        logins.push(DemoLogin {
            role: role.to_string(),
            email: email.to_string(),
            token,
        });
    }

    let mut requests = 0;
    for a in AGENCIES {
        let agency = store
            .create_agency(
                &system,
                new_agency(
                    a.name,
                    a.country,
                    a.kind,
                    &[a.domain.to_string()],
                    Some(a.phone.to_string()),
                    a.verified,
                )?,
            )
            .await?;
        let mut officer_ids = Vec::new();
        for (role, email, name) in a.officers {
            let u = store
                .create_user(
                    &system,
                    new_user(email, name, role, Some(&agency), Some(DEMO_PASSWORD))?,
                )
                .await?;
            officer_ids.push(u.id);
            let token = issue_token(store, &system, email, "demo").await?;
            logins.push(DemoLogin {
                role: format!("{role} ({})", a.country),
                email: email.to_string(),
                token,
            });
        }
        let Some(&officer) = officer_ids.first() else {
            continue;
        };
        let count = if a.processes.is_empty() {
            0
        } else {
            10 + rng.gen_range(0..6)
        };
        for _ in 0..count {
            let process = a.processes[rng.gen_range(0..a.processes.len())];
            let age_days = rng.gen_range(0..730);
            let record = demo_request(
                store, blobs, config, &mut rng, a, agency.id, officer, process, age_days,
            )
            .await
            .with_context(|| format!("demo request for {}", a.name))?;
            let reviewer = Actor::User(reviewer_ids[rng.gen_range(0..reviewer_ids.len())]);
            let target = final_state(&mut rng, process, age_days);
            for step in path_to(target) {
                match step {
                    RequestStatus::Decided => {
                        decide(store, &reviewer, approver_id, &record).await?;
                    }
                    RequestStatus::Withdrawn => {
                        store
                            .transition(
                                &Actor::User(officer),
                                Scope::Provider,
                                record.id,
                                *step,
                                None,
                            )
                            .await?;
                    }
                    _ => {
                        store
                            .transition(&reviewer, Scope::Provider, record.id, *step, None)
                            .await?;
                    }
                }
            }
            if target == RequestStatus::ClarificationRequested {
                store
                    .add_message(
                        &reviewer,
                        Scope::Provider,
                        record.id,
                        false,
                        "Please confirm the date range: the order covers 2024 but the \
                         attachment names 2023.",
                    )
                    .await?;
            }
            requests += 1;
        }
        // The portal's demonstration officer has work in hand, not only history.
        if a.name == "Springfield Police Department" {
            let reviewer = Actor::User(reviewer_ids[0]);
            let open = [
                (
                    LegalProcess::Subpoena,
                    2,
                    RequestStatus::ClarificationRequested,
                ),
                (LegalProcess::SearchWarrant, 5, RequestStatus::InReview),
                (LegalProcess::Preservation, 1, RequestStatus::Received),
            ];
            for (process, age_days, target) in open {
                let record = demo_request(
                    store, blobs, config, &mut rng, a, agency.id, officer, process, age_days,
                )
                .await?;
                for step in path_to(target) {
                    store
                        .transition(&reviewer, Scope::Provider, record.id, *step, None)
                        .await?;
                }
                if target == RequestStatus::ClarificationRequested {
                    store
                        .add_message(
                            &reviewer,
                            Scope::Provider,
                            record.id,
                            false,
                            "Thank you for the subpoena. Its first page and its attachment \
                             name different periods; please confirm the date range, and its \
                             time zone, so that we search the right records.",
                        )
                        .await?;
                }
                requests += 1;
            }
        }
    }
    accounts(store).await?;
    crate::custody_demo::fill(store, blobs).await?;
    crate::billing_demo::fill(store, blobs).await?;
    requests += crate::demo_console::fill(store, blobs, config).await?;
    requests += crate::demo_emergency::fill(store, blobs, config).await?;
    requests += crate::verification_demo::fill(store, blobs, config).await?;
    requests += crate::routes_demo::fill(store, blobs, config).await?;
    Ok(Some(DemoSummary { logins, requests }))
}

/// The web accounts' side of the demo: a supervisor following some of a detective's
/// requests, a registration from an unknown agency waiting for the admin, and a flagged
/// attempt from a domain that imitates Springfield's.
async fn accounts(store: &DynStore) -> anyhow::Result<()> {
    use custodian_core::AgencyKind;
    use custodian_store::{ClaimedAgency, NewRegistration, RegistrationStatus, RequestFilter};
    let detective = store
        .find_user_by_email("det.alvarez@springfieldpd.gov")
        .await?;
    let sergeant = store
        .find_user_by_email("sgt.okafor@springfieldpd.gov")
        .await?;
    let agency = detective.agency_id.context("the detective's agency")?;
    let page = store
        .list_requests(
            Scope::Agency(agency),
            &RequestFilter {
                status: None,
                limit: 3,
                offset: 0,
            },
        )
        .await?;
    for r in &page.items {
        store
            .accounts()
            .add_follower(
                &Actor::User(detective.id),
                Scope::Agency(agency),
                r.id,
                sergeant.id,
            )
            .await?;
    }
    let system = Actor::System("demo".into());
    let registration = |email: &str, name: &str| NewRegistration {
        email: email.into(),
        name: name.into(),
        password_hash: None,
        agency_id: None,
        claimed: None,
        status: RegistrationStatus::AwaitingApproval,
        lookalike_of: None,
        lookalike_reasons: Vec::new(),
        token_hash: None,
        token_expires_at: None,
    };
    let mut waiting = registration("lt.hoover@ogdenvillepd.gov", "Lt. Sam Hoover");
    waiting.password_hash = Some(custodian_web::account::password::hash(DEMO_PASSWORD)?);
    waiting.claimed = Some(ClaimedAgency {
        name: "Ogdenville Police Department".into(),
        country: Country::US,
        kind: AgencyKind::LocalPolice,
        phone: Some("+1 217 555 0177".into()),
    });
    store
        .accounts()
        .create_registration(&system, waiting, None, chrono::Utc::now())
        .await?;
    let mut lookalike = registration("chief@springfie1dpd.gov", "Chief C. Wiggum");
    lookalike.status = RegistrationStatus::Lookalike;
    lookalike.lookalike_of = Some("springfieldpd.gov".into());
    lookalike.lookalike_reasons = vec!["character_swap".into()];
    store
        .accounts()
        .create_registration(&system, lookalike, None, chrono::Utc::now())
        .await?;
    Ok(())
}

/// A reviewer's decision as the demo's legal team would make it: everything the law lets the
/// process reach, approved by the approver where the two-person rule asks for it.
async fn decide(
    store: &DynStore,
    reviewer: &Actor,
    approver: Option<uuid::Uuid>,
    record: &RequestRecord,
) -> anyhow::Result<()> {
    use custodian_core::policy::{evaluate, Decision, PolicyCase, PolicyProfile};
    use custodian_core::review::{CategoryRuling, ReviewDecision};
    // The demo's reviewers follow the policy engine's recommendation.
    let profile = PolicyProfile::builtin(PolicyProfile::DEFAULT)?;
    let request = custodian_core::NewLegalRequest {
        intake: record.intake.clone(),
    };
    let case = PolicyCase::from_request(&request, record.received_at);
    let assessment = evaluate(&profile, &case, record.received_at);
    let categories = record
        .intake
        .categories
        .iter()
        .map(|c| {
            let recommended = assessment.categories.get(c);
            let ruling = match recommended {
                Some(d) if d.decision == Decision::Disclose => CategoryRuling {
                    decision: Decision::Disclose,
                    reason: None,
                },
                Some(d) => CategoryRuling {
                    decision: Decision::Withhold,
                    reason: Some(d.reason.clone()),
                },
                None => CategoryRuling {
                    decision: Decision::Withhold,
                    reason: Some("Not reached by this process.".into()),
                },
            };
            (*c, ruling)
        })
        .collect();
    let decision = ReviewDecision {
        categories,
        illegal_conduct_reason: None,
    }
    .validate(record.process, &record.intake.categories)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let needs_approval = decision.needs_approval(record.emergency);
    store
        .record_decision(reviewer, record.id, &decision, needs_approval)
        .await?;
    if let (true, Some(approver)) = (needs_approval, approver) {
        store
            .approve_decision(&Actor::User(approver), record.id)
            .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn demo_request(
    store: &DynStore,
    blobs: &Blobs,
    config: &WebConfig,
    rng: &mut StdRng,
    a: &DemoAgency,
    agency_id: uuid::Uuid,
    officer: uuid::Uuid,
    process: LegalProcess,
    age_days: i64,
) -> anyhow::Result<RequestRecord> {
    let received_at =
        Utc::now() - Duration::days(age_days) - Duration::minutes(rng.gen_range(0..600));
    let country = Country::parse(a.country).map_err(anyhow::Error::msg)?;
    let treaty = a.domain == "usdoj.gov";
    let emergency = (process == LegalProcess::Emergency).then(|| EmergencyAttestation {
        danger_of_death_or_serious_injury: true,
        supervisor_name: Some("Sgt. Daniel Okafor".into()),
        supervisor_phone: Some(a.phone.into()),
        narrative: Some(
            "Missing teenager; messages indicate a plan to meet an adult stranger tonight.".into(),
        ),
    });
    let count = if process == LegalProcess::DeviceReturn {
        1
    } else {
        rng.gen_range(1..3)
    };
    let targets: Vec<Target> = (0..count).map(|_| demo_target(rng, process)).collect();
    let ndo_until = match rng.gen_range(0..5) {
        0 => Some(NonDisclosureOrder::Indefinite),
        1 | 2 => Some(NonDisclosureOrder::Until(
            (received_at + Duration::days(180)).date_naive(),
        )),
        _ => None,
    };
    let to = received_at.date_naive();
    let intake = RequestIntake {
        process,
        issuing_authority: if treaty {
            [
                "Bundesamt für Justiz (via MLAT)",
                "Ministère de la Justice (via MLAT)",
            ][rng.gen_range(0..2)]
            .into()
        } else {
            a.name.to_string()
        },
        issuing_country: country,
        received_via: if treaty {
            ReceivedVia::MlatDoj
        } else if matches!(process, LegalProcess::Epoc | LegalProcess::EpocPr) {
            ReceivedVia::EEvidence
        } else {
            ReceivedVia::Portal
        },
        requesting_country: if treaty {
            Some(Country::parse(["DE", "FR"][rng.gen_range(0..2)]).map_err(anyhow::Error::msg)?)
        } else {
            None
        },
        emergency,
        case_reference: Some(format!(
            "{}-{:05}",
            to.format("%Y"),
            rng.gen_range(100..99_999)
        )),
        targets,
        date_range: Some(DateRange {
            from: to - Duration::days(rng.gen_range(30..365)),
            to,
        }),
        categories: categories_for(process),
        return_date: Some(to + Duration::days(rng.gen_range(10..30))),
        ndo_until: if process.is_national_security() {
            Some(NonDisclosureOrder::Indefinite)
        } else {
            ndo_until
        },
        judicial_authorisation: process == LegalProcess::Epoc,
        renews: None,
        follows_emergency: None,
        order: crate::routes_demo::order_for(process, false),
        device_return: (process == LegalProcess::DeviceReturn)
            .then(|| crate::billing_demo::officer_contact(a.name, a.phone, a.domain)),
        fraud: (process == LegalProcess::FraudReferral).then(crate::billing_demo::fraud_facts),
    };
    let validated = intake.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let pdf = text_pdf(&[
        a.name.to_uppercase(),
        String::new(),
        process.label().to_uppercase(),
        format!(
            "Case reference: {}",
            validated.intake.case_reference.clone().unwrap_or_default()
        ),
        format!("Issued: {}", to.format("%B %-d, %Y")),
        String::new(),
        "TO: Custodian of Records, legal.provider.example".into(),
        "You are commanded to produce the records described in the attachment".into(),
        "for the accounts identified therein, for the period stated.".into(),
        String::new(),
        "(Demonstration document generated by Custodian.)".into(),
    ]);
    let blob = blobs.put(pdf.into()).await?;
    let calendar = custodian_web::api::admin::deadline_calendar(
        store,
        &config.calendar,
        &validated.intake.issuing_country,
        received_at,
    )
    .await?;
    let due = respond_by(
        process,
        validated.is_emergency(),
        received_at,
        validated.intake.return_date,
        &calendar,
    );
    let submission = store
        .submit_request(
            &Actor::User(officer),
            NewRequest {
                agency_id,
                submitted_by: officer,
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
