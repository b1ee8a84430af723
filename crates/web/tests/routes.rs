//! The special routes over HTTP against a real server on port 0, on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL: a direct foreign demand redirected with the
//! MLAT letter and counted; a treaty request counted under the requesting state; EU production
//! and preservation orders (intake errors naming the field, the 8-hour clock, the enforcing
//! state's window, the 60 + 30 day hold, a refusal answered in EPOC-FORM 3); a UK order whose
//! disclosure waits for the reviewer's US-person attestation.

mod common;

use chrono::{Datelike, Utc};
use common::custody::{custody_servers, demand_on_jordan, Custodial, JORDAN};
use common::{api, officer, signed_in, staff, staff_signed_in, token_for, PDF};
use custodian_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Route {
    c: Custodial,
    officer: String,
    other_officer: String,
    reviewer: String,
    approver: String,
    admin: String,
}

async fn servers(test: &str) -> Vec<Route> {
    let mut out = Vec::new();
    for c in custody_servers(test).await {
        let a = c.s.agency_a.clone();
        let b = c.s.agency_b.clone();
        let o = officer(&c.s, &a, "det.alvarez").await;
        let ob = officer(&c.s, &b, "det.wiggum").await;
        let r = staff(&c.s, "riley", Role::Reviewer).await;
        let ap = staff(&c.s, "alex", Role::Approver).await;
        let ad = staff(&c.s, "quinn.admin", Role::Admin).await;
        out.push(Route {
            officer: token_for(&c.s.store, &o).await,
            other_officer: token_for(&c.s.store, &ob).await,
            reviewer: token_for(&c.s.store, &r).await,
            approver: token_for(&c.s.store, &ap).await,
            admin: token_for(&c.s.store, &ad).await,
            c,
        });
    }
    out
}

impl Route {
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        api(&self.c.s.base, token, method, path, body).await
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(token, Method::POST, path, Some(body)).await
    }

    /// What an emergency needs before anything is disclosed (docs/verification.md): the
    /// agency's number in the directory, a confirming call-back on it, and an approver's
    /// clearance of the high score a fresh test agency's emergency gets.
    async fn verify_requester(&self, id: &str) {
        let phone = "+1 217 555 0199";
        let agency = self.c.s.agency_a.id;
        let steps = [
            (
                &self.admin,
                Method::PUT,
                format!("/api/v1/admin/agencies/{agency}/directory"),
                json!({"source": "State directory of police agencies", "checked_on": "2026-01-15",
                       "phone": phone}),
            ),
            (
                &self.reviewer,
                Method::POST,
                format!("/api/v1/review/requests/{id}/callbacks"),
                json!({"outcome": "confirmed", "called_number": phone}),
            ),
            (
                &self.approver,
                Method::POST,
                format!("/api/v1/review/requests/{id}/risk/clearance"),
                json!({"reason": "Confirmed with the issuing authority on the directory number."}),
            ),
        ];
        for (token, method, path, body) in steps {
            let (st, answer) = self.call(token, method, &path, Some(body)).await;
            assert!(st.is_success(), "{path}: {st} {answer}");
        }
    }

    /// Serves `request` through the API as the first agency's officer.
    async fn submit(&self, request: &Value) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .text("request", request.to_string())
            .part(
                "document",
                reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("order.pdf"),
            );
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/requests", self.c.s.base))
            .bearer_auth(&self.officer)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn served(&self, request: &Value) -> Value {
        let (st, body) = self.submit(request).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        body
    }

    async fn take(&self, id: &str) {
        let (st, body) = self
            .post(
                &self.reviewer,
                &format!("/api/v1/review/requests/{id}/assign"),
                json!({"assignee": "me"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }

    /// This half-year's transparency report, as the public reads it.
    async fn report(&self) -> Value {
        let now = Utc::now();
        let period = format!("{}-H{}", now.year(), if now.month() <= 6 { 1 } else { 2 });
        let resp = reqwest::get(format!("{}/transparency/{period}.json", self.c.s.base))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }
}

fn row<'a>(report: &'a Value, table: &str, key: &str, value: &str) -> Option<&'a Value> {
    report[table]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

fn epoc(categories: &[&str]) -> Value {
    let mut d = demand_on_jordan("epoc", categories);
    d["issuing_authority"] = json!("Staatsanwaltschaft Berlin");
    d["issuing_country"] = json!("DE");
    d["received_via"] = json!("e_evidence");
    d["order"] = json!({
        "reference": "EPOC-DE-2026-0042",
        "validating_authority": "Amtsgericht Tiergarten",
        "enforcing_state": "IE",
        "person_resides_in_issuing_state": false,
        "enforcing_state_notified": true
    });
    d
}

fn uk_order() -> Value {
    let mut d = demand_on_jordan("cloud_act_order", &["subscriber", "content"]);
    d["issuing_authority"] = json!("Metropolitan Police Service");
    d["issuing_country"] = json!("GB");
    d["order"] = json!({
        "reference": "MPS/PO/2026/0311",
        "validating_authority": "Westminster Magistrates' Court"
    });
    d
}

#[tokio::test]
async fn a_direct_foreign_demand_is_redirected_and_counted_without_data() {
    for s in servers("routes_foreign_direct").await {
        let mut d = demand_on_jordan("foreign_direct", &["subscriber", "content"]);
        d["issuing_authority"] = json!("Polícia Federal, Brasília");
        d["issuing_country"] = json!("BR");
        let created = s.served(&d).await;
        let id = created["id"].as_str().unwrap();

        // The engine recommends the redirect; the reviewer confirms it.
        let (st, a) = s
            .get(&s.reviewer, &format!("/api/v1/requests/{id}/assessment"))
            .await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_eq!(a["route"], "redirect_mlat");
        let (st, letter) = s
            .post(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/redirect"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{letter}");

        // The agency reads the letter, with the Office of International Affairs' contact.
        let (_, shown) = s.get(&s.officer, &format!("/api/v1/requests/{id}")).await;
        assert_eq!(shown["status"], "redirected");
        let (st, letters) = s
            .get(&s.officer, &format!("/api/v1/requests/{id}/letters"))
            .await;
        assert_eq!(st, StatusCode::OK);
        let body = letters[0]["body"].as_str().unwrap();
        assert_eq!(letters[0]["kind"], "redirect");
        assert!(body.contains("Office of International Affairs"), "{body}");
        assert!(body.contains("1301 New York Avenue NW"), "{body}");
        assert!(body.contains("letters rogatory"), "{body}");
        let (st, _) = s
            .get(&s.other_officer, &format!("/api/v1/requests/{id}/letters"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Counted under Brazil: received, no data; by process: no response.
        let report = s.report().await;
        let br = row(&report, "by_country", "country", "BR").expect("a row for Brazil");
        assert_eq!(br["received"], 1, "{br}");
        assert_eq!(br["no_data"], 1, "{br}");
        assert_eq!(br["content"], 0);
        assert_eq!(br["non_content"], 0);
        let fd = row(&report, "by_process", "process", "foreign_direct").unwrap();
        assert_eq!(fd["received"], 1);
        assert_eq!(fd["none"], 1, "{fd}");
        assert!(row(&report, "by_country", "country", "US").is_none());

        // A US subpoena is never redirected abroad.
        let us = s
            .served(&demand_on_jordan("subpoena", &["subscriber"]))
            .await;
        let (st, err) = s
            .post(
                &s.reviewer,
                &format!(
                    "/api/v1/review/requests/{}/redirect",
                    us["id"].as_str().unwrap()
                ),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{err}");
        assert_eq!(err["error"]["code"], "not_foreign");
    }
}

#[tokio::test]
async fn a_treaty_request_is_decided_as_us_process_and_counted_under_the_requesting_state() {
    for s in servers("routes_treaty").await {
        let mut d = demand_on_jordan("search_warrant", &["subscriber", "content"]);
        d["issuing_authority"] = json!("US District Court for the District of Columbia");
        d["received_via"] = json!("mlat_doj");
        d["requesting_country"] = json!("FR");
        let id = s.served(&d).await["id"].as_str().unwrap().to_string();
        let (_, a) = s
            .get(&s.reviewer, &format!("/api/v1/requests/{id}/assessment"))
            .await;
        assert_eq!(a["route"], "process", "{a}");
        assert_eq!(a["counted_under"], "FR", "{a}");
        assert_eq!(a["categories"]["content"]["decision"], "disclose", "{a}");

        // A treaty request is US process: not a foreign instrument, not the US asking itself.
        let mut bad = d.clone();
        bad["requesting_country"] = json!("US");
        let (st, err) = s.submit(&bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&err).starts_with("requesting_country:"), "{err}");
        let mut bad = d.clone();
        bad["process"] = json!("foreign_direct");
        let (st, err) = s.submit(&bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&err).starts_with("process:"), "{err}");

        // Decided and approved: content disclosed, counted under France, not the US.
        s.take(&id).await;
        let (st, dec) = s
            .post(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/decide"),
                json!({"categories": {"subscriber": {"decision": "disclose"},
                                      "content": {"decision": "disclose"}},
                       "illegal_conduct_reason": "The account was used to extort the victim."}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{dec}");
        let (st, dec) = s
            .post(
                &s.approver,
                &format!("/api/v1/review/requests/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{dec}");
        let report = s.report().await;
        let fr = row(&report, "by_country", "country", "FR").expect("a row for France");
        assert_eq!(fr["received"], 1, "{fr}");
        assert!(
            row(&report, "by_country", "country", "US").is_none(),
            "{report}"
        );
        let cp = report["by_country_process"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["country"] == "FR" && r["process"] == "search_warrant")
            .expect("France / search warrant");
        assert_eq!(cp["received"], 1);
    }
}

#[tokio::test]
async fn eu_production_order_intake_names_the_field_and_runs_the_clocks() {
    for s in servers("routes_epoc_intake").await {
        // No validating judge for content.
        let mut d = epoc(&["subscriber", "content"]);
        d["order"]["validating_authority"] = Value::Null;
        let (st, err) = s.submit(&d).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(
            message(&err).starts_with("order.validating_authority:"),
            "{err}"
        );
        // An enforcing state that is not bound by the Regulation, or is not one at all.
        for bad in ["US", "DK", "DE", "XX"] {
            let mut d = epoc(&["subscriber"]);
            d["order"]["enforcing_state"] = json!(bad);
            let (st, err) = s.submit(&d).await;
            assert!(
                st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST,
                "{bad}: {st} {err}"
            );
            assert!(message(&err).contains("enforcing_state"), "{bad}: {err}");
        }
        // No order fields at all.
        let mut d = epoc(&["subscriber"]);
        d.as_object_mut().unwrap().remove("order");
        let (st, err) = s.submit(&d).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&err).starts_with("order:"), "{err}");
        // Notice to the enforcing state is required and must have been given.
        let mut d = epoc(&["transactional"]);
        d["order"]["enforcing_state_notified"] = json!(false);
        let (st, err) = s.submit(&d).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            message(&err).starts_with("order.enforcing_state_notified:"),
            "{err}"
        );
        // Nothing was stored.
        let (_, list) = s.get(&s.officer, "/api/v1/requests").await;
        assert_eq!(list["total"], 0, "{list}");

        // An emergency order for content: 8 hours to answer, 96 hours for the objection.
        let mut d = epoc(&["subscriber", "content"]);
        d["order"]["emergency"] = json!(true);
        let created = s.served(&d).await;
        let received: chrono::DateTime<Utc> =
            created["received_at"].as_str().unwrap().parse().unwrap();
        let respond_by: chrono::DateTime<Utc> =
            created["respond_by"].as_str().unwrap().parse().unwrap();
        assert_eq!(respond_by - received, chrono::Duration::hours(8));
        assert_eq!(created["emergency"], true);
        assert_eq!(created["order"]["reference"], "EPOC-DE-2026-0042");
        assert_eq!(created["order"]["enforcing_state"], "IE");
        let notice = &created["order_clocks"]["enforcing_state"];
        assert_eq!(notice["required"], true, "{created}");
        assert_eq!(notice["notified"], true);
        let window: chrono::DateTime<Utc> = notice["objection_window_ends"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(window - received, chrono::Duration::hours(96));
        let id = created["id"].as_str().unwrap();
        let (st, order) = s
            .get(&s.officer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(st, StatusCode::OK, "{order}");
        assert_eq!(
            order["order"]["validating_authority"],
            "Amtsgericht Tiergarten"
        );
        assert!(
            order.get("grounds").is_none(),
            "an agency does not see the reviewer's list"
        );
        let (st, _) = s
            .get(&s.other_officer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // The engine honours the declared emergency and the judge's validation.
        let (_, a) = s
            .get(&s.reviewer, &format!("/api/v1/requests/{id}/assessment"))
            .await;
        assert_eq!(a["route"], "process", "{a}");
        assert_eq!(a["emergency_honoured"], true, "{a}");
        assert_eq!(a["enforcing_state_notice"], true, "{a}");

        // The enforcing state raises a ground for refusal: nothing may be disclosed.
        s.take(id).await;
        let reply = format!("/api/v1/review/requests/{id}/enforcing-state");
        let (st, _) = s
            .post(
                &s.officer,
                &reply,
                json!({"reply": "grounds_raised", "note": "x"}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, err) = s
            .post(
                &s.reviewer,
                &reply,
                json!({"reply": "grounds_raised", "note": " "}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(message(&err).starts_with("note:"), "{err}");
        let (st, r) = s
            .post(
                &s.reviewer,
                &reply,
                json!({"reply": "grounds_raised",
                       "note": "Art. 12(1)(a): immunity of the person concerned; ref. IE-DPP-77"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let decide = format!("/api/v1/review/requests/{id}/decide");
        let all = json!({"categories": {"subscriber": {"decision": "disclose"},
                                        "content": {"decision": "disclose"}},
                         "illegal_conduct_reason": "Threats made from the account."});
        let (st, err) = s.post(&s.reviewer, &decide, all.clone()).await;
        assert_eq!(st, StatusCode::CONFLICT, "{err}");
        assert_eq!(err["error"]["code"], "enforcing_state_objected");
        let (_, order) = s
            .get(&s.officer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(order["disclosure_blocked"], true, "{order}");
        assert_eq!(order["enforcing_state_reply"]["reply"], "grounds_raised");
        assert!(order["enforcing_state_reply"].get("note").is_none());
        // Withdrawn: the enforcing state confirms no ground after all; disclosure may proceed.
        let (st, _) = s
            .post(
                &s.reviewer,
                &reply,
                json!({"reply": "no_grounds", "note": "Ground withdrawn by IE-DPP on review."}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        s.verify_requester(id).await;
        let (st, dec) = s.post(&s.reviewer, &decide, all).await;
        assert_eq!(st, StatusCode::OK, "{dec}");

        // An ordinary order for subscriber data: 10 days, no notice to the enforcing state.
        let mut d = epoc(&["subscriber"]);
        d["order"]["validating_authority"] = Value::Null;
        d["order"]["person_resides_in_issuing_state"] = Value::Null;
        d["order"]["enforcing_state_notified"] = json!(false);
        let created = s.served(&d).await;
        let received: chrono::DateTime<Utc> =
            created["received_at"].as_str().unwrap().parse().unwrap();
        let respond_by: chrono::DateTime<Utc> =
            created["respond_by"].as_str().unwrap().parse().unwrap();
        assert_eq!(respond_by - received, chrono::Duration::days(10));
        assert_eq!(
            created["order_clocks"]["enforcing_state"]["required"],
            false
        );
        assert!(created["order_clocks"]["enforcing_state"]["objection_window_ends"].is_null());
        let (st, err) = s
            .post(
                &s.reviewer,
                &format!(
                    "/api/v1/review/requests/{}/enforcing-state",
                    created["id"].as_str().unwrap()
                ),
                json!({"reply": "no_grounds", "note": "x"}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{err}");
        assert_eq!(err["error"]["code"], "no_enforcing_state_notice");
    }
}

#[tokio::test]
async fn a_refused_eu_order_answers_in_the_regulations_form() {
    for s in servers("routes_epoc_refusal").await {
        let created = s.served(&epoc(&["subscriber", "transactional"])).await;
        let id = created["id"].as_str().unwrap();
        let path = format!("/api/v1/review/requests/{id}/refuse-order");
        let (st, order) = s
            .get(&s.reviewer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(st, StatusCode::OK);
        let grounds: Vec<&str> = order["grounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["ground"].as_str().unwrap())
            .collect();
        assert!(grounds.contains(&"data_not_stored") && !grounds.contains(&"us_person"));

        // Officers cannot refuse; a ground outside the list, or not for this process, is named.
        let body = json!({"ground": "data_not_stored", "details": "Deleted in 2024."});
        let (st, _) = s.post(&s.officer, &path, body.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, err) = s
            .post(
                &s.reviewer,
                &path,
                json!({"ground": "us_person", "details": "x"}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(message(&err).starts_with("ground:"), "{err}");
        let (st, err) = s
            .post(
                &s.reviewer,
                &path,
                json!({"ground": "whim", "details": "x"}),
            )
            .await;
        assert!(st.is_client_error(), "{err}");
        let (st, err) = s
            .post(
                &s.reviewer,
                &path,
                json!({"ground": "data_not_stored", "details": " "}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(message(&err).starts_with("details:"), "{err}");

        let (st, answer) = s
            .post(
                &s.reviewer,
                &path,
                json!({"ground": "data_not_stored",
                       "details": "The account was closed in March 2024 and its data deleted."}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{answer}");
        assert_eq!(answer["refusal"]["ground"], "data_not_stored");
        assert_eq!(answer["letter"]["kind"], "refusal");

        // The agency reads the EPOC-FORM 3 answer with its sections; the request is rejected.
        let (_, shown) = s.get(&s.officer, &format!("/api/v1/requests/{id}")).await;
        assert_eq!(shown["status"], "rejected");
        let (_, letters) = s
            .get(&s.officer, &format!("/api/v1/requests/{id}/letters"))
            .await;
        let letter = letters[0]["body"].as_str().unwrap();
        assert!(
            letter.starts_with("EPOC-FORM 3: INFORMATION ON THE IMPOSSIBILITY TO EXECUTE AN EPOC"),
            "{letter}"
        );
        for needle in [
            "SECTION A",
            "EPOC-DE-2026-0042",
            "SECTION B",
            "Amtsgericht Tiergarten",
            "SECTION C",
            "[x] The data requested is not stored",
            "Art. 10(7)",
            "SECTION D",
            "closed in March 2024",
            "SECTION F",
            "Example Provider, Inc.",
        ] {
            assert!(letter.contains(needle), "{needle} in {letter}");
        }
        let (_, order) = s
            .get(&s.officer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(order["refusal"]["ground"], "data_not_stored", "{order}");
        // Refused once; a second refusal is refused by the lifecycle.
        let (st, _) = s.post(&s.reviewer, &path, body).await;
        assert_eq!(st, StatusCode::CONFLICT);
        // Counted as rejected under Germany.
        let report = s.report().await;
        let de = row(&report, "by_country", "country", "DE").expect("Germany");
        assert_eq!(de["rejected"], 1, "{de}");
        // A subpoena has no order to refuse.
        let sub = s
            .served(&demand_on_jordan("subpoena", &["subscriber"]))
            .await;
        let (st, err) = s
            .post(
                &s.reviewer,
                &format!(
                    "/api/v1/review/requests/{}/refuse-order",
                    sub["id"].as_str().unwrap()
                ),
                json!({"ground": "incomplete", "details": "x"}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{err}");
        assert_eq!(err["error"]["code"], "not_an_order");
    }
}

#[tokio::test]
async fn an_eu_preservation_order_holds_for_60_days_and_extends_once_by_30() {
    for s in servers("routes_epoc_pr").await {
        let mut d = epoc(&["subscriber", "content"]);
        d["process"] = json!("epoc_pr");
        d["order"]["validating_authority"] = Value::Null;
        d["order"]["person_resides_in_issuing_state"] = Value::Null;
        d["order"]["enforcing_state_notified"] = json!(false);
        // A preservation order has no emergency clock.
        let mut urgent = d.clone();
        urgent["order"]["emergency"] = json!(true);
        let (st, err) = s.submit(&urgent).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&err).starts_with("order.emergency:"), "{err}");

        let created = s.served(&d).await;
        let id = created["id"].as_str().unwrap();
        let received: chrono::DateTime<Utc> =
            created["received_at"].as_str().unwrap().parse().unwrap();
        let until: chrono::DateTime<Utc> = created["order_clocks"]["preserve_until"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(until - received, chrono::Duration::days(60));

        // The hold takes the Regulation's terms: 60 days, one extension of 30.
        let (st, hold) = s
            .post(
                &s.reviewer,
                &format!("/api/v1/custody/requests/{id}/preserve"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{hold}");
        assert_eq!(hold["terms"]["days"], 60, "{hold}");
        assert_eq!(hold["terms"]["renewal_days"], 30, "{hold}");
        s.c.run_jobs().await;
        let hold_id = hold["id"].as_str().unwrap();
        let renew = format!("/api/v1/custody/holds/{hold_id}/renew");
        let (st, renewed) = s.post(&s.reviewer, &renew, json!({})).await;
        assert_eq!(st, StatusCode::OK, "{renewed}");
        assert_eq!(renewed["renewals_left"], 0);
        let started: chrono::DateTime<Utc> =
            renewed["started_at"].as_str().unwrap().parse().unwrap();
        let expires: chrono::DateTime<Utc> =
            renewed["expires_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires - started, chrono::Duration::days(90), "{renewed}");
        let (st, _) = s.post(&s.reviewer, &renew, json!({})).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(JORDAN.contains('@'));
    }
}

#[tokio::test]
async fn a_uk_order_discloses_nothing_until_the_us_person_attestation() {
    for s in servers("routes_cloud_act").await {
        // The UK order names who issued or reviewed it.
        let mut d = uk_order();
        d["order"]["validating_authority"] = Value::Null;
        let (st, err) = s.submit(&d).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            message(&err).starts_with("order.validating_authority:"),
            "{err}"
        );

        let created = s.served(&uk_order()).await;
        let id = created["id"].as_str().unwrap();
        assert_eq!(
            created["order_clocks"]["us_person_attestation_required"],
            true
        );
        s.take(id).await;
        let decide = format!("/api/v1/review/requests/{id}/decide");
        let all = json!({"categories": {"subscriber": {"decision": "disclose"},
                                        "content": {"decision": "disclose"}},
                         "illegal_conduct_reason": "Fraud on the account."});
        let (st, err) = s.post(&s.reviewer, &decide, all.clone()).await;
        assert_eq!(st, StatusCode::CONFLICT, "{err}");
        assert_eq!(err["error"]["code"], "us_person_attestation_required");
        let (_, order) = s
            .get(&s.reviewer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(order["disclosure_blocked"], true);

        // An attestation is positive and explained; an officer cannot make it.
        let attest = format!("/api/v1/review/requests/{id}/attest-us-person");
        let good = json!({"not_us_person": true, "not_located_in_us": true,
                          "basis": "The order states the target is a UK national living in Leeds."});
        let (st, _) = s.post(&s.officer, &attest, good.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, err) = s
            .post(
                &s.reviewer,
                &attest,
                json!({"not_us_person": true, "not_located_in_us": false, "basis": "x"}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(message(&err).starts_with("not_located_in_us:"), "{err}");
        let (st, a) = s.post(&s.reviewer, &attest, good).await;
        assert_eq!(st, StatusCode::OK, "{a}");

        let (st, dec) = s.post(&s.reviewer, &decide, all).await;
        assert_eq!(st, StatusCode::OK, "{dec}");
        let (_, order) = s
            .get(&s.officer, &format!("/api/v1/requests/{id}/order"))
            .await;
        assert_eq!(order["disclosure_blocked"], false, "{order}");
        assert_eq!(order["attestation"]["not_us_person"], true);
        assert!(
            order["attestation"].get("basis").is_none(),
            "the basis stays inside"
        );

        // Withholding everything needs no attestation; refusing on the US-person ground
        // answers with the agreement's objection.
        let other = s.served(&uk_order()).await;
        let oid = other["id"].as_str().unwrap();
        s.take(oid).await;
        let (st, answer) = s
            .post(
                &s.reviewer,
                &format!("/api/v1/review/requests/{oid}/refuse-order"),
                json!({"ground": "us_person",
                       "details": "The account holder is a US citizen resident in Ohio."}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{answer}");
        let letter = answer["letter"]["body"].as_str().unwrap();
        assert!(letter.contains("US-UK DATA ACCESS AGREEMENT"), "{letter}");
        assert!(letter.contains("2523(b)(4)"), "{letter}");
    }
}

/// The markup of the element with this id, up to the end of the line it is on.
fn element<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{body}"));
    let end = body[at..].find('\n').map_or(body.len(), |e| at + e);
    &body[at..end]
}

fn epoc_form(csrf: &str, validating: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("process", "epoc")
        .text("issuing_authority", "Staatsanwaltschaft Berlin")
        .text("issuing_country", "de")
        .text("received_via", "e_evidence")
        .text("target_type", "email")
        .text("target_value", JORDAN)
        .text("categories", "subscriber")
        .text("categories", "content")
        .text("ndo", "none")
        .text("order_reference", "EPOC-DE-2026-0099")
        .text("validating_authority", validating.to_string())
        .text("enforcing_state", "ie")
        .text("order_emergency", "1")
        .text("person_resides", "no")
        .text("enforcing_state_notified", "1")
        .part(
            "document",
            reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("epoc.pdf"),
        )
}

#[tokio::test]
async fn the_pages_serve_show_attest_and_refuse_orders() {
    for s in servers("routes_pages").await {
        let web = &s.c.s;
        // The officer serves an emergency EPOC through the portal's form; a missing judge is
        // named on the form shown again.
        let (mut ob, _) = signed_in(web, &web.agency_a, "k.weber").await;
        let csrf = ob.get("/portal/serve").await.csrf();
        let bad = ob
            .post_multipart("/portal/serve", epoc_form(&csrf, ""))
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(
            bad.body.contains("order.validating_authority"),
            "{}",
            bad.body
        );
        assert!(bad.body.contains("id=\"validating_authority\""));
        let served = ob
            .post_multipart("/portal/serve", epoc_form(&csrf, "Amtsgericht Tiergarten"))
            .await;
        assert_eq!(served.status, StatusCode::SEE_OTHER, "{}", served.body);
        let portal_path = served.location.unwrap();
        let id = portal_path.rsplit('/').next().unwrap().to_string();
        let page = ob.get(&portal_path).await;
        assert_eq!(page.status, StatusCode::OK);
        for needle in [
            "EPOC-DE-2026-0099",
            "Amtsgericht Tiergarten",
            "yes: answer within 8 hours",
            "Ireland (IE)",
            "required (Art. 8); made: yes; it may raise grounds for refusal until",
        ] {
            assert!(page.body.contains(needle), "{needle} on the officer's page");
        }

        // The reviewer's page: the clocks in words and the refusal form with the closed list.
        let (mut rb, _) = staff_signed_in(web, "pat", Role::Reviewer).await;
        let path = format!("/review/requests/{id}");
        let review = rb.get(&path).await;
        assert_eq!(review.status, StatusCode::OK);
        let clocks = element(&review.body, "order-clocks");
        assert!(clocks.contains("within 8 hours"), "{clocks}");
        assert!(clocks.contains("within 96 hours"), "{clocks}");
        assert!(review.body.contains("value=\"impossible_de_facto\""));
        assert!(!review.body.contains("value=\"us_person\""));
        assert!(!review.body.contains("id=\"us-person-attestation\""));
        assert!(review.body.contains("Record the enforcing state's reply"));
        assert!(element(&review.body, "enforcing-state-reply").contains("No reply"));
        let csrf = review.csrf();
        let refused = rb
            .post(
                &format!("{path}/refuse-order"),
                &[
                    ("csrf", &csrf),
                    ("ground", "third_country_law"),
                    ("details", " "),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(refused.body.contains("details:"), "{}", refused.body);
        let refused = rb
            .post(
                &format!("{path}/refuse-order"),
                &[
                    ("csrf", &csrf),
                    ("ground", "third_country_law"),
                    (
                        "details",
                        "Disclosure would breach a court order binding us in Brazil.",
                    ),
                    ("data_preserved", "yes"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
        let review = rb.get(&path).await;
        let r = element(&review.body, "order-refusal");
        assert!(r.contains("third country"), "{r}");
        let page = ob.get(&portal_path).await;
        assert!(
            page.body.contains("EPOC-FORM 3"),
            "the answer on the officer's page"
        );
        assert!(page.body.contains("reasoned objection under Art. 17"));
        assert!(page
            .body
            .contains("preserved while the matter is clarified"));

        // A UK order: the page says disclosure is blocked until the attestation form is used.
        let uk = s.served(&uk_order()).await;
        let path = format!("/review/requests/{}", uk["id"].as_str().unwrap());
        let review = rb.get(&path).await;
        let a = element(&review.body, "us-person-attestation");
        assert!(a.contains("Disclosure blocked"), "{a}");
        let attested = rb
            .post(
                &format!("{path}/attest-us-person"),
                &[
                    ("csrf", &csrf),
                    ("not_us_person", "yes"),
                    ("not_located_in_us", "yes"),
                    ("basis", "The order names a UK national resident in Leeds."),
                ],
            )
            .await;
        assert_eq!(attested.status, StatusCode::SEE_OTHER, "{}", attested.body);
        let review = rb.get(&path).await;
        let a = element(&review.body, "us-person-attestation");
        assert!(a.contains("Attested"), "{a}");
    }
}

#[tokio::test]
async fn the_openapi_document_has_the_order_endpoints() {
    for s in servers("routes_openapi").await {
        let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.c.s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for path in [
            "/api/v1/requests/{id}/order",
            "/api/v1/review/requests/{id}/attest-us-person",
            "/api/v1/review/requests/{id}/refuse-order",
            "/api/v1/review/requests/{id}/enforcing-state",
        ] {
            assert!(doc["paths"][path].is_object(), "missing {path}");
        }
        let grounds = doc["components"]["schemas"]["RefusalGround"]["enum"]
            .as_array()
            .unwrap();
        assert!(grounds.iter().any(|g| g == "data_not_stored"));
        assert!(
            doc["components"]["schemas"]["ForeignOrder"]["properties"]["enforcing_state"]
                .is_object()
        );
    }
}
