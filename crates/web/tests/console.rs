//! The review console's pages driven like a browser without JavaScript, on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL: the queue, its filters, marks and
//! assignment; the review page and every action on it; the two-person rule; who may do what;
//! CSRF; and what the agency then sees on its own page.

mod common;

use chrono::{Duration, Utc};
use common::*;
use custodian_core::Role;
use custodian_store::*;
use reqwest::StatusCode;

fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_queue_is_for_staff_most_urgent_first_with_filters_marks_and_counts() {
    for s in servers("console_queue").await {
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let now = Utc::now();
        let later = request_due(&s, &o, "subpoena", now + Duration::days(9)).await;
        let soon = request_due(&s, &o, "subpoena", now + Duration::hours(20)).await;
        let late = request_due(&s, &o, "court_order_2703d", now - Duration::hours(3)).await;
        let em = request_due(&s, &o, "emergency", now + Duration::days(20)).await;

        // The officer has no business in the console.
        let (mut ob, _) = signed_in(&s, &s.agency_a, "okafor").await;
        let page = ob.get("/review").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert_eq!(
            ob.get(&format!("/review/requests/{}", later.id))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert!(!ob.get("/portal").await.body.contains("/review\""));

        // Staff land on the queue after sign-in, and the nav leads there.
        let (mut rb, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        assert_eq!(rb.get("/").await.location.as_deref(), Some("/review"));
        let q = rb.get("/review").await;
        assert_eq!(q.status, StatusCode::OK, "{}", q.body);
        assert!(q.body.contains("href=\"/review\" aria-current=\"page\""));
        // Emergencies first, then by deadline.
        let order: Vec<usize> = [&em, &late, &soon, &later]
            .iter()
            .map(|r| position(&q.body, &r.number))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // The marks: one overdue, one due soon (the emergency's hour has not passed), four
        // not assigned; and the counts per state.
        let marks = q.by_id("marks").is_some();
        assert!(marks);
        assert!(
            q.body.contains("<span class=\"n\">1</span> overdue"),
            "{}",
            q.body
        );
        assert!(q
            .body
            .contains("<span class=\"n\">1</span> due within 48 hours"));
        assert!(q.body.contains("<span class=\"n\">4</span> not assigned"));
        assert!(q.body.contains("<span class=\"n\">4</span> Received"));
        assert!(q.body.contains("badge mark-due-overdue\">overdue"));

        // Filters: by deadline, process, assignee; a bad one is named, not a dead end.
        let overdue = rb.get("/review?due=overdue").await;
        assert!(overdue.body.contains(&late.number));
        assert!(!overdue.body.contains(&soon.number));
        let due_soon = rb.get("/review?due=soon&status=&process=").await;
        assert!(due_soon.body.contains(&soon.number), "{}", due_soon.body);
        assert!(!due_soon.body.contains(&later.number));
        assert!(!due_soon.body.contains(&late.number));
        let orders = rb.get("/review?process=court_order_2703d").await;
        assert!(orders.body.contains(&late.number));
        assert!(!orders.body.contains(&em.number));
        let bad = rb.get("/review?due=someday").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let said = bad.by_id("form-error").unwrap_or_default();
        assert!(
            said.starts_with("due: ") && said.contains("overdue"),
            "{said}"
        );
        assert!(
            bad.body.contains(&em.number),
            "the whole queue is still shown"
        );
        let mine = rb.get("/review?assignee=me").await;
        assert!(!mine.body.contains(&em.number));

        // The JSON API answers the same filters.
        let token = token_for(&s.store, &staff(&s, "api", Role::Auditor).await).await;
        let api: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/review/queue?due=overdue", s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = api["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{api}");
        assert_eq!(items[0]["number"], late.number.as_str());
        assert_eq!(items[0]["urgency"], "overdue");
        assert_eq!(api["counts"]["received"], 4);
    }
}

#[tokio::test]
async fn requests_are_assigned_from_the_queue_and_from_the_page() {
    for s in servers("console_assign").await {
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let r = request_due(&s, &o, "subpoena", Utc::now() + Duration::days(9)).await;
        let (mut rb, riley) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let sam = staff(&s, "sam", Role::Reviewer).await;
        let q = rb.get("/review?process=subpoena").await;
        let csrf = q.csrf();
        assert!(
            q.body.contains(&format!("for=\"assign-{}\"", r.id)),
            "a label per select"
        );

        // Taking it from the queue starts its review and comes back to the same filter.
        let done = rb
            .post(
                &format!("/review/requests/{}/assign", r.id),
                &[
                    ("csrf", &csrf),
                    ("back", "/review?process=subpoena"),
                    ("assignee", "me"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/review?process=subpoena"));
        let q = rb.get("/review?assignee=me").await;
        assert!(q
            .body
            .contains(&format!("{} is assigned to you.", r.number)));
        assert!(q.body.contains(&r.number));
        let stored = s.store.get_request(Scope::Provider, r.id).await.unwrap();
        assert_eq!(stored.assignee_id, Some(riley.id));
        assert_eq!(stored.status, custodian_core::RequestStatus::InReview);

        // A `back` that leaves the queue is ignored: the request's page instead.
        let done = rb
            .post(
                &format!("/review/requests/{}/assign", r.id),
                &[
                    ("csrf", &csrf),
                    ("back", "https://evil.example/review"),
                    ("assignee", &sam.email),
                ],
            )
            .await;
        assert_eq!(
            done.location,
            Some(format!("/review/requests/{}", r.id)),
            "{}",
            done.body
        );
        let page = rb.get(&format!("/review/requests/{}", r.id)).await;
        assert_eq!(
            page.by_id("assignee").as_deref(),
            Some("Assigned to Staff sam")
        );

        // Not a reviewer: refused, naming the field.
        let refused = rb
            .post(
                &format!("/review/requests/{}/assign", r.id),
                &[("csrf", &csrf), ("assignee", &o.email)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains("is not a reviewer"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("aria-invalid=\"true\""));

        // An approver reads the queue but does not assign.
        let (mut ab, _) = staff_signed_in(&s, "alex", Role::Approver).await;
        let q = ab.get("/review").await;
        assert_eq!(q.status, StatusCode::OK);
        assert!(!q.body.contains("/assign\""));
        let refused = ab
            .post(
                &format!("/review/requests/{}/assign", r.id),
                &[("csrf", &q.csrf()), ("assignee", "me")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let assigned = audit_actions(&s.store)
            .await
            .iter()
            .filter(|a| *a == "request.assigned")
            .count();
        assert_eq!(assigned, 2, "each assignment audited, the refusals not");
    }
}

#[tokio::test]
async fn a_reviewer_decides_a_subpoena_and_the_officer_sees_the_outcome() {
    for s in servers("console_decide").await {
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let token = token_for(&s.store, &o).await;
        let served = serve_api(
            &s,
            &token,
            demand("subpoena", &["subscriber", "transactional"]),
        )
        .await;
        let id = id_of(&served);
        let doc = served["documents"][0]["id"].as_str().unwrap().to_string();
        let (mut rb, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let path = format!("/review/requests/{id}");

        let page = rb.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        // The document is shown in the page; the agency with its verification status; the
        // engine's recommendation with its rule ids and bases.
        assert!(page.body.contains(&format!(
            "<iframe class=\"document\" src=\"/api/v1/requests/{id}/documents/{doc}?inline=true\""
        )));
        assert!(page.body.contains("data-status=\"verified\""));
        assert!(page.body.contains("on a verified domain"));
        assert!(
            page.body.contains("data-route=\"process\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("18 U.S.C."), "legal bases cited");
        // The recommendation is filled in; assigning comes first.
        assert!(!page.body.contains("id=\"decide-form\""));
        assert!(page.body.contains("Take it into review"));
        let csrf = page.csrf();
        rb.post(
            &format!("{path}/assign"),
            &[("csrf", &csrf), ("assignee", "me")],
        )
        .await;
        let page = rb.get(&path).await;
        assert!(page.body.contains("id=\"decide-form\""));
        assert!(page.body.contains(
            "name=\"decision.subscriber\" value=\"disclose\" id=\"disclose-subscriber\" checked"
        ));

        // The PDF endpoint shows inline for the frame, only to this site; the page allows
        // frames from itself and nothing else new.
        let pdf = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/requests/{id}/documents/{doc}?inline=true",
                s.base
            ))
            .header("cookie", rb.cookie_header())
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status(), StatusCode::OK);
        assert!(pdf.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;"));
        assert_eq!(
            pdf.headers()["content-security-policy"],
            "frame-ancestors 'self'"
        );
        assert_eq!(pdf.headers()["x-content-type-options"], "nosniff");
        let csp = reqwest::Client::new()
            .get(format!("{}{path}", s.base))
            .header("cookie", rb.cookie_header())
            .send()
            .await
            .unwrap()
            .headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("frame-src 'self'") && csp.contains("object-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));

        // Withholding without a reason is refused, the field marked, the choices kept.
        let refused = rb
            .post(
                &format!("{path}/decide"),
                &[
                    ("csrf", &csrf),
                    ("decision.subscriber", "disclose"),
                    ("decision.transactional", "withhold"),
                    ("reason.transactional", " "),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("categories.transactional.reason"));
        assert!(
            refused
                .body
                .contains("name=\"reason.transactional\" rows=\"2\" aria-invalid=\"true\""),
            "{}",
            refused.body
        );
        assert!(refused
            .body
            .contains("value=\"withhold\" id=\"withhold-transactional\" checked"));

        let done = rb
            .post(
                &format!("{path}/decide"),
                &[
                    ("csrf", &csrf),
                    ("decision.subscriber", "disclose"),
                    ("decision.transactional", "withhold"),
                    ("reason.transactional", "No records for the period."),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = rb.get(&path).await;
        assert!(page.body.contains("Decided. The agency sees the outcome"));
        assert!(page.body.contains("No second approval is needed"));
        assert_eq!(page.by_id("status").as_deref(), Some("Decided"));

        // The officer sees the outcome, with the reason, on the portal.
        let mut officer_browser = Browser::new(&s.base);
        officer_browser.enrol(&o.email).await;
        let mine = officer_browser.get(&format!("/portal/requests/{id}")).await;
        assert!(
            mine.body.contains("decision-disclose\">disclose"),
            "{}",
            mine.body
        );
        assert!(mine.body.contains("No records for the period."));
        let actions = audit_actions(&s.store).await;
        assert!(actions.contains(&"request.decided".to_string()));
    }
}

#[tokio::test]
async fn a_content_disclosure_is_approved_by_a_second_person_only() {
    for s in servers("console_two_person").await {
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let token = token_for(&s.store, &o).await;
        let warrant = serve_api(
            &s,
            &token,
            demand("search_warrant", &["subscriber", "content"]),
        )
        .await;
        let id = id_of(&warrant);
        let path = format!("/review/requests/{id}");
        let (mut rb, riley) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let csrf = rb.get(&path).await.csrf();
        rb.post(
            &format!("{path}/assign"),
            &[("csrf", &csrf), ("assignee", "me")],
        )
        .await;
        let done = rb
            .post(
                &format!("{path}/decide"),
                &[
                    ("csrf", &csrf),
                    ("decision.subscriber", "disclose"),
                    ("decision.content", "disclose"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = rb.get(&path).await;
        assert!(page.body.contains("waits for an approver other than you"));
        assert!(page
            .body
            .contains("You decided it, so another approver must approve it"));
        assert!(!page.body.contains("id=\"approve-button\""));

        // The reviewer may not approve at all; the officer sees no outcome yet.
        let refused = rb
            .post(&format!("{path}/approve"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused
            .body
            .contains("approving decisions needs one of these roles"));
        let mut ob = Browser::new(&s.base);
        ob.enrol(&o.email).await;
        let before = ob.get(&format!("/portal/requests/{id}")).await;
        assert!(
            before.body.contains("waits for a second reviewer"),
            "{}",
            before.body
        );
        assert!(!before.body.contains("decision-disclose"));

        // An admin who decided cannot approve their own decision either: a clear refusal.
        let second = serve_api(&s, &token, demand("search_warrant", &["content"])).await;
        let second_path = format!("/review/requests/{}", id_of(&second));
        let (mut admin, _) = staff_signed_in(&s, "pat", Role::Admin).await;
        let acsrf = admin.get(&second_path).await.csrf();
        admin
            .post(
                &format!("{second_path}/assign"),
                &[("csrf", &acsrf), ("assignee", "me")],
            )
            .await;
        let decided = admin
            .post(
                &format!("{second_path}/decide"),
                &[("csrf", &acsrf), ("decision.content", "disclose")],
            )
            .await;
        assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
        let own = admin
            .post(&format!("{second_path}/approve"), &[("csrf", &acsrf)])
            .await;
        assert_eq!(own.status, StatusCode::CONFLICT);
        assert!(own.body.contains("two-person rule"), "{}", own.body);

        // A different approver approves; the officer then sees the outcome.
        let (mut ab, alex) = staff_signed_in(&s, "alex", Role::Approver).await;
        let page = ab.get(&path).await;
        assert!(page.body.contains("id=\"approve-button\""), "{}", page.body);
        let done = ab
            .post(&format!("{path}/approve"), &[("csrf", &page.csrf())])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = ab.get(&path).await;
        assert!(page.body.contains("Approved. The decision takes effect"));
        assert!(page.body.contains("approved</span> by Staff alex"));
        let again = ab
            .post(&format!("{path}/approve"), &[("csrf", &page.csrf())])
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let d = s
            .store
            .get_decision(Scope::Provider, uuid::Uuid::parse_str(&id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.decided_by, d.approved_by), (riley.id, Some(alex.id)));
        let after = ob.get(&format!("/portal/requests/{id}")).await;
        assert!(after.body.contains("decision-disclose\">disclose"));
    }
}

#[tokio::test]
async fn letters_from_the_review_page_reach_the_agency() {
    for s in servers("console_letters").await {
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let token = token_for(&s.store, &o).await;
        let (mut rb, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let mut ob = Browser::new(&s.base);
        ob.enrol(&o.email).await;

        // A question: the request waits for the agency, which reads it on its page.
        let q = id_of(&serve_api(&s, &token, demand("subpoena", &["subscriber"])).await);
        let path = format!("/review/requests/{q}");
        let csrf = rb.get(&path).await.csrf();
        rb.post(
            &format!("{path}/assign"),
            &[("csrf", &csrf), ("assignee", "me")],
        )
        .await;
        let empty = rb
            .post(&format!("{path}/clarify"), &[("csrf", &csrf), ("text", "")])
            .await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty
            .body
            .contains("id=\"clarify-text\" name=\"text\" aria-invalid=\"true\""));
        let sent = rb
            .post(
                &format!("{path}/clarify"),
                &[
                    ("csrf", &csrf),
                    ("text", "Which time zone is the date range in?"),
                ],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let portal = ob.get(&format!("/portal/requests/{q}")).await;
        assert_eq!(portal.by_id("status").as_deref(), Some("Question for you"));
        assert!(portal
            .body
            .contains("Which time zone is the date range in?"));

        // A rejection: the letter is written from the reason.
        let r = id_of(&serve_api(&s, &token, demand("subpoena", &["subscriber"])).await);
        let path = format!("/review/requests/{r}");
        let sent = rb
            .post(
                &format!("{path}/reject"),
                &[("csrf", &csrf), ("text", "The subpoena is unsigned.")],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let portal = ob.get(&format!("/portal/requests/{r}")).await;
        assert_eq!(portal.by_id("status").as_deref(), Some("Rejected"));
        assert!(portal.body.contains("Reason: The subpoena is unsigned."));
        assert!(portal.body.contains("Request declined"));
        // Nothing more can be sent about a rejected request.
        for action in ["clarify", "narrow", "object"] {
            let late = rb
                .post(
                    &format!("{path}/{action}"),
                    &[("csrf", &csrf), ("text", "?")],
                )
                .await;
            assert_eq!(late.status, StatusCode::CONFLICT, "{action}");
        }

        // A direct foreign demand: the page shows the MLAT guidance, which the agency receives.
        let mut foreign = demand("foreign_direct", &["subscriber"]);
        foreign["issuing_country"] = serde_json::json!("DE");
        let f = id_of(&serve_api(&s, &token, foreign).await);
        let path = format!("/review/requests/{f}");
        let page = rb.get(&path).await;
        assert!(
            page.body.contains("data-route=\"redirect_mlat\""),
            "{}",
            page.body
        );
        assert!(page
            .by_id("mlat-guidance")
            .unwrap()
            .contains("Mutual Legal Assistance Treaty"));
        let sent = rb
            .post(&format!("{path}/redirect"), &[("csrf", &csrf)])
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let portal = ob.get(&format!("/portal/requests/{f}")).await;
        assert_eq!(portal.by_id("status").as_deref(), Some("Redirected (MLAT)"));
        assert!(portal.body.contains("Office of International Affairs"));

        // An objection, then the narrowed scope and a message; all reach the agency.
        let b = id_of(&serve_api(&s, &token, demand("subpoena", &["subscriber"])).await);
        let path = format!("/review/requests/{b}");
        rb.post(
            &format!("{path}/assign"),
            &[("csrf", &csrf), ("assignee", "me")],
        )
        .await;
        rb.post(
            &format!("{path}/object"),
            &[
                ("csrf", &csrf),
                ("text", "It asks for every customer in Springfield."),
            ],
        )
        .await;
        let sent = rb
            .post(
                &format!("{path}/narrow"),
                &[("csrf", &csrf), ("text", "One account, January 2026.")],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let sent = rb
            .post(
                &format!("{path}/messages"),
                &[("csrf", &csrf), ("body", "Thank you for narrowing it.")],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let portal = ob.get(&format!("/portal/requests/{b}")).await;
        assert!(portal.body.contains("every customer in Springfield"));
        assert!(portal
            .body
            .contains("The request has been narrowed to: One account, January 2026."));
        assert!(portal.body.contains("Thank you for narrowing it."));
        let letters = audit_actions(&s.store)
            .await
            .iter()
            .filter(|a| *a == "request.letter_sent")
            .count();
        assert_eq!(letters, 5);
    }
}

#[tokio::test]
async fn review_forms_need_the_csrf_token_and_auditors_only_read() {
    for s in servers("console_csrf").await {
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let r = request_due(&s, &o, "subpoena", Utc::now() + Duration::days(9)).await;
        let path = format!("/review/requests/{}", r.id);
        let (mut rb, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let before = s.store.audit_size().await.unwrap();
        for (action, field) in [
            ("assign", ("assignee", "me")),
            ("reject", ("text", "no")),
            ("decide", ("decision.subscriber", "disclose")),
        ] {
            let refused = rb.post(&format!("{path}/{action}"), &[field]).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
            assert!(refused.body.contains("csrf"), "{action}");
            let forged = rb
                .post(&format!("{path}/{action}"), &[("csrf", "forged"), field])
                .await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "{action}");
        }
        assert_eq!(
            s.store.audit_size().await.unwrap(),
            before,
            "nothing happened"
        );

        // The auditor reads the queue and the page, with no forms to act, and is refused.
        let (mut au, _) = staff_signed_in(&s, "jordan", Role::Auditor).await;
        let page = au.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        for form in ["/assign\"", "/decide\"", "/reject\"", "/messages\""] {
            assert!(!page.body.contains(form), "{form}");
        }
        let refused = au
            .post(
                &format!("{path}/reject"),
                &[("csrf", &page.csrf()), ("text", "no")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let refused = au
            .post(
                &format!("{path}/messages"),
                &[("csrf", &page.csrf()), ("body", "hi")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // A missing request is not found, the same for everyone.
        let missing = au
            .get(&format!("/review/requests/{}", uuid::Uuid::new_v4()))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }
}
