//! Emergencies in `serve --demo`: an on-call rota (Riley primary, Sam secondary), a paging
//! webhook with its signing secret, an emergency paged 50 minutes ago and acknowledged after
//! 3 min 40 s, answered since, with the legal process that follows it still to be served. The
//! emergencies of the demo's history are acknowledged as they would have been; the fresh one
//! the review console shows first keeps paging until someone presses Acknowledge.

use anyhow::Context;
use chrono::{Duration, Utc};
use custodian_core::deadline::respond_by;
use custodian_core::request::EmergencyAttestation;
use custodian_core::{DataCategory, LegalProcess, ReceivedVia, RequestIntake, Target, TargetKind};
use custodian_report::pdf::text_pdf;
use custodian_store::paging::{NewOnCall, OnCallTier, SettingsUpdate};
use custodian_store::{
    Actor, Blobs, DynStore, NewDocument, NewRequest, RequestFilter, Scope, Submission,
};
use custodian_web::api::admin::deadline_calendar;
use custodian_web::WebConfig;

/// The demo's paging webhook: a host that does not resolve, so the console shows what a
/// failing webhook looks like (retried, recorded) without sending anything anywhere.
pub const DEMO_WEBHOOK: &str = "https://pager.legal.provider.example/hooks/custodian";

/// Returns how many requests it added.
pub async fn fill(store: &DynStore, blobs: &Blobs, config: &WebConfig) -> anyhow::Result<usize> {
    let admin = store
        .find_user_by_email("admin@legal.provider.example")
        .await?;
    let admin = Actor::User(admin.id);
    let riley = store
        .find_user_by_email("riley.reviewer@legal.provider.example")
        .await?;
    let sam = store
        .find_user_by_email("sam.reviewer@legal.provider.example")
        .await?;
    let paging = store.paging();
    paging
        .set_rota(
            &admin,
            &[
                NewOnCall {
                    tier: OnCallTier::Primary,
                    user_id: riley.id,
                    window: None,
                },
                NewOnCall {
                    tier: OnCallTier::Secondary,
                    user_id: sam.id,
                    window: None,
                },
            ],
        )
        .await?;
    paging
        .update_settings(
            &admin,
            &SettingsUpdate {
                webhook_url: Some(Some(DEMO_WEBHOOK.into())),
                webhook_secret: Some("demo-signing-secret-change-me".into()),
                ..SettingsUpdate::default()
            },
        )
        .await?;

    // The history: every emergency older than two hours was acknowledged a few minutes after
    // it came in (and paged once before that).
    let now = Utc::now();
    let all = store
        .list_requests(
            Scope::Provider,
            &RequestFilter {
                status: None,
                limit: 10_000,
                offset: 0,
            },
        )
        .await?;
    for (i, r) in all
        .items
        .iter()
        .filter(|r| r.emergency && r.received_at < now - Duration::hours(2))
        .enumerate()
    {
        page_and_acknowledge(store, config, r.id, r.received_at, i as i64, riley.id).await?;
    }

    // The showcase: an emergency from Springfield 50 minutes ago, acknowledged by Riley after
    // 3 min 40 s, answered with a message; its legal process has not followed yet.
    let officer = store
        .find_user_by_email("det.alvarez@springfieldpd.gov")
        .await?;
    let agency_id = officer.agency_id.context("the officer's agency")?;
    let agency = store.get_agency(agency_id).await?;
    let received_at = now - Duration::minutes(50);
    let intake = RequestIntake {
        process: LegalProcess::Emergency,
        issuing_authority: agency.name.clone(),
        issuing_country: agency.country,
        received_via: ReceivedVia::Portal,
        requesting_country: None,
        emergency: Some(EmergencyAttestation {
            danger_of_death_or_serious_injury: true,
            supervisor_name: Some("Lt. Maria Chen".into()),
            supervisor_phone: Some("+1 217 555 0142".into()),
            narrative: Some("A missing 14-year-old's last messages came from this account.".into()),
        }),
        case_reference: Some("2026-MP-0117".into()),
        targets: vec![Target {
            kind: TargetKind::Email,
            value: "jordan.missing@example.com".into(),
        }],
        date_range: None,
        categories: vec![DataCategory::Subscriber, DataCategory::Transactional],
        return_date: None,
        ndo_until: None,
        judicial_authorisation: false,
        renews: None,
        follows_emergency: None,
        order: None,
        device_return: None,
        fraud: None,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pdf = text_pdf(&[
        agency.name.to_uppercase(),
        String::new(),
        "EMERGENCY DISCLOSURE REQUEST (18 U.S.C. 2702(b)(8), (c)(4))".into(),
        "Case reference: 2026-MP-0117".into(),
        "(Demonstration document generated by Custodian.)".into(),
    ]);
    let blob = blobs.put(pdf.into()).await?;
    let calendar = deadline_calendar(
        store,
        &config.calendar,
        &intake.intake.issuing_country,
        received_at,
    )
    .await?;
    let due = respond_by(intake.intake.process, true, received_at, None, &calendar);
    let r = match store
        .submit_request(
            &Actor::User(officer.id),
            NewRequest {
                agency_id,
                submitted_by: officer.id,
                intake,
                received_at,
                respond_by: due,
                documents: vec![NewDocument {
                    blob,
                    file_name: "emergency.pdf".into(),
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
    paging
        .page_round(r.id, &config.public_url, received_at + Duration::seconds(1))
        .await?;
    for a in paging.attempts(r.id).await? {
        if a.channel == custodian_store::paging::PageChannel::Webhook {
            paging
                .finish_attempt(a.id, true, "HTTP 204", received_at + Duration::seconds(1))
                .await?;
        }
    }
    let riley_actor = Actor::User(riley.id);
    paging
        .acknowledge(
            &riley_actor,
            r.id,
            received_at + Duration::minutes(3) + Duration::seconds(40),
        )
        .await?;
    store.assign(&riley_actor, r.id, Some(riley.id)).await?;
    store
        .add_message(
            &riley_actor,
            Scope::Provider,
            r.id,
            false,
            "We have your emergency request and are working on it now. We will call Lt. Chen \
             at the number in our directory to confirm it.",
        )
        .await?;
    Ok(1)
}

/// Pages once at receipt and acknowledges a few minutes later (for the demo's history).
async fn page_and_acknowledge(
    store: &DynStore,
    config: &WebConfig,
    id: uuid::Uuid,
    received_at: chrono::DateTime<Utc>,
    i: i64,
    reviewer: uuid::Uuid,
) -> anyhow::Result<()> {
    let paging = store.paging();
    paging
        .page_round(id, &config.public_url, received_at + Duration::seconds(2))
        .await?;
    for a in paging.attempts(id).await? {
        if a.channel == custodian_store::paging::PageChannel::Webhook {
            paging
                .finish_attempt(a.id, true, "HTTP 204", received_at + Duration::seconds(2))
                .await?;
        }
    }
    paging
        .acknowledge(
            &Actor::User(reviewer),
            id,
            received_at + Duration::minutes(2 + i % 9) + Duration::seconds(13 * i % 60),
        )
        .await?;
    Ok(())
}
