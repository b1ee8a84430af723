//! The admin pages and their JSON endpoints (`/api/v1/admin/...`) on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL: agencies, users and roles, holiday
//! calendars that move deadlines, and the policy profile switched for every server at once.

mod common;

use chrono::{Datelike, NaiveDate, Utc, Weekday};
use common::*;
use custodian_core::deadline::{respond_by, BusinessCalendar};
use custodian_core::{LegalProcess, Role};
use custodian_store::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn admins_register_verify_and_edit_agencies_and_auditors_read() {
    for s in servers("admin_agencies").await {
        let (mut ab, _) = staff_signed_in(&s, "pat", Role::Admin).await;
        assert_eq!(
            ab.get("/admin").await.location.as_deref(),
            Some("/admin/agencies")
        );
        let page = ab.get("/admin/agencies").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Springfield Police Department"));
        assert!(
            page.body.contains("href=\"/admin\" aria-current=\"page\""),
            "the nav marks it"
        );
        let csrf = page.csrf();

        // A field at fault is named and marked; what was typed stays.
        let bad = ab
            .post(
                "/admin/agencies",
                &[
                    ("csrf", &csrf),
                    ("name", "Ogdenville Police Department"),
                    ("country", "XX"),
                    ("kind", "local_police"),
                    ("domain", "ogdenvillepd.gov"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("id=\"agency-country\" name=\"country\" value=\"XX\" maxlength=\"2\" required aria-invalid=\"true\""), "{}", bad.body);
        assert!(bad.body.contains("value=\"Ogdenville Police Department\""));
        let done = ab
            .post(
                "/admin/agencies",
                &[
                    ("csrf", &csrf),
                    ("name", "Ogdenville Police Department"),
                    ("country", "us"),
                    ("kind", "local_police"),
                    ("domain", "OgdenvillePD.gov"),
                    ("phone", "+1 217 555 0177"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let path = done.location.unwrap();
        let page = ab.get(&path).await;
        assert_eq!(
            page.by_id("agency-status").as_deref(),
            Some("Not verified yet")
        );
        assert!(page.body.contains("ogdenvillepd.gov"));
        let csrf = page.csrf();

        // Verify, set the directory number, add and remove domains, suspend.
        let r = ab.post(&format!("{path}/verify"), &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            ab.get(&path).await.by_id("agency-status").as_deref(),
            Some("Verified")
        );
        let bad = ab
            .post(
                &format!("{path}/phone"),
                &[("csrf", &csrf), ("phone", "call me")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body.contains("value=\"call me\" aria-invalid=\"true\""),
            "{}",
            bad.body
        );
        ab.post(
            &format!("{path}/phone"),
            &[("csrf", &csrf), ("phone", "+1 (217) 555-0199")],
        )
        .await;
        assert!(ab
            .get(&path)
            .await
            .body
            .contains("value=\"+1 (217) 555-0199\""));
        let taken = ab
            .post(
                &format!("{path}/domains"),
                &[("csrf", &csrf), ("domain", "springfieldpd.gov")],
            )
            .await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert!(taken.body.contains("belongs to another agency"));
        ab.post(
            &format!("{path}/domains"),
            &[("csrf", &csrf), ("domain", "pd.ogdenville.gov")],
        )
        .await;
        ab.post(
            &format!("{path}/domains/remove"),
            &[("csrf", &csrf), ("domain", "ogdenvillepd.gov")],
        )
        .await;
        let page = ab.get(&path).await;
        assert!(page.by_id("domains").is_some());
        assert!(page.body.contains("pd.ogdenville.gov"));
        assert!(!page.body.contains("<li>ogdenvillepd.gov"));
        ab.post(&format!("{path}/suspend"), &[("csrf", &csrf)])
            .await;
        assert_eq!(
            ab.get(&path).await.by_id("agency-status").as_deref(),
            Some("Suspended")
        );
        // Without the CSRF token nothing happens.
        let forged = ab.post(&format!("{path}/verify"), &[]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(
            ab.get(&path).await.by_id("agency-status").as_deref(),
            Some("Suspended")
        );

        // The same through the JSON API; an auditor reads, never writes.
        let admin_token = token_for(
            &s.store,
            &s.store
                .find_user_by_email("pat@provider.example")
                .await
                .unwrap(),
        )
        .await;
        let auditor = staff(&s, "jordan", Role::Auditor).await;
        let audit_token = token_for(&s.store, &auditor).await;
        let id = path.rsplit('/').next().unwrap();
        let (st, a) = api(
            &s.base,
            &audit_token,
            Method::GET,
            &format!("/api/v1/admin/agencies/{id}"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(a["status"], "suspended");
        assert_eq!(a["phone"], "+1 (217) 555-0199");
        let (st, _) = api(
            &s.base,
            &audit_token,
            Method::POST,
            &format!("/api/v1/admin/agencies/{id}/verify"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, a) = api(
            &s.base,
            &admin_token,
            Method::PATCH,
            &format!("/api/v1/admin/agencies/{id}"),
            Some(json!({"phone": null})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_eq!(a["phone"], serde_json::Value::Null);
        let (st, a) = api(
            &s.base,
            &admin_token,
            Method::POST,
            &format!("/api/v1/admin/agencies/{id}/domains"),
            Some(json!({"domain": "not a domain"})),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            a["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("domain: "),
            "{a}"
        );
        let (st, a) = api(
            &s.base,
            &admin_token,
            Method::DELETE,
            &format!("/api/v1/admin/agencies/{id}/domains/pd.ogdenville.gov"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_eq!(a["domains"], json!([]));
        let (st, created) = api(
            &s.base,
            &admin_token,
            Method::POST,
            "/api/v1/admin/agencies",
            Some(json!({
                "name": "Capital City Police", "country": "US", "kind": "local_police",
                "domains": ["capitalcitypd.gov"], "verified": true
            })),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        assert_eq!(created["status"], "verified");
        let (st, _) = api(
            &s.base,
            &admin_token,
            Method::GET,
            &format!("/api/v1/admin/agencies/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        let mut au = Browser::new(&s.base);
        au.enrol(&auditor.email).await;
        let read = au.get(&path).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(read.by_id("read-only").is_some());
        assert!(!read.body.contains("/verify\""));
        let refused = au
            .post(&format!("{path}/verify"), &[("csrf", &read.csrf())])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        // Officers and reviewers have no admin pages.
        let (mut ob, _) = signed_in(&s, &s.agency_a, "alvarez").await;
        assert_eq!(
            ob.get("/admin/agencies").await.status,
            StatusCode::FORBIDDEN
        );
        let (mut rb, _) = staff_signed_in(&s, "riley", Role::Reviewer).await;
        assert_eq!(rb.get("/admin/users").await.status, StatusCode::FORBIDDEN);
        assert!(!rb.get("/review").await.body.contains("href=\"/admin\""));

        let log = audit_actions(&s.store).await;
        for a in [
            "agency.created",
            "agency.status_changed",
            "agency.phone_changed",
            "agency.domain_added",
            "agency.domain_removed",
        ] {
            assert!(log.iter().any(|x| x == a), "{a}");
        }
    }
}

#[tokio::test]
async fn admins_add_staff_change_roles_and_deactivate() {
    for s in servers("admin_users").await {
        let (mut ab, pat) = staff_signed_in(&s, "pat", Role::Admin).await;
        let page = ab.get("/admin/users").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.csrf();
        let short = ab
            .post(
                "/admin/users",
                &[
                    ("csrf", &csrf),
                    ("email", "morgan@provider.example"),
                    ("name", "Morgan Lee"),
                    ("role", "custodian"),
                    ("password", "short"),
                ],
            )
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            short.body.contains("at least 12 characters"),
            "{}",
            short.body
        );
        assert!(short.body.contains("value=\"morgan@provider.example\""));
        let officer_role = ab
            .post(
                "/admin/users",
                &[
                    ("csrf", &csrf),
                    ("email", "x@provider.example"),
                    ("name", "X"),
                    ("role", "agency_officer"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(officer_role.status, StatusCode::UNPROCESSABLE_ENTITY);
        let done = ab
            .post(
                "/admin/users",
                &[
                    ("csrf", &csrf),
                    ("email", "Morgan@Provider.example"),
                    ("name", "Morgan Lee"),
                    ("role", "reviewer"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let morgan = s
            .store
            .find_user_by_email("morgan@provider.example")
            .await
            .unwrap();
        assert_eq!(morgan.role, Role::Reviewer);

        // The new colleague signs in (second factor at once) and lands on the queue.
        let mut mb = Browser::new(&s.base);
        mb.enrol(&morgan.email).await;
        assert_eq!(mb.get("/").await.location.as_deref(), Some("/review"));

        // Role changes stay on their side; an admin cannot lock themselves out.
        let r = ab
            .post(
                &format!("/admin/users/{}/role", morgan.id),
                &[("csrf", &csrf), ("role", "approver")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            s.store.get_user(morgan.id).await.unwrap().role,
            Role::Approver
        );
        let across = ab
            .post(
                &format!("/admin/users/{}/role", morgan.id),
                &[("csrf", &csrf), ("role", "agency_officer")],
            )
            .await;
        assert_eq!(across.status, StatusCode::CONFLICT);
        assert!(across.body.contains("separate accounts"));
        let own = ab
            .post(
                &format!("/admin/users/{}/active", pat.id),
                &[("csrf", &csrf), ("active", "false")],
            )
            .await;
        assert_eq!(own.status, StatusCode::CONFLICT);
        assert!(own.body.contains("your own account"));
        let officer = officer(&s, &s.agency_a, "alvarez").await;
        ab.post(
            &format!("/admin/users/{}/role", officer.id),
            &[("csrf", &csrf), ("role", "agency_supervisor")],
        )
        .await;
        assert_eq!(
            s.store.get_user(officer.id).await.unwrap().role,
            Role::AgencySupervisor
        );

        // Deactivating signs the colleague out at once; reactivating lets them in again.
        let r = ab
            .post(
                &format!("/admin/users/{}/active", morgan.id),
                &[("csrf", &csrf), ("active", "false")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(mb.get("/review").await.location.as_deref(), Some("/signin"));
        let again = mb.password(&morgan.email, PASSWORD).await;
        assert_ne!(
            again.location.as_deref(),
            Some("/signin/second-factor"),
            "no way in while deactivated"
        );
        ab.post(
            &format!("/admin/users/{}/active", morgan.id),
            &[("csrf", &csrf), ("active", "true")],
        )
        .await;
        assert!(s.store.get_user(morgan.id).await.unwrap().active);

        // The JSON API does the same.
        let token = token_for(&s.store, &pat).await;
        let (st, created) = api(&s.base, &token, Method::POST, "/api/v1/admin/users", Some(json!({
            "email": "audit@provider.example", "name": "Jordan Audit", "role": "auditor", "password": PASSWORD
        }))).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap();
        let (st, changed) = api(
            &s.base,
            &token,
            Method::PATCH,
            &format!("/api/v1/admin/users/{id}"),
            Some(json!({"active": false})),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(changed["active"], false);
        let (st, err) = api(
            &s.base,
            &token,
            Method::PATCH,
            &format!("/api/v1/admin/users/{id}"),
            Some(json!({"role": "emperor"})),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("role: "));
        let (st, err) = api(
            &s.base,
            &token,
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", pat.id),
            Some(json!({"role": "reviewer"})),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_eq!(err["error"]["code"], "own_account");
        let (st, users) = api(&s.base, &token, Method::GET, "/api/v1/admin/users", None).await;
        assert_eq!(st, StatusCode::OK);
        assert!(users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none()));
        let log = audit_actions(&s.store).await;
        for a in [
            "user.created",
            "user.role_changed",
            "user.deactivated",
            "user.reactivated",
        ] {
            assert!(log.iter().any(|x| x == a), "{a}");
        }
    }
}

/// The next weekday after `d` that the compiled federal calendar works.
fn next_business_day(cal: &BusinessCalendar, d: NaiveDate) -> NaiveDate {
    let mut day = d.succ_opt().unwrap();
    while !cal.is_business_day(day) {
        day = day.succ_opt().unwrap();
    }
    day
}

#[tokio::test]
async fn an_admins_holiday_moves_the_deadlines_of_new_requests() {
    for s in servers("admin_calendars").await {
        let (mut ab, pat) = staff_signed_in(&s, "pat", Role::Admin).await;
        let page = ab.get("/admin/calendars").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("compiled default"));
        let csrf = page.csrf();
        let now = Utc::now();
        let compiled = BusinessCalendar::us_federal(now.year() - 1..=now.year() + 1);
        let day_off = next_business_day(&compiled, now.date_naive());

        // A weekend is refused with the field named; the company holiday is added.
        let mut saturday = now.date_naive();
        while saturday.weekday() != Weekday::Sat {
            saturday = saturday.succ_opt().unwrap();
        }
        let bad = ab
            .post(
                "/admin/calendars/US/holidays",
                &[
                    ("csrf", &csrf),
                    ("date", &saturday.to_string()),
                    ("name", "Company day"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body.contains("weekends are never business days"),
            "{}",
            bad.body
        );
        let done = ab
            .post(
                "/admin/calendars/US/holidays",
                &[
                    ("csrf", &csrf),
                    ("date", &day_off.to_string()),
                    ("name", "Company day"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = ab.get(done.location.as_deref().unwrap()).await;
        assert!(page.body.contains("Company day"), "{}", page.body);
        assert!(
            !page.body.contains("compiled default"),
            "the calendar is stored now"
        );

        // A subpoena served now is due one business day later than the federal calendar says.
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let token = token_for(&s.store, &o).await;
        let served = serve_api(&s, &token, demand("subpoena", &["subscriber"])).await;
        let due: chrono::DateTime<Utc> = served["respond_by"].as_str().unwrap().parse().unwrap();
        let received: chrono::DateTime<Utc> =
            served["received_at"].as_str().unwrap().parse().unwrap();
        let federal = respond_by(LegalProcess::Subpoena, false, received, None, &compiled);
        assert_eq!(
            due.date_naive(),
            next_business_day(&compiled, federal.date_naive()),
            "one business day later"
        );

        // Working through a federal holiday, and taking it off again.
        let other_year = day_off.year() + 1;
        let (st, cal) = api(
            &s.base,
            &token_for(&s.store, &pat).await,
            Method::GET,
            &format!("/api/v1/admin/calendars/US?year={other_year}"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(cal["holidays"].as_array().unwrap().len(), 11, "{cal}");
        let (_, cal) = api(
            &s.base,
            &token_for(&s.store, &pat).await,
            Method::GET,
            &format!("/api/v1/admin/calendars/US?year={}", day_off.year()),
            None,
        )
        .await;
        assert_eq!(cal["holidays"].as_array().unwrap().len(), 12, "{cal}");
        let thanksgiving = "2026-11-26";
        let worked = ab
            .post(
                "/admin/calendars/US/holidays/remove",
                &[("csrf", &csrf), ("date", thanksgiving)],
            )
            .await;
        assert_eq!(worked.status, StatusCode::SEE_OTHER, "{}", worked.body);
        let page = ab.get("/admin/calendars/US?year=2026").await;
        assert!(!page.body.contains("Thanksgiving Day"));
        let again = ab
            .post(
                "/admin/calendars/US/holidays",
                &[("csrf", &csrf), ("date", "2026-12-25"), ("name", "Xmas")],
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.body.contains("already a holiday (Christmas Day)"));
        let missing = ab
            .post(
                "/admin/calendars/US/holidays/remove",
                &[("csrf", &csrf), ("date", "2026-03-03")],
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        // A calendar of its own for the UK, through the page and the API.
        let created = ab
            .post(
                "/admin/calendars",
                &[
                    ("csrf", &csrf),
                    ("code", "gb"),
                    ("name", ""),
                    ("base", "empty"),
                ],
            )
            .await;
        assert_eq!(
            created.location.as_deref(),
            Some("/admin/calendars/GB"),
            "{}",
            created.body
        );
        let admin_token = token_for(&s.store, &pat).await;
        let (st, gb) = api(
            &s.base,
            &admin_token,
            Method::POST,
            "/api/v1/admin/calendars/GB/holidays",
            Some(json!({"date": "2026-12-28", "name": "Boxing Day (substitute)"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{gb}");
        assert_eq!(gb["holidays"].as_array().unwrap().len(), 1);
        assert_eq!(gb["base"], "empty");
        let (st, _) = api(
            &s.base,
            &admin_token,
            Method::POST,
            "/api/v1/admin/calendars/FR/holidays",
            Some(json!({"date": "2026-07-14", "name": "Fête nationale"})),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "create it first");
        let (st, list) = api(
            &s.base,
            &admin_token,
            Method::GET,
            "/api/v1/admin/calendars",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let codes: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["GB", "US"]);
        let (st, _) = api(
            &s.base,
            &token,
            Method::GET,
            "/api/v1/admin/calendars",
            None,
        )
        .await;
        assert_eq!(
            st,
            StatusCode::FORBIDDEN,
            "officers do not read the calendars"
        );
    }
}

#[tokio::test]
async fn the_policy_profile_is_switched_for_every_server() {
    for s in servers("admin_policy").await {
        let other = another_server(&s).await;
        let (mut ab, pat) = staff_signed_in(&s, "pat", Role::Admin).await;
        let page = ab.get("/admin/policy").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            page.by_id("active-profile").as_deref(),
            Some("provider-default")
        );
        assert!(
            page.body.contains("us.subpoena") || page.body.contains("<code>"),
            "the rules are listed"
        );
        let csrf = page.csrf();

        // A subpoena's assessment before and after, on the other server.
        let o = officer(&s, &s.agency_a, "alvarez").await;
        let token = token_for(&s.store, &o).await;
        let id = serve_api(&s, &token, demand("subpoena", &["subscriber"])).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/requests/{id}/assessment");
        let (_, before) = api(&other, &token, Method::GET, &path, None).await;
        assert_eq!(before["profile"], "provider-default");
        assert_eq!(before["customer_notice"], "not_required");

        let bad = ab
            .post("/admin/policy", &[("csrf", &csrf), ("profile", "lenient")])
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("no profile"));
        let done = ab
            .post(
                "/admin/policy",
                &[("csrf", &csrf), ("profile", "notify-all")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let (_, after) = api(&other, &token, Method::GET, &path, None).await;
        assert_eq!(
            after["profile"], "notify-all",
            "the other server applies it too"
        );
        assert_ne!(after["customer_notice"], "not_required", "{after}");
        let admin_token = token_for(&s.store, &pat).await;
        let (st, view) = api(
            &other,
            &admin_token,
            Method::GET,
            "/api/v1/admin/policy",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(view["active"], "notify-all");
        assert_eq!(view["configured"], "provider-default");
        assert_eq!(view["chosen_by_admin"], true);

        // Back to the profile the servers were started with: the choice is forgotten.
        let (st, view) = api(
            &other,
            &admin_token,
            Method::PUT,
            "/api/v1/admin/policy",
            Some(json!({"profile": "provider-default"})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{view}");
        assert_eq!(view["chosen_by_admin"], false);
        assert_eq!(
            s.store
                .admin()
                .setting(POLICY_PROFILE_SETTING)
                .await
                .unwrap(),
            None
        );
        let (st, _) = api(
            &other,
            &token,
            Method::PUT,
            "/api/v1/admin/policy",
            Some(json!({"profile": "notify-all"})),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(audit_actions(&s.store)
            .await
            .iter()
            .any(|a| a == "setting.changed"));
    }
}

#[tokio::test]
async fn registrations_waiting_for_approval_are_decided_on_the_agencies_page() {
    for s in servers("admin_registrations").await {
        let waiting = |email: &str, agency: &str| NewRegistration {
            email: email.into(),
            name: format!("Lt. {email}"),
            password_hash: Some(custodian_web::account::password::hash(PASSWORD).unwrap()),
            agency_id: None,
            claimed: Some(ClaimedAgency {
                name: agency.into(),
                country: custodian_core::Country::US,
                kind: custodian_core::AgencyKind::LocalPolice,
                phone: Some("+1 217 555 0177".into()),
            }),
            status: RegistrationStatus::AwaitingApproval,
            lookalike_of: None,
            lookalike_reasons: Vec::new(),
            token_hash: None,
            token_expires_at: None,
        };
        let sys = Actor::System("test".into());
        let accounts = s.store.accounts();
        let hoover = accounts
            .create_registration(
                &sys,
                waiting("hoover@ogdenvillepd.gov", "Ogdenville Police Department"),
                None,
                Utc::now(),
            )
            .await
            .unwrap();
        let lou = accounts
            .create_registration(
                &sys,
                waiting("lou@springfield-county.gov", "Springfield County"),
                None,
                Utc::now(),
            )
            .await
            .unwrap();
        let mine = accounts
            .create_registration(
                &sys,
                waiting("eddie@springfield.example", "Springfield PD annex"),
                None,
                Utc::now(),
            )
            .await
            .unwrap();

        let (mut ab, _) = staff_signed_in(&s, "pat", Role::Admin).await;
        let page = ab.get("/admin/agencies").await;
        assert!(
            page.body.contains("Registrations waiting for approval (3)"),
            "{}",
            page.body
        );
        assert!(page.body.contains(
            "Ogdenville Police Department (US, local police, phone given +1 217 555 0177)"
        ));
        let csrf = page.csrf();
        // Approved: the agency they named is created, verified, and they can sign in.
        let done = ab
            .post(
                &format!("/admin/registrations/{}/approve", hoover.id),
                &[("csrf", &csrf), ("agency", "")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let agency = s
            .store
            .find_agency_by_name("Ogdenville Police Department")
            .await
            .unwrap();
        assert_eq!(agency.status, custodian_core::AgencyStatus::Verified);
        assert_eq!(agency.domains, vec!["ogdenvillepd.gov"]);
        let mut hb = Browser::new(&s.base);
        hb.enrol("hoover@ogdenvillepd.gov").await;
        assert_eq!(hb.get("/").await.location.as_deref(), Some("/portal"));
        // Into an agency the admin chooses; or refused.
        let done = ab
            .post(
                &format!("/admin/registrations/{}/approve", mine.id),
                &[("csrf", &csrf), ("agency", &s.agency_a.id.to_string())],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let eddie = s
            .store
            .find_user_by_email("eddie@springfield.example")
            .await
            .unwrap();
        assert_eq!(eddie.agency_id, Some(s.agency_a.id));
        ab.post(
            &format!("/admin/registrations/{}/refuse", lou.id),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(s
            .store
            .find_user_by_email("lou@springfield-county.gov")
            .await
            .is_err());
        let page = ab.get("/admin/agencies").await;
        assert!(page.body.contains("Registrations waiting for approval (0)"));
        // Deciding twice is refused with the reason.
        let again = ab
            .post(
                &format!("/admin/registrations/{}/refuse", hoover.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        // An auditor sees them but cannot decide.
        let (mut au, _) = staff_signed_in(&s, "jordan", Role::Auditor).await;
        let read = au.get("/admin/agencies").await;
        assert!(!read.body.contains("/approve\""));
        let refused = au
            .post(
                &format!("/admin/registrations/{}/refuse", hoover.id),
                &[("csrf", &read.csrf())],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
}
