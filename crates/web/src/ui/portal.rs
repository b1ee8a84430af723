//! The agency portal: My requests, the serve form (and the emergency form, the same form with
//! the attestation first), the policy engine's live preview and the plain-words explanation
//! of each process.
//!
//! The form is turned into the API's JSON intake and goes through the API's own parsing,
//! validation and storage (`api::requests::store_submission`), so a demand served here and
//! one served over the API are received the same way and refused with the same messages.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use custodian_core::deadline::{awaiting_answer, urgency, Urgency};
use custodian_core::policy::{evaluate, explain as explain_process, PolicyCase};
use custodian_core::{
    DataCategory, LegalProcess, NewLegalRequest, ReceivedVia, RequestIntake, RequestStatus,
    TargetKind,
};
use custodian_store::RequestFilter;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    field_of, render, render_status, see_other, status_class, status_words, when, Layout, Viewer,
};
use crate::api::requests::{
    check_document, multipart_error, read_limited, store_submission, Upload,
};
use crate::error::ApiError;
use crate::json::parse_json;
use crate::session::{same_token, PostedForm, CSRF_FIELD};
use crate::AppState;

pub struct Counts {
    pub open: usize,
    pub question: usize,
    pub due_soon: usize,
    pub finished: usize,
}

pub struct Row {
    pub id: String,
    pub number: String,
    pub process: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub emergency: bool,
    pub following: bool,
    pub received: String,
    pub due: String,
    pub due_class: &'static str,
    pub case_reference: String,
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    layout: Layout,
    all: bool,
    can_serve: bool,
    serve_blocked: String,
    counts: Counts,
    rows: Vec<Row>,
    total: u64,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    all: Option<String>,
}

/// Whether the viewer may serve, and if not why (in words).
fn serving(viewer: &Viewer) -> (bool, String) {
    match viewer.caller.require_serving_officer() {
        Ok(_) => (true, String::new()),
        Err(e) => (false, e.message),
    }
}

/// The deadline in words and its class: overdue, due soon, or on time; none once answered.
fn due(
    status: RequestStatus,
    respond_by: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> (String, &'static str) {
    if !status.is_open() {
        return ("— (finished)".into(), "");
    }
    if !awaiting_answer(status) {
        return ("— (answered)".into(), "");
    }
    let u = urgency(respond_by, now);
    let class = match u {
        Urgency::Overdue => "due-overdue",
        Urgency::DueSoon => "due-soon",
        Urgency::OnTime => "",
    };
    let mut text = when(respond_by);
    if u == Urgency::Overdue {
        text.push_str(" (overdue)");
    }
    (text, class)
}

pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<HomeQuery>,
) -> Response {
    if !viewer.caller.is_agency() {
        return see_other(super::start_page(viewer.caller.user.role));
    }
    let all = q.all.is_some();
    let filter = RequestFilter {
        status: None,
        limit: 200,
        offset: 0,
    };
    let user_id = viewer.caller.user.id;
    let found = if all {
        state
            .store
            .list_requests(viewer.caller.scope, &filter)
            .await
    } else {
        state.store.accounts().my_requests(user_id, &filter).await
    };
    let page = match found {
        Ok(p) => p,
        Err(e) => return super::page_error(e.into()),
    };
    let now = state.clock.now();
    let counts = Counts {
        open: page.items.iter().filter(|r| r.status.is_open()).count(),
        question: page
            .items
            .iter()
            .filter(|r| r.status == RequestStatus::ClarificationRequested)
            .count(),
        due_soon: page
            .items
            .iter()
            .filter(|r| awaiting_answer(r.status) && urgency(r.respond_by, now) != Urgency::OnTime)
            .count(),
        finished: page.items.iter().filter(|r| !r.status.is_open()).count(),
    };
    let rows = page
        .items
        .iter()
        .map(|r| {
            let (due_text, due_class) = due(r.status, r.respond_by, now);
            Row {
                id: r.id.to_string(),
                number: r.number.clone(),
                process: r.process.label(),
                status: status_words(r.status),
                status_class: status_class(r.status),
                emergency: r.emergency,
                following: r.submitted_by != user_id && !all,
                received: when(r.received_at),
                due: due_text,
                due_class,
                case_reference: r.intake.case_reference.clone().unwrap_or_default(),
            }
        })
        .collect();
    let (can_serve, serve_blocked) = serving(&viewer);
    render(&HomePage {
        layout: viewer.layout("My requests", "/portal"),
        all,
        can_serve,
        serve_blocked,
        counts,
        rows,
        total: page.total,
    })
}

/// The serve form's values as typed, kept to show the form again after an error.
#[derive(Debug, Clone, Default)]
pub struct ServeFields {
    pub process: String,
    pub issuing_authority: String,
    pub issuing_country: String,
    pub received_via: String,
    pub requesting_country: String,
    pub case_reference: String,
    pub targets: Vec<(String, String)>,
    pub categories: Vec<String>,
    pub date_from: String,
    pub date_to: String,
    pub return_date: String,
    pub ndo: String,
    pub ndo_until: String,
    pub judicial_authorisation: bool,
    pub renews: String,
    pub follows_emergency: String,
    pub order_reference: String,
    pub validating_authority: String,
    pub enforcing_state: String,
    pub order_emergency: bool,
    pub person_resides: String,
    pub enforcing_state_notified: bool,
    pub emergency_form: bool,
    pub danger: bool,
    pub supervisor_name: String,
    pub supervisor_phone: String,
    pub narrative: String,
    /// Device return and fraud referral (`ui::billing`).
    pub special: super::billing::SpecialRouteFields,
}

impl ServeFields {
    fn blank(viewer: &Viewer, emergency: bool) -> ServeFields {
        ServeFields {
            process: if emergency { "emergency" } else { "subpoena" }.into(),
            issuing_authority: viewer.agency_name.clone(),
            issuing_country: String::new(),
            received_via: "portal".into(),
            targets: vec![("email".into(), String::new()); 3],
            categories: Vec::new(),
            ndo: "none".into(),
            emergency_form: emergency,
            ..ServeFields::default()
        }
    }

    pub fn from_form(form: &PostedForm) -> ServeFields {
        let g = |k: &str| form.get(k).unwrap_or("").to_string();
        let types = form.all("target_type");
        let values = form.all("target_value");
        let mut targets: Vec<(String, String)> = types
            .iter()
            .zip(values.iter())
            .map(|(t, v)| (t.to_string(), v.to_string()))
            .collect();
        if targets.is_empty() {
            targets.push(("email".into(), String::new()));
        }
        ServeFields {
            process: g("process"),
            issuing_authority: g("issuing_authority"),
            issuing_country: g("issuing_country"),
            received_via: form.get("received_via").unwrap_or("portal").to_string(),
            requesting_country: g("requesting_country"),
            case_reference: g("case_reference"),
            targets,
            categories: form
                .all("categories")
                .iter()
                .map(|s| s.to_string())
                .collect(),
            date_from: g("date_from"),
            date_to: g("date_to"),
            return_date: g("return_date"),
            ndo: form.get("ndo").unwrap_or("none").to_string(),
            ndo_until: g("ndo_until"),
            judicial_authorisation: form.checked("judicial_authorisation"),
            renews: g("renews"),
            follows_emergency: g("follows_emergency"),
            order_reference: g("order_reference"),
            validating_authority: g("validating_authority"),
            enforcing_state: g("enforcing_state"),
            order_emergency: form.checked("order_emergency"),
            person_resides: g("person_resides"),
            enforcing_state_notified: form.checked("enforcing_state_notified"),
            emergency_form: form.checked("emergency_form"),
            danger: form.checked("danger"),
            supervisor_name: g("supervisor_name"),
            supervisor_phone: g("supervisor_phone"),
            narrative: g("narrative"),
            special: super::billing::SpecialRouteFields::from_form(form),
        }
    }

    /// The `order` object of a UK or EU order, from the form's order fields; None for other
    /// process (the fields are then ignored).
    fn order_json(&self) -> Option<Value> {
        let needs = self
            .process
            .parse::<LegalProcess>()
            .is_ok_and(custodian_core::routes::needs_order);
        if !needs {
            return None;
        }
        let mut o = Map::new();
        o.insert("reference".into(), json!(self.order_reference));
        if !self.validating_authority.trim().is_empty() {
            o.insert(
                "validating_authority".into(),
                json!(self.validating_authority),
            );
        }
        if !self.enforcing_state.trim().is_empty() {
            o.insert(
                "enforcing_state".into(),
                json!(self.enforcing_state.trim().to_ascii_uppercase()),
            );
        }
        o.insert("emergency".into(), json!(self.order_emergency));
        match self.person_resides.as_str() {
            "yes" => {
                o.insert("person_resides_in_issuing_state".into(), json!(true));
            }
            "no" => {
                o.insert("person_resides_in_issuing_state".into(), json!(false));
            }
            _ => {}
        }
        o.insert(
            "enforcing_state_notified".into(),
            json!(self.enforcing_state_notified),
        );
        Some(Value::Object(o))
    }

    /// The API's JSON intake for these values. Blank optional fields are left out; what is
    /// missing or wrong is for the API's parser and validation to name.
    pub fn intake_json(&self) -> Result<Value, ApiError> {
        let mut m = Map::new();
        let opt = |m: &mut Map<String, Value>, k: &str, v: &str| {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        };
        m.insert("process".into(), json!(self.process));
        m.insert("issuing_authority".into(), json!(self.issuing_authority));
        m.insert(
            "issuing_country".into(),
            json!(self.issuing_country.to_ascii_uppercase()),
        );
        m.insert("received_via".into(), json!(self.received_via));
        opt(
            &mut m,
            "requesting_country",
            &self.requesting_country.to_ascii_uppercase(),
        );
        opt(&mut m, "case_reference", &self.case_reference);
        let targets: Vec<Value> = self
            .targets
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(t, v)| json!({"type": t, "value": v}))
            .collect();
        m.insert("targets".into(), Value::Array(targets));
        m.insert("categories".into(), json!(self.categories));
        match (self.date_from.is_empty(), self.date_to.is_empty()) {
            (true, true) => {}
            (false, false) => {
                m.insert(
                    "date_range".into(),
                    json!({"from": self.date_from, "to": self.date_to}),
                );
            }
            _ => {
                return Err(custodian_core::FieldError::new(
                    "date_range",
                    "give both the first and the last day of the records asked for",
                )
                .into())
            }
        }
        opt(&mut m, "return_date", &self.return_date);
        match self.ndo.as_str() {
            "until" if self.ndo_until.is_empty() => {
                return Err(custodian_core::FieldError::new(
                    "ndo_until",
                    "give the end date of the non-disclosure order, or choose 'with no end date'",
                )
                .into())
            }
            "until" => {
                m.insert("ndo_until".into(), json!(self.ndo_until));
            }
            "indefinite" => {
                m.insert("ndo_until".into(), json!("indefinite"));
            }
            _ => {}
        }
        if self.judicial_authorisation {
            m.insert("judicial_authorisation".into(), json!(true));
        }
        opt(&mut m, "renews", &self.renews);
        opt(&mut m, "follows_emergency", &self.follows_emergency);
        if let Some(order) = self.order_json() {
            m.insert("order".into(), order);
        }
        if self.emergency_form || self.process == LegalProcess::Emergency.as_str() {
            let mut e = Map::new();
            e.insert(
                "danger_of_death_or_serious_injury".into(),
                json!(self.danger),
            );
            opt(&mut e, "supervisor_name", &self.supervisor_name);
            opt(&mut e, "supervisor_phone", &self.supervisor_phone);
            opt(&mut e, "narrative", &self.narrative);
            m.insert("emergency".into(), Value::Object(e));
        }
        self.special.add_to(&mut m, &self.process);
        Ok(Value::Object(m))
    }

    /// Parsed (not yet validated) as the API parses a `request` part.
    pub fn intake(&self) -> Result<RequestIntake, ApiError> {
        let bytes = serde_json::to_vec(&self.intake_json()?)
            .map_err(|e| ApiError::bad_request("bad_form", e.to_string()))?;
        parse_json(&bytes, "request")
    }
}

#[derive(Template)]
#[template(path = "serve.html")]
struct ServePage {
    layout: Layout,
    portal_js: String,
    emergency: bool,
    can_serve: bool,
    serve_blocked: String,
    error: Option<String>,
    field: String,
    f: ServeFields,
    processes: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    target_kinds: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str, bool)>,
    explanation: String,
    preview: String,
    max_mib: usize,
}

fn channel_label(v: ReceivedVia) -> &'static str {
    match v {
        ReceivedVia::Portal => "This portal",
        ReceivedVia::EEvidence => "EU e-Evidence system",
        ReceivedVia::MlatDoj => "US Department of Justice (treaty request)",
        ReceivedVia::Email => "E-mail",
        ReceivedVia::Postal => "Post",
    }
}

fn target_label(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Email => "E-mail address",
        TargetKind::Phone => "Telephone number",
        TargetKind::AccountId => "Account id",
        TargetKind::DeviceSerial => "Device serial number",
        TargetKind::OrderId => "Order number",
        TargetKind::IpAddress => "IP address",
    }
}

fn category_label(c: DataCategory) -> &'static str {
    match c {
        DataCategory::Subscriber => {
            "Subscriber information (name, address, billing, account dates)"
        }
        DataCategory::Transactional => {
            "Transactional records (purchases, usage, access logs, IP addresses)"
        }
        DataCategory::Content => "Content (files, messages, photos, recordings)",
    }
}

async fn serve_page(
    state: &AppState,
    viewer: &Viewer,
    f: ServeFields,
    error: Option<ApiError>,
) -> ServePage {
    let emergency = f.emergency_form;
    let process: LegalProcess = f.process.parse().unwrap_or(LegalProcess::Subpoena);
    let (can_serve, serve_blocked) = serving(viewer);
    let path = if emergency {
        "/portal/emergency"
    } else {
        "/portal/serve"
    };
    let preview = preview_html(state, &f).await;
    ServePage {
        layout: viewer.layout(
            if emergency {
                "Emergency request"
            } else {
                "Serve legal process"
            },
            path,
        ),
        portal_js: crate::static_files::url("portal.js"),
        emergency,
        can_serve,
        serve_blocked,
        field: error
            .as_ref()
            .and_then(|e| field_of(&e.message))
            .unwrap_or_default(),
        error: error.map(|e| e.message),
        processes: LegalProcess::ALL
            .iter()
            .map(|p| (p.as_str(), p.label()))
            .collect(),
        channels: ReceivedVia::ALL
            .iter()
            .map(|v| (v.as_str(), channel_label(*v)))
            .collect(),
        target_kinds: TargetKind::ALL
            .iter()
            .map(|k| (k.as_str(), target_label(*k)))
            .collect(),
        categories: DataCategory::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str(),
                    category_label(*c),
                    f.categories.iter().any(|x| x == c.as_str()),
                )
            })
            .collect(),
        explanation: explain_process(&*state.active_policy().await, process),
        preview,
        max_mib: state.config.max_document_bytes / (1024 * 1024),
        f,
    }
}

pub async fn serve_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    let f = ServeFields::blank(&viewer, false);
    render(&serve_page(&state, &viewer, f, None).await)
}

pub async fn emergency_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    let f = ServeFields::blank(&viewer, true);
    render(&serve_page(&state, &viewer, f, None).await)
}

/// Reads the multipart serve form: the CSRF token must be the first part (it is the form's
/// first field), so nothing else is read from a forged post.
async fn read_serve_form(
    state: &AppState,
    viewer: &Viewer,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(PostedForm, Vec<Upload>), Response> {
    let mut multipart = multipart
        .map_err(|e| super::page_error(ApiError::bad_request("not_multipart", e.body_text())))?;
    let mut form = PostedForm::default();
    let mut uploads = Vec::new();
    let mut first = true;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| super::page_error(multipart_error(e)))?
    {
        let name = field.name().unwrap_or("").to_string();
        if first {
            first = false;
            let token = if name == CSRF_FIELD {
                field.text().await.unwrap_or_default()
            } else {
                String::new()
            };
            if !same_token(token.trim(), viewer.csrf()) {
                return Err(super::page_error(crate::session::csrf_refused()));
            }
            continue;
        }
        if name == "document" {
            let file_name = field.file_name().map(str::to_string);
            let bytes = read_limited(&mut field, state.config.max_document_bytes, "document")
                .await
                .map_err(super::page_error)?;
            // An empty file input still sends an empty part.
            if bytes.is_empty() && file_name.as_deref().unwrap_or("").is_empty() {
                continue;
            }
            if uploads.len() == state.config.max_documents {
                return Err(super::page_error(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_many_documents",
                    format!(
                        "document: at most {} documents per request",
                        state.config.max_documents
                    ),
                )));
            }
            uploads.push((file_name, bytes));
        } else {
            let value = read_limited(&mut field, 64 * 1024, &name)
                .await
                .map_err(super::page_error)?;
            form.fields
                .push((name, String::from_utf8_lossy(&value).into_owned()));
        }
    }
    if first {
        return Err(super::page_error(crate::session::csrf_refused()));
    }
    let mut checked = Vec::with_capacity(uploads.len());
    for (name, bytes) in uploads {
        match check_document(name.as_deref(), bytes) {
            Ok(u) => checked.push(u),
            Err(e) => {
                let f = ServeFields::from_form(&form);
                return Err(render_status(
                    e.status,
                    &serve_page(state, viewer, f, Some(e)).await,
                ));
            }
        }
    }
    Ok((form, checked))
}

pub async fn serve(
    State(state): State<AppState>,
    viewer: Viewer,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let (form, uploads) = match read_serve_form(&state, &viewer, multipart).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = ServeFields::from_form(&form);
    let result = async {
        let agency_id = viewer.caller.require_serving_officer()?;
        let intake = f.intake()?.validate()?;
        store_submission(&state, &viewer.caller, agency_id, intake, uploads, None).await
    }
    .await;
    match result {
        Ok((record, _)) => {
            let words = if record.emergency {
                format!("Emergency request received as {}. The provider's on-call reviewer has been alerted; keep your supervisor's telephone free.", record.number)
            } else {
                format!(
                    "Received as {}. The provider answers by {}.",
                    record.number,
                    when(record.respond_by)
                )
            };
            viewer.flash(&state, &words).await;
            see_other(&format!("/portal/requests/{}", record.id))
        }
        Err(e) => render_status(e.status, &serve_page(&state, &viewer, f, Some(e)).await),
    }
}

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewFragment {
    problem: Option<String>,
    route: String,
    categories: Vec<(&'static str, &'static str, String)>,
    notice: String,
    due: Option<String>,
    explanation: Vec<String>,
}

fn route_words(r: custodian_core::policy::Route) -> &'static str {
    use custodian_core::policy::Route::*;
    match r {
        Process => "Reviewed and answered per category, as below",
        RedirectMlat => {
            "Redirected: use a treaty request (MLAT) through the US Department of Justice"
        }
        Reject => "Not answered as served",
        ContactOwner => "The provider contacts the owner; nothing is disclosed to you",
        ObjectOverbroad => "Objected to as overbroad: name specific accounts or identifiers",
        PreserveOnly => "Data is preserved; nothing is disclosed",
    }
}

fn notice_words(n: custodian_core::policy::CustomerNotice) -> &'static str {
    use custodian_core::policy::CustomerNotice::*;
    match n {
        BeforeDisclosure => "The customer is told before anything is disclosed",
        AfterNdo => "The customer is told when the non-disclosure order ends",
        DeferredReview => "Notice waits; the order without end date is reviewed yearly",
        WithheldIllegalConduct => "Withheld for indicated illegal conduct",
        AfterEmergency => "The customer is told after the emergency has passed",
        ProhibitedByStatute => "Notice is prohibited by statute",
        NotRequired => "No notice is required",
    }
}

/// The preview's HTML for the values typed so far.
async fn preview_html(state: &AppState, f: &ServeFields) -> String {
    let fragment = match f.intake() {
        Err(e) => PreviewFragment {
            problem: Some(format!("Not yet: {}", e.message)),
            route: String::new(),
            categories: Vec::new(),
            notice: String::new(),
            due: None,
            explanation: Vec::new(),
        },
        Ok(intake) => {
            // A preview is not a submission: it runs on what is there, checked or not.
            let case = PolicyCase::from_request(&NewLegalRequest { intake }, state.clock.now());
            let a = evaluate(&*state.active_policy().await, &case, state.clock.now());
            PreviewFragment {
                problem: None,
                route: route_words(a.route).to_string(),
                categories: a
                    .categories
                    .iter()
                    .map(|(c, d)| (c.as_str(), d.decision.as_str(), d.reason.clone()))
                    .collect(),
                notice: notice_words(a.customer_notice).to_string(),
                due: a.respond_by.map(when),
                explanation: a.explanation,
            }
        }
    };
    fragment.render().unwrap_or_default()
}

/// `POST /portal/preview` (htmx): the policy engine's answer for the form as it stands.
pub async fn preview(State(state): State<AppState>, _viewer: Viewer, form: PostedForm) -> Response {
    let f = ServeFields::from_form(&form);
    Html(preview_html(&state, &f).await).into_response()
}

#[derive(Deserialize)]
pub struct ExplainQuery {
    #[serde(default)]
    process: String,
}

/// `GET /portal/explain?process=...` (htmx): the plain-words explanation of a process.
pub async fn explain(
    State(state): State<AppState>,
    _viewer: Viewer,
    Query(q): Query<ExplainQuery>,
) -> Response {
    match q.process.parse::<LegalProcess>() {
        Ok(p) => {
            let text = explain_process(&*state.active_policy().await, p);
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            Html(escaped).into_response()
        }
        Err(e) => super::page_error(ApiError::new(StatusCode::NOT_FOUND, "not_found", e)),
    }
}
