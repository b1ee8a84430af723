//! The pages and the account machinery driven over HTTP like a browser (cookies, forms, CSRF
//! tokens, redirects), against a real server on port 0, on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL.

mod common;

use chrono::Utc;
use common::*;
use custodian_core::{AgencyKind, AgencyStatus, Country, Role};
use custodian_store::*;
use custodian_web::account::totp;
use custodian_web::{auth, AppState, WebConfig};
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn sign_in_needs_the_second_factor_and_codes_work_once() {
    for s in servers("sign_in_needs_the_second_factor").await {
        let user = officer(&s, &s.agency_a, "alvarez").await;
        let mut b = Browser::new(&s.base);
        // Before enrolment nothing but the enrolment page opens.
        let p = b.password(&user.email, PASSWORD).await;
        assert_eq!(p.location.as_deref(), Some("/signin/enrol"));
        assert_eq!(
            b.get("/portal").await.location.as_deref(),
            Some("/signin/enrol")
        );
        let api = b.get("/api/v1/requests").await;
        assert_eq!(
            api.status,
            StatusCode::UNAUTHORIZED,
            "a half-signed-in session is no caller"
        );
        let (secret, codes) = b.enrol(&user.email).await;
        let home = b.get("/portal").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("My requests"));
        // The JSON API answers to the session cookie too.
        let api = b.get("/api/v1/requests").await;
        assert_eq!(api.status, StatusCode::OK, "{}", api.body);

        // Sign out, then in again: the password alone is not enough.
        let csrf = b.session_csrf().await;
        let out = b.post("/signout", &[("csrf", &csrf)]).await;
        assert_eq!(out.location.as_deref(), Some("/signin?done=signed_out"));
        assert_eq!(b.get("/portal").await.location.as_deref(), Some("/signin"));
        let p = b.password(&user.email, PASSWORD).await;
        assert_eq!(p.location.as_deref(), Some("/signin/second-factor"));
        assert_eq!(
            b.get("/portal").await.location.as_deref(),
            Some("/signin/second-factor")
        );
        let form = b.get("/signin/second-factor").await;
        let wrong = b
            .post(
                "/signin/second-factor",
                &[("csrf", &form.csrf()), ("code", "000000")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        // The code of the enrolment's step was used; the next step's is accepted.
        let next = totp::code_at(&secret, Utc::now() + chrono::Duration::seconds(30));
        let ok = b
            .post(
                "/signin/second-factor",
                &[("csrf", &form.csrf()), ("code", &next)],
            )
            .await;
        assert_eq!(ok.location.as_deref(), Some("/portal"), "{}", ok.body);
        assert_eq!(b.get("/portal").await.status, StatusCode::OK);

        // A recovery code signs in once.
        let mut other = Browser::new(&s.base);
        for (attempt, expect) in [(1, StatusCode::SEE_OTHER), (2, StatusCode::UNAUTHORIZED)] {
            if attempt == 2 {
                other = Browser::new(&s.base);
            }
            other.password(&user.email, PASSWORD).await;
            let form = other.get("/signin/second-factor").await;
            let r = other
                .post(
                    "/signin/second-factor",
                    &[("csrf", &form.csrf()), ("code", &codes[0])],
                )
                .await;
            assert_eq!(r.status, expect, "recovery code, attempt {attempt}");
        }

        // Sign out of everything: both browsers lose their sessions.
        let mut other = Browser::new(&s.base);
        other.password(&user.email, PASSWORD).await;
        let form = other.get("/signin/second-factor").await;
        let r = other
            .post(
                "/signin/second-factor",
                &[("csrf", &form.csrf()), ("code", &codes[1])],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let csrf = b.session_csrf().await;
        let all = b
            .post("/account/sign-out-everywhere", &[("csrf", &csrf)])
            .await;
        assert_eq!(all.location.as_deref(), Some("/signin?done=everywhere"));
        assert_eq!(
            other.get("/portal").await.location.as_deref(),
            Some("/signin")
        );

        let actions = audit_actions(&s.store).await;
        for a in [
            "auth.totp_enrolled",
            "auth.signed_in",
            "auth.sign_in_failed",
            "auth.recovery_code_used",
            "auth.signed_out_everywhere",
        ] {
            assert!(actions.iter().any(|x| x == a), "audited: {a}");
        }
        // The audit log names the account by id only.
        for e in s.store.audit_entries(0, 10_000).await.unwrap() {
            let text = serde_json::to_string(&e.entry.details).unwrap();
            assert!(
                !text.contains(&user.email),
                "no e-mail address in {}",
                e.entry.action
            );
        }
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    for s in servers("repeated_wrong_passwords_lock").await {
        let user = officer(&s, &s.agency_a, "chen").await;
        let mut b = Browser::new(&s.base);
        for i in 0..5 {
            let p = b.password(&user.email, "not the password at all").await;
            let expect = if i < 4 {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            assert_eq!(p.status, expect, "attempt {}", i + 1);
        }
        // Locked: even the right password is refused, from any browser.
        let p = Browser::new(&s.base).password(&user.email, PASSWORD).await;
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(p.body.contains("locked until"), "{}", p.body);
        // The lock is in the database: it expires by time, which the store is asked about.
        let key = custodian_web::account::account_key(&user.email);
        let until = s
            .store
            .accounts()
            .locked_until(&key, Utc::now())
            .await
            .unwrap()
            .unwrap();
        assert!(until > Utc::now() + chrono::Duration::minutes(14));
        assert_eq!(
            s.store
                .accounts()
                .locked_until(&key, until + chrono::Duration::seconds(1))
                .await
                .unwrap(),
            None
        );
        // An unknown address is counted the same way (no telling accounts apart).
        let mut c = Browser::new(&s.base);
        for _ in 0..4 {
            assert_eq!(
                c.password("nobody@springfieldpd.gov", "x").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            c.password("nobody@springfieldpd.gov", "x").await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        let actions = audit_actions(&s.store).await;
        assert_eq!(actions.iter().filter(|a| *a == "auth.locked").count(), 2);
    }
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_stores_nothing() {
    for s in servers("a_post_without_the_csrf_token").await {
        // Before sign-in: the sign-in form needs its double-submit token.
        let user = officer(&s, &s.agency_a, "okafor").await;
        let mut anon = Browser::new(&s.base);
        anon.get("/signin").await;
        let p = anon
            .post("/signin", &[("email", &user.email), ("password", PASSWORD)])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        assert!(p.body.contains("csrf"));

        let (mut b, _) = signed_in(&s, &s.agency_a, "patel").await;
        let csrf = b.session_csrf().await;
        let served = b
            .post_multipart(
                "/portal/serve",
                serve_form(&csrf, "subpoena", "suspect@example.com"),
            )
            .await;
        assert_eq!(served.status, StatusCode::SEE_OTHER, "{}", served.body);
        let page_path = served.location.unwrap();
        let id = page_path.rsplit('/').next().unwrap().to_string();

        // A form without the token, one with another session's token, a serve form without it.
        let (mut other, _) = signed_in(&s, &s.agency_a, "schmidt").await;
        let foreign = other.session_csrf().await;
        let before = audit_actions(&s.store).await.len();
        let r = b
            .post(
                &format!("/portal/requests/{id}/messages"),
                &[("body", "hello")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = b
            .post(
                &format!("/portal/requests/{id}/messages"),
                &[("csrf", &foreign), ("body", "hello")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = b
            .post_multipart("/portal/serve", serve_form("", "subpoena", "x@example.com"))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = b
            .post(&format!("/portal/requests/{id}/withdraw"), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // The JSON API with the cookie needs the header.
        let api = b
            .client
            .post(format!("{}/api/v1/requests/{id}/messages", s.base))
            .header(COOKIE, b.cookie_header())
            .json(&json!({"body": "hello"}))
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            audit_actions(&s.store).await.len(),
            before,
            "nothing was stored"
        );
        let api = b
            .client
            .post(format!("{}/api/v1/requests/{id}/messages", s.base))
            .header(COOKIE, b.cookie_header())
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"body": "hello"}))
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::CREATED);
        // With the token the page's form works.
        let r = b
            .post(
                &format!("/portal/requests/{id}/messages"),
                &[("csrf", &csrf), ("body", "and again")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = b.get(&page_path).await;
        assert!(page.body.contains("and again"));
        assert!(
            page.body.contains("Your message was sent"),
            "flash shown once"
        );
        assert!(!b
            .get(&page_path)
            .await
            .body
            .contains("Your message was sent"));
    }
}

#[tokio::test]
async fn another_agencys_request_page_is_not_found_like_a_missing_one() {
    for s in servers("another_agencys_request_page").await {
        let (mut a, _) = signed_in(&s, &s.agency_a, "alvarez").await;
        let (mut b, _) = signed_in(&s, &s.agency_b, "wiggum").await;
        let csrf = b.session_csrf().await;
        let served = b
            .post_multipart(
                "/portal/serve",
                serve_form(&csrf, "subpoena", "someone@example.com"),
            )
            .await;
        let path = served.location.expect("served");
        let id = path.rsplit('/').next().unwrap().to_string();
        assert_eq!(b.get(&path).await.status, StatusCode::OK);

        let foreign = a.get(&path).await;
        let missing = a
            .get(&format!("/portal/requests/{}", uuid::Uuid::new_v4()))
            .await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(
            foreign.body, missing.body,
            "the same page for foreign and missing"
        );
        assert!(!foreign.body.contains("someone@example.com"));
        // Nor can A act on it, nor see it in the API.
        let csrf_a = a.session_csrf().await;
        let r = a
            .post(
                &format!("{path}/messages"),
                &[("csrf", &csrf_a), ("body", "hi")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = a
            .post(
                &format!("{path}/followers"),
                &[("csrf", &csrf_a), ("email", "alvarez@springfieldpd.gov")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            a.get(&format!("/api/v1/requests/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            a.get(&format!("/api/v1/requests/{id}/timeline"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn the_serve_form_receives_like_the_api_and_names_the_bad_field() {
    for s in servers("the_serve_form_receives_like_the_api").await {
        let (mut b, user) = signed_in(&s, &s.agency_a, "alvarez").await;
        let form = b.get("/portal/serve").await;
        assert_eq!(form.status, StatusCode::OK);
        // Every input has a label.
        for id in [
            "process",
            "issuing_authority",
            "issuing_country",
            "case_reference",
            "target_value-0",
            "date_from",
            "ndo_until",
            "document",
        ] {
            assert!(
                form.body.contains(&format!("for=\"{id}\"")),
                "a label for {id}"
            );
        }
        assert!(
            form.body.contains("Who serves it"),
            "the process is explained"
        );
        let csrf = form.csrf();
        // A bad target is named; nothing is stored.
        let bad = b
            .post_multipart(
                "/portal/serve",
                serve_form(&csrf, "subpoena", "not-an-address"),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("targets[0].value"), "{}", bad.body);
        assert!(bad.body.contains("aria-invalid=\"true\""));
        let listed = s
            .store
            .list_requests(
                Scope::Agency(s.agency_a.id),
                &RequestFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 0);
        // A good one is received with its document and shows on the home page.
        let ok = b
            .post_multipart(
                "/portal/serve",
                serve_form(&csrf, "subpoena", "suspect@example.com"),
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let listed = s
            .store
            .list_requests(
                Scope::Agency(s.agency_a.id),
                &RequestFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 1);
        let r = s
            .store
            .get_request(Scope::Provider, listed.items[0].id)
            .await
            .unwrap();
        assert_eq!(r.submitted_by, user.id);
        assert_eq!(r.documents.len(), 1);
        assert_eq!(r.intake.targets.len(), 1, "the blank target row is ignored");
        assert_eq!(r.intake.issuing_country, Country::US);
        let home = b.get("/portal").await;
        assert!(home.body.contains(&r.number));
        let page = b.get(ok.location.as_deref().unwrap()).await;
        assert!(page.body.contains(&format!("Received as {}", r.number)));
        assert!(page.body.contains("subpoena.pdf"));
        // The live preview answers from the policy engine.
        let preview = b
            .post(
                "/portal/preview",
                &[
                    ("csrf", &csrf),
                    ("process", "subpoena"),
                    ("issuing_authority", "x"),
                    ("issuing_country", "US"),
                    ("target_type", "email"),
                    ("target_value", "a@example.com"),
                    ("categories", "content"),
                ],
            )
            .await;
        assert_eq!(preview.status, StatusCode::OK);
        assert!(preview.body.contains("withhold"), "{}", preview.body);
        // The explanation fragment.
        let ex = b.get("/portal/explain?process=search_warrant").await;
        assert!(ex.body.contains("Search warrant"));
        // Withdraw from the page.
        let w = b
            .post(
                &format!("{}/withdraw", ok.location.as_deref().unwrap()),
                &[("csrf", &csrf), ("reason", "case closed")],
            )
            .await;
        assert_eq!(w.status, StatusCode::SEE_OTHER);
        let r = s.store.get_request(Scope::Provider, r.id).await.unwrap();
        assert_eq!(r.status, custodian_core::RequestStatus::Withdrawn);
    }
}

#[tokio::test]
async fn at_most_five_colleagues_of_the_same_agency_follow_a_request() {
    for s in servers("at_most_five_colleagues").await {
        let (mut b, _) = signed_in(&s, &s.agency_a, "alvarez").await;
        let csrf = b.session_csrf().await;
        let path = b
            .post_multipart(
                "/portal/serve",
                serve_form(&csrf, "subpoena", "suspect@example.com"),
            )
            .await
            .location
            .unwrap();
        let id: uuid::Uuid = path.rsplit('/').next().unwrap().parse().unwrap();
        let mut colleagues = Vec::new();
        for i in 0..6 {
            colleagues.push(officer(&s, &s.agency_a, &format!("colleague{i}")).await);
        }
        let outsider = officer(&s, &s.agency_b, "outsider").await;
        for c in &colleagues[..5] {
            let r = b
                .post(
                    &format!("{path}/followers"),
                    &[("csrf", &csrf), ("email", &c.email)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
        let sixth = b
            .post(
                &format!("{path}/followers"),
                &[("csrf", &csrf), ("email", &colleagues[5].email)],
            )
            .await;
        assert_eq!(sixth.status, StatusCode::CONFLICT);
        assert!(sixth.body.contains("at most 5"), "{}", sixth.body);
        assert_eq!(
            s.store
                .accounts()
                .followers(Scope::Provider, id)
                .await
                .unwrap()
                .len(),
            5
        );
        // Another agency's officer cannot follow, even with room.
        let first = &colleagues[0];
        let remove = b
            .post(
                &format!("{path}/followers/{}/remove", first.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(remove.status, StatusCode::SEE_OTHER);
        let r = b
            .post(
                &format!("{path}/followers"),
                &[("csrf", &csrf), ("email", &outsider.email)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A follower sees the request in their own list.
        let mut f = Browser::new(&s.base);
        f.enrol(&colleagues[1].email).await;
        let home = f.get("/portal").await;
        assert!(home.body.contains(&path), "the follower's list has it");
        assert!(home.body.contains("following"));
        // The API's view of the same.
        let api = f.get(&format!("/api/v1/requests/{id}/followers")).await;
        let list: Value = serde_json::from_str(&api.body).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 4);
    }
}

#[tokio::test]
async fn a_lookalike_domain_is_refused_with_a_clear_message_and_flagged() {
    for s in servers("a_lookalike_domain_is_refused").await {
        let mut b = Browser::new(&s.base);
        let form = b.get("/register").await;
        let r = b
            .post(
                "/register",
                &[
                    ("csrf", &form.csrf()),
                    ("email", "chief@springfie1dpd.gov"),
                    ("name", "Chief Impostor"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("imitates"), "{}", r.body);
        assert!(r.body.contains("springfieldpd.gov"));
        let flagged = s
            .store
            .accounts()
            .list_registrations(Some(RegistrationStatus::Lookalike))
            .await
            .unwrap();
        assert_eq!(flagged.len(), 1);
        assert_eq!(
            flagged[0].lookalike_of.as_deref(),
            Some("springfieldpd.gov")
        );
        assert!(audit_actions(&s.store)
            .await
            .iter()
            .any(|a| a == "registration.lookalike_flagged"));
        assert!(s
            .store
            .find_user_by_email("chief@springfie1dpd.gov")
            .await
            .is_err());
        // The same over the API.
        let api = reqwest::Client::new()
            .post(format!("{}/api/v1/registrations", s.base))
            .json(
                &json!({"email": "chief@springfieldpd-gov.com", "name": "X", "password": PASSWORD}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = api.json().await.unwrap();
        assert_eq!(body["error"]["code"], "lookalike_domain");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("email:"));
    }
}

#[tokio::test]
async fn the_token_api_is_unchanged_and_admins_see_registrations() {
    for s in servers("the_token_api_is_unchanged").await {
        let admin = s
            .store
            .create_user(
                &Actor::System("test".into()),
                NewUser {
                    email: "admin@provider.example".into(),
                    name: "Admin".into(),
                    role: Role::Admin,
                    agency_id: None,
                    password_hash: None,
                },
            )
            .await
            .unwrap();
        let token = format!("{}{}", auth::TOKEN_PREFIX, uuid::Uuid::new_v4().simple());
        s.store
            .create_token(
                &Actor::System("test".into()),
                admin.id,
                &auth::token_hash(&token),
                "t",
            )
            .await
            .unwrap();
        let c = reqwest::Client::new();
        let r = c
            .get(format!("{}/api/v1/admin/registrations", s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let officer = officer(&s, &s.agency_a, "x").await;
        let otoken = format!("{}{}", auth::TOKEN_PREFIX, uuid::Uuid::new_v4().simple());
        s.store
            .create_token(
                &Actor::System("test".into()),
                officer.id,
                &auth::token_hash(&otoken),
                "t",
            )
            .await
            .unwrap();
        let r = c
            .get(format!("{}/api/v1/admin/registrations", s.base))
            .bearer_auth(&otoken)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // A bearer token needs no CSRF header: it is not sent by browsers on their own.
        let r = c
            .post(format!("{}/api/v1/policy/check", s.base))
            .bearer_auth(&otoken)
            .json(&json!({"process": "subpoena", "issuing_country": "US", "categories": ["content"], "targets": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // The OpenAPI document lists the new endpoints.
        let doc: Value = c
            .get(format!("{}/api/v1/openapi.json", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for p in [
            "/api/v1/registrations",
            "/api/v1/registrations/verify",
            "/api/v1/admin/registrations/{id}/approve",
            "/api/v1/requests/{id}/followers",
            "/api/v1/requests/{id}/timeline",
            "/api/v1/sessions",
            "/api/v1/sessions/sign-out-everywhere",
        ] {
            assert!(doc["paths"].get(p).is_some(), "OpenAPI has {p}");
        }
        // Static files are versioned and cached for long.
        let page = Browser::new(&s.base).get("/signin").await;
        let css = page
            .body
            .split("href=\"/static/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let r = c
            .get(format!("{}/static/{css}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
    }
}

#[tokio::test]
async fn the_emergency_form_sends_the_attestation() {
    for s in servers("the_emergency_form_sends_the_attestation").await {
        let (mut b, _) = signed_in(&s, &s.agency_a, "okafor").await;
        let form = b.get("/portal/emergency").await;
        assert_eq!(form.status, StatusCode::OK);
        for id in ["supervisor_name", "supervisor_phone", "narrative"] {
            assert!(
                form.body.contains(&format!("for=\"{id}\"")),
                "a label for {id}"
            );
        }
        assert!(form.body.contains("name=\"emergency_form\" value=\"1\""));
        let csrf = form.csrf();
        let post = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("emergency_form", "1")
            .text("danger", "1")
            .text("supervisor_name", "Sgt. Daniel Okafor")
            .text("supervisor_phone", "+1 217 555 0100")
            .text(
                "narrative",
                "A missing child; messages point to a meeting tonight.",
            )
            .text("process", "emergency")
            .text("issuing_authority", "Springfield Police Department")
            .text("issuing_country", "US")
            .text("received_via", "portal")
            .text("target_type", "phone")
            .text("target_value", "+1 555 0100 1234")
            .text("categories", "subscriber")
            .text("ndo", "none")
            .part(
                "document",
                reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("emergency.pdf"),
            );
        let r = b.post_multipart("/portal/serve", post).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id: uuid::Uuid = r
            .location
            .as_deref()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let stored = s.store.get_request(Scope::Provider, id).await.unwrap();
        assert!(stored.emergency);
        let att = stored.intake.emergency.expect("the attestation is stored");
        assert!(att.danger_of_death_or_serious_injury);
        assert!(att.has_supervisor_contact());
        let page = b.get(r.location.as_deref().unwrap()).await;
        assert!(page.body.contains("Emergency request received"));
        assert!(page.body.contains("badge emergency"));
    }
}

/// A server whose clock the test moves, with a job runner that delivers mail to a real SMTP
/// server on loopback.
async fn with_mail(
    store: DynStore,
) -> (
    String,
    std::sync::Arc<ManualClock>,
    custodian_jobs::JobRunner,
    custodian_jobs::testing::SmtpSink,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let sink = custodian_jobs::testing::SmtpSink::start().unwrap();
    let clock = ManualClock::starting_now();
    let mailer = std::sync::Arc::new(custodian_jobs::SmtpMailer::from_url(&sink.url()).unwrap());
    let runner = custodian_jobs::JobRunner::new(store.clone(), clock.clone()).handle(
        custodian_jobs::SendMail::new(
            store.clone(),
            clock.clone(),
            mailer,
            "Custodian <legal@provider.example>",
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let policy = custodian_core::policy::PolicyProfile::builtin("provider-default").unwrap();
    let state = AppState::new(
        store,
        Blobs::local(dir.path().join("objects")),
        WebConfig::default().with_public_url(&base),
        policy,
    )
    .with_clock(clock.clone());
    let app = custodian_web::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, clock, runner, sink, dir)
}

#[tokio::test]
async fn registration_is_verified_by_the_mailed_link_once() {
    for s in servers("registration_is_verified_by_the_mailed_link").await {
        let (base, clock, runner, sink, _dir) = with_mail(s.store.clone()).await;
        let register = |b: &mut Browser, email: &'static str, agency: Option<&'static str>| {
            let mut b2 = Browser::new(&b.base);
            async move {
                let form = b2.get("/register").await;
                let mut fields = vec![
                    ("csrf".to_string(), form.csrf()),
                    ("email".to_string(), email.to_string()),
                    ("name".to_string(), "Det. Maria Alvarez".to_string()),
                    ("password".to_string(), PASSWORD.to_string()),
                ];
                if let Some(a) = agency {
                    fields.push(("agency_name".into(), a.into()));
                    fields.push(("agency_country".into(), "US".into()));
                    fields.push(("agency_kind".into(), "local_police".into()));
                    fields.push(("agency_phone".into(), "+1 217 555 0177".into()));
                }
                let refs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                b2.post("/register", &refs).await
            }
        };
        let mut b = Browser::new(&base);
        let r = register(&mut b, "det.alvarez@springfieldpd.gov", None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert!(r.body.contains("Check your e-mail"));
        assert!(
            s.store
                .find_user_by_email("det.alvarez@springfieldpd.gov")
                .await
                .is_err(),
            "no account before the link"
        );
        // The mail was queued with the registration; the job runner delivers it over SMTP.
        runner.run_due().await.unwrap();
        let mails = sink.wait_for(1, std::time::Duration::from_secs(10));
        let mail = &mails[0];
        assert!(mail.subject().contains("Verify"));
        let link = mail
            .link_containing("/register/verify?token=")
            .expect("a verification link");
        assert!(link.starts_with(&base), "{link}");
        // The link's page asks for a press of the button (a mail scanner's GET uses nothing).
        let path = link.trim_start_matches(&base).to_string();
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(s
            .store
            .find_user_by_email("det.alvarez@springfieldpd.gov")
            .await
            .is_err());
        let token = page.input("token").unwrap();
        let done = b
            .post(
                "/register/verify",
                &[("csrf", &page.csrf()), ("token", &token)],
            )
            .await;
        assert_eq!(
            done.location.as_deref(),
            Some("/signin?done=verified"),
            "{}",
            done.body
        );
        let u = s
            .store
            .find_user_by_email("det.alvarez@springfieldpd.gov")
            .await
            .unwrap();
        assert_eq!(
            u.agency_id,
            Some(s.agency_a.id),
            "attached to the agency of the verified domain"
        );
        assert_eq!(u.role, Role::AgencyOfficer);
        // Once only.
        let again = b
            .post(
                "/register/verify",
                &[("csrf", &page.csrf()), ("token", &token)],
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert!(again.body.contains("invalid_link"));
        // The new officer signs in and enrols.
        Browser::new(&base).enrol(&u.email).await;

        // An unknown domain: verified by its link, then waits for the admin.
        let r = register(
            &mut b,
            "lt.hoover@ogdenvillepd.gov",
            Some("Ogdenville Police Department"),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        runner.run_due().await.unwrap();
        let mail = sink
            .wait_for(2, std::time::Duration::from_secs(10))
            .into_iter()
            .find(|m| {
                m.header("To")
                    .unwrap_or_default()
                    .contains("ogdenvillepd.gov")
            })
            .unwrap();
        let token = mail
            .link_containing("token=")
            .unwrap()
            .rsplit("token=")
            .next()
            .unwrap()
            .to_string();
        let verified = reqwest::Client::new()
            .post(format!("{base}/api/v1/registrations/verify"))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(verified.status(), StatusCode::OK);
        let v: Value = verified.json().await.unwrap();
        assert_eq!(v["status"], "awaiting_approval");
        assert!(s
            .store
            .find_user_by_email("lt.hoover@ogdenvillepd.gov")
            .await
            .is_err());
        let reg = s
            .store
            .accounts()
            .get_registration(v["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap();
        s.store
            .accounts()
            .approve_registration(&Actor::System("test".into()), reg.id, None)
            .await
            .unwrap();
        let u = s
            .store
            .find_user_by_email("lt.hoover@ogdenvillepd.gov")
            .await
            .unwrap();
        let agency = s.store.get_agency(u.agency_id.unwrap()).await.unwrap();
        assert_eq!(agency.name, "Ogdenville Police Department");
        assert_eq!(agency.domains, vec!["ogdenvillepd.gov".to_string()]);

        // A link stops working after 24 hours.
        let r = register(&mut b, "sgt.okafor@springfieldpd.gov", None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        runner.run_due().await.unwrap();
        let mail = sink
            .wait_for(3, std::time::Duration::from_secs(10))
            .into_iter()
            .find(|m| m.header("To").unwrap_or_default().contains("okafor"))
            .unwrap();
        clock.advance(chrono::Duration::hours(25));
        let path = mail
            .link_containing("token=")
            .unwrap()
            .trim_start_matches(&base)
            .to_string();
        let page = b.get(&path).await;
        let late = b
            .post(
                "/register/verify",
                &[
                    ("csrf", &page.csrf()),
                    ("token", &page.input("token").unwrap()),
                ],
            )
            .await;
        assert_eq!(late.status, StatusCode::NOT_FOUND);
        // The audit log has the steps, and never the address.
        let entries = s.store.audit_entries(0, 10_000).await.unwrap();
        for a in [
            "registration.started",
            "registration.email_verified",
            "registration.approved",
            "mail.queued",
        ] {
            assert!(entries.iter().any(|e| e.entry.action == a), "audited: {a}");
        }
        for e in &entries {
            let text = serde_json::to_string(&e.entry.details).unwrap();
            assert!(
                !text.contains("ogdenvillepd.gov") || e.entry.action == "agency.created",
                "no address in {}",
                e.entry.action
            );
            assert!(
                !text.contains("alvarez"),
                "no address in {}",
                e.entry.action
            );
        }
    }
}

#[tokio::test]
async fn an_officer_of_an_unverified_agency_is_told_why_and_cannot_serve() {
    for s in servers("an_officer_of_an_unverified_agency").await {
        let pending = s
            .store
            .create_agency(
                &Actor::System("test".into()),
                NewAgency {
                    name: "Riverside County Sheriff".into(),
                    country: Country::US,
                    kind: AgencyKind::LocalPolice,
                    status: AgencyStatus::Pending,
                    phone: None,
                    domains: vec!["riversidesheriff.gov".into()],
                },
            )
            .await
            .unwrap();
        let (mut b, _) = signed_in(&s, &pending, "nguyen").await;
        let form = b.get("/portal/serve").await;
        assert!(
            form.body.contains("has not been verified yet"),
            "the form says why"
        );
        let r = b
            .post_multipart(
                "/portal/serve",
                serve_form(&form.csrf(), "subpoena", "a@example.com"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            r.body.contains("Please correct this"),
            "the form is shown again with the reason"
        );
        let listed = s
            .store
            .list_requests(
                Scope::Agency(pending.id),
                &RequestFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 0);
    }
}
