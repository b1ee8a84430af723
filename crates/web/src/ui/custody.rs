//! Custody in the review console (docs/custody.md): the review page's Preservation, Production
//! and Customer notice sections (`templates/review/_preservation.html`, `_production.html`,
//! `_notice.html`), their actions, and `/review/holds`, every legal hold with its filters.
//!
//! Every action calls the function its `/api/v1/custody/...` endpoint calls
//! (`api::custody::{preserve_request, renew, release, produce_request, new_link,
//! order_reviewed, notice_sent_early}`), so the page and the API check the same roles and
//! refuse the same things. Each section shows a role only what it may do: reviewers, the
//! custodian and admins preserve; the custodian produces; reviewers and admins record an
//! order's review; approvers and auditors read.
//!
//! The ZIP passphrase of a new production is rendered straight into the answer to the produce
//! form, once: it never goes through the session's flash message (a database row) or a redirect.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use custodian_core::notice::NoticeStatus;
use custodian_core::policy::{CustomerNotice, Decision};
use custodian_core::preservation::{HoldStatus, REMINDER_DAYS};
use custodian_core::{DataCategory, RequestStatus};
use custodian_store::custody::{HoldRecord, NoticeRecord};
use custodian_store::{DecisionRecord, RequestRecord, Scope, User};
use serde::Deserialize;
use uuid::Uuid;

use super::review::{after, build, Failed};
use super::{page_error, render, render_status, when, Layout, Viewer};
use crate::api::custody::{
    ends_within, hold_list, holds_of_request, new_link, notice_of, notice_sent_early,
    order_reviewed, preserve_request, produce_request, productions_of, release, release_wait,
    renew, HoldQuery, ProductionView, LINK_ISSUERS, PRESERVERS, PRODUCERS, READERS, REVIEWERS,
};
use crate::api::requests::path_id;
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review/holds", get(holds_page))
        .route("/review/requests/{id}/preserve", post(preserve))
        .route("/review/requests/{id}/holds/{hold}/renew", post(renew_hold))
        .route(
            "/review/requests/{id}/holds/{hold}/release",
            post(release_hold),
        )
        .route("/review/requests/{id}/produce", post(produce))
        .route(
            "/review/requests/{id}/productions/{production}/link",
            post(link),
        )
        .route("/review/requests/{id}/notice/order", post(notice_order))
        .route("/review/requests/{id}/notice/send", post(notice_send))
}

fn may(viewer: &Viewer, roles: &[custodian_core::Role]) -> bool {
    viewer.caller.require_role(roles, "").is_ok()
}

/// A size as people read it.
pub fn size_words(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.2} GiB", b / (KIB * KIB * KIB))
    }
}

/// What a hold's snapshot holds: its stored files (content) and its size.
fn kept_words(files: u64, bytes: u64) -> String {
    match files {
        0 => format!("{} kept", size_words(bytes)),
        1 => format!("1 file, {} kept", size_words(bytes)),
        n => format!("{n} files, {} kept", size_words(bytes)),
    }
}

fn categories_words(c: &[DataCategory]) -> String {
    c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// A hold's state in words, and its badge.
fn hold_status(s: HoldStatus) -> (&'static str, &'static str) {
    match s {
        HoldStatus::Capturing => ("Being copied", "open"),
        HoldStatus::Active => ("Active", "done"),
        HoldStatus::Released => ("Released", "stopped"),
        HoldStatus::Failed => ("Failed", "stopped"),
    }
}

/// Whether an active hold ends within the reminder's week (the API's
/// `?ends_within_days=7`).
fn ends_soon(h: &HoldRecord, now: DateTime<Utc>) -> bool {
    ends_within(h, REMINDER_DAYS as u32, now)
}

// --- the review page's sections ----------------------------------------------------------

pub struct HoldRow {
    pub id: String,
    pub status: &'static str,
    pub status_words: &'static str,
    pub status_class: &'static str,
    pub categories: String,
    /// Account ids and the kind of identifier that found each.
    pub accounts: Vec<(String, String)>,
    /// "2 accounts, 14 files, 3.1 MiB kept" once captured.
    pub accounts_words: String,
    pub kept_words: String,
    pub bytes: u64,
    pub period: String,
    pub started: String,
    pub expires: String,
    pub ends_soon: bool,
    pub terms: String,
    pub renewed: String,
    pub released: String,
    pub release_reason: String,
    pub error: String,
    pub can_renew: bool,
    pub can_release: bool,
    /// A refused release of this hold, to open its form again with what was typed.
    pub release_failed: bool,
}

fn hold_row(
    h: HoldRecord,
    accounts: Vec<(String, String)>,
    can_manage: bool,
    now: DateTime<Utc>,
) -> HoldRow {
    let (status_words, status_class) = hold_status(h.status);
    let left = h.terms.max_renewals.saturating_sub(h.renewals);
    HoldRow {
        id: h.id.to_string(),
        status: h.status.as_str(),
        status_words,
        status_class,
        categories: categories_words(&h.categories),
        accounts,
        accounts_words: match (h.accounts, h.bytes) {
            (1, 0) => "1 account".to_string(),
            (n, 0) => format!("{n} accounts"),
            (1, _) => format!("1 account, {}", kept_words(h.files, h.bytes)),
            (n, _) => format!("{n} accounts, {}", kept_words(h.files, h.bytes)),
        },
        kept_words: kept_words(h.files, h.bytes),
        bytes: h.bytes,
        period: h
            .date_range
            .map(|r| format!("{} to {}", r.from, r.to))
            .unwrap_or_else(|| "the whole history".into()),
        started: when(h.started_at),
        expires: when(h.expires_at),
        ends_soon: ends_soon(&h, now),
        terms: format!(
            "{} days, renewable {} by {} days",
            h.terms.days,
            match h.terms.max_renewals {
                1 => "once".to_string(),
                n => format!("{n} times"),
            },
            h.terms.renewal_days
        ),
        renewed: match (h.renewals, left) {
            (0, 0) => "No (no renewal allowed)".into(),
            (0, _) => "Not yet (one renewal left)".into(),
            (_, 0) => "Yes (no renewal left)".into(),
            (n, l) => format!("{n} times ({l} left)"),
        },
        released: h.released_at.map(when).unwrap_or_default(),
        release_reason: h.release_reason.unwrap_or_default(),
        error: h.error.unwrap_or_default(),
        can_renew: can_manage && h.status == HoldStatus::Active && left > 0,
        can_release: can_manage && h.status.is_live(),
        release_failed: false,
    }
}

pub struct ProductionRow {
    pub id: String,
    pub status: String,
    pub status_words: &'static str,
    pub status_class: &'static str,
    pub protection: &'static str,
    pub sha256: String,
    pub size: String,
    pub files: String,
    pub custodian: String,
    pub created: String,
    pub built: String,
    pub released: String,
    pub link_expires: String,
    pub link_expired: bool,
    pub downloads: String,
    pub waiting_for: String,
    pub error: String,
    pub can_link: bool,
}

fn production_row(
    p: ProductionView,
    names: &HashMap<Uuid, String>,
    can_link: bool,
    now: DateTime<Utc>,
) -> ProductionRow {
    let (status_words, status_class) = match p.status.as_str() {
        "building" => ("Being built", "open"),
        "built" => ("Built; waiting for release", "open"),
        "delivered" => ("Delivered to the agency", "done"),
        _ => ("Failed", "stopped"),
    };
    let delivered = p.status == "delivered";
    ProductionRow {
        id: p.id.to_string(),
        status_words,
        status_class,
        protection: if p.protection == "zip-aes256" {
            "AES-256 ZIP (passphrase sent separately)"
        } else {
            "age, to the agency's key"
        },
        sha256: p.package_sha256.unwrap_or_default(),
        size: p.package_bytes.map(size_words).unwrap_or_default(),
        files: match (p.files, p.bytes) {
            (Some(f), Some(b)) => format!("{f} records, {}", size_words(b)),
            _ => String::new(),
        },
        custodian: names.get(&p.custodian_id).cloned().unwrap_or_default(),
        created: when(p.created_at),
        built: p.built_at.map(when).unwrap_or_default(),
        released: p.released_at.map(when).unwrap_or_default(),
        link_expires: p.expires_at.map(when).unwrap_or_default(),
        link_expired: p.expires_at.is_some_and(|t| t <= now)
            || (delivered && p.downloads >= p.max_downloads),
        downloads: if delivered {
            format!("{} of {}", p.downloads, p.max_downloads)
        } else {
            String::new()
        },
        waiting_for: p.waiting_for.unwrap_or_default(),
        error: p.error.unwrap_or_default(),
        can_link: can_link && delivered,
        status: p.status,
    }
}

pub struct NoticePanel {
    pub status: &'static str,
    pub status_words: &'static str,
    pub status_class: &'static str,
    /// Why it waits, or what became of it.
    pub why: String,
    pub rule: String,
    pub due: String,
    pub sent: String,
    /// Account id, the mail's state in the outbox, when it was accepted.
    pub recipients: Vec<(String, String, String)>,
    pub can_review_order: bool,
    pub review_due: bool,
    pub can_send_now: bool,
}

fn notice_status(s: NoticeStatus) -> (&'static str, &'static str) {
    match s {
        NoticeStatus::Scheduled => ("Waiting for its day", "open"),
        NoticeStatus::UnderReview => ("Held back by an order", "open"),
        NoticeStatus::ReviewDue => ("Order review due", "open"),
        NoticeStatus::Sent => ("Sent", "done"),
        NoticeStatus::Withheld => ("Withheld", "stopped"),
        NoticeStatus::NotRequired => ("Not required", "done"),
    }
}

/// Why a notice waits, or what became of it, in the legal team's words.
fn notice_why(n: &NoticeRecord, wait_days: u32) -> String {
    let due = n.due_at.map(when).unwrap_or_default();
    match (n.status, n.notice) {
        (NoticeStatus::Scheduled, CustomerNotice::AfterEmergency) => format!(
            "An emergency disclosure: the customer is told on {due}, or now once the \
             emergency has passed (send it now below)."
        ),
        (NoticeStatus::Scheduled, _) => {
            let last = n
                .due_at
                .map(|t| day(t - Duration::days(1)))
                .unwrap_or_default();
            format!(
                "A non-disclosure order binds until {last}: the customer is told on {due}, the \
                 day after it ends."
            )
        }
        (NoticeStatus::UnderReview, _) => format!(
            "A non-disclosure order with no end date: nothing is sent while it runs. It is \
             reviewed again on {due} (once a year)."
        ),
        (NoticeStatus::ReviewDue, _) => format!(
            "The yearly review of the non-disclosure order is due (since {due}): record \
             whether the order still runs."
        ),
        (NoticeStatus::Sent, CustomerNotice::BeforeDisclosure) => format!(
            "Sent before disclosure: a production is released {wait_days} days after the \
             notice reached the customer, so that they can go to court."
        ),
        (NoticeStatus::Sent, _) => "Sent.".into(),
        (NoticeStatus::Withheld, CustomerNotice::WithheldIllegalConduct) => {
            "Never sent: the reviewer recorded a clear indication of illegal conduct (the \
             reason is in the decision and stays internal)."
                .into()
        }
        (NoticeStatus::Withheld, CustomerNotice::ProhibitedByStatute) => {
            "Never sent: a statute forbids telling the customer.".into()
        }
        (NoticeStatus::Withheld, _) => "Never sent.".into(),
        (NoticeStatus::NotRequired, _) => {
            "No notice: nothing disclosed calls for one (or the request was withdrawn before \
             anything was produced)."
                .into()
        }
    }
}

fn notice_panel(n: NoticeRecord, viewer: &Viewer, wait_days: u32) -> NoticePanel {
    let (status_words, status_class) = notice_status(n.status);
    let reviewer = may(viewer, REVIEWERS);
    NoticePanel {
        status: n.status.as_str(),
        status_words,
        status_class,
        why: notice_why(&n, wait_days),
        rule: n.rule.clone(),
        due: n.due_at.map(when).unwrap_or_default(),
        sent: n.sent_at.map(when).unwrap_or_default(),
        can_review_order: reviewer
            && matches!(
                n.status,
                NoticeStatus::UnderReview | NoticeStatus::ReviewDue
            ),
        review_due: n.status == NoticeStatus::ReviewDue,
        can_send_now: reviewer
            && n.status == NoticeStatus::Scheduled
            && n.notice == CustomerNotice::AfterEmergency,
        recipients: n
            .recipients
            .into_iter()
            .map(|r| {
                (
                    r.account_id,
                    r.mail_status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "not queued".into()),
                    r.mail_sent_at.map(when).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// The ZIP passphrase of the production just asked for, shown once.
pub struct JustProduced {
    pub passphrase: Option<String>,
}

/// What the review page's custody sections show.
pub struct CustodyPanel {
    pub holds: Vec<HoldRow>,
    /// The viewer's role takes holds.
    pub preserver: bool,
    pub can_preserve: bool,
    /// Why a preserver cannot take a hold now.
    pub preserve_note: String,
    /// The form is open (a preservation request, or a refused attempt); folded otherwise,
    /// where a hold is the preservation step of another order.
    pub preserve_open: bool,
    /// The categories a hold may keep, and whether each is ticked.
    pub preserve_categories: Vec<(&'static str, bool)>,
    /// A decision exists or something was produced: the Production section shows.
    pub show_production: bool,
    pub productions: Vec<ProductionRow>,
    pub disclosed: String,
    pub custodian: bool,
    pub can_produce: bool,
    pub produce_note: String,
    /// How the next package will be protected.
    pub protection_next: String,
    pub produced: Option<JustProduced>,
    /// When a production may be released, given the notice.
    pub release_words: String,
    pub show_notice: bool,
    pub notice: Option<NoticePanel>,
    pub notice_missing: String,
    /// The custody form that was refused, and what was typed.
    pub failed: &'static str,
    pub failed_text: String,
    pub field: String,
    pub last_day: String,
}

fn disclosed(d: &DecisionRecord) -> Vec<DataCategory> {
    d.decision
        .categories
        .iter()
        .filter(|(_, r)| r.decision == Decision::Disclose)
        .map(|(c, _)| *c)
        .collect()
}

/// The custody sections of a request's review page.
pub(super) async fn panel(
    state: &AppState,
    viewer: &Viewer,
    r: &RequestRecord,
    decision: Option<&DecisionRecord>,
    failed: &Failed,
    field: &str,
) -> Result<CustodyPanel, ApiError> {
    let caller = &viewer.caller;
    let now = state.clock.now();
    let configured = state.custody.is_some();
    let preserver = may(viewer, PRESERVERS);
    let custody_store = state.store.custody();

    let records = holds_of_request(state, caller, r.id).await?;
    let live_hold = records.iter().any(|h| h.status.is_live());
    let posted = |k: &str| {
        failed
            .form
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    let mut holds = Vec::new();
    for h in records {
        let accounts = custody_store
            .hold_accounts(h.id)
            .await?
            .into_iter()
            .map(|a| (a.account_id, a.target.kind.as_str().replace('_', " ")))
            .collect();
        let mut row = hold_row(h, accounts, preserver, now);
        row.release_failed = failed.action == "release" && posted("hold") == Some(&row.id);
        holds.push(row);
    }
    let closed = matches!(
        r.status,
        RequestStatus::Withdrawn | RequestStatus::Rejected | RequestStatus::Redirected
    );
    let preserve_note = if !configured {
        "Holds need a source of customer data; none is configured on this server.".to_string()
    } else if closed {
        format!(
            "A {} request is not preserved.",
            super::status_words(r.status).to_lowercase()
        )
    } else if live_hold {
        "The request has a live hold; renew it rather than take another.".to_string()
    } else if let Some(earlier) = &r.intake.renews {
        format!(
            "This request renews {earlier}: renew that request's hold instead, so that the one \
             renewal the law allows is counted."
        )
    } else {
        String::new()
    };
    let asked = if r.intake.categories.is_empty() {
        DataCategory::ALL.to_vec()
    } else {
        r.intake.categories.clone()
    };

    let effective = decision.is_some_and(|d| d.is_effective());
    let disclosing = decision.map(disclosed).unwrap_or_default();
    let productions = if decision.is_some() {
        productions_of(state, caller, r.id).await?
    } else {
        Vec::new()
    };
    let users: HashMap<Uuid, String> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u: User| (u.id, u.name))
        .collect();
    let live_production = productions
        .iter()
        .any(|p| matches!(p.status.as_str(), "building" | "built" | "delivered"));
    let custodian = may(viewer, PRODUCERS);
    let produce_note = if !configured {
        "Productions need a source of customer data; none is configured on this server."
    } else if decision.is_none() {
        "Produced once the request is decided."
    } else if !effective {
        "The decision waits for a second person's approval; it is produced once approved."
    } else if disclosing.is_empty() {
        "Nothing was decided for disclosure, so there is nothing to produce."
    } else if live_production {
        "A production exists; another is asked for only if this one failed."
    } else {
        ""
    }
    .to_string();
    let protection_next = if custodian && produce_note.is_empty() {
        match custody_store.age_recipient(r.agency_id).await? {
            Some(_) => "The package will be encrypted to the agency's age key: only the agency \
                        can open it, and there is no passphrase to send."
                .to_string(),
            None => "The agency has no age key, so the package will be an AES-256 ZIP. Its \
                     passphrase is shown to you once, on the next page, to send to the agency \
                     by another channel."
                .to_string(),
        }
    } else {
        String::new()
    };
    let can_link = may(viewer, LINK_ISSUERS);
    let productions: Vec<ProductionRow> = productions
        .into_iter()
        .map(|p| production_row(p, &users, can_link, now))
        .collect();

    let notice = if decision.is_some() {
        notice_of(state, caller, r.id).await?
    } else {
        None
    };
    let wait_days = state
        .custody
        .as_ref()
        .map_or(10, |c| c.settings().notice.wait_days);
    let delivered = productions.iter().any(|p| p.status == "delivered");
    let release_words = if !disclosing.is_empty() && effective && !delivered {
        match release_wait(state, r.id).await? {
            Some(why) => format!("not yet: {why}."),
            None => "as soon as it is built: no customer notice holds it back.".to_string(),
        }
    } else {
        String::new()
    };
    let notice_missing = if effective {
        "No customer notice has been planned for this decision. The job runner plans it moments \
         after a decision takes effect; decisions recorded before custody was set up have none."
    } else {
        "Customer notice is planned once the decision takes effect."
    }
    .to_string();
    Ok(CustodyPanel {
        holds,
        preserver,
        can_preserve: preserver && preserve_note.is_empty(),
        preserve_open: r.process.is_preservation() || failed.action == "preserve",
        preserve_note,
        preserve_categories: asked
            .iter()
            .map(|c| {
                let ticked = failed.action != "preserve"
                    || failed
                        .form
                        .iter()
                        .any(|(k, v)| k == "category" && v == c.as_str());
                (c.as_str(), ticked)
            })
            .collect(),
        show_production: decision.is_some() || !productions.is_empty(),
        productions,
        disclosed: categories_words(&disclosing),
        custodian,
        can_produce: custodian && produce_note.is_empty(),
        produce_note,
        protection_next,
        produced: None,
        release_words,
        show_notice: decision.is_some() || notice.is_some(),
        notice: notice.map(|n| notice_panel(n, viewer, wait_days)),
        notice_missing,
        failed: failed.action,
        failed_text: failed.text.clone(),
        field: field.to_string(),
        last_day: posted("last_day").unwrap_or("").to_string(),
    })
}

// --- the actions -------------------------------------------------------------------------

/// A hold of this request (another request's hold is not found from here).
async fn hold_of(state: &AppState, request: Uuid, hold: &str) -> Result<Uuid, ApiError> {
    let hold = Uuid::parse_str(hold).map_err(|_| ApiError::not_found())?;
    match state.store.custody().get_hold(hold).await {
        Ok(h) if h.request_id == request => Ok(hold),
        Ok(_) | Err(custodian_store::StoreError::NotFound) => Err(ApiError::not_found()),
        Err(e) => Err(e.into()),
    }
}

pub async fn preserve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let mut categories = Vec::new();
        for c in form.all("category") {
            categories.push(c.parse::<DataCategory>().map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    format!("categories: {e}"),
                )
            })?);
        }
        // None ticked is refused by the API's rule ("name at least one category").
        let hold = preserve_request(&state, &viewer.caller, id, Some(categories)).await?;
        Ok(format!(
            "A legal hold is being taken: the snapshot of {} is copied now. It ends on {} unless \
             renewed.",
            categories_words(&hold.categories),
            when(hold.expires_at)
        ))
    }
    .await;
    let failed = Failed {
        action: "preserve",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn renew_hold(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, hold)): Path<(String, String)>,
    _form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let hold = hold_of(&state, id, &hold).await?;
        let h = renew(&state, &viewer.caller, hold).await?;
        Ok(format!(
            "The hold is renewed: it now ends on {}. It cannot be renewed again.",
            when(h.expires_at)
        ))
    }
    .await;
    let failed = Failed {
        action: "renew",
        ..Failed::default()
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn release_hold(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, hold)): Path<(String, String)>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let reason = form.get("reason").unwrap_or("");
    let result = async {
        let hold = hold_of(&state, id, &hold).await?;
        release(&state, &viewer.caller, hold, reason).await?;
        Ok("The hold is released and its copy of the customer data is deleted.".to_string())
    }
    .await;
    let failed = Failed {
        action: "release",
        text: reason.to_string(),
        form: vec![("hold".into(), hold)],
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn produce(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    match produce_request(&state, &viewer.caller, id).await {
        // The page is rendered here rather than after a redirect: the passphrase must reach
        // this answer only (no flash row, no second request that could show it again).
        Ok(produced) => {
            let passphrase = produced.passphrase.map(|p| p.expose().to_string());
            match build(&state, &viewer, id, None, Failed::default()).await {
                Ok(mut page) => {
                    page.layout.flash = Some(if passphrase.is_some() {
                        "The production is being built. Note the passphrase below now: it is \
                         shown only this once."
                            .to_string()
                    } else {
                        "The production is being built, encrypted to the agency's age key. The \
                         agency downloads it from its request page once it is released."
                            .to_string()
                    });
                    page.custody.produced = Some(JustProduced { passphrase });
                    render(&page)
                }
                Err(e) => page_error(e),
            }
        }
        Err(e) => {
            let failed = Failed {
                action: "produce",
                ..Failed::default()
            };
            after(&state, &viewer, id, Err(e), failed, None).await
        }
    }
}

pub async fn link(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, production)): Path<(String, String)>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let number = |field: &'static str| -> Result<Option<u32>, ApiError> {
        form.get(field)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_field",
                        format!("{field}: a whole number"),
                    )
                })
            })
            .transpose()
    };
    let result = async {
        let pid = Uuid::parse_str(&production).map_err(|_| ApiError::not_found())?;
        // Only a production of this request is renewed from its page.
        if !state
            .store
            .custody()
            .productions_for_request(Scope::Provider, id)
            .await?
            .iter()
            .any(|p| p.id == pid)
        {
            return Err(ApiError::not_found());
        }
        let p = new_link(
            &state,
            &viewer.caller,
            pid,
            number("days")?,
            number("max_downloads")?,
        )
        .await?;
        Ok(format!(
            "A new download link: it works until {} for {} downloads.",
            p.expires_at.map(when).unwrap_or_default(),
            p.max_downloads
        ))
    }
    .await;
    let failed = Failed {
        action: "link",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn notice_order(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let order = form.get("order").unwrap_or("");
    let result = async {
        // The last day is read only for an order that ends; the API refuses it otherwise.
        let last_day = match (order, form.get("last_day")) {
            ("ends", Some(d)) => Some(d.parse().map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    "last_day: a date (YYYY-MM-DD)",
                )
            })?),
            _ => None,
        };
        let n = order_reviewed(&state, &viewer.caller, id, order, last_day).await?;
        Ok(match n.status {
            NoticeStatus::Sent => "The order no longer binds: the customer notice is sent now.",
            NoticeStatus::Scheduled => {
                "Recorded: the customer is told the day after the order's last day."
            }
            _ => "Recorded: the order still runs; it is reviewed again in a year.",
        }
        .to_string())
    }
    .await;
    let failed = Failed {
        action: "notice_order",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn notice_send(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = notice_sent_early(&state, &viewer.caller, id)
        .await
        .map(|_| "The customer notice is sent.".to_string());
    let failed = Failed {
        action: "notice_send",
        ..Failed::default()
    };
    after(&state, &viewer, id, result, failed, None).await
}

// --- /review/holds -----------------------------------------------------------------------

pub struct HoldsRow {
    pub hold: HoldRow,
    pub request_id: String,
    pub number: String,
    pub process: &'static str,
    pub agency: String,
    pub request_status: &'static str,
}

pub struct Filter {
    pub value: &'static str,
    pub label: &'static str,
    pub n: usize,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "review_holds.html")]
struct HoldsPage {
    layout: Layout,
    error: Option<String>,
    filters: Vec<Filter>,
    heading: String,
    rows: Vec<HoldsRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldsQuery {
    /// `active` (the default: being copied or kept), `expiring` (ending within the
    /// reminder's week), `released`, `failed` or `all`.
    pub show: Option<String>,
}

const SHOWS: [(&str, &str); 5] = [
    ("active", "Active"),
    ("expiring", "Ending within 7 days"),
    ("released", "Released"),
    ("failed", "Failed"),
    ("all", "All"),
];

fn shown(h: &HoldRecord, show: &str, now: DateTime<Utc>) -> bool {
    match show {
        "active" => h.status.is_live(),
        "expiring" => ends_soon(h, now),
        "released" => h.status == HoldStatus::Released,
        "failed" => h.status == HoldStatus::Failed,
        _ => true,
    }
}

pub async fn holds_page(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<HoldsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match build_holds(&state, &viewer, query).await {
        Ok(page) => match &page.error {
            Some(_) => render_status(StatusCode::BAD_REQUEST, &page),
            None => render(&page),
        },
        Err(e) => page_error(e),
    }
}

async fn build_holds(
    state: &AppState,
    viewer: &Viewer,
    query: Result<Query<HoldsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<HoldsPage, ApiError> {
    let caller = &viewer.caller;
    caller.require_role(READERS, "legal holds")?;
    let now = state.clock.now();
    // A filter that cannot be read shows the active holds with the reason, not a dead end.
    let (show, error) = match query {
        Ok(Query(q)) => match q.show.as_deref().map(str::trim) {
            None | Some("") => ("active", None),
            Some(s) => match SHOWS.iter().find(|(v, _)| *v == s) {
                Some((v, _)) => (*v, None),
                None => (
                    "active",
                    Some(format!(
                        "show: one of active, expiring, released, failed or all (not '{}')",
                        s.chars().take(40).collect::<String>()
                    )),
                ),
            },
        },
        Err(e) => ("active", Some(e.body_text())),
    };
    let all = hold_list(
        state,
        caller,
        &HoldQuery {
            limit: Some(1000),
            ..HoldQuery::default()
        },
    )
    .await?;
    let filters = SHOWS
        .iter()
        .map(|(value, label)| Filter {
            value,
            label,
            n: all.iter().filter(|h| shown(h, value, now)).count(),
            current: *value == show,
        })
        .collect();
    let agencies: HashMap<Uuid, String> = state
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut requests: HashMap<Uuid, RequestRecord> = HashMap::new();
    let mut rows = Vec::new();
    for h in all.into_iter().filter(|h| shown(h, show, now)) {
        if let std::collections::hash_map::Entry::Vacant(e) = requests.entry(h.request_id) {
            e.insert(
                state
                    .store
                    .get_request(Scope::Provider, h.request_id)
                    .await?,
            );
        }
        let Some(r) = requests.get(&h.request_id) else {
            continue;
        };
        rows.push(HoldsRow {
            request_id: r.id.to_string(),
            number: r.number.clone(),
            process: r.process.label(),
            agency: agencies.get(&h.agency_id).cloned().unwrap_or_default(),
            request_status: super::status_words(r.status),
            // The actions are on the request's page, with the request in view.
            hold: hold_row(h, Vec::new(), false, now),
        });
    }
    let label = SHOWS
        .iter()
        .find(|(v, _)| *v == show)
        .map_or("", |(_, l)| *l);
    Ok(HoldsPage {
        layout: viewer.layout("Legal holds", "/review/holds"),
        error,
        heading: format!("{label} ({})", rows.len()),
        filters,
        rows,
    })
}
