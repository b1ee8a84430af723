//! The review console: `/review`, the queue ordered by urgency with its filters, counts and
//! assignment, and `/review/requests/{id}`, one request as the provider's legal team works it:
//! the served documents shown in the page, the agency and how far it is trusted, the policy
//! engine's recommendation with its rules and legal bases, the conversation and letters, the
//! decision per category and its approval, and every action the JSON API offers.
//!
//! Every action calls the function its `/api/v1/review/...` endpoint calls
//! (`api::review::{assign_request, send_letter, decide_request, approve_request}`), so the
//! page and the API check the same roles, refuse the same things and write the same audit
//! entries. Auditors (and the custodian of records) read; reviewers act; approvers approve.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use custodian_core::deadline::{awaiting_answer, urgency, Urgency};
use custodian_core::policy::{evaluate, Assessment, CustomerNotice, Decision, PolicyCase, Route};
use custodian_core::review::{CategoryRuling, ReviewDecision};
use custodian_core::{
    agency::email_on_domains, letters, DataCategory, FieldError, LegalProcess, NewLegalRequest,
    RequestStatus,
};
use custodian_store::{DecisionRecord, QueueFilter, RequestRecord, Scope, StoredAuditEntry, User};
use uuid::Uuid;

use super::request_page::{facts, Summary};
use super::{
    field_of, page_error, render, render_status, see_other, status_class, status_words, when,
    Layout, Viewer,
};
use crate::api::followers::timeline_words;
use crate::api::requests::{add_message, path_id};
use crate::api::review::{
    approve_request, assign_request, decide_request, letter_context, load_queue, queue_filter,
    send_letter, LetterKind, QueueQuery, APPROVERS, READERS, REVIEWERS,
};
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue))
        .route("/review/requests/{id}", get(page))
        .route("/review/requests/{id}/assign", post(assign))
        .route("/review/requests/{id}/clarify", post(clarify))
        .route("/review/requests/{id}/object", post(object))
        .route("/review/requests/{id}/narrow", post(narrow))
        .route("/review/requests/{id}/reject", post(reject))
        .route("/review/requests/{id}/redirect", post(redirect))
        .route("/review/requests/{id}/decide", post(decide))
        .route("/review/requests/{id}/approve", post(approve))
        .route("/review/requests/{id}/messages", post(message))
}

/// One `<option>` of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(options: &[(&str, &str)], current: Option<&str>) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value: value.to_string(),
            label: label.to_string(),
            selected: current == Some(*value),
        })
        .collect()
}

/// A state in the legal team's words (the portal's are the agency's: "Question for you").
fn state_words(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::ClarificationRequested => "Waiting for the agency",
        other => status_words(other),
    }
}

/// The deadline as people read it: a time while the answer is owed.
fn due_words(status: RequestStatus, respond_by: DateTime<Utc>) -> String {
    if awaiting_answer(status) {
        when(respond_by)
    } else if status.is_open() {
        "— (answered)".into()
    } else {
        "— (finished)".into()
    }
}

/// The deadline mark of an open request: its CSS class and the word a person reads.
fn due_mark(
    status: RequestStatus,
    respond_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (&'static str, &'static str) {
    if !awaiting_answer(status) {
        return ("", "");
    }
    match urgency(respond_by, now) {
        Urgency::Overdue => ("due-overdue", "overdue"),
        Urgency::DueSoon => ("due-soon", "due soon"),
        Urgency::OnTime => ("", ""),
    }
}

/// The provider's staff who can be given a request, by e-mail address (what the API takes).
fn assignable(users: &[User]) -> Vec<(String, String)> {
    users
        .iter()
        .filter(|u| u.active && (REVIEWERS.contains(&u.role) || APPROVERS.contains(&u.role)))
        .map(|u| (u.email.clone(), u.name.clone()))
        .collect()
}

/// A link back into the queue, or nothing (an assignment form says where it came from).
fn queue_link(raw: Option<&str>) -> Option<&str> {
    raw.filter(|b| {
        (*b == "/review" || b.starts_with("/review?"))
            && !b.contains(['\r', '\n', '\\'])
            && !b.contains("//")
    })
}

// --- the queue ---------------------------------------------------------------------------

pub struct CountLink {
    pub label: &'static str,
    pub n: u64,
    pub href: String,
    pub current: bool,
}

pub struct QueueRow {
    pub id: String,
    pub number: String,
    pub process: &'static str,
    pub agency: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub emergency: bool,
    pub due: String,
    pub due_class: &'static str,
    pub mark: &'static str,
    pub assignee: String,
    pub assignee_email: String,
    /// The risk mark: `high`, `medium` or empty, and whether the request is flagged.
    pub risk: String,
    pub flagged: bool,
}

#[derive(Template)]
#[template(path = "review_queue.html")]
struct QueuePage {
    layout: Layout,
    error: Option<String>,
    counts: Vec<CountLink>,
    overdue: String,
    due_soon: String,
    unassigned: String,
    mine: String,
    statuses: Vec<Choice>,
    assignees: Vec<Choice>,
    dues: Vec<Choice>,
    processes: Vec<Choice>,
    all: bool,
    rows: Vec<QueueRow>,
    heading: String,
    can_assign: bool,
    assign_to: Vec<(String, String)>,
    back: String,
}

/// How many requests a filter finds, for the marks above the queue ("500+" past the limit).
async fn how_many(state: &AppState, filter: QueueFilter) -> Result<String, ApiError> {
    let found = state.store.review_queue(&filter).await?.len();
    Ok(if found as u32 >= filter.limit {
        format!("{found}+")
    } else {
        found.to_string()
    })
}

pub async fn queue(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match build_queue(&state, &viewer, query).await {
        Ok(page) => match &page.error {
            Some(_) => render_status(StatusCode::BAD_REQUEST, &page),
            None => render(&page),
        },
        Err(e) => page_error(e),
    }
}

async fn build_queue(
    state: &AppState,
    viewer: &Viewer,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<QueuePage, ApiError> {
    let caller = &viewer.caller;
    caller.require_role(READERS, "the review queue")?;
    let now = state.clock.now();
    // A filter that cannot be read shows the whole queue with the reason, not a dead end.
    let (q, error) = match query {
        Ok(Query(q)) => (q, None),
        Err(e) => (QueueQuery::default(), Some(e.body_text())),
    };
    let (q, filter, error) = match queue_filter(caller, &q, now) {
        Ok(f) => (q, f, error),
        Err(e) => {
            let q = QueueQuery::default();
            let f = queue_filter(caller, &q, now)?;
            (q, f, Some(e.message))
        }
    };
    let (items, counts) = load_queue(state, caller, &filter).await?;
    let users = state.store.list_users().await?;
    let by_id: HashMap<Uuid, &User> = users.iter().map(|u| (u.id, u)).collect();
    let agencies: HashMap<Uuid, String> = state
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();

    let mark = |f: QueueFilter| QueueFilter {
        open_only: true,
        limit: 500,
        ..f
    };
    let overdue = how_many(
        state,
        mark(QueueFilter {
            due_by: Some(now),
            ..Default::default()
        }),
    )
    .await?;
    let due_soon = how_many(
        state,
        mark(QueueFilter {
            due_after: Some(now),
            due_by: Some(now + chrono::Duration::hours(custodian_core::deadline::DUE_SOON_HOURS)),
            ..Default::default()
        }),
    )
    .await?;
    let unassigned = how_many(
        state,
        mark(QueueFilter {
            unassigned: true,
            ..Default::default()
        }),
    )
    .await?;
    let mine = how_many(
        state,
        mark(QueueFilter {
            assignee: Some(caller.user.id),
            ..Default::default()
        }),
    )
    .await?;

    let status_now = q.status.as_deref().unwrap_or("");
    let counts = RequestStatus::ALL
        .iter()
        .map(|s| CountLink {
            label: state_words(*s),
            n: counts.get(s).copied().unwrap_or(0),
            href: format!("/review?status={}", s.as_str()),
            current: status_now == s.as_str(),
        })
        .filter(|c| c.n > 0 || c.current)
        .collect();

    let mut statuses = vec![("", "Any open state")];
    statuses.extend(
        RequestStatus::ALL
            .iter()
            .map(|s| (s.as_str(), state_words(*s))),
    );
    let staff: Vec<(String, String)> = users
        .iter()
        .filter(|u| REVIEWERS.contains(&u.role) || APPROVERS.contains(&u.role))
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    let mut assignee_options: Vec<(&str, &str)> =
        vec![("", "Anyone"), ("me", "Me"), ("none", "No one yet")];
    assignee_options.extend(staff.iter().map(|(id, name)| (id.as_str(), name.as_str())));
    let mut process_options: Vec<(&str, &str)> = vec![("", "Any process")];
    process_options.extend(LegalProcess::ALL.iter().map(|p| (p.as_str(), p.label())));

    let ids: Vec<Uuid> = items.iter().map(|r| r.id).collect();
    let risks = state.store.verification().risk_summaries(&ids).await?;
    let rows = items
        .into_iter()
        .map(|r| {
            let risk = risks.iter().find(|x| x.request_id == r.id);
            let (due_class, mark) = due_mark(r.status, r.respond_by, now);
            let assignee = r.assignee_id.and_then(|a| by_id.get(&a).copied());
            QueueRow {
                id: r.id.to_string(),
                number: r.number,
                process: r.process.label(),
                agency: agencies.get(&r.agency_id).cloned().unwrap_or_default(),
                status: state_words(r.status),
                status_class: status_class(r.status),
                emergency: r.emergency,
                due: due_words(r.status, r.respond_by),
                due_class,
                mark,
                assignee: assignee.map(|u| u.name.clone()).unwrap_or_default(),
                assignee_email: assignee.map(|u| u.email.clone()).unwrap_or_default(),
                risk: risk
                    .map(|x| x.level)
                    .filter(|l| *l != custodian_core::verification::RiskLevel::Low)
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default(),
                flagged: risk.is_some_and(|x| !x.flags.is_empty()),
            }
        })
        .collect::<Vec<_>>();
    let filtered = [&q.status, &q.assignee, &q.due, &q.process]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()));
    let heading = if filtered {
        format!("Matching requests ({})", rows.len())
    } else if filter.open_only {
        format!("Open requests ({})", rows.len())
    } else {
        format!("All requests ({})", rows.len())
    };
    Ok(QueuePage {
        layout: viewer.layout("Review queue", "/review"),
        error,
        counts,
        overdue,
        due_soon,
        unassigned,
        mine,
        statuses: choices(&statuses, q.status.as_deref()),
        assignees: choices(&assignee_options, q.assignee.as_deref()),
        dues: choices(
            &[
                ("", "Any deadline"),
                ("soon", "Due within 48 hours"),
                ("overdue", "Overdue"),
            ],
            q.due.as_deref(),
        ),
        processes: choices(&process_options, q.process.as_deref()),
        all: q.all.unwrap_or(false),
        rows,
        heading,
        can_assign: caller.require_role(REVIEWERS, "").is_ok(),
        assign_to: assignable(&users),
        back: queue_back(&q),
    })
}

/// The queue's address with the filters it was shown with, to come back to after assigning.
fn queue_back(q: &QueueQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("status", &q.status),
        ("assignee", &q.assignee),
        ("due", &q.due),
        ("process", &q.process),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            // Only the values the filters accept come back (letters, digits, `_`, `-`).
            if v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                parts.push(format!("{k}={v}"));
            }
        }
    }
    if q.all.unwrap_or(false) {
        parts.push("all=true".into());
    }
    if parts.is_empty() {
        "/review".into()
    } else {
        format!("/review?{}", parts.join("&"))
    }
}

// --- one request -------------------------------------------------------------------------

pub struct DocumentRow {
    pub id: String,
    pub name: String,
    pub size: String,
    pub sha256: String,
}

/// Who served the request, and how far the provider trusts them.
pub struct AgencyFacts {
    pub name: String,
    pub country: String,
    pub kind: String,
    pub status: &'static str,
    pub status_words: &'static str,
    pub status_class: &'static str,
    pub phone: String,
    pub domains: String,
    pub officer: String,
    pub officer_email: String,
    /// The officer's address is on one of the agency's verified domains.
    pub officer_on_domain: bool,
}

pub struct RecommendedCategory {
    pub category: &'static str,
    pub decision: &'static str,
    pub rule: String,
    pub basis: String,
    pub reason: String,
    pub limit: String,
}

/// The policy engine's recommendation, in words, with its rules and legal bases.
pub struct Recommendation {
    pub profile: String,
    pub route: &'static str,
    pub route_words: &'static str,
    pub route_rule: String,
    pub route_basis: String,
    pub categories: Vec<RecommendedCategory>,
    pub notice: &'static str,
    pub notice_words: &'static str,
    pub notice_rule: String,
    pub notice_basis: String,
    pub notice_after: String,
    pub rules: Vec<String>,
    pub explanation: Vec<String>,
}

fn route_words(r: Route) -> &'static str {
    match r {
        Route::Process => "Process it: decide each category as assessed",
        Route::RedirectMlat => "Redirect to the mutual legal assistance (MLAT) route",
        Route::Reject => "Reject it: it cannot be answered as served",
        Route::ContactOwner => "Contact the device's owner; nothing reaches the officer",
        Route::ObjectOverbroad => "Object as overbroad until it is narrowed",
        Route::PreserveOnly => "Preserve the data; nothing is disclosed",
    }
}

fn notice_words(n: CustomerNotice) -> &'static str {
    match n {
        CustomerNotice::BeforeDisclosure => "Tell the customer before disclosing",
        CustomerNotice::AfterNdo => "Tell the customer when the non-disclosure order ends",
        CustomerNotice::DeferredReview => {
            "Notice deferred: the order has no end date; review it again"
        }
        CustomerNotice::WithheldIllegalConduct => "Notice withheld: illegal conduct indicated",
        CustomerNotice::AfterEmergency => "Tell the customer once the emergency has passed",
        CustomerNotice::ProhibitedByStatute => "No notice: a statute forbids it",
        CustomerNotice::NotRequired => "No notice needed",
    }
}

fn recommendation(a: Assessment) -> Recommendation {
    Recommendation {
        profile: a.profile,
        route: a.route.as_str(),
        route_words: route_words(a.route),
        route_rule: a.route_rule,
        route_basis: a.route_basis,
        categories: a
            .categories
            .into_iter()
            .map(|(c, d)| RecommendedCategory {
                category: c.as_str(),
                decision: d.decision.as_str(),
                rule: d.rule,
                basis: d.basis,
                reason: d.reason,
                limit: d.limit.unwrap_or_default(),
            })
            .collect(),
        notice: a.customer_notice.as_str(),
        notice_words: notice_words(a.customer_notice),
        notice_rule: a.notice_rule,
        notice_basis: a.notice_basis,
        notice_after: a
            .notice_after
            .map(|d| d.to_string())
            .or_else(|| a.notice_review_by.map(|d| format!("review by {d}")))
            .unwrap_or_default(),
        rules: a.rules_applied,
        explanation: a.explanation,
    }
}

/// The decision as recorded, and where its approval stands.
pub struct DecisionFacts {
    pub rulings: Vec<(&'static str, &'static str, String)>,
    pub illegal_conduct: String,
    pub decided_by: String,
    pub decided_at: String,
    pub approved_by: String,
    pub approved_at: String,
    /// `approved`, `not_needed`, `yours` (the viewer decided), `can_approve`, `waiting`.
    pub approval: &'static str,
}

/// One row of the decision form.
pub struct DecideRow {
    pub category: &'static str,
    pub content: bool,
    pub recommended: &'static str,
    pub disclose: bool,
    pub withhold: bool,
    pub reason: String,
    pub invalid: bool,
    pub reason_invalid: bool,
}

/// What the viewer may do to the request now, given its state and the viewer's role.
#[derive(Default)]
pub struct Actions {
    pub assign: bool,
    pub take_first: bool,
    pub decide: bool,
    pub clarify: bool,
    pub object: bool,
    pub narrow: bool,
    pub reject: bool,
    pub redirect: bool,
    pub message: bool,
    pub any_letter: bool,
}

/// A form that failed: which one, and what was typed, to show it again.
#[derive(Default)]
pub(super) struct Failed {
    pub(super) action: &'static str,
    pub(super) text: String,
    pub(super) form: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "review_request.html")]
pub(super) struct ReviewPage {
    pub(super) layout: Layout,
    r: Summary,
    due_class: &'static str,
    due_mark: &'static str,
    error: Option<String>,
    field: String,
    failed: &'static str,
    failed_text: String,
    assignee: String,
    assignee_email: String,
    assign_to: Vec<(String, String)>,
    documents: Vec<DocumentRow>,
    agency: AgencyFacts,
    facts: Vec<(&'static str, String)>,
    order: Option<super::orders::OrderPanel>,
    rec: Recommendation,
    decision: Option<DecisionFacts>,
    decide_rows: Vec<DecideRow>,
    illegal_reason: String,
    actions: Actions,
    mlat_guidance: String,
    letters: Vec<(String, String, String)>,
    messages: Vec<(&'static str, String, String)>,
    timeline: Vec<(String, String)>,
    /// Preservation, production and customer notice (`ui::custody`).
    pub(super) custody: super::custody::CustodyPanel,
    /// Paging of an emergency (`ui::emergency`).
    pub(super) emergency: Option<super::emergency::EmergencyPanel>,
    /// Verification of the requester (`ui::verification`).
    pub(super) verification: super::verification::VerificationPanel,
    /// Device return, fraud referral and costs (`ui::billing`).
    pub(super) billing: super::billing::BillingPanel,
}

fn ruling_rows(
    record: &RequestRecord,
    rec: &Recommendation,
    failed: &Failed,
    field: &str,
) -> Vec<DecideRow> {
    let posted = |k: &str| {
        failed
            .form
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    record
        .intake
        .categories
        .iter()
        .map(|c| {
            let recommended = rec
                .categories
                .iter()
                .find(|r| r.category == c.as_str())
                .map_or("withhold", |r| r.decision);
            let chosen = if failed.form.is_empty() {
                Some(recommended.to_string())
            } else {
                posted(&format!("decision.{c}"))
            };
            let reason = if failed.form.is_empty() {
                rec.categories
                    .iter()
                    .find(|r| r.category == c.as_str() && r.decision == "withhold")
                    .map(|r| r.reason.clone())
                    .unwrap_or_default()
            } else {
                posted(&format!("reason.{c}")).unwrap_or_default()
            };
            let key = format!("categories.{c}");
            DecideRow {
                category: c.as_str(),
                content: c.is_content(),
                recommended,
                disclose: chosen.as_deref() == Some("disclose"),
                withhold: chosen.as_deref() == Some("withhold"),
                reason,
                invalid: field == key,
                reason_invalid: field == format!("{key}.reason"),
            }
        })
        .collect()
}

fn decision_facts(
    d: &DecisionRecord,
    viewer: &Viewer,
    names: &HashMap<Uuid, &User>,
) -> DecisionFacts {
    let name = |id: Uuid| names.get(&id).map(|u| u.name.clone()).unwrap_or_default();
    let approval = if !d.needs_approval {
        "not_needed"
    } else if d.approved_by.is_some() {
        "approved"
    } else if d.decided_by == viewer.caller.user.id {
        "yours"
    } else if viewer.caller.require_role(APPROVERS, "").is_ok() {
        "can_approve"
    } else {
        "waiting"
    };
    DecisionFacts {
        rulings: d
            .decision
            .categories
            .iter()
            .map(|(c, r)| {
                (
                    c.as_str(),
                    r.decision.as_str(),
                    r.reason.clone().unwrap_or_default(),
                )
            })
            .collect(),
        illegal_conduct: d
            .decision
            .illegal_conduct_reason
            .clone()
            .unwrap_or_default(),
        decided_by: name(d.decided_by),
        decided_at: when(d.decided_at),
        approved_by: d.approved_by.map(name).unwrap_or_default(),
        approved_at: d.approved_at.map(when).unwrap_or_default(),
        approval,
    }
}

pub(super) async fn build(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    error: Option<ApiError>,
    failed: Failed,
) -> Result<ReviewPage, ApiError> {
    let caller = &viewer.caller;
    caller.require_role(READERS, "the review console")?;
    let store = &state.store;
    let scope = Scope::Provider;
    let r = store.get_request(scope, id).await?;
    let agency = store.get_agency(r.agency_id).await?;
    let decision = store.get_decision(scope, id).await?;
    let letters_sent = store.list_letters(scope, id).await?;
    let messages = store.list_messages(scope, id).await?;
    let timeline: Vec<StoredAuditEntry> = store.accounts().request_timeline(scope, id).await?;
    let users = store.list_users().await?;
    let names: HashMap<Uuid, &User> = users.iter().map(|u| (u.id, u)).collect();
    let now = state.clock.now();

    let policy = state.active_policy().await;
    let case = PolicyCase::from_request(
        &NewLegalRequest {
            intake: r.intake.clone(),
        },
        r.received_at,
    );
    let rec = recommendation(evaluate(&policy, &case, now));
    let field = error
        .as_ref()
        .and_then(|e| field_of(&e.message))
        .unwrap_or_default();

    let reviewer = caller.require_role(REVIEWERS, "").is_ok();
    let s = r.status;
    let actions = Actions {
        assign: reviewer && s.is_open(),
        take_first: reviewer && s == RequestStatus::Received,
        decide: reviewer && s.can_become(RequestStatus::Decided),
        clarify: reviewer && s.can_become(RequestStatus::ClarificationRequested),
        object: reviewer && s.can_become(RequestStatus::ClarificationRequested),
        narrow: reviewer
            && matches!(
                s,
                RequestStatus::Received
                    | RequestStatus::InReview
                    | RequestStatus::ClarificationRequested
            ),
        reject: reviewer && s.can_become(RequestStatus::Rejected),
        redirect: reviewer && s.can_become(RequestStatus::Redirected),
        message: caller.require_role(&MESSAGE_WRITERS, "").is_ok() && s.is_open(),
        any_letter: false,
    };
    let actions = Actions {
        any_letter: actions.clarify
            || actions.object
            || actions.narrow
            || actions.reject
            || actions.redirect,
        ..actions
    };
    let officer = names.get(&r.submitted_by).copied();
    let assignee = r.assignee_id.and_then(|a| names.get(&a).copied());
    let (due_class, due_word) = due_mark(r.status, r.respond_by, now);
    let decide_rows = ruling_rows(&r, &rec, &failed, &field);
    let illegal_reason = failed
        .form
        .iter()
        .find(|(k, _)| k == "illegal_conduct_reason")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mlat_guidance = letters::redirect_to_mlat(&letter_context(&r, &agency.name));
    let custody =
        super::custody::panel(state, viewer, &r, decision.as_ref(), &failed, &field).await?;
    let emergency = super::emergency::panel(state, viewer, &r).await?;
    let verification = super::verification::panel(state, viewer, &r, &failed).await?;
    let order = super::orders::panel(state, viewer, &r, &failed).await?;
    let billing = super::billing::panel(state, viewer, &r).await?;
    Ok(ReviewPage {
        layout: viewer.layout(&format!("Review {}", r.number), "/review"),
        due_class,
        due_mark: due_word,
        error: error.as_ref().map(|e| e.message.clone()),
        field,
        failed: failed.action,
        failed_text: failed.text.clone(),
        assignee: assignee.map(|u| u.name.clone()).unwrap_or_default(),
        assignee_email: assignee.map(|u| u.email.clone()).unwrap_or_default(),
        assign_to: assignable(&users),
        documents: r
            .documents
            .iter()
            .map(|d| DocumentRow {
                id: d.id.to_string(),
                name: d.file_name.clone(),
                size: format!("{} KiB", d.size.div_ceil(1024)),
                sha256: d.sha256.clone(),
            })
            .collect(),
        agency: AgencyFacts {
            country: format!("{} ({})", agency.country.name(), agency.country.code()),
            kind: agency.kind.as_str().replace('_', " "),
            status: agency.status.as_str(),
            status_words: match agency.status {
                custodian_core::AgencyStatus::Verified => "Verified",
                custodian_core::AgencyStatus::Pending => "Not verified yet",
                custodian_core::AgencyStatus::Suspended => "Suspended",
            },
            status_class: match agency.status {
                custodian_core::AgencyStatus::Verified => "done",
                custodian_core::AgencyStatus::Pending => "open",
                custodian_core::AgencyStatus::Suspended => "stopped",
            },
            phone: agency.phone.clone().unwrap_or_default(),
            domains: agency.domains.join(", "),
            officer: officer.map(|u| u.name.clone()).unwrap_or_default(),
            officer_email: officer.map(|u| u.email.clone()).unwrap_or_default(),
            officer_on_domain: officer.is_some_and(|u| email_on_domains(&u.email, &agency.domains)),
            name: agency.name,
        },
        facts: facts(&r),
        order,
        decision: decision.as_ref().map(|d| decision_facts(d, viewer, &names)),
        decide_rows,
        illegal_reason,
        actions,
        mlat_guidance,
        letters: letters_sent
            .into_iter()
            .map(|l| (l.kind.replace('_', " "), when(l.created_at), l.body))
            .collect(),
        messages: messages
            .into_iter()
            .map(|m| {
                (
                    if m.from_agency { "agency" } else { "provider" },
                    when(m.created_at),
                    m.body,
                )
            })
            .collect(),
        timeline: timeline
            .iter()
            .filter_map(|e| timeline_words(e, false).map(|t| (when(e.entry.at), t)))
            .collect(),
        rec,
        r: Summary {
            id: r.id.to_string(),
            number: r.number.clone(),
            process: r.process.label(),
            status: state_words(r.status),
            status_class: status_class(r.status),
            emergency: r.emergency,
            due: due_words(r.status, r.respond_by),
        },
        custody,
        emergency,
        verification,
        billing,
    })
}

/// Who may write to the agency from the review page (auditors read only).
const MESSAGE_WRITERS: [custodian_core::Role; 4] = [
    custodian_core::Role::Reviewer,
    custodian_core::Role::Approver,
    custodian_core::Role::Custodian,
    custodian_core::Role::Admin,
];

async fn show(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    error: Option<ApiError>,
    failed: Failed,
) -> Response {
    let status = error.as_ref().map(|e| e.status);
    match build(state, viewer, id, error, failed).await {
        Ok(page) => match status {
            Some(s) => render_status(s, &page),
            None => render(&page),
        },
        Err(e) => page_error(e),
    }
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match path_id(&id) {
        Ok(id) => show(&state, &viewer, id, None, Failed::default()).await,
        Err(e) => page_error(e),
    }
}

/// After an action: back to the page (or the queue it came from) with a message, or the
/// page again with the error and what was typed.
pub(super) async fn after(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    result: Result<String, ApiError>,
    failed: Failed,
    back: Option<&str>,
) -> Response {
    match result {
        Ok(done) => {
            viewer.flash(state, &done).await;
            see_other(&back.map_or_else(|| format!("/review/requests/{id}"), str::to_string))
        }
        // A missing request, or a visitor who may not see the console, gets the error page.
        Err(e) if matches!(e.status, StatusCode::NOT_FOUND) => page_error(e),
        Err(e) => show(state, viewer, id, Some(e), failed).await,
    }
}

pub async fn assign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let wanted = form.get("assignee");
    let result = assign_request(&state, &viewer.caller, id, wanted)
        .await
        .map(|r| match wanted {
            None => format!("{} is no longer assigned to anyone.", r.number),
            Some("me") => format!("{} is assigned to you.", r.number),
            Some(who) => format!("{} is assigned to {who}.", r.number),
        });
    after(
        &state,
        &viewer,
        id,
        result,
        Failed {
            action: "assign",
            ..Failed::default()
        },
        queue_link(form.get("back")),
    )
    .await
}

async fn letter(
    state: AppState,
    viewer: Viewer,
    id: String,
    form: PostedForm,
    kind: LetterKind,
    done: &str,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let text = form.get("text");
    let result = send_letter(&state, &viewer.caller, id, kind, text)
        .await
        .map(|_| done.to_string());
    let failed = Failed {
        action: kind.name(),
        text: text.unwrap_or("").to_string(),
        form: Vec::new(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn clarify(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    letter(
        state,
        viewer,
        id,
        form,
        LetterKind::Clarification,
        "The question was sent to the agency; the request waits for its answer.",
    )
    .await
}

pub async fn object(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    letter(
        state,
        viewer,
        id,
        form,
        LetterKind::Objection,
        "The objection was sent; the request waits until the agency narrows it.",
    )
    .await
}

pub async fn narrow(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    letter(
        state,
        viewer,
        id,
        form,
        LetterKind::Narrowing,
        "The narrowed scope is recorded and the agency has it in writing.",
    )
    .await
}

pub async fn reject(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    letter(
        state,
        viewer,
        id,
        form,
        LetterKind::Rejection,
        "Rejected. The agency has the letter with your reason.",
    )
    .await
}

pub async fn redirect(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    letter(
        state,
        viewer,
        id,
        form,
        LetterKind::Redirect,
        "Redirected. The agency has the guidance on the MLAT route.",
    )
    .await
}

/// Reads the decision form: `decision.<category>` (disclose or withhold) and
/// `reason.<category>` for each requested category, and `illegal_conduct_reason`.
fn decision_from(
    form: &PostedForm,
    requested: &[DataCategory],
) -> Result<ReviewDecision, ApiError> {
    let mut categories = BTreeMap::new();
    for c in requested {
        let Some(raw) = form.get(&format!("decision.{c}")) else {
            continue; // validation names the category that has no ruling
        };
        let decision: Decision = raw
            .parse()
            .map_err(|e: String| FieldError::new(format!("categories.{c}"), e))?;
        categories.insert(
            *c,
            CategoryRuling {
                decision,
                reason: form.get(&format!("reason.{c}")).map(str::to_string),
            },
        );
    }
    Ok(ReviewDecision {
        categories,
        illegal_conduct_reason: form.get("illegal_conduct_reason").map(str::to_string),
    })
}

pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        viewer.caller.require_role(REVIEWERS, "deciding requests")?;
        let record = state.store.get_request(Scope::Provider, id).await?;
        let decision = decision_from(&form, &record.intake.categories)?;
        let stored = decide_request(&state, &viewer.caller, id, decision).await?;
        Ok(if stored.needs_approval {
            "Decided. The disclosure now waits for an approver other than you (two-person rule)."
                .to_string()
        } else {
            "Decided. The agency sees the outcome on its page.".to_string()
        })
    }
    .await;
    let failed = Failed {
        action: "decide",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = approve_request(&state, &viewer.caller, id).await.map(|_| {
        "Approved. The decision takes effect and the agency sees the outcome.".to_string()
    });
    let failed = Failed {
        action: "approve",
        ..Failed::default()
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn message(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let body = form.get("body").unwrap_or("");
    let result = async {
        viewer.caller.require_role(READERS, "the review console")?;
        add_message(&state, &viewer.caller, id, body).await?;
        Ok("Your message was sent to the agency.".to_string())
    }
    .await;
    let failed = Failed {
        action: "message",
        text: body.to_string(),
        form: Vec::new(),
    };
    after(&state, &viewer, id, result, failed, None).await
}
