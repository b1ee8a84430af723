//! The special routes' endpoints: the order view of a UK / EU order (its fields, its clocks,
//! the enforcing state's notice, the attestation, the refusal), the reviewer's attestation that
//! a UK order targets no US person and no one in the United States, and the refusal of an
//! order on a ground of the closed list, answered in the Regulation's form as a letter.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use custodian_core::review::ReviewDecision;
use custodian_core::routes::refusal::{self, RefusalFacts};
use custodian_core::routes::{
    eu_order, EnforcingStateReply, ForeignOrder, OrderClocks, RefusalGround, UsPersonAttestation,
};
use custodian_core::{FieldError, LegalProcess};
use custodian_store::orders::{AttestationRecord, EnforcingReplyRecord, RefusalRecord};
use custodian_store::{RequestRecord, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::review::{request_id, LetterView, REVIEWERS};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

const MAX_DETAILS: usize = 10_000;

/// The clocks of a request's order, if it carries one.
pub fn clocks_of(r: &RequestRecord) -> Option<OrderClocks> {
    r.intake
        .order
        .as_ref()
        .map(|o| eu_order::clocks(r.process, o, &r.intake.categories, r.received_at))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationView {
    pub not_us_person: bool,
    pub not_located_in_us: bool,
    /// What the reviewer relied on; provider staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    pub attested_at: DateTime<Utc>,
}

impl AttestationView {
    fn new(a: AttestationRecord, for_agency: bool) -> Self {
        AttestationView {
            not_us_person: a.attestation.not_us_person,
            not_located_in_us: a.attestation.not_located_in_us,
            basis: (!for_agency).then_some(a.attestation.basis),
            attested_at: a.attested_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalView {
    pub ground: RefusalGround,
    /// The ground in the form's words.
    pub label: String,
    /// The provision it rests on.
    pub basis: String,
    pub details: String,
    pub letter_id: Uuid,
    pub refused_at: DateTime<Utc>,
}

impl RefusalView {
    fn new(r: RefusalRecord, process: LegalProcess) -> Self {
        RefusalView {
            label: r.ground.label().to_string(),
            basis: r.ground.basis(process).to_string(),
            ground: r.ground,
            details: r.details,
            letter_id: r.letter_id,
            refused_at: r.refused_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnforcingReplyView {
    pub reply: EnforcingStateReply,
    pub label: String,
    /// What the enforcing authority said; provider staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl EnforcingReplyView {
    fn new(r: EnforcingReplyRecord, for_agency: bool) -> Self {
        EnforcingReplyView {
            reply: r.reply,
            label: r.reply.label().to_string(),
            note: (!for_agency).then_some(r.note),
            recorded_at: r.recorded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroundView {
    pub ground: RefusalGround,
    pub label: String,
    pub basis: String,
}

/// Everything about a request's order, for its page and the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub process: LegalProcess,
    pub order: ForeignOrder,
    pub clocks: OrderClocks,
    /// A UK order: the reviewer's attestation, once made.
    pub attestation: Option<AttestationView>,
    /// What the enforcing state told the provider after the notice (EU production orders).
    pub enforcing_state_reply: Option<EnforcingReplyView>,
    /// Nothing may be disclosed now: a UK order without the attestation, or an EU order the
    /// enforcing state raised a ground against.
    pub disclosure_blocked: bool,
    pub refusal: Option<RefusalView>,
    /// The grounds a reviewer may choose (provider staff only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<GroundView>,
}

/// The grounds a reviewer may choose for `process`, with their words.
pub fn grounds_for(process: LegalProcess) -> Vec<GroundView> {
    RefusalGround::for_process(process)
        .into_iter()
        .map(|g| GroundView {
            ground: g,
            label: g.label().to_string(),
            basis: g.basis(process).to_string(),
        })
        .collect()
}

/// The order view of a request the caller may see; None when it carries no order.
pub(crate) async fn order_view(
    state: &AppState,
    scope: Scope,
    record: &RequestRecord,
) -> ApiResult<Option<OrderView>> {
    let (Some(order), Some(clocks)) = (record.intake.order.clone(), clocks_of(record)) else {
        return Ok(None);
    };
    let for_agency = matches!(scope, Scope::Agency(_));
    let orders = state.store.orders();
    let attestation = orders.attestation(scope, record.id).await?;
    let refusal = orders.refusal(scope, record.id).await?;
    let reply = orders.enforcing_reply(scope, record.id).await?;
    let stopped = eu_order::disclosure_stopped(reply.as_ref().map(|r| r.reply)).is_some();
    Ok(Some(OrderView {
        process: record.process,
        disclosure_blocked: stopped
            || (clocks.us_person_attestation_required && attestation.is_none()),
        enforcing_state_reply: reply.map(|r| EnforcingReplyView::new(r, for_agency)),
        order,
        clocks,
        attestation: attestation.map(|a| AttestationView::new(a, for_agency)),
        refusal: refusal.map(|r| RefusalView::new(r, record.process)),
        grounds: if for_agency {
            Vec::new()
        } else {
            grounds_for(record.process)
        },
    }))
}

/// The order a UK or EU request carries: its fields, clocks, attestation and refusal.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/order",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such request, or it carries no order", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderView>> {
    let record = state
        .store
        .get_request(caller.scope, request_id(&id)?)
        .await?;
    order_view(&state, caller.scope, &record)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_order",
                "the request carries no order",
            )
        })
}

/// Refuses a decision that would disclose under a UK order before the reviewer attested that
/// it targets no US person and no one in the United States. The decision endpoint and the
/// review page's decision form both come through here.
pub(crate) async fn check_disclosure(
    state: &AppState,
    record: &RequestRecord,
    decision: &ReviewDecision,
) -> ApiResult<()> {
    if !decision.discloses_anything() {
        return Ok(());
    }
    if record.process == LegalProcess::Epoc {
        let reply = state
            .store
            .orders()
            .enforcing_reply(Scope::Provider, record.id)
            .await?;
        if let Some(why) = eu_order::disclosure_stopped(reply.map(|r| r.reply)) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "enforcing_state_objected",
                why,
            ));
        }
        return Ok(());
    }
    if record.process != LegalProcess::CloudActOrder {
        return Ok(());
    }
    if state
        .store
        .orders()
        .attestation(Scope::Provider, record.id)
        .await?
        .is_none()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "us_person_attestation_required",
            "a UK order under the US-UK agreement may not target a US person or a person in the \
             United States: attest that it does not before disclosing (or refuse it with the \
             ground us_person)",
        ));
    }
    Ok(())
}

/// Records the reviewer's attestation on a UK order. The API and the review page both come here.
pub(crate) async fn attest_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    attestation: UsPersonAttestation,
) -> ApiResult<AttestationRecord> {
    caller.require_role(REVIEWERS, "attesting orders")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    if record.process != LegalProcess::CloudActOrder {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_uk_order",
            "only an order under the US-UK agreement takes this attestation",
        ));
    }
    let attestation = attestation.validate()?;
    Ok(state
        .store
        .orders()
        .attest(&caller.actor(), id, &attestation)
        .await?)
}

/// Attest that a UK order targets no US person and no one in the United States; until this is
/// recorded, a decision that discloses anything is refused.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/attest-us-person",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = UsPersonAttestation,
    responses(
        (status = 200, description = "Recorded", body = AttestationView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not a UK order, or no longer open", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn attest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UsPersonAttestation>,
) -> ApiResult<Json<AttestationView>> {
    let a = attest_request(&state, &caller, request_id(&id)?, body).await?;
    Ok(Json(AttestationView::new(a, false)))
}

/// The reviewer's refusal of an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// A ground of the closed list that applies to the order's process.
    pub ground: RefusalGround,
    /// The explanation the authority reads (section D of EPOC-FORM 3).
    pub details: String,
    /// Whether the data named is preserved while the matter is clarified.
    #[serde(default)]
    pub data_preserved: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalAnswer {
    pub refusal: RefusalView,
    /// The answer as the agency reads it.
    pub letter: LetterView,
}

/// Refuses an order and sends the answer in the Regulation's form. The API and the review page
/// both come here.
pub(crate) async fn refuse_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    body: Refusal,
) -> ApiResult<(RefusalRecord, custodian_store::LetterRecord, LegalProcess)> {
    caller.require_role(REVIEWERS, "refusing orders")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let Some(order) = record.intake.order.as_ref() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_an_order",
            "only a UK order, a European Production Order or a European Preservation Order is \
             refused on a ground; reject other requests with a reason",
        ));
    };
    if !body.ground.applies_to(record.process) {
        let names: Vec<&str> = RefusalGround::for_process(record.process)
            .iter()
            .map(|g| g.as_str())
            .collect();
        return Err(FieldError::new(
            "ground",
            format!(
                "'{}' is not a ground for {}; choose one of: {}",
                body.ground,
                record.process.label(),
                names.join(", ")
            ),
        )
        .into());
    }
    let details = body.details.trim();
    if details.is_empty() || details.chars().count() > MAX_DETAILS {
        return Err(FieldError::new("details", format!("1 to {MAX_DETAILS} characters")).into());
    }
    record
        .status
        .transition(custodian_core::RequestStatus::Rejected)
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, "illegal_transition", e.to_string()))?;
    let provider = state
        .custody
        .as_ref()
        .map(|c| c.settings().provider.clone())
        .unwrap_or_else(|| "The provider".to_string());
    let named = |c: custodian_core::Country| format!("{} ({c})", c.name());
    let issuing_state = named(record.intake.issuing_country);
    let enforcing = order.enforcing_state.map(named);
    let letter = refusal::answer(&RefusalFacts {
        number: &record.number,
        process: record.process,
        issuing_authority: &record.intake.issuing_authority,
        issuing_state: &issuing_state,
        validating_authority: order.validating_authority.as_deref(),
        enforcing_state: enforcing.as_deref(),
        reference: &order.reference,
        received_at: record.received_at,
        ground: body.ground,
        details,
        data_preserved: body.data_preserved,
        provider: &provider,
        at: state.clock.now(),
    });
    let (refusal, letter) = state
        .store
        .orders()
        .refuse(&caller.actor(), id, body.ground, details, &letter)
        .await?;
    Ok((refusal, letter, record.process))
}

/// Refuse a UK or EU order on a ground of the closed list; the agency receives the answer in the
/// Regulation's form (EPOC-FORM 3) or, for a UK order, an objection under the agreement, and the
/// request is rejected.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/refuse-order",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = Refusal,
    responses(
        (status = 200, description = "Refused; the letter was sent", body = RefusalAnswer),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not an order, or not in a state that can be refused", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn refuse(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Refusal>,
) -> ApiResult<Json<RefusalAnswer>> {
    let (refusal, letter, process) =
        refuse_request(&state, &caller, request_id(&id)?, body).await?;
    Ok(Json(RefusalAnswer {
        refusal: RefusalView::new(refusal, process),
        letter: letter.into(),
    }))
}

/// The enforcing state's reply, as the reviewer records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforcingReply {
    pub reply: EnforcingStateReply,
    /// What the enforcing authority said: its ground, its reference.
    pub note: String,
}

/// Records the enforcing state's reply to a notified EU production order. The API and the review
/// page both come here.
pub(crate) async fn record_reply(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    body: EnforcingReply,
) -> ApiResult<EnforcingReplyRecord> {
    caller.require_role(REVIEWERS, "recording the enforcing state's reply")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let notified = clocks_of(&record)
        .and_then(|c| c.enforcing_state)
        .is_some_and(|n| n.required);
    if record.process != LegalProcess::Epoc || !notified {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_enforcing_state_notice",
            "only a European Production Order notified to the enforcing state (Art. 8) has a \
             reply from it",
        ));
    }
    let note = body.note.trim();
    if note.is_empty() || note.chars().count() > MAX_DETAILS {
        return Err(FieldError::new("note", format!("1 to {MAX_DETAILS} characters")).into());
    }
    Ok(state
        .store
        .orders()
        .record_enforcing_reply(&caller.actor(), id, body.reply, note)
        .await?)
}

/// Record what the enforcing state said about a notified EU production order: no ground for
/// refusal, or a ground raised, after which nothing is disclosed.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/enforcing-state",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = EnforcingReply,
    responses(
        (status = 200, description = "Recorded", body = EnforcingReplyView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "No notice to an enforcing state, or no longer open", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn enforcing_state(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EnforcingReply>,
) -> ApiResult<Json<EnforcingReplyView>> {
    let r = record_reply(&state, &caller, request_id(&id)?, body).await?;
    Ok(Json(EnforcingReplyView::new(r, false)))
}
