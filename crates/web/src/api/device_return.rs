//! Device return (issue 6; `custodian_core::routes::device_return`): a reviewer presses
//! "contact the owner" on a device return in review; Custodian looks the serial number up in the
//! data source and, if an account holds the device, mails its owner the officer's contact
//! details through the outbox. The officer learns only the outcome. Nothing the officer can
//! read (this view, the request, its letters and timeline, the audit details) names the owner.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use custodian_core::routes::device_return::{
    owner_mail, owner_of, DeviceReturnOutcome, Registration,
};
use custodian_core::{LegalProcess, TargetKind};
use custodian_sources::{AccountId, DynSource, SourceError};
use custodian_store::billing::DeviceReturnRecord;
use custodian_store::{NewMail, RequestRecord, Scope};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::review::{request_id, REVIEWERS};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The mail kind of the owner's message in the outbox.
pub const OWNER_MAIL_KIND: &str = "device_return";

/// What anyone may know about a device return's outcome: the outcome and its sentence.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceReturnView {
    pub request_id: Uuid,
    pub outcome: DeviceReturnOutcome,
    /// The sentence the officer reads.
    pub message: String,
    pub decided_at: DateTime<Utc>,
}

impl From<DeviceReturnRecord> for DeviceReturnView {
    fn from(d: DeviceReturnRecord) -> Self {
        DeviceReturnView {
            request_id: d.request_id,
            outcome: d.outcome,
            message: d.outcome.officer_message().to_string(),
            decided_at: d.decided_at,
        }
    }
}

fn source_error(e: SourceError) -> ApiError {
    // The source's message may quote what it was asked; the reviewer sees the kind of failure.
    tracing::error!(kind = "device_return", error_kind = %source_error_kind(&e), "data source failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "data_source_failed",
        format!(
            "the customer data source failed ({}); try again",
            source_error_kind(&e)
        ),
    )
}

fn source_error_kind(e: &SourceError) -> &'static str {
    match e {
        SourceError::NotFound(_) => "not found",
        SourceError::Unsupported { .. } => "cannot search by device serial",
        SourceError::Invalid(_) => "invalid question",
        SourceError::Unauthorized(_) => "credentials refused",
        SourceError::Unavailable(_) => "unavailable",
        SourceError::Remote { .. } => "remote failure",
        SourceError::Protocol(_) => "protocol error",
        SourceError::Storage(_) => "storage failure",
    }
}

/// The owner of the device, if the source knows it: the account that holds it now, else the
/// one that registered it last.
async fn find_owner(source: &DynSource, r: &RequestRecord) -> ApiResult<Option<AccountId>> {
    let Some(target) = r
        .intake
        .targets
        .iter()
        .find(|t| t.kind == TargetKind::DeviceSerial)
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_device_serial",
            "the request names no device serial number",
        ));
    };
    let accounts = source.find_accounts(target).await.map_err(source_error)?;
    let mut registrations = Vec::new();
    for account in accounts {
        let records = source
            .transactional(&account, None)
            .await
            .map_err(source_error)?;
        for d in records
            .devices
            .iter()
            .filter(|d| d.serial.eq_ignore_ascii_case(&target.value))
        {
            registrations.push(Registration {
                account: account.clone(),
                registered_at: d.registered_at,
                deregistered_at: d.deregistered_at,
            });
        }
    }
    Ok(owner_of(&registrations).cloned())
}

/// Carries out a device return: finds the owner, mails them the officer's details, ends the
/// request. The API and the review page both come here.
pub(crate) async fn contact_owner_of(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<DeviceReturnRecord> {
    caller.require_role(REVIEWERS, "carrying out a device return")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    if record.process != LegalProcess::DeviceReturn {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_device_return",
            format!(
                "only a device return contacts a device's owner; this is a {}",
                record.process.label().to_lowercase()
            ),
        ));
    }
    if state
        .store
        .billing()
        .device_return(Scope::Provider, id)
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_carried_out",
            "the device return was already carried out",
        ));
    }
    let contact = record.intake.device_return.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_contact_details",
            "the request carries no contact details for the owner",
        )
    })?;
    let source = state.source.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_data_source",
            "no source of customer data is configured (--source); a device return needs one",
        )
    })?;
    let mail = match find_owner(&source, &record).await? {
        None => None,
        Some(account) => {
            let subscriber = source.subscriber(&account).await.map_err(source_error)?;
            if subscriber.email.trim().is_empty() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "owner_unreachable",
                    "the device's owner has no e-mail address on file; contact them another way \
                     and close the request by hand",
                ));
            }
            let provider = state
                .custody
                .as_ref()
                .map(|c| c.settings().provider.clone())
                .unwrap_or_else(|| "The provider".to_string());
            let serial = record
                .intake
                .targets
                .first()
                .map(|t| t.value.clone())
                .unwrap_or_default();
            let (subject, body_text) = owner_mail(&provider, &serial, &record.number, &contact);
            Some(NewMail {
                kind: OWNER_MAIL_KIND.into(),
                recipient: subscriber.email,
                subject,
                body_text,
                request_id: Some(id),
                send_after: None,
            })
        }
    };
    let outcome = if mail.is_some() {
        DeviceReturnOutcome::OwnerContacted
    } else {
        DeviceReturnOutcome::DeviceNotKnown
    };
    let agency = state.store.get_agency(record.agency_id).await?;
    let letter = custodian_core::letters::device_return_outcome(
        &crate::api::review::letter_context(&record, &agency.name),
        outcome.officer_message(),
    );
    let done = state
        .store
        .billing()
        .record_device_return(&caller.actor(), id, outcome, mail, &letter)
        .await?;
    state.jobs_waker.notify_one();
    Ok(done)
}

/// Carry out a device return: contact the device's owner with the officer's details (or find
/// that the device is not known); the request ends closed.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/device-return",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Carried out: the outcome the officer reads", body = DeviceReturnView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not a device return, already carried out, or not in review", body = ErrorBody),
        (status = 502, description = "The customer data source failed", body = ErrorBody),
        (status = 503, description = "No customer data source is configured", body = ErrorBody),
    )
)]
pub async fn contact_owner(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceReturnView>> {
    let done = contact_owner_of(&state, &caller, request_id(&id)?).await?;
    Ok(Json(done.into()))
}

/// The outcome of a device return: the owner was contacted, or the device is not known.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/device-return",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The outcome", body = DeviceReturnView),
        (status = 404, description = "No such request, or not carried out yet (not_carried_out)", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceReturnView>> {
    let id = request_id(&id)?;
    // 404 exactly as missing for another agency's request.
    state.store.get_request(caller.scope, id).await?;
    let done = state
        .store
        .billing()
        .device_return(caller.scope, id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_carried_out",
                "the device return has not been carried out yet",
            )
        })?;
    Ok(Json(done.into()))
}
