//! Reimbursement (issue 6; LEGAL.md, "Costs"; `custodian_core::reimbursement`): the admin's fee
//! schedule, time recorded on a request, a request's billing marks (burdensome, waived), its
//! invoice (JSON and PDF) for the agency and the provider's staff, and paid / unpaid tracking.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::reimbursement::{
    self, format_money, BillingFacts, Currency, FeeSchedule, InvoiceAmounts, InvoiceDocument,
    InvoiceStatus, WaiverReason, AUTOMATIC_WAIVER_NOTE,
};
use custodian_core::{FieldError, LegalProcess, Role};
use custodian_store::billing::{BillingMarks, InvoiceRecord, NewInvoice, TimeEntry};
use custodian_store::{RequestRecord, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::review::{request_id, READERS, REVIEWERS};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

/// Who records time: everyone who works a request.
pub(crate) const TIME_LOGGERS: &[Role] =
    &[Role::Reviewer, Role::Approver, Role::Custodian, Role::Admin];
/// Who reads the invoices of every agency and records payments.
const BILLING_ADMINS: &[Role] = &[Role::Admin];
const BILLING_READERS: &[Role] = &[Role::Admin, Role::Auditor];
const MAX_TEXT: usize = 1_000;

fn text(field: &str, value: &str) -> ApiResult<String> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(FieldError::new(field, format!("1 to {MAX_TEXT} characters")).into());
    }
    Ok(t.to_string())
}

// --- fee schedule ----------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct FeeScheduleView {
    #[serde(flatten)]
    pub schedule: FeeSchedule,
    /// True while the admin has not set a schedule and the built-in default applies.
    pub is_default: bool,
    /// Every process type with its fee, formatted (`45.00 USD`), for people.
    pub formatted: Vec<FeeLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeeLine {
    pub process: LegalProcess,
    pub label: String,
    pub amount_minor: i64,
    pub amount: String,
}

impl FeeScheduleView {
    fn new(schedule: FeeSchedule, is_default: bool) -> Self {
        let formatted = LegalProcess::ALL
            .iter()
            .map(|p| FeeLine {
                process: *p,
                label: p.label().to_string(),
                amount_minor: schedule.fee(*p),
                amount: format_money(schedule.fee(*p), &schedule.currency),
            })
            .collect();
        FeeScheduleView {
            schedule,
            is_default,
            formatted,
        }
    }
}

/// The schedule in force: the admin's, or the built-in default.
pub(crate) async fn schedule_in_force(state: &AppState) -> ApiResult<(FeeSchedule, bool)> {
    Ok(match state.store.billing().fee_schedule().await? {
        Some(s) => (s, false),
        None => (FeeSchedule::default(), true),
    })
}

/// The fee schedule: a fee per process type and the hourly rate for burdensome requests.
#[utoipa::path(
    get,
    path = "/api/v1/admin/fees",
    tag = "admin",
    responses(
        (status = 200, description = "The schedule in force", body = FeeScheduleView),
        (status = 403, description = "Provider staff only", body = ErrorBody),
    )
)]
pub async fn show_fees(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<FeeScheduleView>> {
    caller.require_role(READERS, "the fee schedule")?;
    let (s, is_default) = schedule_in_force(&state).await?;
    Ok(Json(FeeScheduleView::new(s, is_default)))
}

/// Replaces the fee schedule. The API and the admin page both come here.
pub(crate) async fn set_schedule(
    state: &AppState,
    caller: &Caller,
    schedule: FeeSchedule,
) -> ApiResult<FeeSchedule> {
    caller.require_role(BILLING_ADMINS, "setting the fee schedule")?;
    let schedule = schedule.validate()?;
    state
        .store
        .billing()
        .set_fee_schedule(&caller.actor(), &schedule)
        .await?;
    Ok(schedule)
}

/// Set the fee schedule (amounts in minor units; a process left out costs nothing).
#[utoipa::path(
    put,
    path = "/api/v1/admin/fees",
    tag = "admin",
    request_body = FeeSchedule,
    responses(
        (status = 200, description = "The new schedule", body = FeeScheduleView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "An amount or the currency is invalid", body = ErrorBody),
    )
)]
pub async fn set_fees(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(schedule): ApiJson<FeeSchedule>,
) -> ApiResult<Json<FeeScheduleView>> {
    let s = set_schedule(&state, &caller, schedule).await?;
    Ok(Json(FeeScheduleView::new(s, false)))
}

// --- time and marks --------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTimeEntry {
    /// Minutes spent, 1 to 720.
    pub minutes: u32,
    /// What the time was spent on.
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeEntryView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub minutes: u32,
    pub note: String,
    pub logged_at: DateTime<Utc>,
}

impl From<TimeEntry> for TimeEntryView {
    fn from(t: TimeEntry) -> Self {
        TimeEntryView {
            id: t.id,
            user_id: t.user_id,
            minutes: t.minutes,
            note: t.note,
            logged_at: t.logged_at,
        }
    }
}

/// Records time on a request. The API and the review page both come here.
pub(crate) async fn log_time_on(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    minutes: u32,
    note: &str,
) -> ApiResult<TimeEntry> {
    caller.require_role(TIME_LOGGERS, "recording time")?;
    let note = reimbursement::check_time_entry(minutes, note)?;
    Ok(state
        .store
        .billing()
        .log_time(&caller.actor(), id, caller.user.id, minutes, &note)
        .await?)
}

/// Record time spent on a request.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/time",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = NewTimeEntry,
    responses(
        (status = 201, description = "Recorded", body = TimeEntryView),
        (status = 403, description = "Provider staff who work requests only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 422, description = "Minutes or note invalid", body = ErrorBody),
    )
)]
pub async fn log_time(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewTimeEntry>,
) -> ApiResult<(StatusCode, Json<TimeEntryView>)> {
    let t = log_time_on(&state, &caller, request_id(&id)?, body.minutes, &body.note).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BurdensomeMark {
    /// Whether the request is burdensome or unusual (its recorded hours are billed).
    pub burdensome: bool,
    /// Why (required when marking).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverRequest {
    pub reason: WaiverReason,
    /// What makes it a case of child safety or a threat to life (provider staff only read it).
    pub note: String,
}

/// A request's billing: its marks, the time recorded, the invoice it would get now, and the
/// invoice it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    pub request_id: Uuid,
    pub burdensome: bool,
    pub burdensome_reason: Option<String>,
    pub waiver: Option<WaiverReason>,
    pub waiver_note: Option<String>,
    /// Whether an emergency waives the fees without anyone asking.
    pub automatic_waiver: bool,
    pub time: Vec<TimeEntryView>,
    pub total_minutes: u64,
    /// What the invoice would say if issued now.
    pub preview: InvoiceAmounts,
    pub invoice: Option<InvoiceView>,
}

/// Everything the review page and the billing API show about one request.
pub(crate) async fn billing_of(state: &AppState, r: &RequestRecord) -> ApiResult<BillingView> {
    let b = state.store.billing();
    let marks = b.billing_marks(r.id).await?;
    let time = b.time_entries(r.id).await?;
    let total_minutes: u64 = time.iter().map(|t| u64::from(t.minutes)).sum();
    let (schedule, _) = schedule_in_force(state).await?;
    let preview = reimbursement::compute(&schedule, &facts(r, &marks, total_minutes));
    let invoice = b.invoice_for_request(Scope::Provider, r.id).await?;
    Ok(BillingView {
        request_id: r.id,
        burdensome: marks.burdensome,
        burdensome_reason: marks.burdensome_reason,
        waiver: marks.waiver,
        waiver_note: marks.waiver_note,
        automatic_waiver: reimbursement::automatic_waiver(r.emergency).is_some(),
        time: time.into_iter().map(TimeEntryView::from).collect(),
        total_minutes,
        preview,
        invoice: invoice.map(|i| InvoiceView::new(i, r, false)),
    })
}

fn facts(r: &RequestRecord, marks: &BillingMarks, minutes: u64) -> BillingFacts {
    BillingFacts {
        process: r.process,
        emergency: r.emergency,
        burdensome: marks.burdensome,
        minutes,
        waiver: marks.waiver,
    }
}

/// A request's billing: marks, time recorded, the invoice preview and the invoice.
#[utoipa::path(
    get,
    path = "/api/v1/review/requests/{id}/billing",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Billing", body = BillingView),
        (status = 403, description = "Provider staff only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn show_billing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BillingView>> {
    caller.require_role(READERS, "a request's billing")?;
    let r = state
        .store
        .get_request(Scope::Provider, request_id(&id)?)
        .await?;
    Ok(Json(billing_of(&state, &r).await?))
}

/// Marks or unmarks a request burdensome. The API and the review page both come here.
pub(crate) async fn mark_burdensome(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    burdensome: bool,
    reason: Option<&str>,
) -> ApiResult<()> {
    caller.require_role(REVIEWERS, "marking a request burdensome")?;
    let reason = match (burdensome, reason.map(str::trim).filter(|r| !r.is_empty())) {
        (true, None) => {
            return Err(FieldError::new(
                "reason",
                "say what makes the request burdensome or unusual",
            )
            .into())
        }
        (true, Some(r)) => Some(text("reason", r)?),
        (false, _) => None,
    };
    state
        .store
        .billing()
        .set_burdensome(&caller.actor(), id, burdensome, reason.as_deref())
        .await?;
    Ok(())
}

/// Mark a request burdensome or unusual (its recorded hours are billed), or clear the mark.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/burdensome",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = BurdensomeMark,
    responses(
        (status = 200, description = "Marked", body = BillingView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 422, description = "Reason missing", body = ErrorBody),
    )
)]
pub async fn burdensome(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BurdensomeMark>,
) -> ApiResult<Json<BillingView>> {
    let id = request_id(&id)?;
    mark_burdensome(&state, &caller, id, body.burdensome, body.reason.as_deref()).await?;
    let r = state.store.get_request(Scope::Provider, id).await?;
    Ok(Json(billing_of(&state, &r).await?))
}

/// Waives a request's fees. The API and the review page both come here.
pub(crate) async fn waive(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    reason: WaiverReason,
    note: &str,
) -> ApiResult<()> {
    caller.require_role(REVIEWERS, "waiving fees")?;
    let note = text("note", note)?;
    state
        .store
        .billing()
        .record_waiver(&caller.actor(), id, reason, &note)
        .await?;
    Ok(())
}

/// Waive a request's fees: child safety or a threat to life (emergencies are waived without
/// asking). An unpaid invoice already issued is waived too.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/waiver",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = WaiverRequest,
    responses(
        (status = 200, description = "Waived", body = BillingView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "The invoice is already paid", body = ErrorBody),
        (status = 422, description = "Reason or note invalid", body = ErrorBody),
    )
)]
pub async fn waiver(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WaiverRequest>,
) -> ApiResult<Json<BillingView>> {
    let id = request_id(&id)?;
    waive(&state, &caller, id, body.reason, &body.note).await?;
    let r = state.store.get_request(Scope::Provider, id).await?;
    Ok(Json(billing_of(&state, &r).await?))
}

// --- invoices --------------------------------------------------------------------------------

/// An invoice as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    /// `INV-2026-000042`.
    pub number: String,
    pub request_id: Uuid,
    pub request_number: String,
    pub agency_id: Uuid,
    pub process: LegalProcess,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub fee_minor: i64,
    pub billed_minutes: u64,
    pub hourly_rate_minor: i64,
    pub hours_minor: i64,
    pub total_minor: i64,
    pub waiver: Option<WaiverReason>,
    /// Provider staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver_note: Option<String>,
    pub amount_due_minor: i64,
    /// The amount due as people read it, e.g. `45.00 USD`.
    pub amount_due: String,
    pub issued_at: DateTime<Utc>,
    pub paid_on: Option<NaiveDate>,
    pub paid_reference: Option<String>,
    /// Where the PDF is.
    pub pdf: String,
}

impl InvoiceView {
    pub(crate) fn new(i: InvoiceRecord, r: &RequestRecord, for_agency: bool) -> Self {
        let a = i.amounts;
        InvoiceView {
            pdf: format!("/api/v1/requests/{}/invoice.pdf", i.request_id),
            amount_due: format_money(a.amount_due_minor, &a.currency),
            id: i.id,
            number: i.number,
            request_id: i.request_id,
            request_number: r.number.clone(),
            agency_id: i.agency_id,
            process: i.process,
            status: i.status,
            currency: a.currency,
            fee_minor: a.fee_minor,
            billed_minutes: a.billed_minutes,
            hourly_rate_minor: a.hourly_rate_minor,
            hours_minor: a.hours_minor,
            total_minor: a.total_minor,
            waiver: a.waiver,
            waiver_note: if for_agency { None } else { i.waiver_note },
            amount_due_minor: a.amount_due_minor,
            issued_at: i.issued_at,
            paid_on: i.paid_on,
            paid_reference: i.paid_reference,
        }
    }
}

/// Issues a request's invoice from the schedule in force, its marks and its time. The API and
/// the review page both come here.
pub(crate) async fn issue(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<InvoiceRecord> {
    caller.require_role(REVIEWERS, "issuing invoices")?;
    let r = state.store.get_request(Scope::Provider, id).await?;
    if !reimbursement::invoiceable(r.status) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_invoiceable",
            format!(
                "a request is invoiced once decided; this one is {}",
                r.status
            ),
        ));
    }
    let b = state.store.billing();
    let marks = b.billing_marks(id).await?;
    let minutes: u64 = b
        .time_entries(id)
        .await?
        .iter()
        .map(|t| u64::from(t.minutes))
        .sum();
    let (schedule, _) = schedule_in_force(state).await?;
    let amounts = reimbursement::compute(&schedule, &facts(&r, &marks, minutes));
    let waiver_note = match (marks.waiver, amounts.waiver) {
        (Some(_), _) => marks.waiver_note,
        (None, Some(_)) => Some(AUTOMATIC_WAIVER_NOTE.to_string()),
        (None, None) => None,
    };
    let status = reimbursement::initial_status(&amounts);
    Ok(b.issue_invoice(
        &caller.actor(),
        NewInvoice {
            request_id: id,
            agency_id: r.agency_id,
            process: r.process,
            amounts,
            waiver_note,
            status,
        },
    )
    .await?)
}

/// Issue the request's invoice: the scheduled fee, plus the recorded hours at the hourly rate
/// when the request is marked burdensome; waived for child safety and threats to life.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/invoice",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 201, description = "Issued", body = InvoiceView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not decided yet, or already invoiced", body = ErrorBody),
    )
)]
pub async fn issue_invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<InvoiceView>)> {
    let id = request_id(&id)?;
    let i = issue(&state, &caller, id).await?;
    let r = state.store.get_request(Scope::Provider, id).await?;
    Ok((StatusCode::CREATED, Json(InvoiceView::new(i, &r, false))))
}

/// A request's invoice as the caller may see it: the agency its own (404 for another's, as for
/// a missing request), provider staff every one.
pub(crate) async fn invoice_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<(InvoiceRecord, RequestRecord)> {
    if !caller.is_agency() {
        caller.require_role(READERS, "invoices")?;
    }
    let r = state.store.get_request(caller.scope, id).await?;
    let i = state
        .store
        .billing()
        .invoice_for_request(caller.scope, id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_invoiced",
                "no invoice has been issued for this request",
            )
        })?;
    Ok((i, r))
}

/// The request's invoice.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/invoice",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceView),
        (status = 404, description = "No such request, or no invoice yet (not_invoiced)", body = ErrorBody),
    )
)]
pub async fn show_invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvoiceView>> {
    let (i, r) = invoice_for(&state, &caller, request_id(&id)?).await?;
    Ok(Json(InvoiceView::new(i, &r, caller.is_agency())))
}

/// The invoice document as PDF bytes (the report crate's PDF writer).
pub(crate) async fn invoice_pdf_bytes(
    state: &AppState,
    i: &InvoiceRecord,
    r: &RequestRecord,
    for_agency: bool,
) -> ApiResult<Vec<u8>> {
    let agency = state.store.get_agency(r.agency_id).await?;
    let provider = state
        .custody
        .as_ref()
        .map(|c| c.settings().provider.clone())
        .unwrap_or_else(|| "The provider".to_string());
    let lines = reimbursement::invoice_lines(&InvoiceDocument {
        provider: &provider,
        number: &i.number,
        issued_at: i.issued_at,
        request_number: &r.number,
        agency: &agency.name,
        process: i.process,
        case_reference: r.intake.case_reference.as_deref(),
        amounts: &i.amounts,
        waiver_note: if for_agency {
            None
        } else {
            i.waiver_note.as_deref()
        },
        status: i.status,
        paid_on: i.paid_on,
    });
    Ok(custodian_report::pdf::text_pdf(&lines))
}

/// The request's invoice as a PDF.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/invoice.pdf",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The invoice", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "No such request, or no invoice yet (not_invoiced)", body = ErrorBody),
    )
)]
pub async fn invoice_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (i, r) = invoice_for(&state, &caller, request_id(&id)?).await?;
    let bytes = invoice_pdf_bytes(&state, &i, &r, caller.is_agency()).await?;
    let mut response = Body::from(bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.pdf\"", i.number)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    /// `unpaid`, `paid` or `waived`; omitted for all.
    pub status: Option<String>,
    /// At most this many (1 to 500, default 200).
    pub limit: Option<u32>,
}

/// Invoices, newest first. The API and the admin page both come here.
pub(crate) async fn list(
    state: &AppState,
    caller: &Caller,
    q: &InvoiceQuery,
) -> ApiResult<Vec<InvoiceView>> {
    caller.require_role(BILLING_READERS, "the invoices")?;
    let status = q
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse::<InvoiceStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("status: {e}")))?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit: between 1 and 500",
        ));
    }
    let invoices = state.store.billing().list_invoices(status, limit).await?;
    let mut out = Vec::with_capacity(invoices.len());
    for i in invoices {
        let r = state
            .store
            .get_request(Scope::Provider, i.request_id)
            .await?;
        out.push(InvoiceView::new(i, &r, false));
    }
    Ok(out)
}

/// Invoices across all agencies, e.g. `?status=unpaid` for those still owed.
#[utoipa::path(
    get,
    path = "/api/v1/admin/invoices",
    tag = "admin",
    params(InvoiceQuery),
    responses(
        (status = 200, description = "Invoices, newest first", body = Vec<InvoiceView>),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
    )
)]
pub async fn list_invoices(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<InvoiceQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<InvoiceView>>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    Ok(Json(list(&state, &caller, &q).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The day the payment arrived (YYYY-MM-DD).
    pub paid_on: NaiveDate,
    /// The payment's reference (transfer id, check number).
    pub reference: String,
}

fn invoice_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Records a payment. The API and the admin page both come here.
pub(crate) async fn pay(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    paid_on: NaiveDate,
    reference: &str,
) -> ApiResult<InvoiceRecord> {
    caller.require_role(BILLING_ADMINS, "recording payments")?;
    let reference = text("reference", reference)?;
    if paid_on > state.clock.now().date_naive() {
        return Err(FieldError::new("paid_on", "is in the future").into());
    }
    Ok(state
        .store
        .billing()
        .mark_paid(&caller.actor(), id, paid_on, &reference)
        .await?)
}

/// Mark an invoice paid, with the day and the payment's reference.
#[utoipa::path(
    post,
    path = "/api/v1/admin/invoices/{id}/paid",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = Payment,
    responses(
        (status = 200, description = "Marked paid", body = InvoiceView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "Already paid, or waived", body = ErrorBody),
        (status = 422, description = "Day or reference invalid", body = ErrorBody),
    )
)]
pub async fn mark_paid(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Payment>,
) -> ApiResult<Json<InvoiceView>> {
    let i = pay(
        &state,
        &caller,
        invoice_id(&id)?,
        body.paid_on,
        &body.reference,
    )
    .await?;
    let r = state
        .store
        .get_request(Scope::Provider, i.request_id)
        .await?;
    Ok(Json(InvoiceView::new(i, &r, false)))
}

/// Undoes a payment. The API and the admin page both come here.
pub(crate) async fn unpay(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<InvoiceRecord> {
    caller.require_role(BILLING_ADMINS, "recording payments")?;
    Ok(state
        .store
        .billing()
        .mark_unpaid(&caller.actor(), id)
        .await?)
}

/// Mark an invoice unpaid again (a payment recorded in error).
#[utoipa::path(
    post,
    path = "/api/v1/admin/invoices/{id}/unpaid",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "Marked unpaid", body = InvoiceView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "Not paid", body = ErrorBody),
    )
)]
pub async fn mark_unpaid(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvoiceView>> {
    let i = unpay(&state, &caller, invoice_id(&id)?).await?;
    let r = state
        .store
        .get_request(Scope::Provider, i.request_id)
        .await?;
    Ok(Json(InvoiceView::new(i, &r, false)))
}

/// The routes of this module.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/admin/fees", get(show_fees).put(set_fees))
        .route("/admin/invoices", get(list_invoices))
        .route("/admin/invoices/{id}/paid", post(mark_paid))
        .route("/admin/invoices/{id}/unpaid", post(mark_unpaid))
        .route("/review/requests/{id}/time", post(log_time))
        .route("/review/requests/{id}/billing", get(show_billing))
        .route("/review/requests/{id}/burdensome", post(burdensome))
        .route("/review/requests/{id}/waiver", post(waiver))
        .route("/review/requests/{id}/invoice", post(issue_invoice))
        .route("/requests/{id}/invoice", get(show_invoice))
        .route("/requests/{id}/invoice.pdf", get(invoice_pdf))
        .route(
            "/review/requests/{id}/device-return",
            post(super::device_return::contact_owner),
        )
        .route(
            "/requests/{id}/device-return",
            get(super::device_return::show),
        )
}
