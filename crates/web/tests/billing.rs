//! Device returns, fraud referrals and reimbursement over HTTP, against a real server on port 0
//! with a demo customer-data store and a real SMTP sink, on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL.

mod common;

use common::custody::{custody_servers, Custodial, JORDAN};
use common::{api, audit_actions, officer, serve_api, staff, token_for};
use custodian_core::{Role, Target, TargetKind};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct People {
    officer_a: String,
    officer_b: String,
    reviewer: String,
    approver: String,
    admin: String,
}

async fn people(c: &Custodial) -> People {
    let s = &c.s;
    let store = &s.store;
    let a = officer(s, &s.agency_a, "det.alvarez").await;
    let b = officer(s, &s.agency_b, "det.wiggum").await;
    let reviewer = staff(s, "riley", Role::Reviewer).await;
    let approver = staff(s, "alex", Role::Approver).await;
    let admin = staff(s, "pat", Role::Admin).await;
    People {
        officer_a: token_for(store, &a).await,
        officer_b: token_for(store, &b).await,
        reviewer: token_for(store, &reviewer).await,
        approver: token_for(store, &approver).await,
        admin: token_for(store, &admin).await,
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

async fn call(
    c: &Custodial,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    api(&c.s.base, token, method, path, body).await
}

/// A serial number of a device registered to the demo account JORDAN.
async fn jordans_serial(c: &Custodial) -> String {
    let source = c.custody.source().unwrap();
    let target = Target::parse(TargetKind::Email, JORDAN).unwrap();
    let account = source.find_accounts(&target).await.unwrap().remove(0);
    let records = source.transactional(&account, None).await.unwrap();
    records
        .devices
        .first()
        .expect("the demo account has a device")
        .serial
        .clone()
}

fn device_return(serial: &str) -> Value {
    json!({
        "process": "device_return",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": [{"type": "device_serial", "value": serial}],
        "device_return": {
            "name": "Det. Ana Alvarez",
            "agency": "Springfield Police Department",
            "phone": "+1 217 555 0142",
            "email": "det.alvarez@springfieldpd.gov",
            "case_reference": "2026-PROP-118",
            "message": "Your tablet was handed in at our front desk; bring photo ID to collect it."
        }
    })
}

/// Every string the demo store holds about JORDAN's account that must never reach an officer.
async fn jordans_identity(c: &Custodial) -> Vec<String> {
    let source = c.custody.source().unwrap();
    let target = Target::parse(TargetKind::Email, JORDAN).unwrap();
    let account = source.find_accounts(&target).await.unwrap().remove(0);
    let sub = source.subscriber(&account).await.unwrap();
    let mut out = vec![sub.email.clone(), sub.name.clone(), account.to_string()];
    out.extend(sub.phone.clone());
    out.extend(sub.addresses.iter().map(|a| a.line1.clone()));
    out
}

#[tokio::test]
async fn a_device_return_mails_the_owner_and_tells_the_officer_nothing_more() {
    for c in custody_servers("device_return_found").await {
        let p = people(&c).await;
        let serial = jordans_serial(&c).await;
        let r = serve_api(&c.s, &p.officer_a, device_return(&serial)).await;
        let id = r["id"].as_str().unwrap().to_string();
        assert_eq!(r["device_return"]["name"], "Det. Ana Alvarez");

        // The officer may not carry it out, and it has not happened yet.
        let path = format!("/api/v1/review/requests/{id}/device-return");
        let (st, _) = call(&c, &p.officer_a, Method::POST, &path, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let outcome = format!("/api/v1/requests/{id}/device-return");
        let (st, body) = call(&c, &p.officer_a, Method::GET, &outcome, None).await;
        assert_eq!(
            (st, code(&body)),
            (StatusCode::NOT_FOUND, "not_carried_out")
        );

        // The reviewer presses the button: straight from received to closed.
        let (st, body) = call(&c, &p.reviewer, Method::POST, &path, None).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["outcome"], "owner_contacted");
        let (st, body) = call(&c, &p.reviewer, Method::POST, &path, None).await;
        assert_eq!(
            (st, code(&body)),
            (StatusCode::CONFLICT, "already_carried_out")
        );
        c.run_jobs().await;

        // The owner's mail carries the officer's contact details and message.
        let mails = c.smtp.to(JORDAN);
        assert_eq!(mails.len(), 1, "one mail to the owner");
        let text = mails[0].text();
        for part in [
            "Det. Ana Alvarez",
            "Springfield Police Department",
            "+1 217 555 0142",
            "det.alvarez@springfieldpd.gov",
            "2026-PROP-118",
            "bring photo ID to collect it",
            &serial,
        ] {
            assert!(text.contains(part), "{part} missing from:\n{text}");
        }

        // The officer learns the outcome and nothing of the owner, anywhere they can look.
        let (st, body) = call(&c, &p.officer_a, Method::GET, &outcome, None).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body["outcome"], "owner_contacted");
        assert!(body["message"].as_str().unwrap().contains("contacted"));
        let mut seen = body.to_string();
        for path in [
            format!("/api/v1/requests/{id}"),
            format!("/api/v1/requests/{id}/letters"),
            format!("/api/v1/requests/{id}/timeline"),
            format!("/api/v1/requests/{id}/decision"),
            "/api/v1/requests".to_string(),
        ] {
            let (_, body) = call(&c, &p.officer_a, Method::GET, &path, None).await;
            seen.push_str(&body.to_string());
        }
        let (_, req) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await;
        assert_eq!(req["status"], "closed");
        let (_, letters) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}/letters"),
            None,
        )
        .await;
        assert_eq!(letters[0]["kind"], "device_return", "{letters}");
        assert!(letters[0]["body"]
            .as_str()
            .unwrap()
            .contains("was contacted"));
        let audit = c.s.store.audit_entries(0, 10_000).await.unwrap();
        let audit_text: String = audit
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}\n",
                    e.entry.action, e.entry.object, e.entry.details
                )
            })
            .collect();
        assert!(audit_text.contains("device_return.owner_contacted"));
        for secret in jordans_identity(&c).await {
            assert!(!seen.contains(&secret), "the officer's view shows {secret}");
            assert!(
                !audit_text.contains(&secret),
                "the audit log names {secret}"
            );
        }
        // The other agency does not even see that it exists.
        let (st, _) = call(&c, &p.officer_b, Method::GET, &outcome, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn an_unknown_device_is_not_known_and_nobody_is_mailed() {
    for c in custody_servers("device_return_not_known").await {
        let p = people(&c).await;
        let r = serve_api(&c.s, &p.officer_a, device_return("ZZ99999999")).await;
        let id = r["id"].as_str().unwrap().to_string();
        // Taken into review first: the path from in_review ends closed too.
        let (st, _) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/assign"),
            Some(json!({"assignee": "me"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/device-return"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["outcome"], "device_not_known");
        c.run_jobs().await;
        assert!(c.smtp.messages().is_empty(), "nobody is mailed");
        let (_, body) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}/device-return"),
            None,
        )
        .await;
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("not known to us"));
        let (_, req) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await;
        assert_eq!(req["status"], "closed");
        assert!(audit_actions(&c.s.store)
            .await
            .contains(&"device_return.device_not_known".to_string()));

        // Intake insists on one serial number and the officer's details.
        let mut bad = device_return("ZZ1");
        bad["targets"] = json!([{"type": "email", "value": JORDAN}]);
        let (st, body) = submit(&c, &p.officer_a, bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("targets"),
            "{body}"
        );
        let mut bad = device_return("ZZ1");
        bad.as_object_mut().unwrap().remove("device_return");
        let (st, body) = submit(&c, &p.officer_a, bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("device_return"),
            "{body}"
        );
        // A subpoena is not a device return.
        let sub = serve_api(
            &c.s,
            &p.officer_a,
            common::custody::demand_on_jordan("subpoena", &["subscriber"]),
        )
        .await;
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!(
                "/api/v1/review/requests/{}/device-return",
                sub["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
        assert_eq!(
            (st, code(&body)),
            (StatusCode::CONFLICT, "not_a_device_return")
        );
    }
}

/// Submits a demand with one PDF; the status and the body.
async fn submit(c: &Custodial, token: &str, request: Value) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .text("request", request.to_string())
        .part(
            "document",
            reqwest::multipart::Part::bytes(common::PDF.to_vec()).file_name("served.pdf"),
        );
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/requests", c.s.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let st = resp.status();
    (st, resp.json().await.unwrap_or(Value::Null))
}

fn fraud_referral() -> Value {
    json!({
        "process": "fraud_referral",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": JORDAN}],
        "categories": ["subscriber", "transactional", "content"],
        "fraud": {
            "fraud_type": "stolen_card",
            "instrument_reference": "VISA-4242",
            "description": "Card reported stolen on the 3rd, used for two orders that evening."
        }
    })
}

#[tokio::test]
async fn a_fraud_referral_is_limited_to_non_content_and_recorded_as_such() {
    for c in custody_servers("fraud_referral").await {
        let p = people(&c).await;
        // A full card number is refused at intake.
        let mut bad = fraud_referral();
        bad["fraud"]["instrument_reference"] = "4111 1111 1111 1111".into();
        let (st, body) = submit(&c, &p.officer_a, bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("fraud.instrument_reference"));

        let r = serve_api(&c.s, &p.officer_a, fraud_referral()).await;
        let id = r["id"].as_str().unwrap().to_string();
        assert_eq!(r["fraud"]["fraud_type"], "stolen_card");
        assert_eq!(
            r["disclosure_route"],
            "fraud_referral_without_legal_process"
        );

        // The policy engine withholds content and limits the rest to the fraud.
        let (st, a) = call(
            &c,
            &p.reviewer,
            Method::GET,
            &format!("/api/v1/requests/{id}/assessment"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_eq!(a["categories"]["content"]["decision"], "withhold");
        assert_eq!(a["categories"]["subscriber"]["decision"], "disclose");
        assert!(a["categories"]["transactional"]["limit"].is_string(), "{a}");

        let assign = format!("/api/v1/review/requests/{id}/assign");
        call(
            &c,
            &p.reviewer,
            Method::POST,
            &assign,
            Some(json!({"assignee": "me"})),
        )
        .await;
        let decide = format!("/api/v1/review/requests/{id}/decide");
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &decide,
            Some(json!({"categories": {
                "subscriber": {"decision": "disclose"},
                "transactional": {"decision": "disclose"},
                "content": {"decision": "disclose"}
            }})),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::UNPROCESSABLE_ENTITY,
            "content is beyond a fraud referral"
        );
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("categories.content"));
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &decide,
            Some(json!({"categories": {
                "subscriber": {"decision": "disclose"},
                "transactional": {"decision": "disclose"},
                "content": {"decision": "withhold", "reason": "A fraud referral never reaches content."}
            }})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["needs_approval"], false);

        // Recorded as a fraud referral without legal process: JSON, audit action, timeline,
        // and counted under its own process in the transparency facts.
        let (_, req) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await;
        assert_eq!(
            req["disclosure_route"],
            "fraud_referral_without_legal_process"
        );
        let actions = audit_actions(&c.s.store).await;
        assert!(
            actions.contains(&"request.decided_fraud_referral_without_legal_process".to_string()),
            "{actions:?}"
        );
        assert!(!actions.contains(&"request.decided".to_string()));
        let (_, timeline) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}/timeline"),
            None,
        )
        .await;
        assert!(
            timeline
                .to_string()
                .contains("fraud referral: disclosure without legal process"),
            "{timeline}"
        );
        let audit = c.s.store.audit_entries(0, 10_000).await.unwrap();
        let counted = audit
            .iter()
            .find(|e| {
                e.entry.action == "report.counted" && e.entry.object == format!("request:{id}")
            })
            .expect("the request is counted");
        assert_eq!(
            counted.entry.details["process"], "fraud_referral",
            "{}",
            counted.entry.details
        );
        let _ = &p.approver;
    }
}

#[tokio::test]
async fn invoices_fees_waivers_hours_and_payments() {
    for c in custody_servers("invoices").await {
        let p = people(&c).await;
        let s = &c.s;

        // The default schedule: 45 USD a subpoena.
        let (st, fees) = call(&c, &p.reviewer, Method::GET, "/api/v1/admin/fees", None).await;
        assert_eq!(st, StatusCode::OK, "{fees}");
        assert_eq!(fees["is_default"], true);
        assert_eq!(fees["fees"]["subpoena"], 4500);
        assert_eq!(fees["currency"], "USD");
        let (st, _) = call(
            &c,
            &p.reviewer,
            Method::PUT,
            "/api/v1/admin/fees",
            Some(json!({
                "currency": "USD", "hourly_rate_minor": 6000, "fees": {"subpoena": 4500}
            })),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "admins set fees");
        let (st, body) = call(
            &c,
            &p.admin,
            Method::PUT,
            "/api/v1/admin/fees",
            Some(json!({
                "currency": "USD", "hourly_rate_minor": -1, "fees": {}
            })),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("hourly_rate_minor"));
        let mut schedule = fees.clone();
        schedule
            .as_object_mut()
            .unwrap()
            .retain(|k, _| ["currency", "hourly_rate_minor", "fees"].contains(&k.as_str()));
        schedule["hourly_rate_minor"] = 6000.into();
        let (st, body) = call(
            &c,
            &p.admin,
            Method::PUT,
            "/api/v1/admin/fees",
            Some(schedule),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["is_default"], false);
        assert_eq!(body["hourly_rate_minor"], 6000);

        // A subpoena, decided: invoiced at 45 USD.
        let sub = serve_api(
            s,
            &p.officer_a,
            common::custody::demand_on_jordan("subpoena", &["subscriber"]),
        )
        .await;
        let id = sub["id"].as_str().unwrap().to_string();
        let issue = format!("/api/v1/review/requests/{id}/invoice");
        let (st, body) = call(&c, &p.reviewer, Method::POST, &issue, None).await;
        assert_eq!((st, code(&body)), (StatusCode::CONFLICT, "not_invoiceable"));
        decide_all(&c, &p, &id, &["subscriber"]).await;
        // Time recorded on an ordinary request is not billed.
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/time"),
            Some(json!({"minutes": 30, "note": "checked the account"})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        let (st, _) = call(
            &c,
            &p.officer_a,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/time"),
            Some(json!({"minutes": 30, "note": "x"})),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, inv) = call(&c, &p.reviewer, Method::POST, &issue, None).await;
        assert_eq!(st, StatusCode::CREATED, "{inv}");
        assert_eq!(inv["fee_minor"], 4500);
        assert_eq!(inv["hours_minor"], 0);
        assert_eq!(inv["amount_due_minor"], 4500);
        assert_eq!(inv["amount_due"], "45.00 USD");
        assert_eq!(inv["status"], "unpaid");
        let number = inv["number"].as_str().unwrap().to_string();
        assert!(
            custodian_core::reimbursement::InvoiceNumber::parse(&number).is_some(),
            "{number}"
        );
        let (st, body) = call(&c, &p.reviewer, Method::POST, &issue, None).await;
        assert_eq!(st, StatusCode::CONFLICT, "{body}");

        // The agency reads it, as JSON and as a real PDF; the other agency gets 404.
        let (st, mine) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}/invoice"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(mine["number"], number.as_str());
        let pdf = reqwest::Client::new()
            .get(format!("{}/api/v1/requests/{id}/invoice.pdf", s.base))
            .bearer_auth(&p.officer_a)
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status(), StatusCode::OK);
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        let bytes = pdf.bytes().await.unwrap();
        assert_pdf(&bytes, &[&number, "45.00 USD", "Subpoena"]);
        for path in [
            format!("/api/v1/requests/{id}/invoice"),
            format!("/api/v1/requests/{id}/invoice.pdf"),
        ] {
            let (st, body) = call(&c, &p.officer_b, Method::GET, &path, None).await;
            assert_eq!(
                (st, code(&body)),
                (StatusCode::NOT_FOUND, "not_found"),
                "{path}"
            );
        }

        // Paid and unpaid.
        let (_, unpaid) = call(
            &c,
            &p.admin,
            Method::GET,
            "/api/v1/admin/invoices?status=unpaid",
            None,
        )
        .await;
        assert!(unpaid
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["number"] == number.as_str()));
        let (st, _) = call(
            &c,
            &p.officer_a,
            Method::GET,
            "/api/v1/admin/invoices",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let inv_id = inv["id"].as_str().unwrap();
        let paid = format!("/api/v1/admin/invoices/{inv_id}/paid");
        let (st, _) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &paid,
            Some(json!({"paid_on": "2026-01-05", "reference": "ACH 991"})),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, body) = call(
            &c,
            &p.admin,
            Method::POST,
            &paid,
            Some(json!({"paid_on": "2026-01-05", "reference": " "})),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (st, body) = call(
            &c,
            &p.admin,
            Method::POST,
            &paid,
            Some(json!({"paid_on": "2026-01-05", "reference": "ACH 991"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "paid");
        assert_eq!(body["paid_on"], "2026-01-05");
        let (st, _) = call(
            &c,
            &p.admin,
            Method::POST,
            &paid,
            Some(json!({"paid_on": "2026-01-05", "reference": "ACH 991"})),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT, "paid twice");
        let (_, unpaid) = call(
            &c,
            &p.admin,
            Method::GET,
            "/api/v1/admin/invoices?status=unpaid",
            None,
        )
        .await;
        assert!(!unpaid
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["number"] == number.as_str()));
        let (st, body) = call(
            &c,
            &p.admin,
            Method::POST,
            &format!("/api/v1/admin/invoices/{inv_id}/unpaid"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "unpaid");
        assert_eq!(body["paid_on"], Value::Null);
        let (_, unpaid) = call(
            &c,
            &p.admin,
            Method::GET,
            "/api/v1/admin/invoices?status=unpaid",
            None,
        )
        .await;
        assert!(unpaid
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["number"] == number.as_str()));

        // A burdensome warrant: the fee plus the hours recorded, at the admin's rate.
        let mut w = common::custody::demand_on_jordan("search_warrant", &["subscriber"]);
        w["case_reference"] = "2026-CR-88".into();
        let w = serve_api(s, &p.officer_a, w).await;
        let wid = w["id"].as_str().unwrap().to_string();
        decide_all(&c, &p, &wid, &["subscriber"]).await;
        for (minutes, note) in [
            (90, "collected five years of orders"),
            (45, "redacted third parties"),
        ] {
            let (st, _) = call(
                &c,
                &p.reviewer,
                Method::POST,
                &format!("/api/v1/review/requests/{wid}/time"),
                Some(json!({"minutes": minutes, "note": note})),
            )
            .await;
            assert_eq!(st, StatusCode::CREATED);
        }
        let mark = format!("/api/v1/review/requests/{wid}/burdensome");
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &mark,
            Some(json!({"burdensome": true})),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reason is needed: {body}"
        );
        let (st, billing) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &mark,
            Some(json!({"burdensome": true, "reason": "five years of records"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{billing}");
        assert_eq!(billing["total_minutes"], 135);
        assert_eq!(billing["preview"]["hours_minor"], 13500);
        let (st, inv) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{wid}/invoice"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{inv}");
        assert_eq!(inv["fee_minor"], 24500);
        assert_eq!(inv["billed_minutes"], 135);
        assert_eq!(inv["hourly_rate_minor"], 6000);
        assert_eq!(inv["hours_minor"], 13500, "2h15 at 60.00");
        assert_eq!(inv["amount_due_minor"], 38000);
        let pdf = reqwest::Client::new()
            .get(format!("{}/api/v1/requests/{wid}/invoice.pdf", s.base))
            .bearer_auth(&p.reviewer)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_pdf(
            &pdf,
            &["2h15 at 60.00 USD per hour", "380.00 USD", "2026-CR-88"],
        );

        // An emergency is waived without asking; child safety when a reviewer says so.
        let mut e = common::custody::demand_on_jordan("emergency", &["subscriber"]);
        e["emergency"] = json!({
            "danger_of_death_or_serious_injury": true,
            "supervisor_name": "Sgt. Okafor",
            "supervisor_phone": "+1 217 555 0100"
        });
        let e = serve_api(s, &p.officer_a, e).await;
        let eid = e["id"].as_str().unwrap().to_string();
        verify_emergency(&c, &p, s.agency_a.id, &eid).await;
        decide_all(&c, &p, &eid, &["subscriber"]).await;
        let (st, inv) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{eid}/invoice"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{inv}");
        assert_eq!(inv["status"], "waived");
        assert_eq!(inv["waiver"], "threat_to_life");
        assert_eq!(inv["amount_due_minor"], 0);
        let (st, body) = call(
            &c,
            &p.admin,
            Method::POST,
            &format!(
                "/api/v1/admin/invoices/{}/paid",
                inv["id"].as_str().unwrap()
            ),
            Some(json!({"paid_on": "2026-01-05", "reference": "x"})),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT, "nothing to pay: {body}");

        // Child safety, recorded after the invoice: the unpaid invoice is waived, with its reason.
        let (st, body) = call(
            &c,
            &p.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/waiver"),
            Some(
                json!({"reason": "child_safety", "note": "the account belongs to a missing child"}),
            ),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["waiver"], "child_safety");
        assert_eq!(body["invoice"]["status"], "waived");
        assert_eq!(
            body["invoice"]["waiver_note"],
            "the account belongs to a missing child"
        );
        let (_, mine) = call(
            &c,
            &p.officer_a,
            Method::GET,
            &format!("/api/v1/requests/{id}/invoice"),
            None,
        )
        .await;
        assert_eq!(mine["status"], "waived");
        assert_eq!(mine["amount_due_minor"], 0);
        assert!(
            mine.get("waiver_note").is_none(),
            "the reviewer's note stays with the provider"
        );

        let actions = audit_actions(&s.store).await;
        for a in [
            "billing.fee_schedule_set",
            "billing.time_logged",
            "billing.burdensome_marked",
            "billing.invoice_issued",
            "billing.invoice_paid",
            "billing.invoice_unpaid",
            "billing.fees_waived",
        ] {
            assert!(actions.contains(&a.to_string()), "{a} not audited");
        }
        let audit = s.store.audit_entries(0, 10_000).await.unwrap();
        let text: String = audit.iter().map(|e| e.entry.details.to_string()).collect();
        assert!(
            !text.contains("missing child"),
            "no typed notes in the audit details"
        );
        assert!(!text.contains("ACH 991"));

        // Every billing endpoint is in the OpenAPI document.
        let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for path in [
            "/api/v1/admin/fees",
            "/api/v1/admin/invoices",
            "/api/v1/admin/invoices/{id}/paid",
            "/api/v1/admin/invoices/{id}/unpaid",
            "/api/v1/review/requests/{id}/time",
            "/api/v1/review/requests/{id}/billing",
            "/api/v1/review/requests/{id}/burdensome",
            "/api/v1/review/requests/{id}/waiver",
            "/api/v1/review/requests/{id}/invoice",
            "/api/v1/requests/{id}/invoice",
            "/api/v1/requests/{id}/invoice.pdf",
            "/api/v1/review/requests/{id}/device-return",
            "/api/v1/requests/{id}/device-return",
        ] {
            assert!(
                doc["paths"].get(path).is_some(),
                "{path} not in the OpenAPI document"
            );
        }
    }
}

/// What an emergency needs before anything is disclosed (docs/verification.md): the agency's
/// number in the directory, a call-back on it that confirmed the request, and an approver's
/// clearance of the (high) risk score a fresh test agency's emergency gets.
async fn verify_emergency(c: &Custodial, p: &People, agency: uuid::Uuid, id: &str) {
    let phone = "+1 217 555 0199";
    let steps = [
        (
            &p.admin,
            Method::PUT,
            format!("/api/v1/admin/agencies/{agency}/directory"),
            json!({"source": "State directory of police agencies", "checked_on": "2026-01-15",
                   "phone": phone}),
        ),
        (
            &p.reviewer,
            Method::POST,
            format!("/api/v1/review/requests/{id}/callbacks"),
            json!({"outcome": "confirmed", "called_number": phone}),
        ),
        (
            &p.approver,
            Method::POST,
            format!("/api/v1/review/requests/{id}/risk/clearance"),
            json!({"reason": "Confirmed with the watch commander on the directory number."}),
        ),
    ];
    for (token, method, path, body) in steps {
        let (st, answer) = call(c, token, method, &path, Some(body)).await;
        assert!(st.is_success(), "{path}: {st} {answer}");
    }
}

/// The reviewer takes the request and discloses `disclose`; an approver approves if needed.
async fn decide_all(c: &Custodial, p: &People, id: &str, disclose: &[&str]) {
    let (st, _) = call(
        c,
        &p.reviewer,
        Method::POST,
        &format!("/api/v1/review/requests/{id}/assign"),
        Some(json!({"assignee": "me"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let categories: serde_json::Map<String, Value> = disclose
        .iter()
        .map(|c| (c.to_string(), json!({"decision": "disclose"})))
        .collect();
    let (st, body) = call(
        c,
        &p.reviewer,
        Method::POST,
        &format!("/api/v1/review/requests/{id}/decide"),
        Some(json!({"categories": categories})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    if body["needs_approval"] == true {
        let (st, body) = call(
            c,
            &p.approver,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/approve"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
}

/// A real PDF, checked as the report's PDFs are: the header, a cross-reference table where
/// `startxref` says, and the expected text in its content stream.
fn assert_pdf(pdf: &[u8], texts: &[&str]) {
    assert!(pdf.starts_with(b"%PDF-1."), "not a PDF");
    let text = String::from_utf8_lossy(pdf);
    let startxref: usize = text
        .rsplit("startxref\n")
        .next()
        .and_then(|t| t.lines().next())
        .and_then(|n| n.parse().ok())
        .expect("a startxref offset");
    assert!(
        pdf[startxref..].starts_with(b"xref"),
        "startxref points at the xref table"
    );
    assert!(text.trim_end().ends_with("%%EOF"));
    for t in texts {
        assert!(text.contains(t), "{t} not in the PDF");
    }
}

#[tokio::test]
async fn the_pages_carry_out_a_device_return_record_time_invoice_and_take_payments() {
    for c in custody_servers("billing_pages").await {
        let p = people(&c).await;
        let s = &c.s;
        let (mut reviewer, _) = common::staff_signed_in(s, "quinn", Role::Reviewer).await;
        let (mut admin, _) = common::staff_signed_in(s, "morgan", Role::Admin).await;
        let (mut portal, officer_user) = common::signed_in(s, &s.agency_a, "det.page").await;
        let officer = token_for(&s.store, &officer_user).await;

        // The device return, from the review page's button.
        let serial = jordans_serial(&c).await;
        let dr = serve_api(s, &officer, device_return(&serial)).await;
        let id = dr["id"].as_str().unwrap();
        let page = reviewer.get(&format!("/review/requests/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"contact-owner\""), "{}", page.body);
        assert!(page.body.contains("Det. Ana Alvarez"));
        let done = reviewer
            .post(
                &format!("/review/requests/{id}/device-return"),
                &[("csrf", &page.csrf())],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let page = reviewer.get(&format!("/review/requests/{id}")).await;
        assert!(page.body.contains("id=\"device-return-outcome\""));
        assert!(!page.body.contains("id=\"contact-owner\""), "done once");
        let mine = portal.get(&format!("/portal/requests/{id}")).await;
        assert_eq!(mine.status, StatusCode::OK);
        assert!(mine.body.contains("The owner of the device was contacted"));
        for secret in jordans_identity(&c).await {
            assert!(
                !mine.body.contains(&secret),
                "the portal page shows {secret}"
            );
        }

        // A subpoena: time recorded and marked burdensome through the forms, then invoiced.
        let sub = serve_api(
            s,
            &officer,
            common::custody::demand_on_jordan("subpoena", &["subscriber"]),
        )
        .await;
        let sid = sub["id"].as_str().unwrap();
        decide_all(&c, &p, sid, &["subscriber"]).await;
        let review = format!("/review/requests/{sid}");
        let page = reviewer.get(&review).await;
        assert!(page.body.contains("id=\"costs\""));
        assert!(page.body.contains("45.00 USD"), "the preview shows the fee");
        let csrf = page.csrf();
        let bad = reviewer
            .post(
                &format!("{review}/time"),
                &[("csrf", &csrf), ("minutes", "0"), ("note", "x")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("minutes"));
        let ok = reviewer
            .post(
                &format!("{review}/time"),
                &[
                    ("csrf", &csrf),
                    ("minutes", "90"),
                    ("note", "collected the orders"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        let ok = reviewer
            .post(
                &format!("{review}/burdensome"),
                &[
                    ("csrf", &csrf),
                    ("burdensome", "yes"),
                    ("reason", "four accounts"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        let page = reviewer.get(&review).await;
        assert_eq!(page.by_id("total-time").as_deref(), Some("1h30"));
        assert!(
            page.body.contains("157.50 USD"),
            "45.00 + 1h30 at 75.00: {}",
            page.body
        );
        let ok = reviewer
            .post(&format!("{review}/invoice"), &[("csrf", &csrf)])
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        let page = reviewer.get(&review).await;
        assert!(page.body.contains("INV-"), "{}", page.body);
        assert!(!page.body.contains("id=\"issue-invoice\""));
        let mine = portal.get(&format!("/portal/requests/{sid}")).await;
        assert_eq!(mine.by_id("invoice-due").as_deref(), Some("157.50 USD"));
        assert!(mine
            .body
            .contains(&format!("/api/v1/requests/{sid}/invoice.pdf")));
        let pdf = reqwest::Client::new()
            .get(format!("{}/api/v1/requests/{sid}/invoice.pdf", s.base))
            .header(reqwest::header::COOKIE, portal.cookie_header())
            .send()
            .await
            .unwrap();
        assert_eq!(
            pdf.status(),
            StatusCode::OK,
            "the portal's link works with the session"
        );
        assert_pdf(&pdf.bytes().await.unwrap(), &["157.50 USD"]);

        // The fee schedule page.
        let fees = admin.get("/admin/fees").await;
        assert_eq!(fees.status, StatusCode::OK);
        assert!(fees.body.contains("id=\"default-schedule\""));
        assert_eq!(fees.input("fee_subpoena").as_deref(), Some("45.00"));
        let csrf = fees.csrf();
        let mut form: Vec<(String, String)> = custodian_core::LegalProcess::ALL
            .iter()
            .map(|p| {
                (
                    format!("fee_{p}"),
                    fees.input(&format!("fee_{p}")).unwrap_or_default(),
                )
            })
            .collect();
        form.push(("csrf".into(), csrf.clone()));
        form.push(("currency".into(), "USD".into()));
        form.push(("hourly".into(), "abc".into()));
        let borrowed: Vec<(&str, &str)> =
            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let bad = admin.post("/admin/fees", &borrowed).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("hourly"));
        for (k, v) in form.iter_mut() {
            if k == "hourly" {
                *v = "80".into();
            }
            if k == "fee_subpoena" {
                *v = "50".into();
            }
        }
        let borrowed: Vec<(&str, &str)> =
            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let ok = admin.post("/admin/fees", &borrowed).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let fees = admin.get("/admin/fees").await;
        assert!(!fees.body.contains("id=\"default-schedule\""));
        assert_eq!(fees.input("fee_subpoena").as_deref(), Some("50.00"));
        assert_eq!(fees.input("hourly").as_deref(), Some("80.00"));
        assert_eq!(fees.input("fee_search_warrant").as_deref(), Some("245.00"));

        // The invoices page: the unpaid one, marked paid there.
        let (_, inv) = call(
            &c,
            &p.reviewer,
            Method::GET,
            &format!("/api/v1/requests/{sid}/invoice"),
            None,
        )
        .await;
        let number = inv["number"].as_str().unwrap();
        let list = admin.get("/admin/invoices?status=unpaid").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains(number));
        let paid = admin
            .post(
                &format!("/admin/invoices/{}/paid", inv["id"].as_str().unwrap()),
                &[
                    ("csrf", &list.csrf()),
                    ("paid_on", "2026-01-02"),
                    ("reference", "CHK 12"),
                ],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER);
        let list = admin.get("/admin/invoices?status=paid").await;
        assert!(list.body.contains(number) && list.body.contains("CHK 12"));
        let list = admin.get("/admin/invoices?status=unpaid").await;
        assert!(!list.body.contains(number));
        assert_eq!(
            reviewer.get("/admin/invoices").await.status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn the_portal_serves_a_device_return_and_a_fraud_referral() {
    for c in custody_servers("billing_portal_serve").await {
        let s = &c.s;
        let (mut portal, _) = common::signed_in(s, &s.agency_a, "det.form").await;
        let form = |csrf: &str, process: &str, phone: &str| {
            let f = reqwest::multipart::Form::new()
                .text("csrf", csrf.to_string())
                .text("process", process.to_string())
                .text("issuing_authority", "Springfield Police Department")
                .text("issuing_country", "us")
                .text("received_via", "portal")
                .text("ndo", "none")
                .part(
                    "document",
                    reqwest::multipart::Part::bytes(common::PDF.to_vec()).file_name("form.pdf"),
                );
            if process == "device_return" {
                f.text("target_type", "device_serial")
                    .text("target_value", "fx00000001")
                    .text("dr_name", "Det. Form")
                    .text("dr_agency", "Springfield Police Department")
                    .text("dr_phone", phone.to_string())
                    .text("dr_email", "det.form@springfieldpd.gov")
                    .text("dr_case_reference", "FOUND-7")
                    .text("dr_message", "Your phone is at our front desk.")
            } else {
                f.text("target_type", "order_id")
                    .text("target_value", "112-0000001-0000002")
                    .text("categories", "subscriber")
                    .text("categories", "transactional")
                    .text("fraud_type", "card_not_present")
                    .text("fraud_instrument", "MC-5454")
            }
        };
        let csrf = portal.get("/portal/serve").await.csrf();
        let bad = portal
            .post_multipart("/portal/serve", form(&csrf, "device_return", ""))
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("device_return.phone"), "{}", bad.body);
        assert!(
            bad.body.contains("value=\"Det. Form\""),
            "what was typed is kept"
        );
        let ok = portal
            .post_multipart(
                "/portal/serve",
                form(&csrf, "device_return", "+1 217 555 0199"),
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let page = portal.get(ok.location.as_deref().unwrap()).await;
        assert!(page.body.contains("Your phone is at our front desk."));
        let ok = portal
            .post_multipart("/portal/serve", form(&csrf, "fraud_referral", ""))
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let page = portal.get(ok.location.as_deref().unwrap()).await;
        assert!(page.body.contains("card not present"));
        assert!(page.body.contains("without legal process"));
    }
}
