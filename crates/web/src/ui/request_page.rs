//! `/portal/requests/{id}`: one request as its agency sees it: what was served, the outcome
//! and the provider's letters, the messages, the timeline from the audit log, the colleagues
//! following it, and withdrawal. Another agency's request is not found, exactly like a
//! missing one (the store's scope decides; the page never learns which it was).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use custodian_core::RequestStatus;
use custodian_store::{RequestRecord, MAX_FOLLOWERS};

use super::{
    field_of, render, render_status, see_other, status_class, status_words, when, Layout, Viewer,
};
use crate::api::followers::{add_by_email, list_for, timeline_words};
use crate::api::requests::{add_message, path_id, withdraw_request};
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub struct Summary {
    pub id: String,
    pub number: String,
    pub process: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub emergency: bool,
    pub due: String,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    layout: Layout,
    r: Summary,
    error: Option<String>,
    field: String,
    facts: Vec<(&'static str, String)>,
    documents: Vec<(String, String, String, String)>,
    outcome: Vec<(&'static str, &'static str, String)>,
    outcome_note: String,
    letters: Vec<(String, String, String)>,
    messages: Vec<(&'static str, String, String)>,
    question: bool,
    timeline: Vec<(String, String)>,
    followers: Vec<(String, String, String)>,
    max_followers: usize,
    withdrawable: bool,
    production: Option<crate::api::custody::AgencyProduction>,
    /// An emergency's acknowledgement and the legal process that must follow (`ui::emergency`).
    emergency: Option<super::emergency::AgencyEmergency>,
    /// A device return's outcome, in the officer's words.
    device_return: String,
    /// The request's invoice, once issued.
    invoice: Option<crate::api::billing::InvoiceView>,
}

pub(super) fn facts(r: &RequestRecord) -> Vec<(&'static str, String)> {
    let i = &r.intake;
    let mut f = vec![
        ("Issuing authority", i.issuing_authority.clone()),
        (
            "Issuing country",
            format!(
                "{} ({})",
                i.issuing_country.name(),
                i.issuing_country.code()
            ),
        ),
        ("Served through", i.received_via.as_str().replace('_', " ")),
        ("Received", when(r.received_at)),
    ];
    if let Some(c) = i.requesting_country {
        f.push(("Requesting state", c.name().to_string()));
    }
    if let Some(c) = &i.case_reference {
        f.push(("Case reference", c.clone()));
    }
    f.push((
        "Targets",
        i.targets
            .iter()
            .map(|t| format!("{}: {}", t.kind.as_str().replace('_', " "), t.value))
            .collect::<Vec<_>>()
            .join("; "),
    ));
    f.push((
        "Data asked for",
        i.categories
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if let Some(d) = i.date_range {
        f.push(("Records", format!("{} to {}", d.from, d.to)));
    }
    if let Some(d) = i.return_date {
        f.push(("Return date", d.to_string()));
    }
    f.extend(super::orders::order_facts(r));
    f.push((
        "Non-disclosure order",
        match i.ndo_until {
            Some(custodian_core::NonDisclosureOrder::Until(d)) => format!("until {d}"),
            Some(custodian_core::NonDisclosureOrder::Indefinite) => "with no end date".into(),
            None => "none".into(),
        },
    ));
    if let Some(e) = &i.emergency {
        f.push((
            "Emergency",
            format!(
                "danger attested: {}; supervisor {} ({})",
                if e.danger_of_death_or_serious_injury {
                    "yes"
                } else {
                    "no"
                },
                e.supervisor_name.clone().unwrap_or_default(),
                e.supervisor_phone.clone().unwrap_or_default()
            ),
        ));
        if let Some(n) = &e.narrative {
            f.push(("What is happening", n.clone()));
        }
    }
    if let Some(c) = &i.device_return {
        f.push((
            "Contact for the owner",
            format!("{}, {} ({}, {})", c.name, c.agency, c.phone, c.email),
        ));
        f.push(("Message for the owner", c.message.clone()));
    }
    if let Some(fr) = &i.fraud {
        f.push(("Fraud", fr.fraud_type.as_str().replace('_', " ")));
    }
    if r.process == custodian_core::LegalProcess::FraudReferral {
        f.push((
            "Disclosure",
            custodian_core::routes::fraud_referral::DISCLOSURE_BASIS.to_string(),
        ));
    }
    f
}

async fn build(
    state: &AppState,
    viewer: &Viewer,
    id: uuid::Uuid,
    error: Option<ApiError>,
) -> Result<RequestPage, ApiError> {
    let scope = viewer.caller.scope;
    let store = &state.store;
    let r = store.get_request(scope, id).await?;
    let decision = store.get_decision(scope, id).await?;
    let letters = store.list_letters(scope, id).await?;
    let messages = store.list_messages(scope, id).await?;
    let timeline = store.accounts().request_timeline(scope, id).await?;
    let followers = list_for(state, scope, id).await?;
    let production = crate::api::custody::production_for(state, scope, id).await?;
    let emergency = super::emergency::agency_panel(state, scope, &r).await?;
    let for_agency = viewer.caller.is_agency();
    let device_return = store
        .billing()
        .device_return(scope, id)
        .await?
        .map(|d| d.outcome.officer_message().to_string())
        .unwrap_or_default();
    let invoice = store
        .billing()
        .invoice_for_request(scope, id)
        .await?
        .map(|i| crate::api::billing::InvoiceView::new(i, &r, for_agency));

    let (outcome, outcome_note) = match &decision {
        Some(d) if d.is_effective() => (
            d.decision
                .categories
                .iter()
                .map(|(c, ruling)| {
                    (
                        c.as_str(),
                        ruling.decision.as_str(),
                        ruling.reason.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            String::new(),
        ),
        Some(_) => (
            Vec::new(),
            "Decided; the decision waits for a second reviewer's approval.".into(),
        ),
        None if r.status.is_open() => (Vec::new(), "Not decided yet.".into()),
        None => (
            Vec::new(),
            format!("{} without a decision on the data.", status_words(r.status)),
        ),
    };
    let due = if r.status.is_open() {
        when(r.respond_by)
    } else {
        "— (finished)".into()
    };
    Ok(RequestPage {
        device_return,
        invoice,
        layout: viewer.layout(&r.number, "/portal"),
        error: error.as_ref().map(|e| e.message.clone()),
        field: error
            .as_ref()
            .and_then(|e| field_of(&e.message))
            .unwrap_or_default(),
        facts: facts(&r),
        documents: r
            .documents
            .iter()
            .map(|d| {
                (
                    d.id.to_string(),
                    d.file_name.clone(),
                    format!("{} KiB", d.size.div_ceil(1024)),
                    d.sha256[..16].to_string(),
                )
            })
            .collect(),
        outcome,
        outcome_note,
        letters: letters
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
        question: r.status == RequestStatus::ClarificationRequested,
        timeline: timeline
            .iter()
            .filter_map(|e| timeline_words(e, for_agency).map(|t| (when(e.entry.at), t)))
            .collect(),
        followers: followers
            .into_iter()
            .map(|f| (f.user_id.to_string(), f.name, f.email))
            .collect(),
        max_followers: MAX_FOLLOWERS,
        withdrawable: for_agency && r.status.is_withdrawable(),
        production,
        emergency,
        r: Summary {
            id: r.id.to_string(),
            number: r.number.clone(),
            process: r.process.label(),
            status: status_words(r.status),
            status_class: status_class(r.status),
            emergency: r.emergency,
            due,
        },
    })
}

/// The page, or the page again with an error from a form on it.
async fn show(
    state: &AppState,
    viewer: &Viewer,
    id: uuid::Uuid,
    error: Option<ApiError>,
) -> Response {
    let status = error.as_ref().map(|e| e.status);
    match build(state, viewer, id, error).await {
        Ok(page) => match status {
            Some(s) => render_status(s, &page),
            None => render(&page),
        },
        Err(e) => super::page_error(e),
    }
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match path_id(&id) {
        Ok(id) => show(&state, &viewer, id, None).await,
        Err(e) => super::page_error(e),
    }
}

/// After a form on the page: back to the page with a message, or the page with the error.
async fn after(
    state: &AppState,
    viewer: &Viewer,
    id: uuid::Uuid,
    result: Result<(), ApiError>,
    done: &str,
) -> Response {
    match result {
        Ok(()) => {
            viewer.flash(state, done).await;
            see_other(&format!("/portal/requests/{id}"))
        }
        // A request the viewer may not see gets the not-found page, not the form.
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => super::page_error(e),
        Err(e) => show(state, viewer, id, Some(e)).await,
    }
}

pub async fn message(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return super::page_error(ApiError::not_found());
    };
    let result = add_message(&state, &viewer.caller, id, form.get("body").unwrap_or(""))
        .await
        .map(|_| ());
    after(
        &state,
        &viewer,
        id,
        result,
        "Your message was sent to the legal team.",
    )
    .await
}

pub async fn withdraw(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return super::page_error(ApiError::not_found());
    };
    let result = withdraw_request(&state, &viewer.caller, id, form.get("reason"))
        .await
        .map(|_| ());
    after(&state, &viewer, id, result, "The request is withdrawn.").await
}

pub async fn add_follower(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return super::page_error(ApiError::not_found());
    };
    let result = add_by_email(&state, &viewer.caller, id, form.get("email").unwrap_or("")).await;
    after(
        &state,
        &viewer,
        id,
        result,
        "Your colleague now follows this request.",
    )
    .await
}

pub async fn remove_follower(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, user_id)): Path<(String, String)>,
    _form: PostedForm,
) -> Response {
    let (Ok(id), Ok(user_id)) = (path_id(&id), path_id(&user_id)) else {
        return super::page_error(ApiError::not_found());
    };
    let result = async {
        if !viewer.caller.is_agency() {
            return Err(ApiError::forbidden(
                "agency_only",
                "only the serving agency chooses who follows",
            ));
        }
        state
            .store
            .accounts()
            .remove_follower(&viewer.caller.actor(), viewer.caller.scope, id, user_id)
            .await?;
        Ok(())
    }
    .await;
    after(
        &state,
        &viewer,
        id,
        result,
        "Your colleague no longer follows this request.",
    )
    .await
}
