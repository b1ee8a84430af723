//! The pages of device returns and reimbursement: the review page's "Device return",
//! "Fraud referral" and "Costs" sections (time recorded, burdensome mark, waiver, invoice),
//! `/admin/fees` (the fee schedule) and `/admin/invoices` (unpaid and paid invoices, payments).
//! Every form calls the function its `/api/v1` endpoint calls (`api::billing`,
//! `api::device_return`), so the checks and the audit entries are the same either way.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use custodian_core::reimbursement::{format_money, FeeSchedule, WaiverReason};
use custodian_core::routes::fraud_referral;
use custodian_core::{LegalProcess, Role};
use custodian_store::RequestRecord;
use uuid::Uuid;

use super::admin::{finish, frame, Frame};
use super::review::{after, Failed};
use super::{page_error, see_other, when, Viewer};
use crate::api::billing::{
    self as billing_api, billing_of, InvoiceQuery, InvoiceView, TIME_LOGGERS,
};
use crate::api::device_return::contact_owner_of;
use crate::api::review::REVIEWERS;
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review/requests/{id}/time", post(log_time))
        .route("/review/requests/{id}/burdensome", post(burdensome))
        .route("/review/requests/{id}/waiver", post(waiver))
        .route("/review/requests/{id}/invoice", post(invoice))
        .route("/review/requests/{id}/device-return", post(device_return))
        .route("/admin/fees", get(fees).post(set_fees))
        .route("/admin/invoices", get(invoices))
        .route("/admin/invoices/{id}/paid", post(paid))
        .route("/admin/invoices/{id}/unpaid", post(unpaid))
}

fn may(viewer: &Viewer, roles: &[Role]) -> bool {
    viewer.caller.require_role(roles, "").is_ok()
}

/// The review page's sections of this module.
#[derive(Default)]
pub struct BillingPanel {
    /// A device return: its contact details, outcome and button.
    pub device_return: bool,
    pub contact: Vec<(&'static str, String)>,
    pub outcome: String,
    pub can_contact: bool,
    /// A fraud referral: its facts and the basis of the disclosure.
    pub fraud: bool,
    pub fraud_facts: Vec<(&'static str, String)>,
    pub fraud_basis: &'static str,
    /// Costs.
    pub time: Vec<(String, String, String)>,
    pub total_time: String,
    pub can_log_time: bool,
    pub reviewer: bool,
    pub burdensome: bool,
    pub burdensome_reason: String,
    pub waiver: String,
    pub preview: String,
    pub invoice: Option<InvoiceView>,
    pub invoice_due: String,
    pub can_invoice: bool,
}

fn minutes_words(m: u64) -> String {
    format!("{}h{:02}", m / 60, m % 60)
}

/// The sections' data for one request.
pub(super) async fn panel(
    state: &AppState,
    viewer: &Viewer,
    r: &RequestRecord,
) -> Result<BillingPanel, ApiError> {
    let b = billing_of(state, r).await?;
    let reviewer = may(viewer, REVIEWERS);
    let mut p = BillingPanel {
        can_log_time: may(viewer, TIME_LOGGERS),
        reviewer,
        burdensome: b.burdensome,
        burdensome_reason: b.burdensome_reason.clone().unwrap_or_default(),
        waiver: match (&b.waiver, b.automatic_waiver) {
            (Some(w), _) => format!(
                "{}{}",
                w.label(),
                b.waiver_note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
            (None, true) => "threat to life (emergency, automatic)".into(),
            (None, false) => String::new(),
        },
        total_time: minutes_words(b.total_minutes),
        time: b
            .time
            .iter()
            .map(|t| {
                (
                    when(t.logged_at),
                    minutes_words(u64::from(t.minutes)),
                    t.note.clone(),
                )
            })
            .collect(),
        preview: format!(
            "{} (fee {}{})",
            format_money(b.preview.amount_due_minor, &b.preview.currency),
            format_money(b.preview.fee_minor, &b.preview.currency),
            if b.preview.billed_minutes > 0 {
                format!(
                    ", {} at {} an hour",
                    minutes_words(b.preview.billed_minutes),
                    format_money(b.preview.hourly_rate_minor, &b.preview.currency)
                )
            } else {
                String::new()
            }
        ),
        invoice_due: b
            .invoice
            .as_ref()
            .map(|i| i.amount_due.clone())
            .unwrap_or_default(),
        can_invoice: reviewer
            && b.invoice.is_none()
            && custodian_core::reimbursement::invoiceable(r.status),
        invoice: b.invoice,
        ..BillingPanel::default()
    };
    if r.process == LegalProcess::DeviceReturn {
        p.device_return = true;
        if let Some(c) = &r.intake.device_return {
            p.contact = vec![
                ("Officer", c.name.clone()),
                ("Agency", c.agency.clone()),
                ("Phone", c.phone.clone()),
                ("E-mail", c.email.clone()),
                ("Case reference", c.case_reference.clone()),
                ("Message", c.message.clone()),
            ];
        }
        let done = state
            .store
            .billing()
            .device_return(custodian_store::Scope::Provider, r.id)
            .await?;
        p.outcome = done
            .as_ref()
            .map(|d| d.outcome.officer_message().to_string())
            .unwrap_or_default();
        p.can_contact = reviewer
            && done.is_none()
            && custodian_core::routes::device_return::path_to_closed(r.status).is_some();
    }
    if r.process == LegalProcess::FraudReferral {
        p.fraud = true;
        p.fraud_basis = fraud_referral::DISCLOSURE_BASIS;
        if let Some(f) = &r.intake.fraud {
            p.fraud_facts
                .push(("Fraud", f.fraud_type.as_str().replace('_', " ")));
            if let Some(i) = &f.instrument_reference {
                p.fraud_facts.push(("Payment instrument", i.clone()));
            }
            if let Some(o) = &f.order_reference {
                p.fraud_facts.push(("Order", o.clone()));
            }
            if let Some(d) = &f.description {
                p.fraud_facts.push(("What happened", d.clone()));
            }
        }
    }
    Ok(p)
}

fn failed(action: &'static str, form: &PostedForm) -> Failed {
    Failed {
        action,
        text: String::new(),
        form: form.fields.clone(),
    }
}

pub async fn log_time(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = crate::api::requests::path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let minutes = form
            .get("minutes")
            .unwrap_or("")
            .parse::<u32>()
            .map_err(|_| {
                ApiError::from(custodian_core::FieldError::new(
                    "minutes",
                    "a whole number of minutes",
                ))
            })?;
        let t = billing_api::log_time_on(
            &state,
            &viewer.caller,
            id,
            minutes,
            form.get("note").unwrap_or(""),
        )
        .await?;
        Ok(format!("{} recorded.", minutes_words(u64::from(t.minutes))))
    }
    .await;
    after(&state, &viewer, id, result, failed("time", &form), None).await
}

pub async fn burdensome(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = crate::api::requests::path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let on = form.get("burdensome") == Some("yes");
    let result = billing_api::mark_burdensome(&state, &viewer.caller, id, on, form.get("reason"))
        .await
        .map(|()| {
            if on {
                "Marked burdensome: the recorded hours are billed.".to_string()
            } else {
                "No longer marked burdensome.".to_string()
            }
        });
    after(
        &state,
        &viewer,
        id,
        result,
        failed("burdensome", &form),
        None,
    )
    .await
}

pub async fn waiver(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = crate::api::requests::path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let reason: WaiverReason = form
            .get("reason")
            .unwrap_or("")
            .parse()
            .map_err(|e: String| ApiError::from(custodian_core::FieldError::new("reason", e)))?;
        billing_api::waive(
            &state,
            &viewer.caller,
            id,
            reason,
            form.get("note").unwrap_or(""),
        )
        .await?;
        Ok(format!("Fees waived ({}).", reason.label()))
    }
    .await;
    after(&state, &viewer, id, result, failed("waiver", &form), None).await
}

pub async fn invoice(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = crate::api::requests::path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = billing_api::issue(&state, &viewer.caller, id)
        .await
        .map(|i| {
            format!(
                "Invoice {} issued: {} due.",
                i.number,
                format_money(i.amounts.amount_due_minor, &i.amounts.currency)
            )
        });
    after(&state, &viewer, id, result, failed("invoice", &form), None).await
}

pub async fn device_return(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = crate::api::requests::path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = contact_owner_of(&state, &viewer.caller, id)
        .await
        .map(|d| d.outcome.officer_message().to_string());
    after(
        &state,
        &viewer,
        id,
        result,
        failed("device_return", &form),
        None,
    )
    .await
}

// --- admin: fee schedule ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_fees.html")]
struct FeesPage {
    layout: super::Layout,
    frame: Frame,
    is_default: bool,
    currency: String,
    hourly: String,
    /// Process, label, amount in major units as typed.
    rows: Vec<(&'static str, &'static str, String)>,
}

/// Minor units as a decimal amount for a form field: `4500` as `45.00`.
fn major(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// A decimal amount typed in a form (`45`, `45.5`, `45.00`) as minor units.
fn parse_major(field: &str, raw: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::from(custodian_core::FieldError::new(
            field,
            "an amount such as 45 or 45.00",
        ))
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(0);
    }
    let (units, cents) = raw.split_once('.').unwrap_or((raw, "0"));
    if units.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || cents.is_empty()
        || cents.len() > 2
        || !cents.chars().all(|c| c.is_ascii_digit())
        || units.len() > 9
    {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| bad())?;
    Ok(units * 100 + cents)
}

async fn build_fees(
    state: &AppState,
    viewer: &Viewer,
    error: Option<&ApiError>,
    typed: Option<&PostedForm>,
) -> Result<FeesPage, ApiError> {
    let frame = frame(viewer, "/admin/fees", error)?;
    let (s, is_default) = billing_api::schedule_in_force(state).await?;
    let typed_or = |name: &str, v: String| {
        typed
            .and_then(|f| f.fields.iter().find(|(k, _)| k == name))
            .map(|(_, v)| v.clone())
            .unwrap_or(v)
    };
    Ok(FeesPage {
        layout: viewer.layout("Fees", "/admin"),
        frame,
        is_default,
        currency: typed_or("currency", s.currency.to_string()),
        hourly: typed_or("hourly", major(s.hourly_rate_minor)),
        rows: LegalProcess::ALL
            .iter()
            .map(|p| {
                (
                    p.as_str(),
                    p.label(),
                    typed_or(&format!("fee_{p}"), major(s.fee(*p))),
                )
            })
            .collect(),
    })
}

pub async fn fees(State(state): State<AppState>, viewer: Viewer) -> Response {
    finish(build_fees(&state, &viewer, None, None).await, None)
}

pub async fn set_fees(State(state): State<AppState>, viewer: Viewer, form: PostedForm) -> Response {
    let result = async {
        let currency =
            custodian_core::reimbursement::Currency::parse(form.get("currency").unwrap_or(""))
                .map_err(|e| ApiError::from(custodian_core::FieldError::new("currency", e)))?;
        let mut fees = std::collections::BTreeMap::new();
        for p in LegalProcess::ALL {
            let name = format!("fee_{p}");
            fees.insert(*p, parse_major(&name, form.get(&name).unwrap_or(""))?);
        }
        let schedule = FeeSchedule {
            currency,
            hourly_rate_minor: parse_major("hourly", form.get("hourly").unwrap_or(""))?,
            fees,
        };
        billing_api::set_schedule(&state, &viewer.caller, schedule).await
    }
    .await;
    match result {
        Ok(_) => {
            viewer.flash(&state, "The fee schedule was saved.").await;
            see_other("/admin/fees")
        }
        Err(e) => finish(
            build_fees(&state, &viewer, Some(&e), Some(&form)).await,
            Some(&e),
        ),
    }
}

// --- admin: invoices -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_invoices.html")]
struct InvoicesPage {
    layout: super::Layout,
    frame: Frame,
    status: String,
    invoices: Vec<InvoiceRow>,
    today: String,
}

struct InvoiceRow {
    id: String,
    number: String,
    request_id: String,
    request_number: String,
    process: &'static str,
    status: String,
    amount_due: String,
    issued: String,
    paid: String,
}

async fn build_invoices(
    state: &AppState,
    viewer: &Viewer,
    q: &InvoiceQuery,
    error: Option<&ApiError>,
) -> Result<InvoicesPage, ApiError> {
    let frame = frame(viewer, "/admin/invoices", error)?;
    let list = billing_api::list(state, &viewer.caller, q).await?;
    Ok(InvoicesPage {
        layout: viewer.layout("Invoices", "/admin"),
        frame,
        status: q.status.clone().unwrap_or_default(),
        today: state.clock.now().date_naive().to_string(),
        invoices: list
            .into_iter()
            .map(|i| InvoiceRow {
                id: i.id.to_string(),
                number: i.number,
                request_id: i.request_id.to_string(),
                request_number: i.request_number,
                process: i.process.label(),
                status: i.status.to_string(),
                amount_due: i.amount_due,
                issued: when(i.issued_at),
                paid: match (i.paid_on, i.paid_reference) {
                    (Some(d), Some(r)) => format!("{d} ({r})"),
                    (Some(d), None) => d.to_string(),
                    _ => String::new(),
                },
            })
            .collect(),
    })
}

pub async fn invoices(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<InvoiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return page_error(ApiError::bad_request("invalid_query", e.body_text())),
    };
    finish(build_invoices(&state, &viewer, &q, None).await, None)
}

async fn invoice_action(
    state: AppState,
    viewer: Viewer,
    id: String,
    form: PostedForm,
    pay: bool,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        if pay {
            let day = form.get("paid_on").unwrap_or("").parse().map_err(|_| {
                ApiError::from(custodian_core::FieldError::new(
                    "paid_on",
                    "a day (YYYY-MM-DD)",
                ))
            })?;
            let i = billing_api::pay(
                &state,
                &viewer.caller,
                id,
                day,
                form.get("reference").unwrap_or(""),
            )
            .await?;
            Ok(format!("{} marked paid.", i.number))
        } else {
            let i = billing_api::unpay(&state, &viewer.caller, id).await?;
            Ok(format!("{} marked unpaid.", i.number))
        }
    }
    .await;
    match result {
        Ok(done) => {
            viewer.flash(&state, &done).await;
            see_other("/admin/invoices?status=unpaid")
        }
        Err(e) => {
            let q = InvoiceQuery::default();
            finish(
                build_invoices(&state, &viewer, &q, Some(&e)).await,
                Some(&e),
            )
        }
    }
}

pub async fn paid(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    invoice_action(state, viewer, id, form, true).await
}

pub async fn unpaid(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    invoice_action(state, viewer, id, form, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_typed_in_forms_become_minor_units() {
        assert_eq!(parse_major("f", "45").unwrap(), 4500);
        assert_eq!(parse_major("f", "45.5").unwrap(), 4550);
        assert_eq!(parse_major("f", "0.05").unwrap(), 5);
        assert_eq!(parse_major("f", "").unwrap(), 0);
        for bad in ["-1", "4,50", "1.234", "abc", ".5"] {
            assert!(parse_major("f", bad).is_err(), "{bad}");
        }
        assert_eq!(major(24_500), "245.00");
    }
}

/// The serve form's fields of a device return and a fraud referral (`templates/_serve_special.html`),
/// as typed.
#[derive(Debug, Clone, Default)]
pub struct SpecialRouteFields {
    pub dr_name: String,
    pub dr_agency: String,
    pub dr_phone: String,
    pub dr_email: String,
    pub dr_case_reference: String,
    pub dr_message: String,
    pub fraud_type: String,
    pub fraud_instrument: String,
    pub fraud_order: String,
    pub fraud_description: String,
}

impl SpecialRouteFields {
    pub fn from_form(form: &PostedForm) -> SpecialRouteFields {
        let g = |k: &str| form.get(k).unwrap_or("").to_string();
        SpecialRouteFields {
            dr_name: g("dr_name"),
            dr_agency: g("dr_agency"),
            dr_phone: g("dr_phone"),
            dr_email: g("dr_email"),
            dr_case_reference: g("dr_case_reference"),
            dr_message: g("dr_message"),
            fraud_type: g("fraud_type"),
            fraud_instrument: g("fraud_instrument"),
            fraud_order: g("fraud_order"),
            fraud_description: g("fraud_description"),
        }
    }

    /// Adds `device_return` or `fraud` to the API's JSON intake, for the process chosen. What
    /// is missing is for the API's validation to name.
    pub fn add_to(&self, m: &mut serde_json::Map<String, serde_json::Value>, process: &str) {
        use serde_json::json;
        if process == LegalProcess::DeviceReturn.as_str() {
            m.insert(
                "device_return".into(),
                json!({
                    "name": self.dr_name,
                    "agency": self.dr_agency,
                    "phone": self.dr_phone,
                    "email": self.dr_email,
                    "case_reference": self.dr_case_reference,
                    "message": self.dr_message,
                }),
            );
        }
        if process == LegalProcess::FraudReferral.as_str() {
            let mut f = serde_json::Map::new();
            f.insert("fraud_type".into(), json!(self.fraud_type));
            for (k, v) in [
                ("instrument_reference", &self.fraud_instrument),
                ("order_reference", &self.fraud_order),
                ("description", &self.fraud_description),
            ] {
                if !v.is_empty() {
                    f.insert(k.into(), json!(v));
                }
            }
            m.insert("fraud".into(), serde_json::Value::Object(f));
        }
    }

    /// The fraud types for the form's select: value, words.
    pub fn fraud_types(&self) -> Vec<(&'static str, String, bool)> {
        fraud_referral::FraudType::ALL
            .iter()
            .map(|t| {
                (
                    t.as_str(),
                    t.as_str().replace('_', " "),
                    t.as_str() == self.fraud_type,
                )
            })
            .collect()
    }
}
