//! Verification storage (migration 0011) on SQLite and, when CUSTODIAN_TEST_POSTGRES_URL is
//! set, PostgreSQL: the assessment stored in the request's transaction with earlier requests
//! re-flagged, networks becoming known only through trusted use, call-backs and clearance,
//! suspensions flagging open requests and lifting resolving them, all audited.

use chrono::Utc;
use custodian_core::verification::{
    CallbackOutcome, CallbackTask, RiskAssessment, RiskCode, RiskLevel, RiskReason,
};
use custodian_core::{AgencyStatus, Country, RequestIntake, Role};
use custodian_store::testing::backends;
use custodian_store::verification::{IntakeRisk, Reflag};
use custodian_store::*;

fn sys() -> Actor {
    Actor::System("test".into())
}

fn assessment(code: Option<RiskCode>, score: u32) -> RiskAssessment {
    RiskAssessment {
        score,
        level: if score >= 50 {
            RiskLevel::High
        } else {
            RiskLevel::Low
        },
        reasons: code
            .map(|code| RiskReason {
                code,
                weight: score,
                text: "why".into(),
            })
            .into_iter()
            .collect(),
        blocks_disclosure: score >= 50,
        hard_blocked: false,
    }
}

fn new_request(officer: &User, target: &str) -> NewRequest {
    let intake: RequestIntake = serde_json::from_value(serde_json::json!({
        "process": "subpoena",
        "issuing_authority": "A",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": target}],
        "categories": ["subscriber"],
    }))
    .unwrap();
    NewRequest {
        agency_id: officer.agency_id.unwrap(),
        submitted_by: officer.id,
        intake: intake.validate().unwrap(),
        received_at: Utc::now(),
        respond_by: Utc::now() + chrono::Duration::days(10),
        documents: Vec::new(),
        idempotency: None,
        risk: None,
    }
}

fn created(s: Submission) -> RequestRecord {
    match s {
        Submission::Created(r) => r,
        Submission::Replayed(_) => panic!("replayed"),
    }
}

/// The request as the web layer hands it to the store: with the risk it assessed.
fn with_risk(request: NewRequest, risk: IntakeRisk) -> NewRequest {
    NewRequest {
        risk: Some(risk),
        ..request
    }
}

#[tokio::test]
async fn risk_flags_networks_callbacks_and_suspensions() {
    for b in backends("verification_store").await {
        let (s, name) = (&b.store, b.name);
        let mut agencies = Vec::new();
        for (n, d) in [
            ("Springfield PD", "springfieldpd.gov"),
            ("Shelbyville PD", "shelbyvillepd.gov"),
        ] {
            agencies.push(
                s.create_agency(
                    &sys(),
                    NewAgency {
                        name: n.into(),
                        country: Country::US,
                        kind: custodian_core::AgencyKind::LocalPolice,
                        status: AgencyStatus::Verified,
                        phone: Some("+1 217 555 0100".into()),
                        domains: vec![d.into()],
                    },
                )
                .await
                .unwrap(),
            );
        }
        let mut officers = Vec::new();
        for (email, a) in [
            ("a@springfieldpd.gov", &agencies[0]),
            ("b@shelbyvillepd.gov", &agencies[1]),
        ] {
            officers.push(
                s.create_user(
                    &sys(),
                    NewUser {
                        email: email.into(),
                        name: "O".into(),
                        role: Role::AgencyOfficer,
                        agency_id: Some(a.id),
                        password_hash: None,
                    },
                )
                .await
                .unwrap(),
            );
        }
        let reviewer = s
            .create_user(
                &sys(),
                NewUser {
                    email: "r@provider.example".into(),
                    name: "R".into(),
                    role: Role::Reviewer,
                    agency_id: None,
                    password_hash: None,
                },
            )
            .await
            .unwrap();
        let v = s.verification();
        let hour_ago = || Utc::now() - chrono::Duration::hours(1);
        let facts = |officer: usize, agency: usize, count_up_to: u32| {
            let officer = officers[officer].clone();
            let agency = agencies[agency].id;
            let v = s.verification();
            async move {
                let targets = new_request(&officer, "x@example.com").intake.intake.targets;
                v.intake_facts(officer.id, count_up_to, agency, &targets, hour_ago())
                    .await
                    .unwrap()
            }
        };
        let first_facts = facts(0, 0, 1000).await;
        assert_eq!(
            first_facts.verified_domains,
            vec!["shelbyvillepd.gov", "springfieldpd.gov"],
            "{name}"
        );
        assert_eq!(first_facts.history.previous_requests, 0, "{name}");
        assert_eq!(first_facts.source_checked_at, None, "{name}");

        // The officer's first network is trusted at sign-in; a later new one is not.
        v.record_sign_in_network(officers[0].id, "198.51.100.0/24", Utc::now())
            .await
            .unwrap();
        v.record_sign_in_network(officers[0].id, "203.0.113.0/24", Utc::now())
            .await
            .unwrap();
        let h = facts(0, 0, 1000).await.history;
        assert_eq!(h.known_networks, vec!["198.51.100.0/24"], "{name}");

        // A first request, stored with its assessment and its (doubted) network.
        let first = created(
            s.submit_request(
                &Actor::User(officers[0].id),
                with_risk(
                    new_request(&officers[0], "x@example.com"),
                    IntakeRisk {
                        assessment: assessment(Some(RiskCode::UnusualNetwork), 50),
                        network: Some("203.0.113.0/24".into()),
                        trust_network: false,
                        same_target_flag: None,
                        reflag: Vec::new(),
                    },
                ),
            )
            .await
            .unwrap(),
        );
        let stored = v.risk(first.id).await.unwrap().unwrap();
        assert_eq!(stored.assessment.score, 50, "{name}");
        assert_eq!(stored.network.as_deref(), Some("203.0.113.0/24"));
        let h = facts(0, 0, 1000).await.history;
        assert_eq!(h.previous_requests, 1);
        assert_eq!(
            h.known_networks,
            vec!["198.51.100.0/24"],
            "still doubted: {name}"
        );

        // Another agency asks about the same target: found, and the first re-flagged.
        let hits = facts(1, 1, 1000).await.same_target;
        assert_eq!(hits.len(), 1, "{name}");
        assert!(
            facts(0, 0, 1000).await.same_target.is_empty(),
            "the agency's own request is not another agency's: {name}"
        );
        assert_eq!(hits[0].request_id, first.id);
        assert_eq!(hits[0].agency_name, "Springfield PD");
        let second = created(
            s.submit_request(
                &Actor::User(officers[1].id),
                with_risk(
                    new_request(&officers[1], "x@example.com"),
                    IntakeRisk {
                        assessment: assessment(Some(RiskCode::SameTargetOtherAgencies), 30),
                        network: None,
                        trust_network: true,
                        same_target_flag: Some("Springfield PD asked too.".into()),
                        reflag: vec![Reflag {
                            request_id: first.id,
                            assessment: assessment(Some(RiskCode::SameTargetOtherAgencies), 80),
                            text: "Shelbyville PD asked too.".into(),
                        }],
                    },
                ),
            )
            .await
            .unwrap(),
        );
        let summaries = v.risk_summaries(&[first.id, second.id]).await.unwrap();
        assert_eq!(summaries.len(), 2, "{name}");
        assert!(summaries
            .iter()
            .all(|x| x.flags == vec!["same_target".to_string()]));
        let first_risk = v.risk(first.id).await.unwrap().unwrap();
        assert_eq!(first_risk.assessment.score, 80, "{name}");
        assert_eq!(
            first_risk.network.as_deref(),
            Some("203.0.113.0/24"),
            "kept: {name}"
        );

        // A confirmed call-back to the directory number trusts the request's network.
        let task = CallbackTask::new("+1 217 555 0100", None).unwrap();
        let call = task.record(
            "217-555-0100",
            CallbackOutcome::Confirmed,
            reviewer.id,
            Utc::now(),
            None,
            None,
        );
        v.record_callback(&Actor::User(reviewer.id), first.id, &call)
            .await
            .unwrap();
        assert_eq!(v.callbacks(first.id).await.unwrap().len(), 1);
        let mut known = facts(0, 0, 1000).await.history.known_networks;
        known.sort();
        assert_eq!(known, vec!["198.51.100.0/24", "203.0.113.0/24"], "{name}");

        // Clearance, once.
        let cleared = v
            .clear_risk(&Actor::User(reviewer.id), first.id, "Confirmed.")
            .await
            .unwrap();
        assert_eq!(cleared.clearance.unwrap().by, reviewer.id);
        assert!(matches!(
            v.clear_risk(&Actor::User(reviewer.id), first.id, "Again.")
                .await,
            Err(StoreError::Conflict(_))
        ));

        // Suspension flags the officer's open requests; lifting resolves them.
        let flagged = v
            .suspend_officer(&sys(), officers[0].id, "taken over")
            .await
            .unwrap();
        assert_eq!(flagged, vec![first.id], "{name}");
        assert!(facts(0, 0, 1).await.history.suspended);
        assert!(matches!(
            v.suspend_officer(&sys(), officers[0].id, "again").await,
            Err(StoreError::Conflict(_))
        ));
        v.lift_officer_suspension(&sys(), officers[0].id, "recovered")
            .await
            .unwrap();
        let flags = v.flags(first.id).await.unwrap();
        let suspension = flags
            .iter()
            .find(|f| f.kind == "officer_suspended")
            .unwrap();
        assert!(suspension.resolved_at.is_some(), "{name}");
        assert!(matches!(
            v.lift_officer_suspension(&sys(), officers[0].id, "again")
                .await,
            Err(StoreError::NotFound)
        ));

        // The agency: suspended with its open requests flagged, then verified again.
        let flagged = v
            .suspend_agency(&sys(), agencies[1].id, "verification was wrong")
            .await
            .unwrap();
        assert_eq!(flagged, vec![second.id]);
        assert_eq!(
            s.get_agency(agencies[1].id).await.unwrap().status,
            AgencyStatus::Suspended
        );
        v.lift_agency_suspension(&sys(), agencies[1].id, "re-verified")
            .await
            .unwrap();
        assert_eq!(
            s.get_agency(agencies[1].id).await.unwrap().status,
            AgencyStatus::Verified
        );

        // The directory source.
        let src = v
            .set_agency_source(&sys(), agencies[0].id, "State directory", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            v.agency_source(agencies[0].id)
                .await
                .unwrap()
                .unwrap()
                .source,
            src.source
        );
        assert_eq!(
            facts(0, 0, 1).await.source_checked_at,
            Some(src.checked_at),
            "{name}"
        );

        let actions: Vec<String> = s
            .audit_entries(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.entry.action)
            .collect();
        for a in [
            "request.risk_assessed",
            "request.flagged",
            "request.callback_recorded",
            "request.risk_cleared",
            "user.suspended",
            "user.suspension_lifted",
            "agency.status_changed",
            "agency.source_recorded",
        ] {
            assert!(
                actions.contains(&a.to_string()),
                "{a} not audited on {name}"
            );
        }
    }
}
