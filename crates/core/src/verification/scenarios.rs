//! The forged-request scenarios from the issue, end to end through the domain: each must be
//! stopped before anything is disclosed, and a legitimate emergency must go through.

use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{legitimate_emergency, now, DIRECTORY};
use super::*;

fn confirmed_callback() -> CallbackRecord {
    let task = CallbackTask::new("+1 217 555 0100", None).unwrap();
    task.record(
        "+1 217 555 0100",
        CallbackOutcome::Confirmed,
        Uuid::nil(),
        now(),
        Some("Lt. Diaz, watch commander".into()),
        None,
    )
}

/// Stopped by the risk assessment itself: even a call-back marked confirmed (a forger's
/// accomplice answering, a reviewer's slip) does not let the disclosure through without an
/// approver, and nothing goes through without the call-back.
fn assert_stopped(s: &RiskSignals, expect: RiskCode) -> RiskAssessment {
    let a = assess_risk(s, &RiskPolicy::default(), now());
    assert!(a.has(expect), "{expect} missing: {:#?}", a.reasons);
    assert!(a.blocks_disclosure, "{:#?}", a);
    assert_eq!(a.level, RiskLevel::High);
    let without_call = emergency_disclosure_allowed(None, &a, false).unwrap_err();
    assert!(without_call.contains(&Blocker::NoCallback));
    let with_call = emergency_disclosure_allowed(Some(&confirmed_callback()), &a, false);
    assert!(with_call.is_err(), "{:#?}", a);
    a
}

#[test]
fn a_lookalike_domain_is_caught_at_registration_and_on_the_request() {
    for email in [
        "det.smith@springfieldpd-gov.com",
        "det.smith@xn--sprngfieldpd-3ok.gov",
        "det.smith@springfieldpd.gov.records-portal.com",
        "det.smith@springfie1dpd.gov",
    ] {
        // At registration.
        let verdict = check_email(email, DIRECTORY);
        assert!(
            matches!(&verdict, DomainVerdict::Lookalike { of, .. } if of == "springfieldpd.gov"),
            "{email}: {verdict:?}"
        );
        // On the request, should an account exist anyway.
        let mut s = legitimate_emergency();
        s.email_domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        s.domain = verdict;
        let a = assert_stopped(&s, RiskCode::LookalikeDomain);
        assert!(a.hard_blocked);
        // No approver can clear it.
        let err = emergency_disclosure_allowed(Some(&confirmed_callback()), &a, true).unwrap_err();
        assert_eq!(
            err,
            vec![Blocker::HardBlock {
                reasons: vec![RiskCode::LookalikeDomain]
            }]
        );
    }
}

#[test]
fn a_compromised_officer_account_sending_an_emergency_from_an_unusual_network() {
    // A real officer with years of history who has sent emergencies before; only the network
    // differs. The worst case for the risk score, so nothing else is added.
    let mut s = legitimate_emergency();
    s.sign_in_network = vec!["203.0.113.77".into(), "AS64511".into()];
    let a = assert_stopped(&s, RiskCode::UnusualNetwork);
    assert!(
        !a.hard_blocked,
        "an approver may clear it once the call-back confirms"
    );
    assert_eq!(
        emergency_disclosure_allowed(Some(&confirmed_callback()), &a, true),
        Ok(())
    );

    // The call-back to the directory number reaches the real agency, which knows nothing of it.
    let task = CallbackTask::new("+1 217 555 0100", Some("+1 312 555 0142")).unwrap();
    assert!(
        task.warning().is_some(),
        "the forger's own number is flagged"
    );
    let denied = task.record(
        "+1 217 555 0100",
        CallbackOutcome::NotConfirmed,
        Uuid::nil(),
        now(),
        None,
        Some("Watch commander: no such emergency open".into()),
    );
    let err = emergency_disclosure_allowed(Some(&denied), &a, true).unwrap_err();
    assert_eq!(
        err,
        vec![Blocker::CallbackNotConfirmed {
            outcome: CallbackOutcome::NotConfirmed
        }]
    );
}

#[test]
fn a_newly_registered_agency_sending_an_emergency_for_many_targets() {
    let mut s = legitimate_emergency();
    s.agency.name = "Ogdenville Police Department".into();
    s.agency.domains = vec!["ogdenvillepd.gov".into()];
    s.agency.verified_at = Some(now() - Duration::days(2));
    s.email_domain = "ogdenvillepd.gov".into();
    s.domain = check_email("chief@ogdenvillepd.gov", &["ogdenvillepd.gov"]);
    s.officer.account_created = now() - Duration::days(1);
    s.officer.previous_requests = 0;
    s.officer.has_sent_emergency = false;
    s.officer.known_networks.clear();
    s.target_count = 8;
    s.signature_block = Some("Chief R. Wiggum, Ogdenville PD".into());
    let a = assert_stopped(&s, RiskCode::NewAgency);
    for code in [
        RiskCode::NewAccount,
        RiskCode::FirstRequest,
        RiskCode::FirstEmergency,
        RiskCode::ManyTargets,
    ] {
        assert!(a.has(code), "{code}: {:#?}", a.reasons);
    }
    assert!(!a.hard_blocked);
}

#[test]
fn two_agencies_asking_for_the_same_target_within_an_hour() {
    let mut s = legitimate_emergency();
    s.same_target_requests = vec![OtherAgencyRequest {
        agency: "Shelbyville Police Department".into(),
        received_at: now() - Duration::minutes(35),
    }];
    let a = assert_stopped(&s, RiskCode::SameTargetOtherAgencies);
    assert!(
        a.reasons[0]
            .text
            .contains("Shelbyville Police Department 35 minutes ago"),
        "{}",
        a.reasons[0].text
    );

    // On ordinary process the same pattern is shown to the reviewer but does not block alone:
    // joint investigations serve subpoenas too, and a court stands behind each.
    let mut ordinary = s.clone();
    ordinary.process = crate::LegalProcess::Subpoena;
    ordinary.is_emergency = false;
    let a = assess_risk(&ordinary, &RiskPolicy::default(), now());
    assert_eq!(a.level, RiskLevel::Medium);
    assert!(a.has(RiskCode::SameTargetOtherAgencies));
}

#[test]
fn a_legitimate_emergency_with_a_confirmed_call_back_is_allowed() {
    let s = legitimate_emergency();
    let a = assess_risk(&s, &RiskPolicy::default(), now());
    assert_eq!(a.level, RiskLevel::Low);
    assert!(!a.blocks_disclosure);
    assert_eq!(
        emergency_disclosure_allowed(Some(&confirmed_callback()), &a, false),
        Ok(())
    );
    // And not without the call-back.
    assert_eq!(
        emergency_disclosure_allowed(None, &a, false),
        Err(vec![Blocker::NoCallback])
    );
}

#[test]
fn suspending_the_officer_blocks_and_flags_open_requests() {
    let mut s = legitimate_emergency();
    s.officer.suspended = true;
    let a = assert_stopped(&s, RiskCode::OfficerSuspended);
    assert!(a.hard_blocked);
    let officer = Uuid::from_u128(7);
    let open = RequestParties {
        request: Uuid::from_u128(70),
        officer,
        agency: Uuid::from_u128(1),
        status: crate::RequestStatus::InReview,
    };
    assert_eq!(
        requests_to_flag(&Suspended::Officer(officer), &[open]),
        vec![Uuid::from_u128(70)]
    );
}
