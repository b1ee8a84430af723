//! The custody pages, driven like a browser without JavaScript, on SQLite and PostgreSQL: the
//! review page's Preservation, Production and Customer notice sections and their actions
//! (each role sees only what it may do; a forged post is refused all the same), the holds
//! page's filters, and the ZIP passphrase shown once to the custodian who produced.

mod common;

use chrono::Duration;
use common::custody::{custody_servers, demand_on_jordan, Custodial, JORDAN};
use common::*;
use custodian_core::{DataCategory, Role};
use custodian_store::*;
use reqwest::StatusCode;
use serde_json::json;

fn page_of(id: uuid::Uuid) -> String {
    format!("/review/requests/{id}")
}

/// The text of the element with this id, tags included, up to its closing `</tag>`.
fn section(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = position(&page.body, &marker);
    let open = page.body[..at].rfind('<').unwrap();
    let tag: String = page.body[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = format!("</{tag}>");
    let end = page.body[at..]
        .find(&close)
        .map_or(page.body.len(), |e| at + e);
    page.body[open..end].to_string()
}

async fn holds_of(c: &Custodial, id: uuid::Uuid) -> Vec<custodian_store::custody::HoldRecord> {
    c.s.store
        .custody()
        .list_holds(&custodian_store::custody::HoldFilter {
            request_id: Some(id),
            status: None,
            limit: 10,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn holds_are_preserved_renewed_once_and_released_from_the_review_page() {
    for c in custody_servers("holds_are_preserved_renewed_once_and_released").await {
        let s = &c.s;
        let (mut officer_b, officer) = signed_in(s, &s.agency_a, "det.alvarez").await;
        let (mut reviewer, _) = staff_signed_in(s, "riley", Role::Reviewer).await;
        let (mut auditor, _) = staff_signed_in(s, "avery", Role::Auditor).await;
        let (mut approver, _) = staff_signed_in(s, "alex", Role::Approver).await;
        let r = c
            .serve(
                &officer,
                demand_on_jordan("preservation", &["subscriber", "transactional"]),
                1,
            )
            .await;
        let path = page_of(r.id);

        // Every reader sees the section; only a preserver has the form.
        let page = reviewer.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let pres = section(&page, "preservation");
        assert!(pres.contains("id=\"no-holds\""), "{pres}");
        assert!(pres.contains("id=\"preserve-form\""), "{pres}");
        assert!(pres.contains("value=\"subscriber\""));
        assert!(
            !pres.contains("value=\"content\""),
            "only what was asked for"
        );
        for b in [&mut auditor, &mut approver] {
            let page = b.get(&path).await;
            assert_eq!(page.status, StatusCode::OK);
            let pres = section(&page, "preservation");
            assert!(!pres.contains("<form"), "read only: {pres}");
        }
        // An agency officer does not get the console at all.
        let page = officer_b.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);

        // A forged post from a reader, a post without the token, a category not asked for.
        let preserve = format!("{path}/preserve");
        let csrf = auditor.session_csrf().await;
        let refused = auditor
            .post(&preserve, &[("csrf", &csrf), ("category", "subscriber")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let csrf = officer_b.session_csrf().await;
        let refused = officer_b
            .post(&preserve, &[("csrf", &csrf), ("category", "subscriber")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let refused = reviewer
            .post(&preserve, &[("category", "subscriber")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("csrf"), "{}", refused.body);
        assert!(holds_of(&c, r.id).await.is_empty(), "nothing was taken");
        let csrf = reviewer.session_csrf().await;
        let refused = reviewer
            .post(&preserve, &[("csrf", &csrf), ("category", "content")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains("content was not requested"),
            "{}",
            refused.body
        );
        let refused = reviewer.post(&preserve, &[("csrf", &csrf)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("name at least one category"));

        let done = reviewer
            .post(
                &preserve,
                &[
                    ("csrf", &csrf),
                    ("category", "subscriber"),
                    ("category", "transactional"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some(path.as_str()));
        let page = reviewer.get(&path).await;
        assert!(page.body.contains("A legal hold is being taken"));
        assert!(section(&page, "preservation").contains("data-status=\"capturing\""));
        c.run_jobs().await;
        let hold = holds_of(&c, r.id).await.remove(0);
        let accounts = s.store.custody().hold_accounts(hold.id).await.unwrap();
        assert_eq!(accounts.len(), 1);
        let page = reviewer.get(&path).await;
        let pres = section(&page, "preservation");
        assert!(pres.contains("data-status=\"active\""), "{pres}");
        assert!(pres.contains(&accounts[0].account_id), "the account kept");
        assert!(pres.contains("found by email"));
        assert!(pres.contains("subscriber, transactional"));
        assert!(pres.contains(&hold.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()));
        assert!(pres.contains("Not yet (one renewal left)"));
        assert!(!pres.contains("id=\"preserve-form\""), "one live hold");
        let renew = format!("{path}/holds/{}/renew", hold.id);
        assert!(pres.contains(&format!("action=\"{renew}\"")));

        // Renewed once; a second renewal is refused with the law's reason.
        let done = reviewer.post(&renew, &[("csrf", &csrf)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = reviewer.get(&path).await;
        let pres = section(&page, "preservation");
        assert!(pres.contains("Yes (no renewal left)"), "{pres}");
        assert!(!pres.contains(&format!("action=\"{renew}\"")));
        let again = reviewer.post(&renew, &[("csrf", &csrf)]).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(
            again
                .body
                .contains("already renewed 1 time(s), as often as the law allows"),
            "{}",
            again.body
        );
        // Another request's hold is not found from this one's page.
        let other = c
            .serve(
                &officer,
                demand_on_jordan("preservation", &["subscriber"]),
                0,
            )
            .await;
        let wrong = reviewer
            .post(
                &format!("{}/holds/{}/renew", page_of(other.id), hold.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND);

        // Released early, with a reason.
        let release = format!("{path}/holds/{}/release", hold.id);
        let refused = reviewer
            .post(&release, &[("csrf", &csrf), ("reason", "  ")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("reason: say why the hold ends early"));
        assert!(refused
            .body
            .contains(&format!("id=\"release-{}\" open", hold.id)));
        let csrf_a = approver.session_csrf().await;
        let refused = approver
            .post(&release, &[("csrf", &csrf_a), ("reason", "answered")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "approvers read");
        let done = reviewer
            .post(
                &release,
                &[
                    ("csrf", &csrf),
                    ("reason", "The subpoena that followed was answered."),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = reviewer.get(&path).await;
        let pres = section(&page, "preservation");
        assert!(pres.contains("data-status=\"released\""), "{pres}");
        assert!(pres.contains("The subpoena that followed was answered."));
        assert!(!pres.contains("/renew\""), "nothing left to renew: {pres}");
        assert!(!pres.contains("/release\""), "nor to release");
        assert!(
            pres.contains("id=\"preserve-form\""),
            "a new hold may be taken"
        );

        let actions = audit_actions(&s.store).await;
        for a in [
            "hold.created",
            "hold.captured",
            "hold.renewed",
            "hold.released",
        ] {
            assert_eq!(actions.iter().filter(|x| *x == a).count(), 1, "{a}");
        }
    }
}

#[tokio::test]
async fn a_custodian_produces_and_sees_the_passphrase_once() {
    for c in custody_servers("a_custodian_produces_and_sees_the_passphrase_once").await {
        let s = &c.s;
        let (mut officer_b, officer) = signed_in(s, &s.agency_a, "det.alvarez").await;
        let (mut reviewer, riley) = staff_signed_in(s, "riley", Role::Reviewer).await;
        let (mut custodian, _) = staff_signed_in(s, "morgan", Role::Custodian).await;
        let (mut auditor, _) = staff_signed_in(s, "avery", Role::Auditor).await;
        let (mut other_officer, _) = signed_in(s, &s.agency_b, "det.wiggum").await;
        let r = c
            .serve(
                &officer,
                demand_on_jordan("subpoena", &["subscriber", "transactional"]),
                1,
            )
            .await;
        let path = page_of(r.id);
        let produce = format!("{path}/produce");

        // Not decided: no section yet, and the custodian's post is refused with the reason.
        let page = custodian.get(&path).await;
        assert!(!page.body.contains("id=\"production\""));
        let csrf = custodian.session_csrf().await;
        let refused = custodian.post(&produce, &[("csrf", &csrf)]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused.body.contains("not decided yet"), "{}", refused.body);

        c.decide(
            &r,
            &riley,
            &[DataCategory::Subscriber, DataCategory::Transactional],
            None,
        )
        .await;
        // A reviewer sees the section but cannot produce (the custodian signs).
        let page = reviewer.get(&path).await;
        let prod = section(&page, "production");
        assert!(!prod.contains("id=\"produce-form\""), "{prod}");
        assert!(prod.contains("The custodian of records produces it"));
        let csrf_r = reviewer.session_csrf().await;
        let refused = reviewer.post(&produce, &[("csrf", &csrf_r)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let token = auditor.session_csrf().await;
        let refused = auditor.post(&produce, &[("csrf", &token)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let refused = custodian.post(&produce, &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF token");
        let token = officer_b.session_csrf().await;
        let refused = officer_b.post(&produce, &[("csrf", &token)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        let page = custodian.get(&path).await;
        let prod = section(&page, "production");
        assert!(prod.contains("id=\"produce-form\""), "{prod}");
        assert!(prod.contains("AES-256 ZIP"), "the agency has no age key");

        // Produced: the passphrase is in this answer, with what to do with it.
        let produced = custodian.post(&produce, &[("csrf", &csrf)]).await;
        assert_eq!(produced.status, StatusCode::OK, "{}", produced.body);
        let passphrase = produced.by_id("passphrase").expect("the passphrase");
        assert_eq!(passphrase.len(), 34, "{passphrase}");
        assert!(produced.body.contains("another channel than the package"));
        assert!(produced.body.contains("shown only this once"));
        // ... and nowhere else: not on the page again, not in any session row.
        let page = custodian.get(&path).await;
        assert!(!page.body.contains(&passphrase));
        assert!(!page.body.contains("id=\"passphrase\""));
        let again = custodian.post(&produce, &[("csrf", &csrf)]).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(!again.body.contains("id=\"passphrase\""));
        let prod = section(&page, "production");
        assert!(prod.contains("data-status=\"building\""), "{prod}");

        c.run_jobs().await;
        let p = s
            .store
            .custody()
            .productions_for_request(Scope::Provider, r.id)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(p.status.to_string(), "delivered");
        let sha = p.package_sha256.clone().unwrap();
        let page = auditor.get(&path).await;
        let prod = section(&page, "production");
        assert!(prod.contains("data-status=\"delivered\""), "{prod}");
        assert!(prod.contains(&sha));
        assert!(prod.contains("0 of 2"), "downloads: {prod}");
        assert!(prod.contains("Staff morgan (custodian of records)"));
        assert!(!prod.contains("<form"), "auditors read: {prod}");

        // The officer downloads it from the portal's link; the passphrase opens it.
        let portal = officer_b.get(&format!("/portal/requests/{}", r.id)).await;
        assert!(portal.body.contains("id=\"download\""), "{}", portal.body);
        let bytes = officer_b
            .client
            .get(format!(
                "{}/api/v1/requests/{}/production/download",
                s.base, r.id
            ))
            .header(reqwest::header::COOKIE, officer_b.cookie_header())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("p.zip");
        std::fs::write(&pkg, &bytes).unwrap();
        custodian_production::verify(
            &pkg,
            &custodian_production::VerifyOptions {
                unlock: custodian_production::Unlock::Passphrase(
                    custodian_production::Passphrase::new(&passphrase),
                ),
                ..Default::default()
            },
        )
        .expect("the passphrase shown opens the package");
        let page = custodian.get(&path).await;
        assert!(section(&page, "production").contains("1 of 2"));
        // Another agency's officer does not see the request.
        let foreign = other_officer
            .get(&format!("/portal/requests/{}", r.id))
            .await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);

        // A new link: refused out of range, issued within it; reviewers may not.
        let link = format!("{path}/productions/{}/link", p.id);
        assert!(section(&page, "production").contains(&format!("action=\"{link}\"")));
        let refused = custodian
            .post(
                &link,
                &[("csrf", &csrf), ("days", "0"), ("max_downloads", "")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains("days: 1 to 90 days"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("aria-invalid"));
        let refused = reviewer.post(&link, &[("csrf", &csrf_r)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let done = custodian
            .post(
                &link,
                &[("csrf", &csrf), ("days", "3"), ("max_downloads", "4")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = custodian.get(&path).await;
        let prod = section(&page, "production");
        assert!(prod.contains("0 of 4"), "{prod}");
        let expiry = c.clock.now() + Duration::days(3);
        assert!(prod.contains(&expiry.format("%Y-%m-%d %H:%M UTC").to_string()));

        let actions = audit_actions(&s.store).await;
        assert!(actions.contains(&"production.requested".to_string()));
        assert!(actions.contains(&"production.link_renewed".to_string()));
        // The passphrase never reached the audit log or the job table.
        let entries = s.store.audit_entries(0, 10_000).await.unwrap();
        assert!(!format!("{entries:?}").contains(&passphrase));
        let jobs = s
            .store
            .jobs()
            .list(&JobFilter {
                limit: 1000,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert!(!format!("{jobs:?}").contains(&passphrase));
    }
}

#[tokio::test]
async fn the_notice_section_says_why_it_waits_and_takes_the_order_review() {
    for c in custody_servers("the_notice_section_says_why_it_waits").await {
        let s = &c.s;
        let officer = officer(s, &s.agency_a, "det.alvarez").await;
        let (mut reviewer, riley) = staff_signed_in(s, "riley", Role::Reviewer).await;
        let (mut approver, alex) = staff_signed_in(s, "alex", Role::Approver).await;
        let mut warrant = demand_on_jordan("search_warrant", &["subscriber", "content"]);
        warrant["ndo_until"] = json!("indefinite");
        let w = c.serve(&officer, warrant, 1).await;
        let path = page_of(w.id);
        c.decide(
            &w,
            &riley,
            &[DataCategory::Subscriber, DataCategory::Content],
            Some(&alex),
        )
        .await;
        let page = reviewer.get(&path).await;
        assert!(section(&page, "customer-notice").contains("No customer notice has been planned"));
        c.run_jobs().await;

        let page = reviewer.get(&path).await;
        let notice = section(&page, "customer-notice");
        assert!(notice.contains("data-status=\"under_review\""), "{notice}");
        assert!(notice.contains("no end date"));
        assert!(notice.contains("id=\"order-form\""));
        assert!(!notice.contains("id=\"send-notice-form\""));
        let page = approver.get(&path).await;
        assert!(!section(&page, "customer-notice").contains("<form"));
        let csrf_a = approver.session_csrf().await;
        let order = format!("{path}/notice/order");
        let refused = approver
            .post(&order, &[("csrf", &csrf_a), ("order", "continues")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        let csrf = reviewer.session_csrf().await;
        let refused = reviewer
            .post(&order, &[("csrf", &csrf), ("order", "ends")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains("last_day: the order"),
            "{}",
            refused.body
        );
        assert!(refused
            .body
            .contains("id=\"order-last-day\" name=\"last_day\" value=\"\" aria-invalid"));
        let refused = reviewer
            .post(
                &order,
                &[("csrf", &csrf), ("order", "ends"), ("last_day", "June")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("last_day: a date"));

        let done = reviewer
            .post(
                &order,
                &[("csrf", &csrf), ("order", "continues"), ("last_day", "")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let n = s.store.custody().get_notice(w.id).await.unwrap().unwrap();
        assert_eq!(n.status.as_str(), "under_review");
        let next = n.due_at.unwrap();
        assert!(
            next > c.clock.now() + Duration::days(364),
            "a year on: {next}"
        );

        let last = (c.clock.now() + Duration::days(30)).date_naive();
        let done = reviewer
            .post(
                &order,
                &[
                    ("csrf", &csrf),
                    ("order", "ends"),
                    ("last_day", &last.to_string()),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = reviewer.get(&path).await;
        let notice = section(&page, "customer-notice");
        assert!(notice.contains("data-status=\"scheduled\""), "{notice}");
        assert!(notice.contains(&format!("binds until {last}")), "{notice}");
        assert!(!notice.contains("id=\"order-form\""));
        // Sending early is for an emergency's notice only.
        let refused = reviewer
            .post(&format!("{path}/notice/send"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused
            .body
            .contains("only a notice waiting for an emergency"));
        assert!(
            c.smtp.to(JORDAN).is_empty(),
            "nothing told while the order runs"
        );

        // An emergency's notice: the reviewer sends it once the emergency has passed.
        let mut emergency = demand_on_jordan("emergency", &["subscriber", "content"]);
        emergency["emergency"] = json!({
            "danger_of_death_or_serious_injury": true,
            "supervisor_name": "Sgt. Okafor",
            "supervisor_phone": "+1 217 555 0100",
        });
        let e = c.serve(&officer, emergency, 0).await;
        c.decide(
            &e,
            &riley,
            &[DataCategory::Subscriber, DataCategory::Content],
            Some(&alex),
        )
        .await;
        c.run_jobs().await;
        let epath = page_of(e.id);
        let page = reviewer.get(&epath).await;
        let notice = section(&page, "customer-notice");
        assert!(notice.contains("An emergency disclosure"), "{notice}");
        assert!(notice.contains("id=\"send-notice-form\""));
        assert!(section(&page, "production")
            .contains("Released to the agency <span id=\"release-words\">as soon as it is built"));
        let page = approver.get(&epath).await;
        assert!(!section(&page, "customer-notice").contains("send-notice-form"));
        let done = reviewer
            .post(&format!("{epath}/notice/send"), &[("csrf", &csrf)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        c.run_jobs().await;
        let page = reviewer.get(&epath).await;
        let notice = section(&page, "customer-notice");
        assert!(notice.contains("data-status=\"sent\""), "{notice}");
        assert!(
            notice.contains("<td data-label=\"Mail\">sent</td>"),
            "{notice}"
        );
        assert!(!notice.contains(JORDAN), "the address stays in the outbox");
        assert_eq!(c.smtp.to(JORDAN).len(), 1);
        let actions = audit_actions(&s.store).await;
        assert!(actions.contains(&"notice.order_reviewed".to_string()));
        assert!(actions.contains(&"notice.sent".to_string()));
    }
}

#[tokio::test]
async fn the_holds_page_filters_active_ending_and_released_holds() {
    for c in custody_servers("the_holds_page_filters").await {
        let s = &c.s;
        let (mut officer_b, officer) = signed_in(s, &s.agency_a, "det.alvarez").await;
        let (mut reviewer, riley) = staff_signed_in(s, "riley", Role::Reviewer).await;
        let (mut auditor, _) = staff_signed_in(s, "avery", Role::Auditor).await;
        let mut ids = Vec::new();
        for days in [85, 2, 1] {
            let r = c
                .serve(
                    &officer,
                    demand_on_jordan("preservation", &["subscriber"]),
                    days,
                )
                .await;
            let h = c
                .custody
                .preserve(&Actor::User(riley.id), Some(riley.id), r.id, None)
                .await
                .unwrap();
            ids.push((r, h));
        }
        c.run_jobs().await;
        c.custody
            .release_hold(&Actor::User(riley.id), ids[2].1.id, "answered")
            .await
            .unwrap();

        let page = reviewer.get("/review/holds").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page
            .body
            .contains("href=\"/review/holds\" aria-current=\"page\">Legal holds"));
        let table = section(&page, "holds");
        assert!(table.contains(&ids[0].0.number) && table.contains(&ids[1].0.number));
        assert!(!table.contains(&ids[2].0.number), "released is not active");
        assert!(table.contains(&format!(
            "href=\"/review/requests/{}#preservation\"",
            ids[0].0.id
        )));
        // Soonest to end first; the one received 85 days ago ends within the week.
        assert!(position(&table, &ids[0].0.number) < position(&table, &ids[1].0.number));
        assert_eq!(table.matches("ends within 7 days").count(), 1);
        let filters = section(&page, "hold-filters");
        assert!(
            filters.contains("Active <span class=\"small muted\">(2)"),
            "{filters}"
        );
        assert!(filters.contains("Ending within 7 days <span class=\"small muted\">(1)"));
        assert!(filters.contains("Released <span class=\"small muted\">(1)"));

        let page = reviewer.get("/review/holds?show=expiring").await;
        let table = section(&page, "holds");
        assert!(table.contains(&ids[0].0.number) && !table.contains(&ids[1].0.number));
        let page = auditor.get("/review/holds?show=released").await;
        assert_eq!(page.status, StatusCode::OK);
        let table = section(&page, "holds");
        assert!(table.contains(&ids[2].0.number) && table.contains("answered"));
        assert!(!table.contains(&ids[0].0.number));
        let page = reviewer.get("/review/holds?show=all").await;
        assert_eq!(section(&page, "holds").matches("<tr id=\"hold-").count(), 3);
        let page = reviewer.get("/review/holds?show=frozen").await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("show: one of active"));
        assert!(
            section(&page, "holds").contains(&ids[0].0.number),
            "the active ones"
        );
        let page = reviewer.get("/review/holds?status=active").await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);

        // The API answers the same question.
        let token = token_for(&s.store, &riley).await;
        let (st, body) = api(
            &s.base,
            &token,
            reqwest::Method::GET,
            "/api/v1/custody/holds?ends_within_days=7",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body.as_array().unwrap().len(), 1);
        assert_eq!(body[0]["request_id"], ids[0].0.id.to_string());
        let (st, _) = api(
            &s.base,
            &token,
            reqwest::Method::GET,
            "/api/v1/custody/holds?ends_within_days=7&status=released",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        // Agency staff get neither the page nor the link.
        let page = officer_b.get("/review/holds").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let portal = officer_b.get("/portal").await;
        assert!(!portal.body.contains("/review/holds"));
    }
}

#[tokio::test]
async fn the_admin_reads_the_outbox_and_jobs_and_resends_a_failed_mail() {
    for s in servers("the_admin_reads_the_outbox_and_jobs").await {
        let (mut admin, _) = staff_signed_in(&s, "pat", Role::Admin).await;
        let (mut auditor, _) = staff_signed_in(&s, "avery", Role::Auditor).await;
        let (mut reviewer, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        let now = chrono::Utc::now();
        let queue = |subject: &'static str| {
            let store = s.store.clone();
            async move {
                store
                    .outbox()
                    .queue(
                        &Actor::System("test".into()),
                        NewMail {
                            kind: "deadline_reminder".into(),
                            recipient: "riley@provider.example".into(),
                            subject: subject.into(),
                            body_text: format!("{subject}: see the review page."),
                            request_id: None,
                            send_after: None,
                        },
                        now,
                    )
                    .await
                    .unwrap()
            }
        };
        let failed = queue("LE-2026-000001 is overdue").await;
        let queued = queue("LE-2026-000002 is due tomorrow").await;
        s.store
            .outbox()
            .mark_attempt_failed(failed, "550 mailbox unavailable", true)
            .await
            .unwrap();

        let page = admin.get("/admin/outbox").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("aria-current=\"page\">Mail outbox"));
        let table = section(&page, "outbox");
        let row = section(&page, &format!("mail-{failed}"));
        assert!(row.contains("data-status=\"failed\""), "{row}");
        assert!(row.contains("550 mailbox unavailable"));
        assert!(
            row.contains("<td data-label=\"Attempts\"><div>1</div></td>"),
            "{row}"
        );
        assert!(table.contains(&format!("mail-{queued}")));
        let page = admin.get("/admin/outbox?status=failed&kind=").await;
        let table = section(&page, "outbox");
        assert!(
            table.contains(&format!("mail-{failed}")) && !table.contains(&format!("mail-{queued}"))
        );
        let page = admin.get("/admin/outbox?status=lost").await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("status:"), "{}", page.body);
        assert!(section(&page, "outbox").contains(&format!("mail-{queued}")));

        // A mail's detail: what the API shows, with the resend for a failed one.
        let detail = format!("/admin/outbox/{failed}");
        let page = admin.get(&detail).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.by_id("mail-status").as_deref(), Some("failed"));
        assert!(page
            .body
            .contains("LE-2026-000001 is overdue: see the review page."));
        assert!(page.body.contains("id=\"resend-button\""));
        let resend = format!("{detail}/resend");
        let refused = admin.post(&resend, &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF token");
        let csrf = admin.session_csrf().await;
        let done = admin.post(&resend, &[("csrf", &csrf)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = admin.get(&detail).await;
        assert_eq!(page.by_id("mail-status").as_deref(), Some("queued"));
        assert!(!page.body.contains("id=\"resend-button\""));
        let again = admin.post(&resend, &[("csrf", &csrf)]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        let missing = admin
            .get(&format!("/admin/outbox/{}", uuid::Uuid::new_v4()))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(audit_actions(&s.store)
            .await
            .contains(&"mail.resend".to_string()));

        // The job table: the mails' sending jobs.
        let page = admin.get("/admin/jobs?status=queued").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let jobs = section(&page, "jobs");
        assert!(jobs.matches("mail.send").count() >= 2, "{jobs}");
        assert!(
            jobs.contains(&failed.to_string()),
            "the resent mail's job: {jobs}"
        );
        let page = admin.get("/admin/jobs?status=done").await;
        assert!(page.body.contains("id=\"no-jobs\""));

        // Auditors read the admin pages, but not these two (addresses, notice texts).
        let page = auditor.get("/admin/agencies").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("/admin/outbox"));
        for b in [&mut auditor, &mut reviewer] {
            for path in ["/admin/outbox", "/admin/jobs", detail.as_str()] {
                assert_eq!(b.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
            }
        }
        let csrf = auditor.session_csrf().await;
        let refused = auditor.post(&resend, &[("csrf", &csrf)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_agency_age_key_is_set_by_the_admin_and_the_agencys_supervisor() {
    for s in servers("the_agency_age_key_pages").await {
        let (mut admin, _) = staff_signed_in(&s, "pat", Role::Admin).await;
        let (mut auditor, _) = staff_signed_in(&s, "avery", Role::Auditor).await;
        let (mut officer_b, _) = signed_in(&s, &s.agency_a, "det.alvarez").await;
        let supervisor = s
            .store
            .create_user(
                &Actor::System("test".into()),
                NewUser {
                    email: "sgt.okafor@springfieldpd.gov".into(),
                    name: "Sgt. Okafor".into(),
                    role: Role::AgencySupervisor,
                    agency_id: Some(s.agency_a.id),
                    password_hash: Some(custodian_web::account::password::hash(PASSWORD).unwrap()),
                },
            )
            .await
            .unwrap();
        let mut sup = Browser::for_server(&s);
        sup.enrol(&supervisor.email).await;
        let key = age::x25519::Identity::generate();
        let public = key.to_public().to_string();
        let secret = {
            use age::secrecy::ExposeSecret;
            key.to_string().expose_secret().to_string()
        };
        let stored = |id| {
            let store = s.store.clone();
            async move { store.custody().age_recipient(id).await.unwrap() }
        };

        let path = format!("/admin/agencies/{}", s.agency_b.id);
        let page = admin.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(section(&page, "agency-key").contains("id=\"age-recipient\""));
        let set = format!("{path}/age-recipient");
        let csrf = admin.session_csrf().await;
        for (typed, says) in [
            (secret.as_str(), "that is an age identity"),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
                "an SSH key is not accepted",
            ),
            ("age1notakey", "not an age X25519 public key"),
        ] {
            let refused = admin
                .post(&set, &[("csrf", &csrf), ("recipient", typed)])
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
            assert!(refused.body.contains(says), "{typed}: {}", refused.body);
            assert!(refused.body.contains("aria-invalid=\"true\""));
        }
        let refused = admin
            .post(&set, &[("csrf", &csrf), ("recipient", &secret)])
            .await;
        assert!(
            !refused.body.contains(&secret),
            "a secret key is never shown back"
        );
        assert_eq!(stored(s.agency_b.id).await, None);
        let done = admin
            .post(&set, &[("csrf", &csrf), ("recipient", &public)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(
            stored(s.agency_b.id).await.as_deref(),
            Some(public.as_str())
        );
        let page = auditor.get(&path).await;
        let section_ = section(&page, "agency-key");
        assert!(
            section_.contains(&public) && !section_.contains("<form"),
            "{section_}"
        );
        let token = auditor.session_csrf().await;
        let refused = auditor
            .post(&set, &[("csrf", &token), ("recipient", "")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let done = admin
            .post(
                &set,
                &[("csrf", &csrf), ("clear", "1"), ("recipient", &public)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!(stored(s.agency_b.id).await, None);

        // The supervisor sets their own agency's key from their account page.
        let page = sup.get("/account").await;
        assert!(section(&page, "agency-key").contains("action=\"/account/agency-key\""));
        let csrf_s = sup.session_csrf().await;
        let refused = sup
            .post(
                "/account/agency-key",
                &[("csrf", &csrf_s), ("recipient", "age1notakey")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("id=\"age-key-error\""));
        let done = sup
            .post(
                "/account/agency-key",
                &[("csrf", &csrf_s), ("recipient", &public)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(
            stored(s.agency_a.id).await.as_deref(),
            Some(public.as_str())
        );
        assert_eq!(stored(s.agency_b.id).await, None, "only their own agency");
        // Their officers read it; they cannot change it.
        let page = officer_b.get("/account").await;
        let key_section = section(&page, "agency-key");
        assert!(key_section.contains(&public) && !key_section.contains("<form"));
        let token = officer_b.session_csrf().await;
        let refused = officer_b
            .post(
                "/account/agency-key",
                &[("csrf", &token), ("recipient", "")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            stored(s.agency_a.id).await.as_deref(),
            Some(public.as_str())
        );
        // Staff have no agency key of their own.
        let page = admin.get("/account").await;
        assert!(!page.body.contains("id=\"agency-key\""));
        let refused = admin
            .post(
                "/account/agency-key",
                &[("csrf", &csrf), ("recipient", &public)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let actions = audit_actions(&s.store).await;
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "agency.age_recipient_set")
                .count(),
            3
        );
    }
}
