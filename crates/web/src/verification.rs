//! Verification of the requester, wired into the web layer (see docs/verification.md):
//!
//! - at intake, [`submit_verified`] gathers the risk signals from the store, scores the request
//!   with `custodian_core::verification::assess_risk` and stores the assessment with the request
//!   in its transaction (re-flagging earlier requests of other agencies about the same target);
//! - at review, [`risk_state`] says what still blocks a disclosure (the stored assessment, a
//!   suspension since, the call-back an emergency needs, an approver's clearance), and
//!   [`refuse_blocked_disclosure`] turns that into the 409 the decision and approval give.

use std::net::IpAddr;

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, Utc};
use custodian_core::verification::{
    assess_risk, check_email, emergency_disclosure_allowed, risk_blockers, same_target_reason,
    target_places, AgencyFacts, Blocker, CallbackTask, OfficerFacts, OtherAgencyRequest, Place,
    RiskAssessment, RiskCode, RiskLevel, RiskPolicy, RiskReason, RiskSignals,
};
use custodian_core::{AgencyStatus, LegalProcess};
use custodian_store::verification::{
    IntakeFacts, IntakeRisk, Reflag, RequestFlag, StoredCallback, StoredRisk,
};
use custodian_store::{Agency, DynStore, NewRequest, RequestRecord, Submission, User};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The setting holding the risk policy as JSON (weights and thresholds); without it, the
/// default policy applies.
pub const RISK_POLICY_SETTING: &str = "risk_policy";

/// The risk policy in force, as read at most a second ago (`crate::fresh`): intake scores
/// every request with it.
pub async fn risk_policy(state: &AppState) -> ApiResult<RiskPolicy> {
    if let Some(p) = state.risk_policy.get(&()) {
        return Ok(p);
    }
    let read = policy_in(&state.store).await?;
    state.risk_policy.put((), read);
    Ok(read)
}

/// The risk policy stored now.
pub async fn policy_in(store: &DynStore) -> ApiResult<RiskPolicy> {
    let raw = store.admin().setting(RISK_POLICY_SETTING).await?;
    Ok(raw
        .and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or_default())
}

fn private_or_loopback(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The address a call comes from: the peer's address, or, when the peer is a proxy on a
/// loopback or private address (or the server was started without peer addresses), the first
/// address of `X-Forwarded-For`. A client on the internet cannot claim another network.
pub fn client_address(headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
    let forwarded = || {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    };
    match peer {
        Some(p) if !private_or_loopback(p) => Some(p.to_canonical()),
        Some(p) => forwarded().or(Some(p.to_canonical())),
        None => forwarded(),
    }
}

/// The address of the call `parts` describes.
pub fn address_of(parts: &Parts) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    client_address(&parts.headers, peer)
}

/// The network an address belongs to, as the officer's known networks keep it: an IPv4 /24 or
/// an IPv6 /48.
pub fn network_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Records the network an officer signed in from (an officer's first network becomes known).
pub(crate) async fn record_sign_in(
    state: &AppState,
    user: &custodian_store::User,
    headers: &HeaderMap,
) -> ApiResult<()> {
    if !user.role.is_agency_side() {
        return Ok(());
    }
    if let Some(ip) = client_address(headers, None) {
        state
            .store
            .verification()
            .record_sign_in_network(user.id, &network_of(ip), Utc::now())
            .await?;
    }
    Ok(())
}

/// Since when the provider has known the agency as verified: its registration with the
/// provider, or the admin's recorded check against an independent source (`checked_at`) if
/// that came later. A check dated before the registration does not give a newly registered
/// agency a track record.
fn verified_at(agency: &Agency, checked_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match checked_at {
        Some(checked_at) => Some(checked_at.max(agency.created_at)),
        None if agency.status == AgencyStatus::Verified => Some(agency.created_at),
        None => None,
    }
}

/// The signature block of a request: who signs an emergency (the issuing authority and the
/// supervisor named to call). Other process is signed by a court or a prosecutor, not by the
/// agency, so it has no signature to compare.
fn signature_block(request: &NewRequest) -> Option<String> {
    let intake = &request.intake.intake;
    if !request.intake.is_emergency() {
        return None;
    }
    let mut lines = vec![intake.issuing_authority.clone()];
    if let Some(name) = intake
        .emergency
        .as_ref()
        .and_then(|e| e.supervisor_name.clone())
    {
        lines.insert(0, name);
    }
    Some(lines.join("\n"))
}

/// Receives a request through the verification of its requester: refuses a suspended officer,
/// assesses the risk from what the store knows, and stores the request with its assessment,
/// the flags on earlier requests about the same target and the network it came from, in one
/// transaction. The API and the portal both come here (from `store_submission`).
pub(crate) async fn submit_verified(
    state: &AppState,
    caller: &Caller,
    mut request: NewRequest,
) -> ApiResult<Submission> {
    // The agency read when the call was authenticated, a moment ago.
    let agency = match &caller.agency {
        Some(a) if a.id == request.agency_id => a.clone(),
        _ => state.store.get_agency(request.agency_id).await?,
    };
    let policy = risk_policy(state).await?;
    let risk = intake_risk(
        &state.store,
        &policy,
        &caller.user,
        &agency,
        &request,
        caller.address,
        Utc::now(),
    )
    .await?;
    request.risk = Some(risk);
    Ok(state.store.submit_request(&caller.actor(), request).await?)
}

/// What intake stores beside `request` from `user` of `agency`, who called from `address`:
/// the risk assessment at `now`, the earlier requests to re-flag and the network. Refuses a
/// suspended officer (403 `officer_suspended`).
pub async fn intake_risk(
    store: &DynStore,
    policy: &RiskPolicy,
    user: &User,
    agency: &Agency,
    request: &NewRequest,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> ApiResult<IntakeRisk> {
    let verification = store.verification();
    let intake = &request.intake.intake;
    let window = Duration::hours(i64::from(policy.same_target_window_hours));
    let IntakeFacts {
        history,
        source_checked_at,
        verified_domains,
        same_target: hits,
    } = verification
        .intake_facts(
            user.id,
            earlier_requests_to_count(request.intake.is_emergency()),
            agency.id,
            &intake.targets,
            now - window,
        )
        .await?;
    if history.suspended {
        return Err(ApiError::forbidden(
            "officer_suspended",
            "your account is suspended; contact the provider's legal team",
        ));
    }
    let email_domain = user
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    let signals = RiskSignals {
        process: intake.process,
        is_emergency: request.intake.is_emergency(),
        email_domain,
        domain: check_email(&user.email, &verified_domains),
        agency: AgencyFacts {
            name: agency.name.clone(),
            kind: agency.kind,
            status: agency.status,
            verified_at: verified_at(agency, source_checked_at),
            domains: agency.domains.clone(),
            jurisdiction: Some(Place {
                country: agency.country,
                region: None,
            }),
        },
        officer: OfficerFacts {
            account_created: user.created_at,
            suspended: history.suspended,
            previous_requests: history.previous_requests,
            has_sent_emergency: history.has_sent_emergency,
            known_networks: history.known_networks.clone(),
        },
        target_count: intake.targets.len(),
        target_locations: target_places(&intake.targets),
        signature_block: signature_block(request),
        sign_in_network: address.map(|a| vec![a.to_string()]).unwrap_or_default(),
        same_target_requests: hits
            .iter()
            .map(|h| OtherAgencyRequest {
                agency: h.agency_name.clone(),
                received_at: h.received_at,
            })
            .collect(),
    };
    let assessment = assess_risk(&signals, policy, now);

    // Each earlier open request about the same target learns of this one.
    let mut reflag = Vec::new();
    let mine = [OtherAgencyRequest {
        agency: agency.name.clone(),
        received_at: now,
    }];
    for h in hits.iter().filter(|h| h.status.is_open()) {
        let Some(reason) = same_target_reason(&mine, &h.agency_name, h.emergency, policy, now)
        else {
            continue;
        };
        let mut earlier = match verification.risk(h.request_id).await? {
            Some(stored) => stored.assessment,
            None => unassessed(),
        };
        let text = reason.text.clone();
        earlier.add_reason(reason, policy);
        reflag.push(Reflag {
            request_id: h.request_id,
            assessment: earlier,
            text,
        });
    }
    let same_target_flag = assessment
        .reasons
        .iter()
        .find(|r| r.code == RiskCode::SameTargetOtherAgencies)
        .map(|r| r.text.clone());
    Ok(IntakeRisk {
        trust_network: !assessment.has(RiskCode::UnusualNetwork),
        assessment,
        network: address.map(network_of),
        same_target_flag,
        reflag,
    })
}

/// How far intake counts the officer's earlier requests: the score asks only whether there
/// are any; the number is shown only for an emergency from an officer who never sent one
/// ("has sent 14 earlier requests but never an emergency"), and is capped there so that a
/// busy officer's history does not slow intake.
fn earlier_requests_to_count(is_emergency: bool) -> u32 {
    if is_emergency {
        1000
    } else {
        1
    }
}

/// An assessment with no reasons, for a request stored without one (imported, or from before
/// verification was wired in).
fn unassessed() -> RiskAssessment {
    RiskAssessment {
        score: 0,
        level: RiskLevel::Low,
        reasons: Vec::new(),
        blocks_disclosure: false,
        hard_blocked: false,
    }
}

/// Everything the review needs to know about a request's requester.
#[derive(Debug, Clone)]
pub struct RiskState {
    /// The assessment at intake (with later re-flags) plus what has changed since: a
    /// suspension of the officer or the agency, an agency no longer verified.
    pub assessment: RiskAssessment,
    pub stored: Option<StoredRisk>,
    pub flags: Vec<RequestFlag>,
    pub callbacks: Vec<StoredCallback>,
    /// The call to make, for an emergency or a high score; `None` with `task_problem` when
    /// the agency has no usable directory number.
    pub task: Option<CallbackTask>,
    pub task_problem: Option<String>,
    pub needs_callback: bool,
    /// What still stands between the request and any disclosure.
    pub blockers: Vec<Blocker>,
}

impl RiskState {
    pub fn cleared(&self) -> bool {
        self.stored.as_ref().is_some_and(|s| s.clearance.is_some())
    }

    /// Whether an approver could clear something now: a high score, no hard block, not yet
    /// cleared.
    pub fn clearable(&self) -> bool {
        self.assessment.level == RiskLevel::High && !self.assessment.hard_blocked && !self.cleared()
    }
}

fn hard_reason(code: RiskCode, text: &str, policy: &RiskPolicy) -> RiskReason {
    RiskReason {
        code,
        weight: policy.weights.hard_block,
        text: text.to_string(),
    }
}

/// The request's risk, flags, call-backs and blockers as they stand now.
pub async fn risk_state(state: &AppState, record: &RequestRecord) -> ApiResult<RiskState> {
    let verification = state.store.verification();
    let policy = risk_policy(state).await?;
    let stored = verification.risk(record.id).await?;
    let mut assessment = stored
        .as_ref()
        .map(|s| s.assessment.clone())
        .unwrap_or_else(unassessed);
    let agency = state.store.get_agency(record.agency_id).await?;
    match agency.status {
        AgencyStatus::Suspended if !assessment.has(RiskCode::AgencySuspended) => assessment
            .add_reason(
                hard_reason(
                    RiskCode::AgencySuspended,
                    &format!(
                        "{} is suspended; nothing may be disclosed to it.",
                        agency.name
                    ),
                    &policy,
                ),
                &policy,
            ),
        AgencyStatus::Pending if !assessment.has(RiskCode::AgencyNotVerified) => assessment
            .add_reason(
                hard_reason(
                    RiskCode::AgencyNotVerified,
                    &format!("{} is not verified.", agency.name),
                    &policy,
                ),
                &policy,
            ),
        _ => {}
    }
    if verification
        .officer_suspension(record.submitted_by)
        .await?
        .is_some()
        && !assessment.has(RiskCode::OfficerSuspended)
    {
        assessment.add_reason(
            hard_reason(
                RiskCode::OfficerSuspended,
                "The officer's account is suspended; nothing may be disclosed to it.",
                &policy,
            ),
            &policy,
        );
    }
    let flags = verification.flags(record.id).await?;
    let callbacks = verification.callbacks(record.id).await?;
    let needs_callback = record.emergency
        || record.process == LegalProcess::Emergency
        || assessment.level == RiskLevel::High;
    let request_phone = record
        .intake
        .emergency
        .as_ref()
        .and_then(|e| e.supervisor_phone.clone());
    let (task, task_problem) = match agency.phone.as_deref() {
        Some(phone) => match CallbackTask::new(phone, request_phone.as_deref()) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (
            None,
            Some(format!(
                "{} has no directory number: an admin must record one from an independent \
                 source before a call-back can be made.",
                agency.name
            )),
        ),
    };
    let cleared = stored.as_ref().is_some_and(|s| s.clearance.is_some());
    let emergency = record.emergency || record.process == LegalProcess::Emergency;
    let blockers = if emergency {
        let last = callbacks.last().map(|c| &c.record);
        emergency_disclosure_allowed(last, &assessment, cleared)
            .err()
            .unwrap_or_default()
    } else {
        risk_blockers(&assessment, cleared)
    };
    Ok(RiskState {
        assessment,
        stored,
        flags,
        callbacks,
        task,
        task_problem,
        needs_callback,
        blockers,
    })
}

/// Refuses (409, `disclosure_blocked`) a decision or approval that would disclose while
/// something still blocks it, naming every blocker.
pub async fn refuse_blocked_disclosure(state: &AppState, record: &RequestRecord) -> ApiResult<()> {
    let risk = risk_state(state, record).await?;
    if risk.blockers.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = risk.blockers.iter().map(Blocker::describe).collect();
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "disclosure_blocked",
        format!(
            "nothing may be disclosed on {} yet: {}",
            record.number,
            named.join(" ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_prefixes() {
        assert_eq!(
            network_of("198.51.100.23".parse().unwrap()),
            "198.51.100.0/24"
        );
        assert_eq!(
            network_of("2001:db8:10:ffff::1".parse().unwrap()),
            "2001:db8:10::/48"
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_address(&h, None), Some(ip("203.0.113.9")));
        assert_eq!(
            client_address(&h, Some(ip("127.0.0.1"))),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_address(&h, Some(ip("198.51.100.7"))),
            Some(ip("198.51.100.7")),
            "a client on the internet cannot claim another address"
        );
        assert_eq!(
            client_address(&HeaderMap::new(), Some(ip("10.1.2.3"))),
            Some(ip("10.1.2.3"))
        );
    }
}
