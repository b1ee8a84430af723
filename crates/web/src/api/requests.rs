//! `/api/v1/requests`: serving legal process and following it.

use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::deadline::respond_by;
use custodian_core::document::{clean_file_name, is_pdf};
use custodian_core::request::{DateRange, EmergencyAttestation};
use custodian_core::routes::device_return::OfficerContact;
use custodian_core::routes::fraud_referral::FraudFacts;
use custodian_core::{
    Country, DataCategory, FieldError, LegalProcess, NonDisclosureOrder, ReceivedVia,
    RequestIntake, RequestStatus, Target,
};
use custodian_store::{
    sha256_hex, AuditEvent, DocumentRecord, IdempotencyKey, MessageRecord, NewDocument, NewRequest,
    RequestFilter, RequestRecord, Submission,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{parse_json, ApiJson};
use crate::AppState;

/// A request as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub id: Uuid,
    /// The human number to quote in correspondence, e.g. `LE-2026-000123`.
    pub number: String,
    pub status: RequestStatus,
    pub process: LegalProcess,
    pub emergency: bool,
    pub received_at: DateTime<Utc>,
    /// When the provider will answer by: the legal deadline or its own target.
    pub respond_by: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub issuing_authority: String,
    pub issuing_country: Country,
    pub received_via: ReceivedVia,
    pub requesting_country: Option<Country>,
    pub case_reference: Option<String>,
    pub targets: Vec<Target>,
    pub date_range: Option<DateRange>,
    pub categories: Vec<DataCategory>,
    pub return_date: Option<NaiveDate>,
    pub ndo_until: Option<NonDisclosureOrder>,
    pub emergency_attestation: Option<EmergencyAttestation>,
    /// A UK or EU order's own fields (see `/requests/{id}/order` for its clocks and refusal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<custodian_core::routes::ForeignOrder>,
    /// The order's clocks: the answer deadline, preservation periods, the enforcing state's
    /// notice and objection window, the UK attestation requirement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_clocks: Option<custodian_core::routes::OrderClocks>,
    /// A device return's contact details for the owner (the officer's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_return: Option<OfficerContact>,
    /// A fraud referral's facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraud: Option<FraudFacts>,
    /// How a disclosure is made when not under legal process: `fraud_referral_without_legal_process`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_route: Option<String>,
    /// Present on a single request; omitted in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<DocumentView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// SHA-256 of the bytes as received, hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<&DocumentRecord> for DocumentView {
    fn from(d: &DocumentRecord) -> Self {
        DocumentView {
            id: d.id,
            file_name: d.file_name.clone(),
            content_type: d.content_type.clone(),
            size: d.size,
            sha256: d.sha256.clone(),
            created_at: d.created_at,
        }
    }
}

impl RequestView {
    pub fn new(r: RequestRecord, with_documents: bool) -> Self {
        let order_clocks = crate::api::orders::clocks_of(&r);
        let i = r.intake;
        RequestView {
            id: r.id,
            number: r.number,
            status: r.status,
            process: r.process,
            emergency: r.emergency,
            received_at: r.received_at,
            respond_by: r.respond_by,
            updated_at: r.updated_at,
            issuing_authority: i.issuing_authority,
            issuing_country: i.issuing_country,
            received_via: i.received_via,
            requesting_country: i.requesting_country,
            case_reference: i.case_reference,
            targets: i.targets,
            date_range: i.date_range,
            categories: i.categories,
            return_date: i.return_date,
            ndo_until: i.ndo_until,
            emergency_attestation: i.emergency,
            order: i.order,
            order_clocks,
            device_return: i.device_return,
            fraud: i.fraud,
            disclosure_route: custodian_core::routes::fraud_referral::disclosure_route(r.process)
                .map(str::to_string),
            documents: with_documents.then(|| r.documents.iter().map(DocumentView::from).collect()),
        }
    }
}

/// The multipart form of a submission (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SubmitForm {
    /// The demand as JSON.
    request: RequestIntake,
    /// The served document(s), PDF only; repeat the part for several.
    #[schema(value_type = Vec<String>, format = Binary)]
    document: Vec<Vec<u8>>,
}

const MAX_REQUEST_JSON: usize = 1024 * 1024;
const MAX_IDEMPOTENCY_KEY: usize = 200;

pub(crate) struct Upload {
    pub(crate) file_name: String,
    pub(crate) bytes: Bytes,
}

/// The parts of a submission (`POST /api/v1/requests`, `POST /api/v1/emergency`): the
/// `request` JSON, unparsed, and the documents, each read within its limit and recognised as a
/// PDF. Nothing is stored here.
pub(crate) async fn read_submission(
    state: &AppState,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(Bytes, Vec<Upload>)> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_multipart",
            format!("send multipart/form-data with 'request' and 'document' parts ({e})"),
        )
    })?;
    let mut request_json: Option<Bytes> = None;
    let mut uploads: Vec<Upload> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("request") => {
                if request_json.is_some() {
                    return Err(ApiError::bad_request(
                        "duplicate_part",
                        "request: send one 'request' part",
                    ));
                }
                request_json = Some(read_limited(&mut field, MAX_REQUEST_JSON, "request").await?);
            }
            Some("document") => {
                if uploads.len() == state.config.max_documents {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_many_documents",
                        format!(
                            "document: at most {} documents per request",
                            state.config.max_documents
                        ),
                    ));
                }
                let file_name = field.file_name().map(str::to_string);
                let bytes =
                    read_limited(&mut field, state.config.max_document_bytes, "document").await?;
                uploads.push(check_document(file_name.as_deref(), bytes)?);
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_part",
                    format!(
                        "{}: unknown part; send 'request' and 'document'",
                        other.unwrap_or("(unnamed)")
                    ),
                ))
            }
        }
    }
    let request_json = request_json.ok_or_else(|| {
        ApiError::field(FieldError::new(
            "request",
            "the 'request' part (JSON) is missing",
        ))
    })?;
    Ok((request_json, uploads))
}

/// Serve legal process: a `request` part (JSON) and one or more `document` parts (PDF).
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    request_body(content = SubmitForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a retried submission return the first answer instead of a duplicate")),
    responses(
        (status = 201, description = "Received", body = RequestView),
        (status = 400, description = "Malformed submission", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an officer of a verified agency", body = ErrorBody),
        (status = 413, description = "A document is too large", body = ErrorBody),
        (status = 415, description = "A document is not a PDF", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let agency_id = caller.require_serving_officer()?;
    let idempotency_key = idempotency_key(&headers)?;
    // Read and check everything before anything is written, so a bad submission stores nothing.
    let (request_json, uploads) = read_submission(&state, multipart).await?;
    if uploads.is_empty() {
        return Err(ApiError::field(FieldError::new(
            "document",
            "attach the served legal process as at least one PDF 'document' part",
        )));
    }
    let intake: RequestIntake = parse_json(&request_json, "request")?;
    let intake = intake.validate()?;

    let idempotency = idempotency_key.map(|key| IdempotencyKey {
        fingerprint: fingerprint(&request_json, &uploads),
        key,
    });
    let (record, replayed) =
        store_submission(&state, &caller, agency_id, intake, uploads, idempotency).await?;
    Ok(created_response(record, replayed))
}

/// The answer to a stored submission: 201 with the request and its Location, marked when it
/// replays the first answer to an `Idempotency-Key`.
pub(crate) fn created_response(record: RequestRecord, replayed: bool) -> Response {
    let location = format!("/api/v1/requests/{}", record.id);
    let mut response = (StatusCode::CREATED, Json(RequestView::new(record, true))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Checks one uploaded document: a PDF by content, within the size limit already enforced
/// while reading. The API and the portal's serve form both use it.
pub(crate) fn check_document(file_name: Option<&str>, bytes: Bytes) -> ApiResult<Upload> {
    let file_name = clean_file_name(file_name);
    if !is_pdf(&bytes) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_a_pdf",
            format!("document: '{file_name}' is not a PDF file (only PDF is accepted)"),
        ));
    }
    Ok(Upload { file_name, bytes })
}

/// Stores a validated demand with its documents: the blobs first (durable before any row
/// points at them), then the request, its documents and its audit entry in one transaction.
/// The one path by which legal process is received, from the API and from the portal.
pub(crate) async fn store_submission(
    state: &AppState,
    caller: &Caller,
    agency_id: Uuid,
    intake: custodian_core::NewLegalRequest,
    uploads: Vec<Upload>,
    idempotency: Option<IdempotencyKey>,
) -> ApiResult<(RequestRecord, bool)> {
    if uploads.is_empty() {
        return Err(ApiError::field(FieldError::new(
            "document",
            "attach the served legal process as at least one PDF 'document' part",
        )));
    }
    crate::api::emergency::check_follows(state, agency_id, &intake).await?;
    let mut documents = Vec::with_capacity(uploads.len());
    for u in uploads {
        let blob = state.blobs.put(u.bytes).await?;
        documents.push(NewDocument {
            blob,
            file_name: u.file_name,
            content_type: "application/pdf".into(),
        });
    }
    let received_at = Utc::now();
    let calendar =
        crate::api::admin::intake_calendar(state, &intake.intake.issuing_country, received_at)
            .await?;
    let due = respond_by(
        intake.intake.process,
        intake.is_emergency(),
        received_at,
        intake.intake.return_date,
        &calendar,
    );
    // Verification of the requester: the risk assessment is stored in the request's
    // transaction (`crate::verification`).
    let submission = crate::verification::submit_verified(
        state,
        caller,
        NewRequest {
            agency_id,
            submitted_by: caller.user.id,
            intake,
            received_at,
            respond_by: due,
            documents,
            idempotency,
            risk: None,
        },
    )
    .await?;
    if matches!(&submission, Submission::Created(r) if r.emergency) {
        // The store queued the first page with the request; deliver it now, not at the next poll.
        state.jobs_waker.notify_one();
    }
    Ok(match submission {
        Submission::Created(r) => (r, false),
        Submission::Replayed(r) => (r, true),
    })
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_header",
                format!("Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
            )
        })?;
    Ok(Some(key.to_string()))
}

/// A digest of exactly what was submitted, so a key reused for something else is caught.
pub(crate) fn fingerprint(request_json: &[u8], uploads: &[Upload]) -> String {
    let mut h = Sha256::new();
    h.update(sha256_hex(request_json));
    for u in uploads {
        h.update(sha256_hex(&u.bytes));
    }
    hex::encode(h.finalize())
}

pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too_large",
            "the submission is larger than the server accepts",
        )
    } else {
        ApiError::new(
            status,
            "malformed_multipart",
            format!("the multipart body is malformed: {}", e.body_text()),
        )
    }
}

/// Reads one part, refusing it as soon as it passes `limit` bytes.
pub(crate) async fn read_limited(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: usize,
    name: &str,
) -> ApiResult<Bytes> {
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("{name}: larger than the limit of {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only requests in this state.
    pub status: Option<String>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Requests per page (1 to 200, default 50).
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub items: Vec<RequestView>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// The caller's agency's requests, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of requests", body = RequestList),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RequestList>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<RequestStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("status: {e}")))?;
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(50);
    if page == 0 {
        return Err(ApiError::bad_request("invalid_query", "page: starts at 1"));
    }
    if !(1..=200).contains(&per_page) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "per_page: between 1 and 200",
        ));
    }
    let filter = RequestFilter {
        status,
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    let found = state.store.list_requests(caller.scope, &filter).await?;
    Ok(Json(RequestList {
        items: found
            .items
            .into_iter()
            .map(|r| RequestView::new(r, false))
            .collect(),
        page,
        per_page,
        total: found.total,
    }))
}

/// A path id; anything that is not a UUID is simply not found.
pub(crate) fn path_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// One request with its documents. Another agency's request answers 404, as a missing one does.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The request", body = RequestView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestView>> {
    let record = state.store.get_request(caller.scope, path_id(&id)?).await?;
    Ok(Json(RequestView::new(record, true)))
}

/// The bytes of a served document. Every read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/documents/{doc_id}",
    tag = "requests",
    params(
        ("id" = Uuid, Path, description = "Request id"),
        ("doc_id" = Uuid, Path, description = "Document id"),
        DocumentQuery,
    ),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such request or document", body = ErrorBody),
    )
)]
pub async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, doc_id)): Path<(String, String)>,
    query: Result<Query<DocumentQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let record = state.store.get_request(caller.scope, path_id(&id)?).await?;
    let doc_id = path_id(&doc_id)?;
    let doc = record
        .documents
        .iter()
        .find(|d| d.id == doc_id)
        .ok_or_else(ApiError::not_found)?;
    let bytes = state.blobs.get(&doc.sha256).await?;
    state
        .store
        .record_access(
            &caller.actor(),
            AuditEvent::new(
                "document.read",
                format!("document:{}", doc.id),
                serde_json::json!({"request": record.id.to_string(), "sha256": doc.sha256}),
            ),
        )
        .await?;
    let mode = if q.inline.unwrap_or(false) {
        "inline"
    } else {
        "attachment"
    };
    let disposition = format!("{mode}; filename=\"{}\"", doc.file_name);
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "x-content-sha256",
        HeaderValue::from_str(&doc.sha256).map_err(|_| ApiError::not_found())?,
    );
    // Shown inside Custodian's own review page, never framed by another site, never sniffed
    // as anything but a PDF, never kept in a shared cache.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("frame-ancestors 'self'"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    /// Ask the browser to show the PDF in the page rather than save it.
    pub inline: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// The text, 1 to 10,000 characters.
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    /// `agency` or `provider`.
    pub from: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<MessageRecord> for MessageView {
    fn from(m: MessageRecord) -> Self {
        MessageView {
            id: m.id,
            from: if m.from_agency { "agency" } else { "provider" }.into(),
            body: m.body,
            created_at: m.created_at,
        }
    }
}

const MAX_MESSAGE: usize = 10_000;

/// Write to the provider's legal team about a request (or, for provider staff, to the agency).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/messages",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "Sent", body = MessageView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 422, description = "Empty or too long", body = ErrorBody),
    )
)]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(msg): ApiJson<NewMessage>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let m = add_message(&state, &caller, path_id(&id)?, &msg.body).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Adds a message to a request's conversation: the agency writing to the legal team, or the
/// legal team to the agency. The API, the portal and the review page all come here.
pub(crate) async fn add_message(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    body: &str,
) -> ApiResult<MessageRecord> {
    if !caller.is_agency() {
        // Auditors read the conversation; the legal team writes in it.
        caller.require_role(
            &[
                custodian_core::Role::Reviewer,
                custodian_core::Role::Approver,
                custodian_core::Role::Custodian,
                custodian_core::Role::Admin,
            ],
            "writing to the agency",
        )?;
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_MESSAGE {
        return Err(FieldError::new("body", format!("write 1 to {MAX_MESSAGE} characters")).into());
    }
    Ok(state
        .store
        .add_message(&caller.actor(), caller.scope, id, caller.is_agency(), body)
        .await?)
}

/// The conversation about a request, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/messages",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Messages", body = Vec<MessageView>),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let found = state
        .store
        .list_messages(caller.scope, path_id(&id)?)
        .await?;
    Ok(Json(found.into_iter().map(MessageView::from).collect()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// Why the agency no longer needs an answer.
    pub reason: Option<String>,
}

/// Withdraw a request that has not yet been produced.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/withdraw",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body(content = Option<Withdrawal>, description = "Optional reason"),
    responses(
        (status = 200, description = "Withdrawn", body = RequestView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only the agency may withdraw", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Too late to withdraw", body = ErrorBody),
    )
)]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<RequestView>> {
    let id = path_id(&id)?;
    let w: Withdrawal = if body.is_empty() {
        Withdrawal::default()
    } else {
        parse_json(&body, "body")?
    };
    let record = withdraw_request(&state, &caller, id, w.reason.as_deref()).await?;
    Ok(Json(RequestView::new(record, true)))
}

/// Withdraws a request for its agency, the reason (the agency's own words) going into the
/// conversation rather than the audit log. The API and the request page both come here.
pub(crate) async fn withdraw_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    reason: Option<&str>,
) -> ApiResult<RequestRecord> {
    if !caller.is_agency() {
        return Err(ApiError::forbidden(
            "agency_only",
            "only the serving agency withdraws a request",
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_MESSAGE) {
        return Err(FieldError::new("reason", format!("at most {MAX_MESSAGE} characters")).into());
    }
    let mut record = state
        .store
        .transition(
            &caller.actor(),
            caller.scope,
            id,
            RequestStatus::Withdrawn,
            None,
        )
        .await?;
    if let Some(reason) = reason {
        state
            .store
            .add_message(
                &caller.actor(),
                caller.scope,
                id,
                true,
                &format!("Withdrawn: {reason}"),
            )
            .await?;
        record = state.store.get_request(caller.scope, id).await?;
    }
    Ok(record)
}
