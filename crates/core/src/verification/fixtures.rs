//! A legitimate officer of a verified agency, to which each test applies one change.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::{AgencyKind, AgencyStatus, Country, LegalProcess};

/// Every verified agency domain in the provider's directory.
pub(crate) const DIRECTORY: &[&str] = &[
    "springfieldpd.gov",
    "shelbyvillepd.gov",
    "fbi.gov",
    "met.police.uk",
    "polizei.berlin.de",
];

pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

pub(crate) fn place(country: &str, region: Option<&str>) -> Place {
    Place {
        country: Country::parse(country).unwrap_or(Country::US),
        region: region.map(str::to_string),
    }
}

/// Springfield PD, verified over a year ago; Det. Smith, with the provider for two years, who
/// has sent emergencies before, signing in from the station's network about one person in
/// Illinois.
pub(crate) fn legitimate() -> RiskSignals {
    let email = "jane.smith@springfieldpd.gov";
    RiskSignals {
        process: LegalProcess::Subpoena,
        is_emergency: false,
        email_domain: "springfieldpd.gov".into(),
        domain: check_email(email, DIRECTORY),
        agency: AgencyFacts {
            name: "Springfield Police Department".into(),
            kind: AgencyKind::LocalPolice,
            status: AgencyStatus::Verified,
            verified_at: Some(now() - Duration::days(400)),
            domains: vec!["springfieldpd.gov".into()],
            jurisdiction: Some(place("US", Some("IL"))),
        },
        officer: OfficerFacts {
            account_created: now() - Duration::days(730),
            suspended: false,
            previous_requests: 14,
            has_sent_emergency: true,
            known_networks: vec!["198.51.100.0/24".into(), "AS64500".into()],
        },
        target_count: 1,
        target_locations: vec![place("US", Some("IL"))],
        signature_block: Some(
            "Det. Jane Smith\nSpringfield Police Department\njane.smith@springfieldpd.gov".into(),
        ),
        sign_in_network: vec!["198.51.100.23".into(), "AS64500".into()],
        same_target_requests: vec![],
    }
}

/// The same, as an emergency.
pub(crate) fn legitimate_emergency() -> RiskSignals {
    RiskSignals {
        process: LegalProcess::Emergency,
        is_emergency: true,
        ..legitimate()
    }
}
