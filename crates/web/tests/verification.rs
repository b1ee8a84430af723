//! Verification of the requester through HTTP against the real server, on SQLite and
//! PostgreSQL: the four forged-request scenarios of issue 6 end to end (each flagged before any
//! disclosure, and the disclosure refused until its blockers are resolved), the call-back to
//! the directory number, an approver's clearance, suspension, and agencies kept apart.

mod common;

use common::*;
use custodian_core::Role;
use custodian_store::{Actor, NewUser, User};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DIRECTORY_PHONE: &str = "+1 217 555 0100";

/// Serves a demand through the API with one PDF, from `address` (as the provider's proxy
/// reports it in `X-Forwarded-For`).
async fn serve_from(
    s: &Server,
    token: &str,
    request: Value,
    address: Option<&str>,
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .text("request", request.to_string())
        .part(
            "document",
            reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("served.pdf"),
        );
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/requests", s.base))
        .bearer_auth(token)
        .multipart(form);
    if let Some(a) = address {
        req = req.header("x-forwarded-for", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn emergency(targets: &[&str]) -> Value {
    json!({
        "process": "emergency",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": targets.iter().map(|t| json!({"type": "email", "value": t})).collect::<Vec<_>>(),
        "categories": ["subscriber"],
        "emergency": {
            "danger_of_death_or_serious_injury": true,
            "supervisor_name": "Sgt. Okafor",
            "supervisor_phone": "+1 217 555 0199",
            "narrative": "A kidnapping in progress.",
        },
    })
}

fn subpoena(target: &str) -> Value {
    json!({
        "process": "subpoena",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "case_reference": "2026-CR-7",
        "targets": [{"type": "email", "value": target}],
        "categories": ["subscriber"],
    })
}

struct Staff {
    admin: String,
    reviewer: String,
    approver: String,
}

async fn staff_tokens(s: &Server) -> Staff {
    let admin = staff(s, "admin", Role::Admin).await;
    let reviewer = staff(s, "riley", Role::Reviewer).await;
    let approver = staff(s, "alex", Role::Approver).await;
    Staff {
        admin: token_for(&s.store, &admin).await,
        reviewer: token_for(&s.store, &reviewer).await,
        approver: token_for(&s.store, &approver).await,
    }
}

/// The admin records the agency's independent source and directory number.
async fn directory(s: &Server, admin: &str, agency: uuid::Uuid) {
    let (status, body) = api(
        &s.base,
        admin,
        Method::PUT,
        &format!("/api/v1/admin/agencies/{agency}/directory"),
        Some(json!({
            "source": "State directory of police agencies 2026, confirmed with the chief's office",
            "checked_on": "2026-01-15",
            "phone": DIRECTORY_PHONE,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn risk(s: &Server, token: &str, id: &str) -> Value {
    let (status, body) = api(
        &s.base,
        token,
        Method::GET,
        &format!("/api/v1/review/requests/{id}/risk"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn codes(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

async fn assign(s: &Server, reviewer: &str, id: &str) {
    let (status, body) = api(
        &s.base,
        reviewer,
        Method::POST,
        &format!("/api/v1/review/requests/{id}/assign"),
        Some(json!({"assignee": "me"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn decide_disclose(s: &Server, reviewer: &str, id: &str) -> (StatusCode, Value) {
    api(
        &s.base,
        reviewer,
        Method::POST,
        &format!("/api/v1/review/requests/{id}/decide"),
        Some(json!({"categories": {"subscriber": {"decision": "disclose"}}})),
    )
    .await
}

async fn callback(s: &Server, token: &str, id: &str, outcome: &str, number: &str) -> Value {
    let (status, body) = api(
        &s.base,
        token,
        Method::POST,
        &format!("/api/v1/review/requests/{id}/callbacks"),
        Some(json!({
            "outcome": outcome,
            "called_number": number,
            "spoke_with": "Lt. Diaz, watch commander",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn clear(s: &Server, token: &str, id: &str) -> (StatusCode, Value) {
    api(
        &s.base,
        token,
        Method::POST,
        &format!("/api/v1/review/requests/{id}/risk/clearance"),
        Some(json!({"reason": "Confirmed with the watch commander on the directory number."})),
    )
    .await
}

fn refused_for(status: StatusCode, body: &Value, words: &str) {
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "disclosure_blocked", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(words), "{words} not in: {message}");
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_lookalike_domain_is_refused_at_registration_and_blocks_a_request_outright() {
    for s in servers("verification_lookalike").await {
        let t = staff_tokens(&s).await;
        // At registration.
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/registrations", s.base))
            .json(&json!({
                "email": "det.smith@springfie1dpd.gov",
                "name": "Det. Smith",
                "password": PASSWORD,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "lookalike_domain");

        // An account on the lookalike exists anyway (an admin slipped): every request of it is
        // blocked outright.
        let forger = s
            .store
            .create_user(
                &Actor::System("test".into()),
                NewUser {
                    email: "det.smith@springfie1dpd.gov".into(),
                    name: "Det. Smith".into(),
                    role: Role::AgencyOfficer,
                    agency_id: Some(s.agency_a.id),
                    password_hash: None,
                },
            )
            .await
            .unwrap();
        let token = token_for(&s.store, &forger).await;
        let (status, r) = serve_from(&s, &token, subpoena("victim@example.com"), None).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        let id = id_of(&r);
        let risk = risk(&s, &t.reviewer, &id).await;
        assert!(
            codes(&risk, "reasons").contains(&"lookalike_domain".to_string()),
            "{risk}"
        );
        assert_eq!(risk["level"], "high");
        assert_eq!(risk["hard_blocked"], true);
        assert_eq!(codes(&risk, "blockers"), vec!["hard_block"]);
        assert_eq!(risk["disclosure_allowed"], false);

        assign(&s, &t.reviewer, &id).await;
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "lookalike_domain");
        // No approver can clear it.
        let (status, body) = clear(&s, &t.approver, &id).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "hard_block");
        // Withholding everything is still possible.
        let (status, body) = api(
            &s.base,
            &t.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/decide"),
            Some(json!({"categories": {"subscriber": {"decision": "withhold", "reason": "Forged: lookalike domain."}}})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let actions = audit_actions(&s.store).await;
        assert!(actions.contains(&"request.risk_assessed".to_string()));
        let _ = t.admin;
    }
}

#[tokio::test]
async fn a_compromised_account_sending_an_emergency_from_an_unusual_network_waits_for_a_callback_and_an_approver(
) {
    for s in servers("verification_compromised").await {
        let t = staff_tokens(&s).await;
        directory(&s, &t.admin, s.agency_a.id).await;
        let officer = officer(&s, &s.agency_a, "jane.smith").await;
        let token = token_for(&s.store, &officer).await;
        // The real officer, from the station's network.
        let (status, first) = serve_from(
            &s,
            &token,
            subpoena("suspect@example.com"),
            Some("198.51.100.7"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let first_risk = risk(&s, &t.reviewer, &id_of(&first)).await;
        assert!(!codes(&first_risk, "reasons").contains(&"unusual_network".to_string()));
        assert_eq!(first_risk["network"], "198.51.100.0/24");

        // The taken-over account, from the attacker's connection.
        let (status, em) = serve_from(
            &s,
            &token,
            emergency(&["victim@example.com"]),
            Some("203.0.113.9"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{em}");
        let id = id_of(&em);
        let r = risk(&s, &t.reviewer, &id).await;
        assert!(
            codes(&r, "reasons").contains(&"unusual_network".to_string()),
            "{r}"
        );
        assert_eq!(r["level"], "high");
        assert_eq!(r["hard_blocked"], false);
        assert_eq!(r["callback_needed"], true);
        // The task names the directory number, never the request's, and warns of the difference.
        assert_eq!(r["callback_task"]["directory_phone"], "+12175550100");
        let warning = r["callback_task"]["warning"].as_str().unwrap();
        assert!(warning.contains("Do not call it"), "{warning}");
        let blockers = codes(&r, "blockers");
        assert!(blockers.contains(&"no_callback".to_string()), "{r}");
        assert!(
            blockers.contains(&"high_risk_not_cleared".to_string()),
            "{r}"
        );

        // The queue shows the mark.
        let (_, queue) = api(
            &s.base,
            &t.reviewer,
            Method::GET,
            "/api/v1/review/queue",
            None,
        )
        .await;
        let item = queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == em["id"])
            .unwrap()
            .clone();
        assert_eq!(item["risk_level"], "high");

        assign(&s, &t.reviewer, &id).await;
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "No call-back has been recorded");

        // A reviewer cannot clear a high score.
        let (status, body) = clear(&s, &t.reviewer, &id).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        // Calling the number in the request does not count.
        let wrong = callback(&s, &t.reviewer, &id, "confirmed", "+1 217 555 0199").await;
        assert_eq!(wrong["called_directory_number"], false);
        let r = risk(&s, &t.reviewer, &id).await;
        assert!(
            codes(&r, "blockers").contains(&"callback_not_to_directory".to_string()),
            "{r}"
        );

        // The directory number, confirmed: only the high score remains.
        let right = callback(&s, &t.reviewer, &id, "confirmed", "(217) 555-0100").await;
        assert_eq!(right["called_directory_number"], true);
        let r = risk(&s, &t.reviewer, &id).await;
        assert_eq!(codes(&r, "blockers"), vec!["high_risk_not_cleared"], "{r}");
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "an approver must review");

        // The approver clears it: the disclosure may be decided and approved.
        let (status, cleared) = clear(&s, &t.approver, &id).await;
        assert_eq!(status, StatusCode::OK, "{cleared}");
        assert_eq!(cleared["disclosure_allowed"], true, "{cleared}");
        assert!(cleared["clearance"]["reason"]
            .as_str()
            .unwrap()
            .contains("watch commander"));
        let (status, body) = clear(&s, &t.approver, &id).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = api(
            &s.base,
            &t.approver,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/approve"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let actions = audit_actions(&s.store).await;
        for a in [
            "agency.source_recorded",
            "request.callback_recorded",
            "request.risk_cleared",
        ] {
            assert!(actions.contains(&a.to_string()), "{a} not audited");
        }
    }
}

#[tokio::test]
async fn an_emergency_needs_a_confirmed_callback_even_when_the_score_is_cleared() {
    for s in servers("verification_callback").await {
        let t = staff_tokens(&s).await;
        let officer = officer(&s, &s.agency_a, "okafor").await;
        let token = token_for(&s.store, &officer).await;
        let (status, em) = serve_from(&s, &token, emergency(&["victim@example.com"]), None).await;
        assert_eq!(status, StatusCode::CREATED, "{em}");
        let id = id_of(&em);
        // No directory number yet: no call-back can be recorded.
        let r = risk(&s, &t.reviewer, &id).await;
        assert!(r["callback_task"]["problem"]
            .as_str()
            .unwrap()
            .contains("no directory number"));
        let (status, body) = api(
            &s.base,
            &t.reviewer,
            Method::POST,
            &format!("/api/v1/review/requests/{id}/callbacks"),
            Some(json!({"outcome": "confirmed", "called_number": DIRECTORY_PHONE})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "no_directory_phone");

        directory(&s, &t.admin, s.agency_a.id).await;
        assign(&s, &t.reviewer, &id).await;
        if r["level"] == "high" {
            let (status, body) = clear(&s, &t.approver, &id).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let r = risk(&s, &t.reviewer, &id).await;
        assert_eq!(codes(&r, "blockers"), vec!["no_callback"], "{r}");
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "No call-back");
        // No answer is not a confirmation.
        callback(&s, &t.reviewer, &id, "no_answer", DIRECTORY_PHONE).await;
        let r = risk(&s, &t.reviewer, &id).await;
        assert_eq!(codes(&r, "blockers"), vec!["callback_not_confirmed"], "{r}");
        // Confirmed on the directory number: the disclosure goes ahead.
        callback(&s, &t.approver, &id, "confirmed", DIRECTORY_PHONE).await;
        let r = risk(&s, &t.reviewer, &id).await;
        assert_eq!(r["disclosure_allowed"], true, "{r}");
        assert_eq!(r["callbacks"].as_array().unwrap().len(), 2);
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn a_newly_registered_agency_sending_an_emergency_for_many_targets_is_stopped() {
    for s in servers("verification_new_agency").await {
        let t = staff_tokens(&s).await;
        let (status, agency) = api(
            &s.base,
            &t.admin,
            Method::POST,
            "/api/v1/admin/agencies",
            Some(json!({
                "name": "Capital City Police Department",
                "country": "US",
                "kind": "local_police",
                "domains": ["capitalcitypd.gov"],
                "verified": true,
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{agency}");
        let agency_id: uuid::Uuid = agency["id"].as_str().unwrap().parse().unwrap();
        directory(&s, &t.admin, agency_id).await;
        let agency = s.store.get_agency(agency_id).await.unwrap();
        let officer = officer(&s, &agency, "new.officer").await;
        let token = token_for(&s.store, &officer).await;
        let mut demand = emergency(&[
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com",
        ]);
        demand["issuing_authority"] = json!("Capital City Police Department");
        let (status, em) = serve_from(&s, &token, demand, None).await;
        assert_eq!(status, StatusCode::CREATED, "{em}");
        let id = id_of(&em);
        let r = risk(&s, &t.reviewer, &id).await;
        let reasons = codes(&r, "reasons");
        for c in [
            "many_targets",
            "new_agency",
            "new_account",
            "first_emergency",
        ] {
            assert!(reasons.contains(&c.to_string()), "{c} missing: {r}");
        }
        assert_eq!(r["level"], "high");
        assign(&s, &t.reviewer, &id).await;
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "risk score is high");
    }
}

#[tokio::test]
async fn two_agencies_asking_about_the_same_target_within_an_hour_are_both_flagged() {
    for s in servers("verification_same_target").await {
        let t = staff_tokens(&s).await;
        let a = officer(&s, &s.agency_a, "smith").await;
        let b = officer(&s, &s.agency_b, "jones").await;
        let (ta, tb) = (token_for(&s.store, &a).await, token_for(&s.store, &b).await);
        let (_, first) = serve_from(&s, &ta, subpoena("jordan@example.com"), None).await;
        let first_before = risk(&s, &t.reviewer, &id_of(&first)).await;
        assert!(!codes(&first_before, "reasons").contains(&"same_target_other_agencies".into()));
        let (_, second) = serve_from(&s, &tb, subpoena("Jordan@Example.com"), None).await;
        for (req, other) in [(&second, "Springfield"), (&first, "Shelbyville")] {
            let r = risk(&s, &t.reviewer, &id_of(req)).await;
            let reason = r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["code"] == "same_target_other_agencies")
                .unwrap_or_else(|| panic!("not flagged: {r}"));
            assert!(reason["text"].as_str().unwrap().contains(other), "{reason}");
            assert_eq!(r["level"], "high", "{r}");
            assert!(r["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["kind"] == "same_target"));
        }
        let (_, queue) = api(
            &s.base,
            &t.reviewer,
            Method::GET,
            "/api/v1/review/queue",
            None,
        )
        .await;
        let flagged = queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                i["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f == "same_target")
            })
            .count();
        assert_eq!(flagged, 2, "{queue}");
        // Refused until an approver clears it.
        let id = id_of(&second);
        assign(&s, &t.reviewer, &id).await;
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "risk score is high");
        let (status, body) = clear(&s, &t.approver, &id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // An unrelated target raises nothing.
        let (_, third) = serve_from(&s, &tb, subpoena("someone.else@example.com"), None).await;
        let r = risk(&s, &t.reviewer, &id_of(&third)).await;
        assert!(!codes(&r, "reasons").contains(&"same_target_other_agencies".into()));
    }
}

async fn suspend(s: &Server, admin: &str, user: &User, on: bool) -> (StatusCode, Value) {
    api(
        &s.base,
        admin,
        Method::POST,
        &format!(
            "/api/v1/admin/users/{}/{}",
            user.id,
            if on { "suspend" } else { "unsuspend" }
        ),
        Some(json!({"reason": "The account was taken over."})),
    )
    .await
}

#[tokio::test]
async fn suspension_flags_open_requests_and_refuses_new_submissions() {
    for s in servers("verification_suspension").await {
        let t = staff_tokens(&s).await;
        let officer = officer(&s, &s.agency_a, "taken.over").await;
        let token = token_for(&s.store, &officer).await;
        let (_, one) = serve_from(&s, &token, subpoena("x@example.com"), None).await;
        let (_, two) = serve_from(&s, &token, subpoena("y@example.com"), None).await;
        // A reviewer cannot suspend.
        let (status, _) = suspend(&s, &t.reviewer, &officer, true).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = suspend(&s, &t.admin, &officer, true).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["suspended"], true);
        let mut flagged: Vec<&str> = body["flagged"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        flagged.sort();
        let mut expected = vec![one["id"].as_str().unwrap(), two["id"].as_str().unwrap()];
        expected.sort();
        assert_eq!(flagged, expected);
        let (status, _) = suspend(&s, &t.admin, &officer, true).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let r = risk(&s, &t.reviewer, &id_of(&one)).await;
        assert!(codes(&r, "reasons").contains(&"officer_suspended".to_string()));
        assert_eq!(codes(&r, "blockers"), vec!["hard_block"]);
        assert!(r["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "officer_suspended"));
        let (_, queue) = api(
            &s.base,
            &t.reviewer,
            Method::GET,
            "/api/v1/review/queue",
            None,
        )
        .await;
        assert!(queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["id"] == one["id"] || i["id"] == two["id"])
            .all(|i| i["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "officer_suspended")));
        let id = id_of(&one);
        assign(&s, &t.reviewer, &id).await;
        let (status, body) = decide_disclose(&s, &t.reviewer, &id).await;
        refused_for(status, &body, "officer_suspended");

        // The token no longer serves process.
        let (status, body) = serve_from(&s, &token, subpoena("z@example.com"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "officer_suspended");

        // Lifted: audited, flags resolved, the officer serves again.
        let (status, body) = suspend(&s, &t.admin, &officer, false).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["suspended"], false);
        let r = risk(&s, &t.reviewer, &id_of(&two)).await;
        assert!(!r["flags"][0]["resolved_at"].is_null(), "{r}");
        assert!(!codes(&r, "reasons").contains(&"officer_suspended".to_string()));
        let (status, _) = serve_from(&s, &token, subpoena("z@example.com"), None).await;
        assert_eq!(status, StatusCode::CREATED);
        let actions = audit_actions(&s.store).await;
        assert!(actions.contains(&"user.suspended".to_string()));
        assert!(actions.contains(&"user.suspension_lifted".to_string()));
        assert!(actions.contains(&"request.flagged".to_string()));

        // Suspending the agency flags its open requests too.
        let (status, body) = api(
            &s.base,
            &t.admin,
            Method::POST,
            &format!("/api/v1/admin/agencies/{}/suspend", s.agency_a.id),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let r = risk(&s, &t.reviewer, &id_of(&two)).await;
        assert!(r["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "agency_suspended" && f["resolved_at"].is_null()));
        assert!(codes(&r, "reasons").contains(&"agency_suspended".to_string()));
        let (status, _) = api(
            &s.base,
            &t.admin,
            Method::POST,
            &format!("/api/v1/admin/agencies/{}/verify", s.agency_a.id),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let r = risk(&s, &t.reviewer, &id_of(&two)).await;
        assert!(
            r["flags"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| !f["resolved_at"].is_null()),
            "{r}"
        );
    }
}

#[tokio::test]
async fn agencies_see_nothing_of_the_risk() {
    for s in servers("verification_scoped").await {
        let t = staff_tokens(&s).await;
        let a = officer(&s, &s.agency_a, "smith").await;
        let b = officer(&s, &s.agency_b, "jones").await;
        let (ta, tb) = (token_for(&s.store, &a).await, token_for(&s.store, &b).await);
        let (_, r) = serve_from(&s, &ta, emergency(&["victim@example.com"]), None).await;
        let id = id_of(&r);
        for token in [&ta, &tb] {
            for (method, path, input) in [
                (
                    Method::GET,
                    format!("/api/v1/review/requests/{id}/risk"),
                    None,
                ),
                (
                    Method::POST,
                    format!("/api/v1/review/requests/{id}/callbacks"),
                    Some(json!({"outcome": "confirmed", "called_number": DIRECTORY_PHONE})),
                ),
                (
                    Method::POST,
                    format!("/api/v1/review/requests/{id}/risk/clearance"),
                    Some(json!({"reason": "mine"})),
                ),
            ] {
                let (status, body) = api(&s.base, token, method, &path, input).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
                assert!(!body.to_string().contains("\"score\""), "{body}");
            }
        }
        let (status, _) = api(
            &s.base,
            &tb,
            Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, own) = api(
            &s.base,
            &ta,
            Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(own.get("risk").is_none() && !own.to_string().contains("\"score\""));
        let _ = t;
    }
}

#[tokio::test]
async fn the_review_page_shows_the_risk_and_takes_the_callback_and_the_clearance() {
    for s in servers("verification_pages").await {
        let (mut admin, _) = staff_signed_in(&s, "pat", Role::Admin).await;
        let page = admin
            .get(&format!("/admin/agencies/{}", s.agency_a.id))
            .await;
        assert!(page.body.contains("id=\"directory-form\""), "{}", page.body);
        let done = admin
            .post(
                &format!("/admin/agencies/{}/directory", s.agency_a.id),
                &[
                    ("csrf", &page.csrf()),
                    ("source", "State police directory, confirmed by phone"),
                    ("checked_on", "2026-01-15"),
                    ("phone", DIRECTORY_PHONE),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = admin
            .get(&format!("/admin/agencies/{}", s.agency_a.id))
            .await;
        assert!(page
            .body
            .contains("State police directory, confirmed by phone"));

        let officer = officer(&s, &s.agency_a, "okafor").await;
        let token = token_for(&s.store, &officer).await;
        let (_, em) = serve_from(&s, &token, emergency(&["victim@example.com"]), None).await;
        let path = format!("/review/requests/{}", id_of(&em));
        let (mut reviewer, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let page = reviewer.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        for needle in [
            "id=\"risk\"",
            "id=\"risk-score\"",
            "id=\"risk-blockers\"",
            "id=\"callback-number\">+12175550100",
            "id=\"callback-warning\"",
            "id=\"callback-form\"",
            "data-code=\"no_callback\"",
        ] {
            assert!(
                page.body.contains(needle),
                "{needle} missing:\n{}",
                page.body
            );
        }
        assert!(
            !page.body.contains("id=\"clearance-form\""),
            "reviewers do not clear"
        );
        let csrf = page.csrf();
        let done = reviewer
            .post(
                &format!("{path}/callbacks"),
                &[
                    ("csrf", csrf.as_str()),
                    ("outcome", "confirmed"),
                    ("called_number", DIRECTORY_PHONE),
                    ("spoke_with", "Lt. Diaz"),
                    ("notes", ""),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = reviewer.get(&path).await;
        assert!(page.body.contains("id=\"callbacks\""));
        assert!(!page.body.contains("data-code=\"no_callback\""));
        // The queue marks it.
        let queue = reviewer.get("/review").await;
        assert!(queue.body.contains("data-risk=\"high\""), "{}", queue.body);

        let (mut approver, _) = staff_signed_in(&s, "alex", Role::Approver).await;
        let page = approver.get(&path).await;
        assert!(page.body.contains("id=\"clearance-form\""));
        let refused = approver
            .post(
                &format!("{path}/risk/clearance"),
                &[("csrf", &page.csrf()), ("reason", " ")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let done = approver
            .post(
                &format!("{path}/risk/clearance"),
                &[
                    ("csrf", &page.csrf()),
                    ("reason", "Confirmed on the directory number."),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = approver.get(&path).await;
        assert!(page.body.contains("id=\"risk-cleared\""));
        assert!(
            page.body.contains("id=\"risk-blockers-none\""),
            "{}",
            page.body
        );

        // Suspending the officer from the agency page flags the request.
        let page = admin
            .get(&format!("/admin/agencies/{}", s.agency_a.id))
            .await;
        let done = admin
            .post(
                &format!("/admin/users/{}/suspend", officer.id),
                &[
                    ("csrf", &page.csrf()),
                    ("agency", &s.agency_a.id.to_string()),
                    ("reason", "Account taken over"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = admin
            .get(&format!("/admin/agencies/{}", s.agency_a.id))
            .await;
        assert!(page.body.contains("officer-suspended"));
        let queue = reviewer.get("/review").await;
        assert!(queue.body.contains("flag-mark"));
    }
}
