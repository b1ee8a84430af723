//! The special routes on the pages: the order's fields and clocks among the facts of the
//! officer's page and the review page, and on the review page the "Order" section with the UK
//! attestation form and the refusal form (a ground of the closed list; the answer in the
//! Regulation's form goes to the agency as a letter).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use custodian_core::routes::{eu_order, EnforcingStateReply, RefusalGround, UsPersonAttestation};
use custodian_core::LegalProcess;
use custodian_store::{RequestRecord, Scope};

use super::review::{after, Failed};
use super::{page_error, when, Viewer};
use crate::api::orders::{
    attest_request, clocks_of, grounds_for, record_reply, refuse_request, EnforcingReply, Refusal,
};
use crate::api::requests::path_id;
use crate::api::review::REVIEWERS;
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review/requests/{id}/attest-us-person", post(attest))
        .route("/review/requests/{id}/refuse-order", post(refuse))
        .route(
            "/review/requests/{id}/enforcing-state",
            post(enforcing_state),
        )
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The order's fields and clocks, as rows of the "What was served" list (both pages).
pub fn order_facts(r: &RequestRecord) -> Vec<(&'static str, String)> {
    let (Some(o), Some(c)) = (&r.intake.order, clocks_of(r)) else {
        return Vec::new();
    };
    let mut f = vec![("Order reference", o.reference.clone())];
    f.push((
        "Issued or validated by",
        o.validating_authority
            .clone()
            .unwrap_or_else(|| "no judge or court named".into()),
    ));
    if r.process == LegalProcess::Epoc {
        f.push((
            "Emergency order",
            if o.emergency {
                "yes: answer within 8 hours".to_string()
            } else {
                "no".to_string()
            },
        ));
    }
    if let Some(d) = c.answer_by {
        f.push(("Legal deadline", when(d)));
    }
    if let (Some(p), Some(e)) = (c.preserve_until, c.preserve_extended_until) {
        f.push((
            "Preserved until",
            format!("{} (with the one 30-day extension: {})", when(p), when(e)),
        ));
    }
    if let Some(n) = &c.enforcing_state {
        f.push((
            "Enforcing state",
            format!("{} ({})", n.enforcing_state.name(), n.enforcing_state),
        ));
        if let Some(resides) = o.person_resides_in_issuing_state {
            f.push((
                "Person resides in the issuing state",
                yes_no(resides).into(),
            ));
        }
        f.push((
            "Notice to the enforcing state",
            if n.required {
                format!(
                    "required (Art. 8); made: {}{}",
                    yes_no(n.notified),
                    n.objection_window_ends
                        .map(|w| format!("; it may raise grounds for refusal until {}", when(w)))
                        .unwrap_or_default()
                )
            } else {
                "not required".to_string()
            },
        ));
    }
    f
}

/// The review page's "Order" section.
pub struct OrderPanel {
    pub uk: bool,
    pub explanation: Vec<String>,
    /// A UK order: attested (and when), or what is missing.
    pub attested: String,
    pub attest_basis: String,
    pub disclosure_blocked: bool,
    pub refusal: Option<(String, String, String)>,
    pub grounds: Vec<(String, String, bool)>,
    pub can_attest: bool,
    pub can_refuse: bool,
    pub attest_failed: bool,
    pub refuse_failed: bool,
    pub failed_details: String,
    /// An EU production order notified to the enforcing state: its reply, once recorded.
    pub notified: bool,
    pub reply: String,
    pub reply_note: String,
    pub can_record_reply: bool,
    pub reply_failed: bool,
}

pub(super) async fn panel(
    state: &AppState,
    viewer: &Viewer,
    r: &RequestRecord,
    failed: &Failed,
) -> Result<Option<OrderPanel>, ApiError> {
    let Some(c) = clocks_of(r) else {
        return Ok(None);
    };
    let reviewer = viewer.caller.require_role(REVIEWERS, "").is_ok();
    let orders = state.store.orders();
    let attestation = orders.attestation(Scope::Provider, r.id).await?;
    let refusal = orders.refusal(Scope::Provider, r.id).await?;
    let reply = orders.enforcing_reply(Scope::Provider, r.id).await?;
    let notified =
        r.process == LegalProcess::Epoc && c.enforcing_state.as_ref().is_some_and(|n| n.required);
    let stopped = eu_order::disclosure_stopped(reply.as_ref().map(|x| x.reply)).is_some();
    let uk = r.process == LegalProcess::CloudActOrder;
    let chosen = failed
        .form
        .iter()
        .find(|(k, _)| k == "ground")
        .map(|(_, v)| v.clone());
    let typed = |name: &str| {
        failed
            .form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Ok(Some(OrderPanel {
        uk,
        explanation: c.explanation,
        attested: match &attestation {
            Some(a) => format!(
                "Attested {}: not a US person, not located in the United States.",
                when(a.attested_at)
            ),
            None => "Not attested: nothing may be disclosed under this order yet.".to_string(),
        },
        attest_basis: attestation
            .as_ref()
            .map(|a| a.attestation.basis.clone())
            .unwrap_or_else(|| typed("basis")),
        disclosure_blocked: stopped || (uk && attestation.is_none()),
        refusal: refusal.map(|f| {
            (
                f.ground.label().to_string(),
                f.ground.basis(r.process).to_string(),
                when(f.refused_at),
            )
        }),
        grounds: grounds_for(r.process)
            .into_iter()
            .map(|g| {
                let selected = chosen.as_deref() == Some(g.ground.as_str());
                (g.ground.as_str().to_string(), g.label, selected)
            })
            .collect(),
        can_attest: reviewer && uk && r.status.is_open(),
        can_refuse: reviewer && r.status.can_become(custodian_core::RequestStatus::Rejected),
        attest_failed: failed.action == "attest",
        refuse_failed: failed.action == "refuse",
        failed_details: if failed.action == "refuse" {
            typed("details")
        } else {
            String::new()
        },
        notified,
        reply: reply
            .as_ref()
            .map(|x| {
                format!(
                    "{}: the enforcing state {}",
                    when(x.recorded_at),
                    x.reply.label()
                )
            })
            .unwrap_or_default(),
        reply_note: match &reply {
            Some(x) => x.note.clone(),
            None if failed.action == "reply" => typed("note"),
            None => String::new(),
        },
        can_record_reply: reviewer && notified && r.status.is_open(),
        reply_failed: failed.action == "reply",
    }))
}

async fn attest(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let attestation = UsPersonAttestation {
        not_us_person: form.get("not_us_person") == Some("yes"),
        not_located_in_us: form.get("not_located_in_us") == Some("yes"),
        basis: form.get("basis").unwrap_or("").to_string(),
    };
    let result = attest_request(&state, &viewer.caller, id, attestation)
        .await
        .map(|_| "Attested. Disclosure under this UK order may now be decided.".to_string());
    let failed = Failed {
        action: "attest",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

async fn refuse(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let ground: RefusalGround = form
            .get("ground")
            .unwrap_or("")
            .parse()
            .map_err(|e: String| custodian_core::FieldError::new("ground", e))?;
        let body = Refusal {
            ground,
            details: form.get("details").unwrap_or("").to_string(),
            data_preserved: form.get("data_preserved") == Some("yes"),
        };
        refuse_request(&state, &viewer.caller, id, body).await?;
        Ok("Refused. The agency has the answer in the Regulation's form.".to_string())
    }
    .await;
    let failed = Failed {
        action: "refuse",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

async fn enforcing_state(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let reply: EnforcingStateReply = form
            .get("reply")
            .unwrap_or("")
            .parse()
            .map_err(|e: String| custodian_core::FieldError::new("reply", e))?;
        let body = EnforcingReply {
            reply,
            note: form.get("note").unwrap_or("").to_string(),
        };
        record_reply(&state, &viewer.caller, id, body).await?;
        Ok("The enforcing state's reply is recorded.".to_string())
    }
    .await;
    let failed = Failed {
        action: "reply",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}
