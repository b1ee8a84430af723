//! Custody over HTTP (docs/custody.md): the provider's staff preserve, renew and release legal
//! holds, ask for productions and record what became of a non-disclosure order under
//! `/api/v1/custody`; the agency's officers see their production and download it from
//! `/api/v1/requests/{id}/production`; the customer reads the notice at `/api/v1/notices/{token}`
//! (and `/notice/{token}`); the admin, or the agency's supervisor, sets the agency's age key.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::notice::NoticeStatus;
use custodian_core::policy::CustomerNotice;
use custodian_core::preservation::{HoldStatus, HoldTerms};
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, LegalProcess, Role};
use custodian_custody::{Custody, CustodyError, NoticeView, OrderReview};
use custodian_store::custody::{HoldFilter, HoldRecord, NoticeRecord, ProductionRecord};
use custodian_store::Scope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::requests::path_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

/// Who may see holds, productions and notices.
pub(crate) const READERS: &[Role] = &[
    Role::Reviewer,
    Role::Approver,
    Role::Custodian,
    Role::Admin,
    Role::Auditor,
];
/// Who takes, renews and releases holds.
pub(crate) const PRESERVERS: &[Role] = &[Role::Reviewer, Role::Custodian, Role::Admin];
/// Who records what became of a non-disclosure order, and sends a notice early.
pub(crate) const REVIEWERS: &[Role] = &[Role::Reviewer, Role::Admin];
/// Who asks for a production: the custodian of records, who signs its certificate.
pub(crate) const PRODUCERS: &[Role] = &[Role::Custodian];
/// Who issues a new download link.
pub(crate) const LINK_ISSUERS: &[Role] = &[Role::Custodian, Role::Admin];

impl From<CustodyError> for ApiError {
    fn from(e: CustodyError) -> Self {
        match e {
            CustodyError::NotFound => ApiError::not_found(),
            CustodyError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            CustodyError::Invalid { field, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{field}: {message}"),
            ),
            CustodyError::Gone { code, message } => ApiError::new(StatusCode::GONE, code, message),
            CustodyError::Unavailable(m) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "custody_unavailable", m)
            }
            CustodyError::Store(e) => e.into(),
            CustodyError::Source(e) => {
                tracing::warn!(error = %e, "the data source failed");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "source_failed",
                    format!("the source of customer data failed: {e}"),
                )
            }
            CustodyError::Package(_) => {
                // Its message may name a record's path; it is not logged.
                tracing::error!("a package failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; the event was logged",
                )
            }
        }
    }
}

pub(crate) fn custody(state: &AppState) -> ApiResult<&Arc<Custody>> {
    state.custody.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "custody_unavailable",
            "holds, productions and notices are not configured on this server",
        )
    })
}

fn parse_query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> ApiResult<T> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
}

/// A JSON body that may be left out: empty means every field's default.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        crate::json::parse_json(body, "body")
    }
}

// --- views ------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: Uuid,
    pub request_id: Uuid,
    pub status: HoldStatus,
    pub categories: Vec<DataCategory>,
    /// The period of records kept (null: the whole history).
    pub date_range: Option<DateRange>,
    pub terms: HoldTerms,
    pub renewals: u32,
    pub renewals_left: u32,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Reminded a week before the end.
    pub reviewer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub captured_at: Option<DateTime<Utc>>,
    pub accounts: u64,
    pub files: u64,
    pub bytes: u64,
    pub released_at: Option<DateTime<Utc>>,
    pub release_reason: Option<String>,
    pub error: Option<String>,
}

impl From<HoldRecord> for HoldView {
    fn from(h: HoldRecord) -> Self {
        HoldView {
            renewals_left: h.terms.max_renewals.saturating_sub(h.renewals),
            id: h.id,
            request_id: h.request_id,
            status: h.status,
            categories: h.categories,
            date_range: h.date_range,
            terms: h.terms,
            renewals: h.renewals,
            started_at: h.started_at,
            expires_at: h.expires_at,
            reviewer_id: h.reviewer_id,
            created_at: h.created_at,
            captured_at: h.captured_at,
            accounts: h.accounts,
            files: h.files,
            bytes: h.bytes,
            released_at: h.released_at,
            release_reason: h.release_reason,
            error: h.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeldAccountView {
    pub account_id: String,
    /// The kind of the demand's identifier that found it.
    pub found_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldDetail {
    #[serde(flatten)]
    pub hold: HoldView,
    pub held_accounts: Vec<HeldAccountView>,
}

/// A production as the provider's staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductionView {
    pub id: Uuid,
    pub request_id: Uuid,
    /// `building`, `built` (waiting for customer notice), `delivered` or `failed`.
    pub status: String,
    /// `age-x25519` or `zip-aes256`.
    pub protection: String,
    /// The custodian who signed the certificate.
    pub custodian_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// SHA-256 of the file the agency downloads.
    pub package_sha256: Option<String>,
    pub package_bytes: Option<u64>,
    /// SHA-256 of `MANIFEST.sha256`, which the certificate states.
    pub manifest_sha256: Option<String>,
    /// Records and their bytes.
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    /// The index of the production event in the audit log.
    pub audit_idx: Option<u64>,
    pub built_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    /// When the download link stops working.
    pub expires_at: Option<DateTime<Utc>>,
    pub max_downloads: u32,
    pub downloads: u32,
    /// Where each account's records came from: the source, or a hold's snapshot.
    #[schema(value_type = Object)]
    pub collection: Option<serde_json::Value>,
    /// Why a built production is not released yet.
    pub waiting_for: Option<String>,
    pub error: Option<String>,
}

impl ProductionView {
    fn new(p: ProductionRecord, waiting_for: Option<String>) -> Self {
        ProductionView {
            id: p.id,
            request_id: p.request_id,
            status: p.status.to_string(),
            protection: p.protection,
            custodian_id: p.custodian_id,
            created_at: p.created_at,
            package_sha256: p.package_sha256,
            package_bytes: p.package_bytes,
            manifest_sha256: p.manifest_sha256,
            files: p.files,
            bytes: p.bytes,
            audit_idx: p.audit_idx,
            built_at: p.built_at,
            released_at: p.released_at,
            expires_at: p.expires_at,
            max_downloads: p.max_downloads,
            downloads: p.downloads,
            collection: p.collection,
            waiting_for: if p.status == custodian_store::custody::ProductionStatus::Built {
                waiting_for
            } else {
                None
            },
            error: p.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Produced {
    pub production: ProductionView,
    /// For a ZIP package: its passphrase, shown this once. Send it to the agency by another
    /// channel than the package (telephone, a separate e-mail). Null for an age package.
    pub passphrase: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    pub account_id: String,
    /// The notice mail's state in the outbox: `queued`, `sent` or `failed`.
    pub mail_status: Option<String>,
    pub mail_id: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeRecordView {
    pub request_id: Uuid,
    /// What the policy engine said for the decision as made.
    pub notice: CustomerNotice,
    pub rule: String,
    pub status: NoticeStatus,
    /// When the notice goes out (scheduled) or the order is reviewed (under review).
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub recipients: Vec<RecipientView>,
}

impl From<NoticeRecord> for NoticeRecordView {
    fn from(n: NoticeRecord) -> Self {
        NoticeRecordView {
            request_id: n.request_id,
            notice: n.notice,
            rule: n.rule,
            status: n.status,
            due_at: n.due_at,
            created_at: n.created_at,
            sent_at: n.sent_at,
            recipients: n
                .recipients
                .into_iter()
                .map(|r| RecipientView {
                    account_id: r.account_id,
                    mail_status: r.mail_status.map(|s| s.to_string()),
                    mail_id: r.mail_id,
                    sent_at: r.mail_sent_at,
                })
                .collect(),
        }
    }
}

/// The production as the agency sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyProduction {
    /// `being_prepared` until it may be downloaded, then `ready`.
    pub status: String,
    pub protection: Option<String>,
    pub file_name: Option<String>,
    pub package_sha256: Option<String>,
    pub package_bytes: Option<u64>,
    pub released_at: Option<DateTime<Utc>>,
    pub link_expires_at: Option<DateTime<Utc>>,
    pub downloads_left: Option<u32>,
    /// The link to download it (needs the officer's token or session).
    pub download_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticePage {
    pub provider: String,
    pub account: String,
    pub number: String,
    pub agency: String,
    pub process: LegalProcess,
    pub process_label: String,
    pub received_at: DateTime<Utc>,
    pub categories_requested: Vec<DataCategory>,
    pub date_range: Option<DateRange>,
    pub disclosed: Vec<DataCategory>,
    pub not_before: Option<DateTime<Utc>>,
    pub disclosed_at: Option<DateTime<Utc>>,
}

impl From<NoticeView> for NoticePage {
    fn from(v: NoticeView) -> Self {
        NoticePage {
            provider: v.provider,
            account: v.account,
            number: v.number,
            agency: v.agency,
            process: v.process,
            process_label: v.process_label,
            received_at: v.received_at,
            categories_requested: v.categories_requested,
            date_range: v.date_range,
            disclosed: v.disclosed,
            not_before: v.not_before,
            disclosed_at: v.disclosed_at,
        }
    }
}

// --- holds -------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreserveBody {
    /// The categories to keep (default: those the request names, or all three).
    #[serde(default)]
    pub categories: Option<Vec<DataCategory>>,
}

/// Take a legal hold for a request (a preservation request, or the preservation step of any
/// order). The snapshot is copied in the background; the hold is `capturing` until then.
#[utoipa::path(
    post,
    path = "/api/v1/custody/requests/{id}/preserve",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = PreserveBody,
    responses(
        (status = 202, description = "The hold, capturing", body = HoldView),
        (status = 403, description = "Reviewers, custodians and admins only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "A live hold exists, the request is closed to it, or its time ran out", body = ErrorBody),
        (status = 422, description = "A category that was not requested", body = ErrorBody),
        (status = 503, description = "No data source configured", body = ErrorBody),
    )
)]
pub async fn preserve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    let id = path_id(&id)?;
    let body: PreserveBody = optional_json(&body)?;
    let hold = preserve_request(&state, &caller, id, body.categories).await?;
    Ok((StatusCode::ACCEPTED, Json(hold.into())))
}

/// Takes a hold for a request (the API and the review page): the caller is reminded before it
/// ends; the snapshot is copied by the job runner, woken now.
pub(crate) async fn preserve_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    categories: Option<Vec<DataCategory>>,
) -> ApiResult<HoldRecord> {
    caller.require_role(PRESERVERS, "preserving data")?;
    let hold = custody(state)?
        .preserve(&caller.actor(), Some(caller.user.id), id, categories)
        .await?;
    state.jobs_waker.notify_one();
    Ok(hold)
}

/// The holds of a request, newest last.
#[utoipa::path(
    get,
    path = "/api/v1/custody/requests/{id}/holds",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Holds", body = Vec<HoldView>),
        (status = 403, description = "Provider staff only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn request_holds(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HoldView>>> {
    let holds = holds_of_request(&state, &caller, path_id(&id)?).await?;
    Ok(Json(holds.into_iter().map(HoldView::from).collect()))
}

/// A request's holds, oldest first.
pub(crate) async fn holds_of_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<Vec<HoldRecord>> {
    caller.require_role(READERS, "holds")?;
    state.store.get_request(Scope::Provider, id).await?;
    let mut holds = state
        .store
        .custody()
        .list_holds(&HoldFilter {
            request_id: Some(id),
            status: None,
            limit: 1000,
        })
        .await?;
    holds.sort_by_key(|h| h.created_at);
    Ok(holds)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HoldQuery {
    /// `capturing`, `active`, `released` or `failed`.
    pub status: Option<String>,
    /// Only active holds that end within this many days (1 to 365; 7 is the reminder's week).
    pub ends_within_days: Option<u32>,
    /// At most this many, soonest expiry first (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Whether an active hold ends within `days` of `now`.
pub(crate) fn ends_within(h: &HoldRecord, days: u32, now: DateTime<Utc>) -> bool {
    h.status == HoldStatus::Active && h.expires_at <= now + chrono::Duration::days(i64::from(days))
}

/// Holds across the provider, the soonest to expire first.
#[utoipa::path(
    get,
    path = "/api/v1/custody/holds",
    tag = "custody",
    params(HoldQuery),
    responses(
        (status = 200, description = "Holds", body = Vec<HoldView>),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 403, description = "Provider staff only", body = ErrorBody),
    )
)]
pub async fn list_holds(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HoldQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<HoldView>>> {
    let holds = hold_list(&state, &caller, &parse_query(query)?).await?;
    Ok(Json(holds.into_iter().map(HoldView::from).collect()))
}

/// Holds across the provider as the query asks (the API and the holds page).
pub(crate) async fn hold_list(
    state: &AppState,
    caller: &Caller,
    q: &HoldQuery,
) -> ApiResult<Vec<HoldRecord>> {
    caller.require_role(READERS, "holds")?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<HoldStatus>()
                .map_err(|e| ApiError::bad_request("invalid_query", format!("status: {e}")))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit: between 1 and 1000",
        ));
    }
    let status = match (q.ends_within_days, status) {
        (None, status) => status,
        (Some(1..=365), None | Some(HoldStatus::Active)) => Some(HoldStatus::Active),
        (Some(1..=365), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "ends_within_days: only active holds end; leave status out or say active",
            ))
        }
        (Some(_), _) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "ends_within_days: between 1 and 365",
            ))
        }
    };
    let mut holds = state
        .store
        .custody()
        .list_holds(&HoldFilter {
            request_id: None,
            status,
            limit,
        })
        .await?;
    // Soonest expiry first: the holds that end within the window come before the limit.
    if let Some(days) = q.ends_within_days {
        let now = state.clock.now();
        holds.retain(|h| ends_within(h, days, now));
    }
    Ok(holds)
}

/// One hold, with the accounts it keeps (ids only).
#[utoipa::path(
    get,
    path = "/api/v1/custody/holds/{id}",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Hold id")),
    responses(
        (status = 200, description = "The hold", body = HoldDetail),
        (status = 403, description = "Provider staff only", body = ErrorBody),
        (status = 404, description = "No such hold", body = ErrorBody),
    )
)]
pub async fn show_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<HoldDetail>> {
    caller.require_role(READERS, "holds")?;
    let id = path_id(&id)?;
    let hold = state.store.custody().get_hold(id).await?;
    let mut held_accounts: Vec<HeldAccountView> = Vec::new();
    for a in state.store.custody().hold_accounts(id).await? {
        held_accounts.push(HeldAccountView {
            account_id: a.account_id,
            found_by: a.target.kind.to_string(),
        });
    }
    Ok(Json(HoldDetail {
        hold: hold.into(),
        held_accounts,
    }))
}

/// Renew an active hold (once: 90 days more, 30 for an EU preservation order).
#[utoipa::path(
    post,
    path = "/api/v1/custody/holds/{id}/renew",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Hold id")),
    responses(
        (status = 200, description = "Renewed", body = HoldView),
        (status = 403, description = "Reviewers, custodians and admins only", body = ErrorBody),
        (status = 404, description = "No such hold", body = ErrorBody),
        (status = 409, description = "Not active, or renewed already", body = ErrorBody),
    )
)]
pub async fn renew_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<HoldView>> {
    let hold = renew(&state, &caller, path_id(&id)?).await?;
    Ok(Json(hold.into()))
}

/// Renews a hold, once; a second renewal is refused (409) with the law's reason.
pub(crate) async fn renew(state: &AppState, caller: &Caller, hold: Uuid) -> ApiResult<HoldRecord> {
    caller.require_role(PRESERVERS, "renewing holds")?;
    Ok(custody(state)?.renew_hold(&caller.actor(), hold).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Why the hold ends early (kept with the hold; the audit log keeps its digest).
    pub reason: String,
}

/// Release a hold before its expiry; its copy of the customer data is deleted.
#[utoipa::path(
    post,
    path = "/api/v1/custody/holds/{id}/release",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Hold id")),
    request_body = ReleaseBody,
    responses(
        (status = 200, description = "Released", body = HoldView),
        (status = 403, description = "Reviewers, custodians and admins only", body = ErrorBody),
        (status = 404, description = "No such hold", body = ErrorBody),
        (status = 409, description = "Released already", body = ErrorBody),
        (status = 422, description = "No reason", body = ErrorBody),
    )
)]
pub async fn release_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReleaseBody>,
) -> ApiResult<Json<HoldView>> {
    let hold = release(&state, &caller, path_id(&id)?, &body.reason).await?;
    Ok(Json(hold.into()))
}

/// Ends a hold early, with the reason it is kept with; its copy is deleted.
pub(crate) async fn release(
    state: &AppState,
    caller: &Caller,
    hold: Uuid,
    reason: &str,
) -> ApiResult<HoldRecord> {
    caller.require_role(PRESERVERS, "releasing holds")?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "reason: say why the hold ends early (1 to 2,000 characters)",
        ));
    }
    Ok(custody(state)?
        .release_hold(&caller.actor(), hold, reason)
        .await?)
}

// --- productions -------------------------------------------------------------------------

/// A custodian asks for a request's production (the API and the review page). A ZIP's
/// passphrase is in the answer, and nowhere else for long: show it once, never store it.
pub(crate) async fn produce_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<custodian_custody::Produced> {
    caller.require_role(PRODUCERS, "producing records")?;
    let produced = custody(state)?.produce(&caller.user, id).await?;
    state.jobs_waker.notify_one();
    Ok(produced)
}

/// A request's productions, newest first, each with why it waits if it is built but not
/// released.
pub(crate) async fn productions_of(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<Vec<ProductionView>> {
    caller.require_role(READERS, "productions")?;
    let list = state
        .store
        .custody()
        .productions_for_request(Scope::Provider, id)
        .await?;
    let waiting = release_wait(state, id).await?;
    Ok(list
        .into_iter()
        .map(|p| ProductionView::new(p, waiting.clone()))
        .collect())
}

/// Why a request's built production would not be released now (None once it may be).
pub(crate) async fn release_wait(state: &AppState, id: Uuid) -> ApiResult<Option<String>> {
    Ok(match &state.custody {
        Some(c) => c.release_wait(id).await?,
        None => None,
    })
}

/// A new download link for a delivered production.
pub(crate) async fn new_link(
    state: &AppState,
    caller: &Caller,
    production: Uuid,
    days: Option<u32>,
    max_downloads: Option<u32>,
) -> ApiResult<ProductionRecord> {
    caller.require_role(LINK_ISSUERS, "download links")?;
    Ok(custody(state)?
        .renew_link(&caller.actor(), production, days, max_downloads)
        .await?)
}

/// Produce a request whose decision may be acted on: the records decided "disclose" are
/// collected and packaged in the background, signed off by the calling custodian, and released
/// to the agency once customer notice allows. A ZIP's passphrase is in this answer only.
#[utoipa::path(
    post,
    path = "/api/v1/custody/requests/{id}/produce",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 202, description = "Being built", body = Produced),
        (status = 403, description = "Custodians of records only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not decided, not approved, nothing to disclose, or a production exists", body = ErrorBody),
        (status = 503, description = "No data source or audit key configured", body = ErrorBody),
    )
)]
pub async fn produce(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Produced>)> {
    let produced = produce_request(&state, &caller, path_id(&id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Produced {
            production: ProductionView::new(produced.production, None),
            passphrase: produced.passphrase.map(|p| p.expose().to_string()),
        }),
    ))
}

/// A request's productions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/custody/requests/{id}/productions",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Productions", body = Vec<ProductionView>),
        (status = 403, description = "Provider staff only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn productions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ProductionView>>> {
    Ok(Json(productions_of(&state, &caller, path_id(&id)?).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// Days the new link works (1 to 90; default the server's, 14).
    #[serde(default)]
    pub days: Option<u32>,
    /// Downloads it allows (1 to 100; default the server's, 5).
    #[serde(default)]
    pub max_downloads: Option<u32>,
}

/// A new download link for a delivered production (the old one expired or was used up).
#[utoipa::path(
    post,
    path = "/api/v1/custody/productions/{id}/link",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Production id")),
    request_body = LinkBody,
    responses(
        (status = 200, description = "The production with its new link", body = ProductionView),
        (status = 403, description = "Custodians and admins only", body = ErrorBody),
        (status = 404, description = "No such production", body = ErrorBody),
        (status = 409, description = "Not delivered", body = ErrorBody),
        (status = 422, description = "Days or downloads out of range", body = ErrorBody),
    )
)]
pub async fn renew_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ProductionView>> {
    let body: LinkBody = optional_json(&body)?;
    let p = new_link(
        &state,
        &caller,
        path_id(&id)?,
        body.days,
        body.max_downloads,
    )
    .await?;
    Ok(Json(ProductionView::new(p, None)))
}

/// The production of a request as its agency sees it: ready or not, the file's digest and
/// size, when the link expires and how many downloads are left.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/production",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The production", body = AgencyProduction),
        (status = 404, description = "No such request, or no production", body = ErrorBody),
    )
)]
pub async fn agency_production(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgencyProduction>> {
    let id = path_id(&id)?;
    Ok(Json(
        production_for(&state, caller.scope, id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no_production",
                    "nothing produced yet",
                )
            })?,
    ))
}

/// The agency's view of a request's production, if there is one.
pub(crate) async fn production_for(
    state: &AppState,
    scope: Scope,
    id: Uuid,
) -> ApiResult<Option<AgencyProduction>> {
    let record = state.store.get_request(scope, id).await?;
    let list = state
        .store
        .custody()
        .productions_for_request(scope, id)
        .await?;
    use custodian_store::custody::ProductionStatus::*;
    let Some(p) = list
        .into_iter()
        .find(|p| matches!(p.status, Building | Built | Delivered))
    else {
        return Ok(None);
    };
    if p.status != Delivered {
        return Ok(Some(AgencyProduction {
            status: "being_prepared".into(),
            protection: None,
            file_name: None,
            package_sha256: None,
            package_bytes: None,
            released_at: None,
            link_expires_at: None,
            downloads_left: None,
            download_url: None,
        }));
    }
    let ext = if p.protection == "zip-aes256" {
        "zip"
    } else {
        "tar.age"
    };
    Ok(Some(AgencyProduction {
        status: "ready".into(),
        file_name: Some(format!("{}.{ext}", record.number)),
        protection: Some(p.protection),
        package_sha256: p.package_sha256,
        package_bytes: p.package_bytes,
        released_at: p.released_at,
        link_expires_at: p.expires_at,
        downloads_left: Some(p.max_downloads.saturating_sub(p.downloads)),
        download_url: Some(format!(
            "{}/api/v1/requests/{id}/production/download",
            state.config.public_url
        )),
    }))
}

/// Download the production package (the agency's officers). Each download is counted and
/// audited; the link expires and works a limited number of times.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/production/download",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The package (age file or ZIP)", content_type = "application/octet-stream"),
        (status = 403, description = "Agency officers only", body = ErrorBody),
        (status = 404, description = "No such request, or nothing to download", body = ErrorBody),
        (status = 410, description = "The link expired or was used up", body = ErrorBody),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if !caller.is_agency() {
        return Err(ApiError::forbidden(
            "agency_only",
            "the agency's officers download the production",
        ));
    }
    let id = path_id(&id)?;
    let d = custody(&state)?
        .download(&caller.actor(), caller.scope, id)
        .await?;
    let mut response = Response::new(Body::from_stream(d.read.stream));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.read.size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", d.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(Ok(v)) = d
        .production
        .package_sha256
        .as_deref()
        .map(HeaderValue::from_str)
    {
        h.insert("x-content-sha256", v);
    }
    Ok(response)
}

// --- customer notice ---------------------------------------------------------------------

/// The customer notice of a request: what the rules said, where it stands, who was told
/// (account ids and the mails' state; the addresses are in the outbox).
#[utoipa::path(
    get,
    path = "/api/v1/custody/requests/{id}/notice",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The notice", body = NoticeRecordView),
        (status = 403, description = "Provider staff only", body = ErrorBody),
        (status = 404, description = "No such request, or no notice decided yet", body = ErrorBody),
    )
)]
pub async fn notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<NoticeRecordView>> {
    let n = notice_of(&state, &caller, path_id(&id)?)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_notice",
                "customer notice is decided once the decision may be acted on",
            )
        })?;
    Ok(Json(n.into()))
}

/// A request's customer notice, if it has been decided.
pub(crate) async fn notice_of(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<Option<NoticeRecord>> {
    caller.require_role(READERS, "customer notices")?;
    state.store.get_request(Scope::Provider, id).await?;
    Ok(state.store.custody().get_notice(id).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// `continues` (reviewed again in a year), `ends` (with `last_day`: the customer is told
    /// the day after) or `lifted` (the customer is told now).
    pub order: String,
    #[serde(default)]
    pub last_day: Option<NaiveDate>,
}

/// Record what became of a non-disclosure order with no end date, at its review.
#[utoipa::path(
    post,
    path = "/api/v1/custody/requests/{id}/notice/order",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = OrderBody,
    responses(
        (status = 200, description = "The notice", body = NoticeRecordView),
        (status = 403, description = "Reviewers and admins only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "The notice is not held back by such an order", body = ErrorBody),
        (status = 422, description = "An unknown finding, or `ends` without `last_day`", body = ErrorBody),
    )
)]
pub async fn review_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<Json<NoticeRecordView>> {
    let n = order_reviewed(&state, &caller, path_id(&id)?, &body.order, body.last_day).await?;
    Ok(Json(n.into()))
}

/// Records a reviewer's finding on a non-disclosure order with no end date (`continues`,
/// `ends` with its last day, or `lifted`).
pub(crate) async fn order_reviewed(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    order: &str,
    last_day: Option<NaiveDate>,
) -> ApiResult<NoticeRecord> {
    caller.require_role(REVIEWERS, "reviewing non-disclosure orders")?;
    let review = match (order, last_day) {
        ("continues", None) => OrderReview::Continues,
        ("lifted", None) => OrderReview::Lifted,
        ("ends", Some(last_day)) => OrderReview::Ends { last_day },
        ("ends", None) => {
            return Err(invalid(
                "last_day",
                "the order's last day (YYYY-MM-DD) is needed",
            ))
        }
        ("continues" | "lifted", Some(_)) => {
            return Err(invalid(
                "last_day",
                "only an order that ends has a last day",
            ))
        }
        _ => return Err(invalid("order", "continues, ends or lifted")),
    };
    let n = custody(state)?
        .review_order(&caller.actor(), id, review)
        .await?;
    state.jobs_waker.notify_one();
    Ok(n)
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        format!("{field}: {message}"),
    )
}

/// Send an emergency disclosure's notice now that the emergency has passed (otherwise it goes
/// after the server's delay, 30 days by default).
#[utoipa::path(
    post,
    path = "/api/v1/custody/requests/{id}/notice/send",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The notice, sent", body = NoticeRecordView),
        (status = 403, description = "Reviewers and admins only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not a notice waiting for an emergency to pass", body = ErrorBody),
    )
)]
pub async fn send_notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<NoticeRecordView>> {
    Ok(Json(
        notice_sent_early(&state, &caller, path_id(&id)?)
            .await?
            .into(),
    ))
}

/// Sends an emergency disclosure's notice now that the emergency has passed.
pub(crate) async fn notice_sent_early(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<NoticeRecord> {
    caller.require_role(REVIEWERS, "sending customer notices")?;
    let n = custody(state)?.send_notice_now(&caller.actor(), id).await?;
    state.jobs_waker.notify_one();
    Ok(n)
}

/// The customer's notice, behind the token in their mail (no sign-in).
#[utoipa::path(
    get,
    path = "/api/v1/notices/{token}",
    tag = "custody",
    params(("token" = String, Path, description = "The token from the notice mail")),
    security(()),
    responses(
        (status = 200, description = "The notice", body = NoticePage),
        (status = 404, description = "No such notice", body = ErrorBody),
    )
)]
pub async fn public_notice(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<NoticePage>> {
    Ok(Json(custody(&state)?.notice_page(&token).await?.into()))
}

// --- the agency's age key ----------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeRecipientBody {
    /// The agency's age X25519 public key (`age1...`); null to remove it (packages are then
    /// AES-256 ZIPs whose passphrase travels separately).
    pub recipient: Option<String>,
}

/// Who may see and set an agency's key: an admin, or the agency's own supervisor. Anyone
/// else asking about another agency learns nothing (404).
pub(crate) async fn key_access(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    write: bool,
) -> ApiResult<Uuid> {
    let own = caller.user.agency_id == Some(id) && caller.is_agency();
    let allowed = match caller.user.role {
        Role::Admin => true,
        Role::AgencySupervisor => own,
        Role::AgencyOfficer if !write => own,
        _ if !write && !caller.is_agency() => true,
        _ => false,
    };
    if !allowed {
        return Err(if caller.is_agency() && !own {
            ApiError::not_found()
        } else {
            ApiError::forbidden(
                "forbidden",
                "the agency's key is set by an admin or the agency's supervisor",
            )
        });
    }
    state.store.get_agency(id).await?;
    Ok(id)
}

/// The agency's age public key.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{id}/age-recipient",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Agency id")),
    responses(
        (status = 200, description = "The key, or null", body = AgeRecipientBody),
        (status = 404, description = "No such agency", body = ErrorBody),
    )
)]
pub async fn get_age_recipient(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgeRecipientBody>> {
    Ok(Json(AgeRecipientBody {
        recipient: agency_key(&state, &caller, path_id(&id)?).await?,
    }))
}

/// Set (or remove) the agency's age public key: productions are then encrypted to it.
#[utoipa::path(
    put,
    path = "/api/v1/agencies/{id}/age-recipient",
    tag = "custody",
    params(("id" = Uuid, Path, description = "Agency id")),
    request_body = AgeRecipientBody,
    responses(
        (status = 200, description = "Set", body = AgeRecipientBody),
        (status = 403, description = "Admins and the agency's supervisor only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
        (status = 422, description = "Not an age public key", body = ErrorBody),
    )
)]
pub async fn set_age_recipient(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgeRecipientBody>,
) -> ApiResult<Json<AgeRecipientBody>> {
    let recipient =
        set_agency_key(&state, &caller, path_id(&id)?, body.recipient.as_deref()).await?;
    Ok(Json(AgeRecipientBody { recipient }))
}

/// An agency's age public key, for whoever may see it.
pub(crate) async fn agency_key(
    state: &AppState,
    caller: &Caller,
    agency: Uuid,
) -> ApiResult<Option<String>> {
    let id = key_access(state, caller, agency, false).await?;
    Ok(state.store.custody().age_recipient(id).await?)
}

/// Sets (or, blank, removes) an agency's age public key: the API and the pages (the admin's
/// agency page, the supervisor's account page).
pub(crate) async fn set_agency_key(
    state: &AppState,
    caller: &Caller,
    agency: Uuid,
    recipient: Option<&str>,
) -> ApiResult<Option<String>> {
    let id = key_access(state, caller, agency, true).await?;
    let recipient = match recipient.map(str::trim) {
        None | Some("") => None,
        Some(r) => {
            check_recipient(r)?;
            Some(r.to_string())
        }
    };
    state
        .store
        .custody()
        .set_age_recipient(&caller.actor(), id, recipient.as_deref(), state.clock.now())
        .await?;
    Ok(recipient)
}

/// Only an age X25519 public key will do. The message never repeats what was typed: a
/// pasted secret key must not travel back into a page or a log.
fn check_recipient(r: &str) -> ApiResult<()> {
    let hint = if r.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
        "that is an age identity, the agency's secret key, which must never be shared; give \
         its public key (age1..., printed by `age-keygen -y`)"
            .to_string()
    } else if r.starts_with("ssh-") || r.starts_with("ecdsa-") {
        "an SSH key is not accepted; give an age X25519 public key (age1...)".to_string()
    } else if r.starts_with("age1") && r.len() > 62 {
        "only an age X25519 public key (age1 followed by 58 characters) is accepted; plugin \
         and post-quantum recipients are not"
            .to_string()
    } else {
        match custodian_custody::check_age_recipient(r) {
            Ok(()) => return Ok(()),
            Err(e) => format!("not an age X25519 public key (age1 followed by 58 characters): {e}"),
        }
    };
    Err(invalid("recipient", &hint))
}
