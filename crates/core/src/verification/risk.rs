//! How likely is it that a request does not come from who it claims to? A score a reviewer sees
//! beside the request, made of reasons each worth a weight and each explained in a sentence.
//!
//! The signals are the patterns behind forged emergency requests: a new or unused account, an
//! officer never seen sending an emergency, many targets, targets outside the agency's reach, a
//! signature that is not the agency's, a sign-in from an unfamiliar network, and several
//! agencies asking about one person in a short time. None proves a forgery; together they say
//! where the reviewer should look twice. A high score blocks disclosure until an approver clears
//! it. Some facts block disclosure whatever the score: an e-mail domain that is not this
//! agency's verified domain, an agency not verified or suspended, a suspended officer.
//!
//! Weights and thresholds are data ([`RiskPolicy`]) so that a provider can tune them from what
//! its own reviewers find; [`RiskPolicy::default`] documents why each starts where it does.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::lookalike::DomainVerdict;
use super::network::network_known;
use super::signature::{check_signature, SignatureCheck};
use crate::{named_enum, AgencyKind, AgencyStatus, Country, LegalProcess};

/// A place, as precise as it is known: a country and optionally a state or region within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub country: Country,
    /// A state, province or region code within the country (`IL`, `BE`), compared without case.
    #[serde(default)]
    pub region: Option<String>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.region {
            Some(r) => write!(f, "{}-{}", self.country, r.to_uppercase()),
            None => write!(f, "{}", self.country),
        }
    }
}

/// What the store knows about the agency the officer is registered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyFacts {
    pub name: String,
    pub kind: AgencyKind,
    pub status: AgencyStatus,
    /// When an admin verified the agency against an independent source.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// The agency's verified e-mail domains.
    pub domains: Vec<String>,
    /// Where the agency may act, if recorded.
    #[serde(default)]
    pub jurisdiction: Option<Place>,
}

/// What the store knows about the officer who sent the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficerFacts {
    pub account_created: DateTime<Utc>,
    #[serde(default)]
    pub suspended: bool,
    /// Requests this officer sent before this one.
    pub previous_requests: u32,
    /// Whether any of them was an emergency.
    pub has_sent_emergency: bool,
    /// Networks earlier sign-ins came from: IP prefixes, addresses or `AS` numbers.
    #[serde(default)]
    pub known_networks: Vec<String>,
}

/// Another agency's request about one of this request's targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherAgencyRequest {
    /// The other agency's name, as the reviewer should read it.
    pub agency: String,
    pub received_at: DateTime<Utc>,
}

/// Everything the risk assessment looks at, gathered by the caller from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSignals {
    pub process: LegalProcess,
    pub is_emergency: bool,
    /// The domain of the officer's e-mail address.
    pub email_domain: String,
    /// [`check_email`](super::check_email) of the officer's address against every verified
    /// agency domain (not only this agency's, so that a lookalike of any agency is named).
    pub domain: DomainVerdict,
    pub agency: AgencyFacts,
    pub officer: OfficerFacts,
    pub target_count: usize,
    /// Where targets are, for those whose location is known.
    #[serde(default)]
    pub target_locations: Vec<Place>,
    /// The signature block of the request or its cover letter, if there is one.
    #[serde(default)]
    pub signature_block: Option<String>,
    /// What identifies the network the officer signed in from: an address, a prefix, an `AS`
    /// number; empty when unknown.
    #[serde(default)]
    pub sign_in_network: Vec<String>,
    /// Requests from other agencies about any of this request's targets. The caller may pass
    /// more than the window; older ones are ignored.
    #[serde(default)]
    pub same_target_requests: Vec<OtherAgencyRequest>,
}

named_enum! {
    /// Why a request scores what it does.
    pub enum RiskCode ("risk code") {
        LookalikeDomain = "lookalike_domain",
        UnknownDomain = "unknown_domain",
        DomainOfAnotherAgency = "domain_of_another_agency",
        AgencyNotVerified = "agency_not_verified",
        AgencySuspended = "agency_suspended",
        OfficerSuspended = "officer_suspended",
        NewAgency = "new_agency",
        NewAccount = "new_account",
        FirstRequest = "first_request",
        FirstEmergency = "first_emergency",
        ManyTargets = "many_targets",
        TargetOutsideJurisdiction = "target_outside_jurisdiction",
        SignatureMismatch = "signature_mismatch",
        UnusualNetwork = "unusual_network",
        SameTargetOtherAgencies = "same_target_other_agencies",
    }
}

impl RiskCode {
    /// Reasons that block disclosure whatever the score and whatever an approver says: the
    /// requester is not who the provider has verified, or has been suspended. Lifting one takes
    /// an admin (verifying a domain or an agency, ending a suspension), not a reviewer.
    pub fn is_hard_block(self) -> bool {
        matches!(
            self,
            RiskCode::LookalikeDomain
                | RiskCode::UnknownDomain
                | RiskCode::DomainOfAnotherAgency
                | RiskCode::AgencyNotVerified
                | RiskCode::AgencySuspended
                | RiskCode::OfficerSuspended
        )
    }
}

named_enum! {
    pub enum RiskLevel ("risk level") {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

/// One reason, with what it added to the score and a sentence for the reviewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskReason {
    pub code: RiskCode,
    pub weight: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAssessment {
    pub score: u32,
    pub level: RiskLevel,
    /// Heaviest first.
    pub reasons: Vec<RiskReason>,
    /// Nothing may be disclosed on this assessment: the level is high. Unless
    /// `hard_blocked`, an approver's clearance lifts this ([`super::risk_blockers`]).
    pub blocks_disclosure: bool,
    /// A reason applies that no approver can clear ([`RiskCode::is_hard_block`]).
    pub hard_blocked: bool,
}

impl RiskAssessment {
    /// Adds a reason learned after the assessment (a later request from another agency about
    /// the same target), replacing an earlier reason with the same code, and recomputes the
    /// score and level with `policy`.
    pub fn add_reason(&mut self, reason: RiskReason, policy: &RiskPolicy) {
        let mut reasons: Vec<RiskReason> = std::mem::take(&mut self.reasons)
            .into_iter()
            .filter(|r| r.code != reason.code)
            .collect();
        reasons.push(reason);
        *self = finish(reasons, policy);
    }

    /// The reasons no approver can clear.
    pub fn hard_blocks(&self) -> impl Iterator<Item = &RiskReason> {
        self.reasons.iter().filter(|r| r.code.is_hard_block())
    }

    pub fn has(&self, code: RiskCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }
}

/// What a signal adds to the score, in an ordinary request and in an emergency.
///
/// An emergency is a voluntary disclosure with no court behind it and an hour to answer; it is
/// the path forgers use, and the call-back is the only other check. Signals that point at a
/// taken-over or imitated sender therefore weigh more there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    pub normal: u32,
    pub emergency: u32,
}

impl Weight {
    const fn new(normal: u32, emergency: u32) -> Weight {
        Weight { normal, emergency }
    }

    fn pick(self, emergency: bool) -> u32 {
        if emergency {
            self.emergency
        } else {
            self.normal
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskWeights {
    pub new_agency: Weight,
    pub new_account: Weight,
    pub first_request: Weight,
    pub first_emergency: Weight,
    pub many_targets: Weight,
    pub target_outside_jurisdiction: Weight,
    pub signature_mismatch: Weight,
    pub unusual_network: Weight,
    pub same_target_other_agencies: Weight,
    /// What each hard-blocking reason adds, so that a queue sorted by score shows them first.
    /// The block itself does not depend on this number.
    pub hard_block: u32,
}

/// Weights, thresholds and the limits that decide when a signal applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskPolicy {
    pub weights: RiskWeights,
    /// Scores from here are medium: the reviewer reads the reasons before deciding.
    pub medium_at: u32,
    /// Scores from here are high: nothing is disclosed until an approver clears the request.
    pub high_at: u32,
    /// An officer account younger than this is new.
    pub new_account_days: u32,
    /// An agency verified more recently than this is new.
    pub new_agency_days: u32,
    /// More targets than this is many, for an ordinary request.
    pub many_targets: usize,
    /// More targets than this is many, for an emergency.
    pub many_targets_emergency: usize,
    /// How far back another agency's request about the same target counts.
    pub same_target_window_hours: u32,
}

impl Default for RiskPolicy {
    /// Starting values. Medium at 25 and high at 50 mean: one strong signal in an emergency, or
    /// two moderate ones, stop disclosure until an approver has looked; a single weak signal
    /// only draws the reviewer's eye.
    fn default() -> Self {
        RiskPolicy {
            weights: RiskWeights {
                // A new agency has no history with the provider, and registering a fake one is
                // the costliest but most complete forgery. Its verification was checked by an
                // admin, so it is moderate on its own.
                new_agency: Weight::new(20, 30),
                // New accounts are where imitators start, but every real officer has one once.
                new_account: Weight::new(15, 25),
                // No history to compare with; weaker than a new account, often comes with it.
                first_request: Weight::new(10, 20),
                // Taken-over accounts are used for the emergency path because it skips the
                // court; an officer who never sent one is worth a closer look. Only emergencies.
                first_emergency: Weight::new(0, 20),
                // Real emergencies concern a victim and perhaps a suspect; forgers harvest.
                many_targets: Weight::new(15, 25),
                // Agencies act where they have jurisdiction; often legitimate (a fugitive
                // moves), so moderate.
                target_outside_jurisdiction: Weight::new(15, 20),
                // A forger rarely reproduces the agency's own signature and contact domain.
                signature_mismatch: Weight::new(25, 35),
                // The clearest sign of a taken-over mailbox: the right account on the wrong
                // connection. In an emergency, high on its own.
                unusual_network: Weight::new(25, 50),
                // Forgers send the same target through several compromised mailboxes until one
                // works. Joint investigations are real, hence not a block on ordinary process.
                same_target_other_agencies: Weight::new(30, 50),
                hard_block: 100,
            },
            medium_at: 25,
            high_at: 50,
            new_account_days: 30,
            new_agency_days: 30,
            many_targets: 10,
            many_targets_emergency: 3,
            same_target_window_hours: 24,
        }
    }
}

/// Agency kinds whose reach is a region within a country rather than the whole country.
fn regional(kind: AgencyKind) -> bool {
    matches!(kind, AgencyKind::LocalPolice | AgencyKind::StatePolice)
}

fn outside(agency: &Place, kind: AgencyKind, target: &Place) -> bool {
    if agency.country != target.country {
        return true;
    }
    match (&agency.region, &target.region) {
        (Some(a), Some(t)) if regional(kind) => !a.eq_ignore_ascii_case(t),
        _ => false,
    }
}

fn days(n: i64) -> String {
    match n {
        i64::MIN..=0 => "today".to_string(),
        1 => "1 day ago".to_string(),
        n => format!("{n} days ago"),
    }
}

fn ago(minutes: i64) -> String {
    match minutes {
        i64::MIN..=0 => "just now".to_string(),
        1 => "1 minute ago".to_string(),
        2..=119 => format!("{minutes} minutes ago"),
        _ => format!("{} hours ago", minutes / 60),
    }
}

/// Scores a request. Pure: `now` is the caller's clock.
pub fn assess_risk(s: &RiskSignals, policy: &RiskPolicy, now: DateTime<Utc>) -> RiskAssessment {
    let w = &policy.weights;
    let e = s.is_emergency || s.process == LegalProcess::Emergency;
    let mut reasons: Vec<RiskReason> = Vec::new();
    let mut add = |code: RiskCode, weight: u32, text: String| {
        reasons.push(RiskReason { code, weight, text });
    };
    let agency = &s.agency;
    let officer = &s.officer;

    match &s.domain {
        DomainVerdict::Verified { domain } => {
            let ours = agency
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain));
            if !ours {
                add(
                    RiskCode::DomainOfAnotherAgency,
                    w.hard_block,
                    format!(
                        "The officer's e-mail domain '{}' is verified for another agency, not \
                         for {}.",
                        s.email_domain, agency.name
                    ),
                );
            }
        }
        verdict @ DomainVerdict::Lookalike { .. } => add(
            RiskCode::LookalikeDomain,
            w.hard_block,
            verdict.describe(&s.email_domain),
        ),
        DomainVerdict::Unknown => add(
            RiskCode::UnknownDomain,
            w.hard_block,
            format!(
                "The officer's e-mail domain '{}' is not a verified domain of any agency.",
                s.email_domain
            ),
        ),
    }
    match agency.status {
        AgencyStatus::Verified => {}
        AgencyStatus::Pending => add(
            RiskCode::AgencyNotVerified,
            w.hard_block,
            format!(
                "{} has not yet been verified against an independent source.",
                agency.name
            ),
        ),
        AgencyStatus::Suspended => add(
            RiskCode::AgencySuspended,
            w.hard_block,
            format!(
                "{} is suspended; nothing may be disclosed to it.",
                agency.name
            ),
        ),
    }
    if officer.suspended {
        add(
            RiskCode::OfficerSuspended,
            w.hard_block,
            "The officer's account is suspended; nothing may be disclosed to it.".to_string(),
        );
    }

    if let Some(at) = agency.verified_at {
        let age = (now - at).num_days();
        if age < i64::from(policy.new_agency_days) {
            add(
                RiskCode::NewAgency,
                w.new_agency.pick(e),
                format!(
                    "{} was verified {}; agencies verified less than {} days ago have no track \
                     record with the provider.",
                    agency.name,
                    days(age),
                    policy.new_agency_days
                ),
            );
        }
    }
    let account_age = (now - officer.account_created).num_days();
    if account_age < i64::from(policy.new_account_days) {
        add(
            RiskCode::NewAccount,
            w.new_account.pick(e),
            format!(
                "The officer's account was opened {}; accounts younger than {} days have no \
                 track record.",
                days(account_age),
                policy.new_account_days
            ),
        );
    }
    if officer.previous_requests == 0 {
        add(
            RiskCode::FirstRequest,
            w.first_request.pick(e),
            "This is the first request from this officer.".to_string(),
        );
    }
    if e && !officer.has_sent_emergency {
        let text = if officer.previous_requests == 0 {
            "The officer has never been seen before, and the first request is an emergency."
                .to_string()
        } else {
            format!(
                "The officer has sent {} earlier request{} but never an emergency.",
                officer.previous_requests,
                if officer.previous_requests == 1 {
                    ""
                } else {
                    "s"
                }
            )
        };
        add(RiskCode::FirstEmergency, w.first_emergency.pick(e), text);
    }

    let many = if e {
        policy.many_targets_emergency
    } else {
        policy.many_targets
    };
    if s.target_count > many {
        let text = if e {
            format!(
                "The emergency names {} targets; a real emergency rarely concerns more than {}.",
                s.target_count, many
            )
        } else {
            format!(
                "The request names {} targets, more than the {} a single investigation usually \
                 needs.",
                s.target_count, many
            )
        };
        add(RiskCode::ManyTargets, w.many_targets.pick(e), text);
    }

    if let Some(place) = &agency.jurisdiction {
        let away: Vec<String> = s
            .target_locations
            .iter()
            .filter(|t| outside(place, agency.kind, t))
            .map(Place::to_string)
            .collect();
        if !away.is_empty() {
            let mut listed = away.clone();
            listed.sort();
            listed.dedup();
            add(
                RiskCode::TargetOutsideJurisdiction,
                w.target_outside_jurisdiction.pick(e),
                format!(
                    "{} of {} located targets {} outside the agency's jurisdiction ({}): {}.",
                    away.len(),
                    s.target_locations.len(),
                    if away.len() == 1 { "is" } else { "are" },
                    place,
                    listed.join(", ")
                ),
            );
        }
    }

    if let Some(sig) = s
        .signature_block
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        let text = match check_signature(sig, &agency.name, &agency.domains) {
            SignatureCheck::Matches => None,
            SignatureCheck::NamesNeither => Some(format!(
                "The signature block names neither {} nor one of its domains.",
                agency.name
            )),
            SignatureCheck::ForeignAddress(host) => Some(format!(
                "The signature block gives an address on '{host}', which is not one of {}'s \
                 domains.",
                agency.name
            )),
        };
        if let Some(text) = text {
            add(
                RiskCode::SignatureMismatch,
                w.signature_mismatch.pick(e),
                text,
            );
        }
    }

    // An officer with no sign-in history has nothing to differ from; the new-account and
    // first-request signals speak for that case.
    if !s.sign_in_network.is_empty()
        && !officer.known_networks.is_empty()
        && !network_known(&s.sign_in_network, &officer.known_networks)
    {
        add(
            RiskCode::UnusualNetwork,
            w.unusual_network.pick(e),
            format!(
                "The officer signed in from {}, a network not seen for this officer before.",
                s.sign_in_network.join(" / ")
            ),
        );
    }

    if let Some(r) = same_target_reason(&s.same_target_requests, &agency.name, e, policy, now) {
        reasons.push(r);
    }

    finish(reasons, policy)
}

/// The reason for other agencies' requests about the same target within the policy's window,
/// if there are any. Used at intake, and to re-flag an earlier request when a later one about
/// the same target arrives.
pub fn same_target_reason(
    others: &[OtherAgencyRequest],
    own_agency: &str,
    emergency: bool,
    policy: &RiskPolicy,
    now: DateTime<Utc>,
) -> Option<RiskReason> {
    let window = Duration::hours(i64::from(policy.same_target_window_hours));
    let mut recent: Vec<&OtherAgencyRequest> = others
        .iter()
        .filter(|r| r.received_at <= now && now - r.received_at <= window)
        .filter(|r| !r.agency.eq_ignore_ascii_case(own_agency))
        .collect();
    recent.sort_by_key(|r| std::cmp::Reverse(r.received_at));
    let mut agencies: Vec<&str> = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    for r in &recent {
        if !agencies.iter().any(|a| a.eq_ignore_ascii_case(&r.agency)) {
            agencies.push(&r.agency);
            listed.push(format!(
                "{} {}",
                r.agency,
                ago((now - r.received_at).num_minutes())
            ));
        }
    }
    if agencies.is_empty() {
        return None;
    }
    Some(RiskReason {
        code: RiskCode::SameTargetOtherAgencies,
        weight: policy.weights.same_target_other_agencies.pick(emergency),
        text: format!(
            "{} other agenc{} asked about the same target within {} hours: {}.",
            agencies.len(),
            if agencies.len() == 1 { "y" } else { "ies" },
            policy.same_target_window_hours,
            listed.join("; ")
        ),
    })
}

/// Score, level and blocks from a list of reasons.
fn finish(mut reasons: Vec<RiskReason>, policy: &RiskPolicy) -> RiskAssessment {
    reasons.sort_by_key(|r| (std::cmp::Reverse(r.weight), r.code));
    let score = reasons
        .iter()
        .fold(0u32, |sum, r| sum.saturating_add(r.weight));
    let hard_blocked = reasons.iter().any(|r| r.code.is_hard_block());
    let level = if hard_blocked || score >= policy.high_at {
        RiskLevel::High
    } else if score >= policy.medium_at {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    };
    RiskAssessment {
        score,
        level,
        reasons,
        blocks_disclosure: level == RiskLevel::High,
        hard_blocked,
    }
}

#[cfg(test)]
mod tests;
