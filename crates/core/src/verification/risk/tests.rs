use chrono::Duration;

use super::*;
use crate::verification::fixtures::{legitimate, legitimate_emergency, now, place};
use crate::verification::{check_email, risk_blockers, Blocker};

fn assess(s: &RiskSignals) -> RiskAssessment {
    assess_risk(s, &RiskPolicy::default(), now())
}

fn codes(a: &RiskAssessment) -> Vec<RiskCode> {
    a.reasons.iter().map(|r| r.code).collect()
}

#[test]
fn a_known_officer_on_a_known_network_scores_nothing() {
    for s in [legitimate(), legitimate_emergency()] {
        let a = assess(&s);
        assert_eq!(a.score, 0, "{:?}", a.reasons);
        assert_eq!(a.level, RiskLevel::Low);
        assert!(!a.blocks_disclosure && !a.hard_blocked);
    }
}

type Change = fn(&mut RiskSignals);

/// Each signal alone: its code, and what it weighs in an ordinary request and in an emergency.
#[test]
fn each_signal_adds_its_weight() {
    let cases: &[(&str, Change, RiskCode, u32, u32)] = &[
        (
            "agency verified last week",
            |s| s.agency.verified_at = Some(now() - Duration::days(7)),
            RiskCode::NewAgency,
            20,
            30,
        ),
        (
            "account opened yesterday",
            |s| s.officer.account_created = now() - Duration::days(1),
            RiskCode::NewAccount,
            15,
            25,
        ),
        (
            "first request",
            |s| {
                s.officer.previous_requests = 0;
                s.officer.has_sent_emergency = false;
            },
            RiskCode::FirstRequest,
            10,
            20,
        ),
        (
            "never sent an emergency",
            |s| s.officer.has_sent_emergency = false,
            RiskCode::FirstEmergency,
            0,
            20,
        ),
        (
            "many targets",
            |s| s.target_count = 12,
            RiskCode::ManyTargets,
            15,
            25,
        ),
        (
            "target in another state",
            |s| s.target_locations = vec![place("US", Some("IL")), place("US", Some("CA"))],
            RiskCode::TargetOutsideJurisdiction,
            15,
            20,
        ),
        (
            "another agency's signature",
            |s| s.signature_block = Some("Det. Jane Smith, Shelbyville PD".into()),
            RiskCode::SignatureMismatch,
            25,
            35,
        ),
        (
            "unusual network",
            |s| s.sign_in_network = vec!["203.0.113.9".into(), "AS64511".into()],
            RiskCode::UnusualNetwork,
            25,
            50,
        ),
        (
            "another agency asked about the same target",
            |s| {
                s.same_target_requests = vec![OtherAgencyRequest {
                    agency: "Shelbyville Police Department".into(),
                    received_at: now() - Duration::minutes(40),
                }]
            },
            RiskCode::SameTargetOtherAgencies,
            30,
            50,
        ),
    ];
    for (what, change, code, normal, emergency) in cases {
        for (base, expected) in [
            (legitimate(), *normal),
            (legitimate_emergency(), *emergency),
        ] {
            let mut s = base;
            change(&mut s);
            let a = assess(&s);
            let found: Vec<&RiskReason> = a.reasons.iter().filter(|r| r.code == *code).collect();
            if s.is_emergency || *code != RiskCode::FirstEmergency {
                assert_eq!(found.len(), 1, "{what}: {:?}", a.reasons);
                assert_eq!(found[0].weight, expected, "{what}");
                assert!(found[0].text.ends_with('.'), "{what}: {}", found[0].text);
            } else {
                assert!(found.is_empty(), "{what}: only emergencies");
            }
            assert!(!a.hard_blocked, "{what}");
        }
    }
}

#[test]
fn hard_blocks_cannot_be_cleared_by_an_approver() {
    let cases: &[(Change, RiskCode)] = &[
        (
            |s| {
                s.email_domain = "springfieldpd-gov.com".into();
                s.domain = check_email(
                    "j@springfieldpd-gov.com",
                    crate::verification::fixtures::DIRECTORY,
                );
            },
            RiskCode::LookalikeDomain,
        ),
        (
            |s| {
                s.email_domain = "gmail.com".into();
                s.domain = DomainVerdict::Unknown;
            },
            RiskCode::UnknownDomain,
        ),
        (
            |s| {
                s.email_domain = "shelbyvillepd.gov".into();
                s.domain = DomainVerdict::Verified {
                    domain: "shelbyvillepd.gov".into(),
                };
            },
            RiskCode::DomainOfAnotherAgency,
        ),
        (
            |s| s.agency.status = AgencyStatus::Pending,
            RiskCode::AgencyNotVerified,
        ),
        (
            |s| s.agency.status = AgencyStatus::Suspended,
            RiskCode::AgencySuspended,
        ),
        (|s| s.officer.suspended = true, RiskCode::OfficerSuspended),
    ];
    for (change, code) in cases {
        let mut s = legitimate();
        change(&mut s);
        let a = assess(&s);
        assert!(code.is_hard_block());
        assert_eq!(codes(&a), vec![*code]);
        assert!(a.hard_blocked && a.blocks_disclosure, "{code}");
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(a.score, 100);
        assert_eq!(
            risk_blockers(&a, true),
            vec![Blocker::HardBlock {
                reasons: vec![*code]
            }]
        );
    }
}

#[test]
fn the_lookalike_reason_says_what_it_imitates() {
    let mut s = legitimate();
    s.email_domain = "springfie1dpd.gov".into();
    s.domain = check_email(
        "x@springfie1dpd.gov",
        crate::verification::fixtures::DIRECTORY,
    );
    let a = assess(&s);
    assert_eq!(
        a.reasons[0].text,
        "'springfie1dpd.gov' is not a verified domain but imitates 'springfieldpd.gov': it swaps \
         characters that look alike (0 for o, 1 for l, rn for m, vv for w)."
    );
}

#[test]
fn levels_follow_the_thresholds() {
    let mut s = legitimate();
    s.target_count = 11; // 15
    assert_eq!(assess(&s).level, RiskLevel::Low);
    s.officer.previous_requests = 0; // +10 = 25
    let a = assess(&s);
    assert_eq!(
        (a.score, a.level, a.blocks_disclosure),
        (25, RiskLevel::Medium, false)
    );
    s.signature_block = Some("Shelbyville PD".into()); // +25 = 50
    let a = assess(&s);
    assert_eq!(
        (a.score, a.level, a.blocks_disclosure),
        (50, RiskLevel::High, true)
    );
    assert_eq!(
        risk_blockers(&a, false),
        vec![Blocker::HighRiskNotCleared { score: 50 }]
    );
    assert!(risk_blockers(&a, true).is_empty());
    let weights: Vec<u32> = a.reasons.iter().map(|r| r.weight).collect();
    assert_eq!(weights, vec![25, 15, 10], "heaviest first");
}

#[test]
fn jurisdiction_is_regional_only_for_police() {
    let mut s = legitimate();
    s.target_locations = vec![
        place("US", Some("CA")),
        place("DE", None),
        place("US", None),
    ];
    let a = assess(&s);
    let r = a
        .reasons
        .iter()
        .find(|r| r.code == RiskCode::TargetOutsideJurisdiction)
        .cloned();
    assert_eq!(
        r.map(|r| r.text).as_deref(),
        Some("2 of 3 located targets are outside the agency's jurisdiction (US-IL): DE, US-CA.")
    );
    s.agency.kind = crate::AgencyKind::FederalAgency;
    s.agency.jurisdiction = Some(place("US", None));
    s.target_locations = vec![place("US", Some("CA"))];
    assert!(!assess(&s).has(RiskCode::TargetOutsideJurisdiction));
    s.agency.jurisdiction = None;
    s.target_locations = vec![place("FR", None)];
    assert!(
        !assess(&s).has(RiskCode::TargetOutsideJurisdiction),
        "unknown reach"
    );
}

#[test]
fn only_recent_requests_from_other_agencies_count_once_each() {
    let mut s = legitimate();
    let other = |agency: &str, minutes: i64| OtherAgencyRequest {
        agency: agency.into(),
        received_at: now() - Duration::minutes(minutes),
    };
    s.same_target_requests = vec![
        other("Springfield Police Department", 5),
        other("Shelbyville Police Department", 2 * 24 * 60),
        other("Capital City Police", -30),
    ];
    assert!(!assess(&s).has(RiskCode::SameTargetOtherAgencies));
    s.same_target_requests
        .push(other("Shelbyville Police Department", 50));
    s.same_target_requests
        .push(other("Shelbyville Police Department", 20));
    s.same_target_requests
        .push(other("Ogdenville Sheriff", 180));
    let a = assess(&s);
    let r = a
        .reasons
        .iter()
        .find(|r| r.code == RiskCode::SameTargetOtherAgencies)
        .map(|r| r.text.clone());
    assert_eq!(
        r.as_deref(),
        Some(
            "2 other agencies asked about the same target within 24 hours: Shelbyville Police \
             Department 20 minutes ago; Ogdenville Sheriff 3 hours ago."
        )
    );
}

#[test]
fn an_officer_without_history_has_no_unusual_network() {
    let mut s = legitimate();
    s.officer.known_networks.clear();
    s.sign_in_network = vec!["203.0.113.9".into()];
    assert!(!assess(&s).has(RiskCode::UnusualNetwork));
    let mut s = legitimate();
    s.sign_in_network.clear();
    assert!(!assess(&s).has(RiskCode::UnusualNetwork));
}

#[test]
fn the_emergency_process_counts_as_an_emergency() {
    let mut s = legitimate();
    s.process = crate::LegalProcess::Emergency;
    s.officer.has_sent_emergency = false;
    assert!(assess(&s).has(RiskCode::FirstEmergency));
}

#[test]
fn a_clock_before_the_account_was_opened_is_today() {
    let mut s = legitimate();
    s.officer.account_created = now() + Duration::days(3);
    let a = assess(&s);
    let text = a
        .reasons
        .iter()
        .find(|r| r.code == RiskCode::NewAccount)
        .map(|r| r.text.clone());
    assert_eq!(
        text.as_deref(),
        Some("The officer's account was opened today; accounts younger than 30 days have no track record.")
    );
}

#[test]
fn signals_policy_and_assessment_are_plain_data() {
    let s = legitimate_emergency();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["domain"]["verdict"], "verified");
    let back: RiskSignals = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);

    let policy = RiskPolicy::default();
    let text = toml::to_string(&policy).unwrap();
    assert_eq!(toml::from_str::<RiskPolicy>(&text).unwrap(), policy);
    let bad = text.replace("high_at", "hi_at");
    assert!(
        toml::from_str::<RiskPolicy>(&bad).is_err(),
        "unknown keys are an error"
    );

    let a = assess(&s);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["level"], "low");
}

#[test]
fn a_stricter_policy_is_just_data() {
    let mut policy = RiskPolicy::default();
    policy.weights.unusual_network.normal = 60;
    let mut s = legitimate();
    s.sign_in_network = vec!["203.0.113.9".into()];
    let a = assess_risk(&s, &policy, now());
    assert_eq!((a.score, a.level), (60, RiskLevel::High));
}

#[test]
fn a_later_request_about_the_same_target_reflags_an_earlier_one() {
    let policy = RiskPolicy::default();
    let mut earlier = assess(&legitimate_emergency());
    assert_eq!(earlier.level, RiskLevel::Low);
    let later = [OtherAgencyRequest {
        agency: "Shelbyville Police Department".into(),
        received_at: now(),
    }];
    let reason = same_target_reason(
        &later,
        "Springfield Police Department",
        true,
        &policy,
        now() + Duration::minutes(5),
    )
    .expect("another agency within the window");
    assert!(reason.text.contains("Shelbyville"), "{}", reason.text);
    earlier.add_reason(reason.clone(), &policy);
    assert!(earlier.has(RiskCode::SameTargetOtherAgencies));
    assert_eq!(earlier.score, 50);
    assert_eq!(earlier.level, RiskLevel::High);
    assert!(earlier.blocks_disclosure && !earlier.hard_blocked);
    // Adding it again replaces it rather than counting it twice.
    earlier.add_reason(reason, &policy);
    assert_eq!(earlier.score, 50);
    // Its own agency, or a request outside the window, does not count.
    assert!(same_target_reason(
        &later,
        "shelbyville police department",
        true,
        &policy,
        now()
    )
    .is_none());
    assert!(same_target_reason(
        &later,
        "Springfield Police Department",
        true,
        &policy,
        now() + Duration::hours(25)
    )
    .is_none());
}
