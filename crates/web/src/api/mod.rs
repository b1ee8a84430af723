//! The JSON API under `/api/v1`, grouped by resource.

pub mod accounts;
pub mod admin;
pub mod billing;
pub mod custody;
pub mod device_return;
pub mod emergency;
pub mod followers;
pub mod orders;
pub mod outbox;
pub mod policy;
pub mod requests;
pub mod review;
pub mod verification;

use axum::routing::{delete, get, post};
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Custodian API",
        description = "Serve legal process on the provider, follow it, and exchange messages with \
                       its legal team. Every call needs a bearer token issued by the provider's \
                       admin, or a signed-in browser session (whose unsafe calls carry the \
                       X-CSRF-Token header); an agency sees only its own requests.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        requests::submit,
        requests::list,
        requests::show,
        requests::document,
        requests::post_message,
        requests::list_messages,
        requests::withdraw,
        policy::assessment,
        policy::check,
        policy::explain_process,
        review::queue,
        review::assign,
        review::clarify,
        review::object,
        review::narrow,
        review::reject,
        review::redirect,
        review::decide,
        review::approve,
        review::show_decision,
        review::list_letters,
        orders::show,
        orders::attest,
        orders::refuse,
        orders::enforcing_state,
        followers::list,
        followers::add,
        followers::remove,
        followers::timeline,
        accounts::create,
        accounts::verify,
        accounts::list,
        accounts::approve,
        accounts::refuse,
        accounts::sessions,
        accounts::sign_out_everywhere,
        outbox::list,
        outbox::show,
        outbox::resend,
        outbox::jobs,
        custody::preserve,
        custody::request_holds,
        custody::list_holds,
        custody::show_hold,
        custody::renew_hold,
        custody::release_hold,
        custody::produce,
        custody::productions,
        custody::renew_link,
        custody::agency_production,
        custody::download,
        custody::notice,
        custody::review_order,
        custody::send_notice,
        custody::public_notice,
        custody::get_age_recipient,
        custody::set_age_recipient,
        admin::list_agencies,
        admin::create_agency,
        admin::show_agency,
        admin::edit_agency,
        admin::verify_agency,
        admin::suspend_agency,
        admin::add_domain,
        admin::remove_domain,
        admin::list_users,
        admin::create_user,
        admin::edit_user,
        admin::list_calendars,
        admin::create_calendar,
        admin::show_calendar,
        admin::add_holiday,
        admin::remove_holiday,
        admin::show_policy,
        admin::set_policy,
        emergency::submit,
        emergency::show,
        emergency::acknowledge,
        emergency::show_on_call,
        emergency::set_on_call,
        emergency::set_settings,
        verification::show_risk,
        verification::record_callback,
        verification::clear_risk,
        verification::show_directory,
        verification::set_directory,
        verification::show_officer,
        verification::suspend_officer,
        verification::unsuspend_officer,
        device_return::contact_owner,
        device_return::show,
        billing::show_fees,
        billing::set_fees,
        billing::log_time,
        billing::show_billing,
        billing::burdensome,
        billing::waiver,
        billing::issue_invoice,
        billing::show_invoice,
        billing::invoice_pdf,
        billing::list_invoices,
        billing::mark_paid,
        billing::mark_unpaid,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "requests", description = "Legal requests served by an agency"),
        (name = "policy", description = "What the provider's policy engine says about a demand"),
        (name = "review", description = "The provider's legal team works the queue"),
        (name = "accounts", description = "Registration of officers, approval, browser sessions"),
        (name = "admin", description = "Administration: agencies, users and roles, holiday calendars, the policy profile, the mail outbox and background jobs"),
        (name = "custody", description = "Legal holds, productions and customer notice")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/requests", post(requests::submit).get(requests::list))
        .route("/requests/{id}", get(requests::show))
        .route("/requests/{id}/documents/{doc_id}", get(requests::document))
        .route(
            "/requests/{id}/messages",
            post(requests::post_message).get(requests::list_messages),
        )
        .route("/requests/{id}/withdraw", post(requests::withdraw))
        .route("/requests/{id}/assessment", get(policy::assessment))
        .route("/requests/{id}/decision", get(review::show_decision))
        .route("/requests/{id}/letters", get(review::list_letters))
        .route("/review/queue", get(review::queue))
        .route("/review/requests/{id}/assign", post(review::assign))
        .route("/review/requests/{id}/clarify", post(review::clarify))
        .route("/review/requests/{id}/object", post(review::object))
        .route("/review/requests/{id}/narrow", post(review::narrow))
        .route("/review/requests/{id}/reject", post(review::reject))
        .route("/review/requests/{id}/redirect", post(review::redirect))
        .route("/review/requests/{id}/decide", post(review::decide))
        .route("/review/requests/{id}/approve", post(review::approve))
        .route("/requests/{id}/order", get(orders::show))
        .route(
            "/review/requests/{id}/attest-us-person",
            post(orders::attest),
        )
        .route("/review/requests/{id}/refuse-order", post(orders::refuse))
        .route(
            "/review/requests/{id}/enforcing-state",
            post(orders::enforcing_state),
        )
        .route(
            "/requests/{id}/followers",
            get(followers::list).post(followers::add),
        )
        .route(
            "/requests/{id}/followers/{user_id}",
            delete(followers::remove),
        )
        .route("/requests/{id}/timeline", get(followers::timeline))
        .route("/registrations", post(accounts::create))
        .route("/registrations/verify", post(accounts::verify))
        .route("/admin/registrations", get(accounts::list))
        .route("/admin/registrations/{id}/approve", post(accounts::approve))
        .route("/admin/registrations/{id}/refuse", post(accounts::refuse))
        .route("/sessions", get(accounts::sessions))
        .route(
            "/sessions/sign-out-everywhere",
            post(accounts::sign_out_everywhere),
        )
        .route("/admin/outbox", get(outbox::list))
        .route("/admin/outbox/{id}", get(outbox::show))
        .route("/admin/outbox/{id}/resend", post(outbox::resend))
        .route("/admin/jobs", get(outbox::jobs))
        .route("/policy/check", post(policy::check))
        .merge(custody_routes())
        .route("/policy/explain/{process}", get(policy::explain_process))
        .merge(admin::routes())
        .merge(emergency::routes())
        .merge(verification::routes())
        .merge(billing::routes())
}

/// Holds, productions and customer notice (`custody.rs`).
fn custody_routes() -> Router<AppState> {
    Router::new()
        .route("/custody/requests/{id}/preserve", post(custody::preserve))
        .route("/custody/requests/{id}/holds", get(custody::request_holds))
        .route("/custody/holds", get(custody::list_holds))
        .route("/custody/holds/{id}", get(custody::show_hold))
        .route("/custody/holds/{id}/renew", post(custody::renew_hold))
        .route("/custody/holds/{id}/release", post(custody::release_hold))
        .route("/custody/requests/{id}/produce", post(custody::produce))
        .route(
            "/custody/requests/{id}/productions",
            get(custody::productions),
        )
        .route("/custody/productions/{id}/link", post(custody::renew_link))
        .route("/custody/requests/{id}/notice", get(custody::notice))
        .route(
            "/custody/requests/{id}/notice/order",
            post(custody::review_order),
        )
        .route(
            "/custody/requests/{id}/notice/send",
            post(custody::send_notice),
        )
        .route("/requests/{id}/production", get(custody::agency_production))
        .route("/requests/{id}/production/download", get(custody::download))
        .route("/notices/{token}", get(custody::public_notice))
        .route(
            "/agencies/{id}/age-recipient",
            get(custody::get_age_recipient).put(custody::set_age_recipient),
        )
}
