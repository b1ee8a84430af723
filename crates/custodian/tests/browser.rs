//! End-to-end in a real browser: the real `custodian serve` binary, Debian's chromium driven
//! through chromedriver. An officer registers, verifies the address from the mail, enrols an
//! authenticator, serves a subpoena with a PDF and finds it in My requests. Screenshots of the
//! main pages go into a folder whose path the test prints (CUSTODIAN_SCREENSHOT_DIR to choose).

mod common;

use chrono::Utc;
use common::webdriver::Browser;
use common::Env;
use custodian_report::pdf::text_pdf;
use custodian_web::account::totp;

fn screenshot_dir() -> std::path::PathBuf {
    match std::env::var_os("CUSTODIAN_SCREENSHOT_DIR") {
        Some(d) => d.into(),
        None => std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
    }
}

#[tokio::test]
async fn an_officer_registers_enrols_and_serves_a_subpoena() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let env = Env::sqlite();
    env.run(&[
        "admin",
        "agency",
        "create",
        "--name",
        "Springfield Police Department",
        "--country",
        "US",
        "--kind",
        "local_police",
        "--domain",
        "springfieldpd.gov",
        "--phone",
        "+1 217 555 0100",
        "--verified",
    ]);
    // The server sends its mail to a real SMTP server on loopback.
    let sink = custodian_jobs::testing::SmtpSink::start().unwrap();
    let mut command = env.command();
    command.env("CUSTODIAN_SMTP_URL", sink.url());
    let server = common::Server::start(command);
    let base = server.base.clone();
    let shots = screenshot_dir();
    let email = "det.alvarez@springfieldpd.gov";
    let password = "correct horse battery staple";

    // Register.
    browser.window(1280, 800).await;
    browser.goto(&format!("{base}/register")).await;
    browser.fill("#email", email).await;
    browser.fill("#name", "Det. Maria Alvarez").await;
    browser.fill("#password", password).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    let h1 = browser.text(&browser.find("h1").await).await;
    assert_eq!(h1, "Check your e-mail", "{}", browser.source().await);

    // Verify the address with the link from the mail.
    let mails = sink.wait_for(1, std::time::Duration::from_secs(30));
    let mail = mails
        .iter()
        .find(|m| m.header("To").unwrap_or_default().contains(email));
    let link = mail
        .and_then(|m| m.link_containing("/register/verify?token="))
        .expect("the verification mail with its link");
    assert!(link.starts_with(&base), "{link}");
    browser.goto(&link).await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    browser.wait_for_url("/signin").await;

    // Sign in by keyboard alone (Tab to the next field, Enter to send), enrol the
    // authenticator (the test computes the codes), keep the recovery codes.
    browser.click(&browser.find("#email").await).await;
    browser.keys(email).await;
    browser.keys("\u{E004}").await;
    browser.keys(password).await;
    browser.keys("\u{E007}").await;
    browser.wait_for_url("/signin/enrol").await;
    browser.screenshot(&shots, "enrol").await;
    let secret = browser.text(&browser.find("#totp-secret").await).await;
    let secret = totp::base32_decode(&secret).expect("a base32 secret");
    browser
        .fill("#code", &totp::code_at(&secret, Utc::now()))
        .await;
    browser
        .click(&browser.find("form[action='/signin/enrol'] button").await)
        .await;
    let codes = browser.text(&browser.find("#recovery-codes").await).await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    browser.click(&browser.find("a.button").await).await;
    browser.wait_for_url("/portal").await;
    let home = browser.screenshot(&shots, "portal-home-empty").await;
    assert!(home.exists());

    // Serve a subpoena with a PDF, using the keyboard-reachable controls.
    browser.goto(&format!("{base}/portal/serve")).await;
    browser.fill("#issuing_country", "US").await;
    browser.fill("#case_reference", "2026-CR-0042").await;
    browser.fill("#target_value-0", "suspect@example.com").await;
    browser
        .click(
            &browser
                .find("input[name=categories][value=subscriber]")
                .await,
        )
        .await;
    browser
        .click(
            &browser
                .find("input[name=categories][value=transactional]")
                .await,
        )
        .await;
    browser.set_value("#date_from", "2026-01-01").await;
    browser.set_value("#date_to", "2026-03-31").await;
    browser
        .click(&browser.find("input[name=ndo][value=until]").await)
        .await;
    browser.set_value("#ndo_until", "2027-06-30").await;
    // The live preview answers from the policy engine.
    let preview = browser.find("#preview-facts").await;
    let words = browser.text(&preview).await;
    assert!(words.contains("disclose"), "preview: {words}");
    // Another target row, added and removed again by the buttons.
    browser
        .click(&browser.find("button.add-target").await)
        .await;
    browser.find("#target_value-3").await;
    let pdf = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(pdf.path(), common::pdf(1, 2_000)).unwrap();
    browser.attach("#document", pdf.path()).await;
    browser.screenshot(&shots, "serve-form").await;
    browser
        .click(&browser.find("#serve-form button[type=submit]").await)
        .await;
    let page = browser.wait_for_url("/portal/requests/").await;
    let flash = browser.text(&browser.find(".flash").await).await;
    assert!(flash.starts_with("Received as LE-"), "{flash}");
    let number = flash
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches('.')
        .to_string();
    let docs = browser.text(&browser.find("#documents").await).await;
    assert!(docs.contains(".pdf"), "{docs}");
    browser.screenshot(&shots, "request-page").await;

    // My requests lists it, with its deadline; nothing overflows at phone width either.
    browser.goto(&format!("{base}/portal")).await;
    let table = browser.text(&browser.find("#requests").await).await;
    assert!(table.contains(&number), "{table}");
    browser.screenshot(&shots, "portal-home").await;
    assert!(browser.fits_width().await, "nothing sticks out at 1280x800");
    browser.window(390, 844).await;
    for path in ["/portal", "/portal/serve", page.trim_start_matches(&base)] {
        browser.goto(&format!("{base}{path}")).await;
        assert!(browser.fits_width().await, "{path} fits a phone's width");
    }
    browser.goto(&format!("{base}/portal")).await;
    browser.screenshot(&shots, "portal-home-phone").await;
    browser.quit().await;
    drop(server);
    println!("screenshots: {}", shots.display());
    custodian_store::testing::announce(&format!(
        "browser screenshots saved in {}",
        shots.display()
    ));
}

/// Creates a user through the CLI with a password for the web sign-in.
fn user_with_password(env: &Env, email: &str, name: &str, role: &str, agency: Option<&str>) {
    use std::io::Write;
    let mut args = vec![
        "admin",
        "user",
        "create",
        "--email",
        email,
        "--name",
        name,
        "--role",
        role,
        "--password-stdin",
    ];
    if let Some(a) = agency {
        args.extend(["--agency", a]);
    }
    let mut child = env
        .command()
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success(), "creating {email}");
}

const PASSWORD: &str = "correct horse battery staple";

/// Signs in by keyboard, enrols the authenticator, and continues to the start page.
async fn sign_in_and_enrol(browser: &Browser, base: &str, email: &str, start: &str) {
    browser.goto(&format!("{base}/signin")).await;
    browser.click(&browser.find("#email").await).await;
    browser.keys(email).await;
    browser.keys("\u{E004}").await;
    browser.keys(PASSWORD).await;
    browser.keys("\u{E007}").await;
    browser.wait_for_url("/signin/enrol").await;
    let secret = browser.text(&browser.find("#totp-secret").await).await;
    let secret = totp::base32_decode(&secret).expect("a base32 secret");
    browser
        .fill("#code", &totp::code_at(&secret, Utc::now()))
        .await;
    browser
        .click(&browser.find("form[action='/signin/enrol'] button").await)
        .await;
    browser.find("#recovery-codes").await;
    browser.click(&browser.find("a.button").await).await;
    browser.wait_for_url(start).await;
}

async fn sign_out(browser: &Browser) {
    browser
        .click(&browser.find("form[action='/signout'] button").await)
        .await;
    browser.wait_for_url("/signin").await;
}

/// Serves a demand through the API with the officer's token; returns (id, number).
async fn serve(
    base: &str,
    token: &str,
    process: &str,
    categories: &[&str],
    n: usize,
) -> (String, String) {
    let request = serde_json::json!({
        "process": process,
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "case_reference": format!("2026-CR-{n:04}"),
        "targets": [{"type": "email", "value": format!("suspect{n}@example.com")}],
        "categories": categories,
    });
    let form = reqwest::multipart::Form::new()
        .text("request", request.to_string())
        .part(
            "document",
            reqwest::multipart::Part::bytes(text_pdf(&[
                "SPRINGFIELD POLICE DEPARTMENT".to_string(),
                String::new(),
                process.replace('_', " ").to_uppercase(),
                format!("Case reference: 2026-CR-{n:04}"),
                String::new(),
                "TO: Custodian of Records".to_string(),
                "You are commanded to produce the records described in the attachment.".to_string(),
            ]))
            .file_name(format!("{process}.pdf")),
        );
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: serde_json::Value = resp.json().await.unwrap();
    (
        v["id"].as_str().unwrap().to_string(),
        v["number"].as_str().unwrap().to_string(),
    )
}

/// Waits (up to ten seconds) for the next page's flash message to say `expected`, and
/// returns it; the page before may still show an older one.
async fn flash(browser: &Browser, expected: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = browser
            .script("const f = document.querySelector('.flash'); return f ? f.textContent : '';")
            .await
            .as_str()
            .unwrap_or("")
            .to_string();
        if last.contains(expected) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "no message '{expected}' (last: '{last}'):\n{}",
        browser.source().await
    );
}

#[tokio::test]
async fn reviewers_decide_an_approver_approves_and_the_officer_sees_the_outcome() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let env = Env::sqlite();
    let agency = "Springfield Police Department";
    env.run(&[
        "admin",
        "agency",
        "create",
        "--name",
        agency,
        "--country",
        "US",
        "--kind",
        "local_police",
        "--domain",
        "springfieldpd.gov",
        "--phone",
        "+1 217 555 0100",
        "--verified",
    ]);
    let officer = "det.alvarez@springfieldpd.gov";
    user_with_password(
        &env,
        officer,
        "Det. Maria Alvarez",
        "agency_officer",
        Some(agency),
    );
    user_with_password(
        &env,
        "riley@legal.provider.example",
        "Riley Brooks",
        "reviewer",
        None,
    );
    user_with_password(
        &env,
        "alex@legal.provider.example",
        "Alex Kim",
        "approver",
        None,
    );
    user_with_password(
        &env,
        "pat@legal.provider.example",
        "Pat Admin",
        "admin",
        None,
    );
    let token = env
        .run(&["admin", "token", "create", "--user", officer])
        .trim()
        .to_string();
    let server = env.serve();
    let base = server.base.clone();
    let shots = screenshot_dir();
    let (subpoena, subpoena_no) = serve(
        &base,
        &token,
        "subpoena",
        &["subscriber", "transactional"],
        1,
    )
    .await;
    let (warrant, warrant_no) = serve(
        &base,
        &token,
        "search_warrant",
        &["subscriber", "content"],
        2,
    )
    .await;
    let (unsigned, unsigned_no) = serve(&base, &token, "subpoena", &["subscriber"], 3).await;

    // The reviewer lands on the queue and finds the three requests.
    browser.window(1280, 800).await;
    sign_in_and_enrol(&browser, &base, "riley@legal.provider.example", "/review").await;
    let queue = browser.text(&browser.find("#queue").await).await;
    for n in [&subpoena_no, &warrant_no, &unsigned_no] {
        assert!(queue.contains(n.as_str()), "{n} in {queue}");
    }
    assert!(browser.fits_width().await, "the queue fits 1280x800");

    // Take the subpoena by keyboard alone: the select, Tab to its button, Enter.
    browser
        .click(&browser.find(&format!("#assign-{subpoena}")).await)
        .await;
    browser.keys("\u{E00C}").await; // Escape closes the open list, the focus stays
    browser.keys("\u{E004}").await;
    browser.keys("\u{E007}").await;
    flash(&browser, &format!("{subpoena_no} is assigned to you.")).await;
    browser.screenshot(&shots, "review-queue").await;

    // Its page: the document in the page, the agency, the recommendation; decide as
    // recommended.
    browser
        .goto(&format!("{base}/review/requests/{subpoena}"))
        .await;
    browser.find("iframe.document").await;
    let agency_box = browser.text(&browser.find("#agency").await).await;
    assert!(agency_box.contains("Verified"), "{agency_box}");
    let rec = browser.text(&browser.find("#recommendation").await).await;
    assert!(rec.contains("disclose"), "{rec}");
    browser.screenshot(&shots, "review-page").await;
    assert!(browser.fits_width().await, "the review page fits 1280x800");
    browser.click(&browser.find("#decide-button").await).await;
    flash(
        &browser,
        "Decided. The agency sees the outcome on its page.",
    )
    .await;

    // The warrant's content disclosure: decided here, and it waits for someone else.
    browser
        .goto(&format!("{base}/review/requests/{warrant}"))
        .await;
    browser
        .click(&browser.find("#summary form.assign-form button").await)
        .await;
    flash(&browser, &format!("{warrant_no} is assigned to you.")).await;
    browser
        .click(&browser.find("#disclose-content").await)
        .await;
    browser.click(&browser.find("#decide-button").await).await;
    flash(&browser, "approver other than you").await;
    let approval = browser.text(&browser.find("#approval").await).await;
    assert!(approval.contains("two-person rule"), "{approval}");
    browser
        .script("document.getElementById('decision').scrollIntoView(); return true;")
        .await;
    browser.screenshot(&shots, "review-awaiting-approval").await;

    // The unsigned subpoena is rejected with a reason; the letter is written from it.
    browser
        .goto(&format!("{base}/review/requests/{unsigned}"))
        .await;
    browser
        .click(&browser.find("#reject-action summary").await)
        .await;
    browser
        .fill(
            "#reject-text",
            "The subpoena is not signed by the issuing officer.",
        )
        .await;
    browser
        .click(&browser.find("form[action$='/reject'] button").await)
        .await;
    flash(&browser, "Rejected. The agency has the letter").await;
    sign_out(&browser).await;

    // A different person, the approver, approves.
    sign_in_and_enrol(&browser, &base, "alex@legal.provider.example", "/review").await;
    browser
        .goto(&format!("{base}/review/requests/{warrant}"))
        .await;
    browser.click(&browser.find("#approve-button").await).await;
    flash(&browser, "Approved.").await;
    sign_out(&browser).await;

    // The officer sees both outcomes, and the letter.
    sign_in_and_enrol(&browser, &base, officer, "/portal").await;
    browser
        .goto(&format!("{base}/portal/requests/{warrant}"))
        .await;
    let outcome = browser.text(&browser.find("#outcome-h").await).await;
    assert_eq!(outcome, "Outcome");
    let page = browser.source().await;
    assert!(
        page.contains("decision-disclose"),
        "the warrant's outcome is shown"
    );
    browser
        .goto(&format!("{base}/portal/requests/{subpoena}"))
        .await;
    assert!(browser.source().await.contains("decision-disclose"));
    browser
        .goto(&format!("{base}/portal/requests/{unsigned}"))
        .await;
    let status = browser.text(&browser.find("#status").await).await;
    assert_eq!(status, "Rejected");
    let letter = browser.text(&browser.find(".letter").await).await;
    assert!(
        letter.contains("not signed by the issuing officer"),
        "{letter}"
    );
    browser.screenshot(&shots, "officer-sees-letter").await;
    sign_out(&browser).await;

    // The admin pages, and every console page at phone width.
    sign_in_and_enrol(&browser, &base, "pat@legal.provider.example", "/review").await;
    let pages = [
        "/review".to_string(),
        format!("/review/requests/{warrant}"),
        format!("/review/requests/{unsigned}"),
        "/admin/agencies".to_string(),
        "/admin/users".to_string(),
        "/admin/calendars".to_string(),
        "/admin/calendars/US".to_string(),
        "/admin/policy".to_string(),
    ];
    for path in &pages {
        browser.goto(&format!("{base}{path}")).await;
        browser.find("main h1").await;
        assert!(browser.fits_width().await, "{path} fits 1280x800");
    }
    browser.goto(&format!("{base}/admin/calendars/US")).await;
    browser.screenshot(&shots, "admin-holidays").await;
    browser.window(390, 844).await;
    for path in &pages {
        browser.goto(&format!("{base}{path}")).await;
        browser.find("main h1").await;
        assert!(browser.fits_width().await, "{path} fits a phone's width");
    }
    browser.goto(&format!("{base}/review")).await;
    browser.screenshot(&shots, "review-queue-phone").await;
    browser
        .goto(&format!("{base}/review/requests/{warrant}"))
        .await;
    browser.screenshot(&shots, "review-page-phone").await;
    browser.quit().await;
    drop(server);
    println!("screenshots: {}", shots.display());
}

/// Reloads `url` (up to two minutes) until the page contains `needle`; returns the source.
async fn reload_until(browser: &Browser, url: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..240 {
        browser.goto(url).await;
        last = browser.source().await;
        if last.contains(needle) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("{url} never showed {needle}:\n{last}");
}

/// An API call with a bearer token; panics unless it succeeds.
async fn api_post(base: &str, token: &str, path: &str, body: serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        resp.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_custodian_produces_a_subpoena_and_the_officer_downloads_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let env = Env::sqlite();
    let agency = "Springfield Police Department";
    env.run(&[
        "admin",
        "agency",
        "create",
        "--name",
        agency,
        "--country",
        "US",
        "--kind",
        "local_police",
        "--domain",
        "springfieldpd.gov",
        "--phone",
        "+1 217 555 0100",
        "--verified",
    ]);
    let officer = "det.alvarez@springfieldpd.gov";
    user_with_password(
        &env,
        officer,
        "Det. Maria Alvarez",
        "agency_officer",
        Some(agency),
    );
    user_with_password(
        &env,
        "riley@legal.provider.example",
        "Riley Brooks",
        "reviewer",
        None,
    );
    user_with_password(
        &env,
        "morgan@legal.provider.example",
        "Morgan Records",
        "custodian",
        None,
    );
    user_with_password(
        &env,
        "pat@legal.provider.example",
        "Pat Admin",
        "admin",
        None,
    );
    let officer_token = env
        .run(&["admin", "token", "create", "--user", officer])
        .trim()
        .to_string();
    let reviewer_token = env
        .run(&[
            "admin",
            "token",
            "create",
            "--user",
            "riley@legal.provider.example",
        ])
        .trim()
        .to_string();
    // The provider's customer data: the demo store, with the account the subpoena names.
    let mut size = custodian_sources::DemoSize::small(Utc::now().date_naive());
    size.named = vec![custodian_core::Target::parse(
        custodian_core::TargetKind::Email,
        "suspect1@example.com",
    )
    .unwrap()];
    custodian_sources::DemoStore::generate(&env.data_dir.join("customer-data"), &size)
        .await
        .unwrap();
    let server = env.serve();
    let base = server.base.clone();
    let shots = screenshot_dir();
    let (subpoena, number) = serve(
        &base,
        &officer_token,
        "subpoena",
        &["subscriber", "transactional"],
        1,
    )
    .await;
    // The reviewer decides it through the API: both categories disclosed.
    api_post(
        &base,
        &reviewer_token,
        &format!("/api/v1/review/requests/{subpoena}/assign"),
        serde_json::json!({"assignee": "me"}),
    )
    .await;
    api_post(
        &base,
        &reviewer_token,
        &format!("/api/v1/review/requests/{subpoena}/decide"),
        serde_json::json!({"categories": {
            "subscriber": {"decision": "disclose"},
            "transactional": {"decision": "disclose"},
        }}),
    )
    .await;

    // The custodian preserves the account, then produces, from the review page.
    browser.window(1280, 800).await;
    sign_in_and_enrol(&browser, &base, "morgan@legal.provider.example", "/review").await;
    let page = format!("{base}/review/requests/{subpoena}");
    browser.goto(&page).await;
    let protection = browser.text(&browser.find("#protection-next").await).await;
    assert!(protection.contains("AES-256 ZIP"), "{protection}");
    // A subpoena's preservation step: the form is folded until asked for.
    browser
        .click(&browser.find("#preserve-action summary").await)
        .await;
    browser.click(&browser.find("#preserve-button").await).await;
    flash(&browser, "A legal hold is being taken").await;
    browser.click(&browser.find("#produce-button").await).await;
    let passphrase = browser.text(&browser.find("#passphrase").await).await;
    assert_eq!(passphrase.len(), 34, "{passphrase}");
    let advice = browser.text(&browser.find("#passphrase-box").await).await;
    assert!(
        advice.contains("another channel than the package"),
        "{advice}"
    );
    browser
        .script("document.getElementById('production').scrollIntoView(); return true;")
        .await;
    browser.screenshot(&shots, "review-passphrase-once").await;
    assert!(
        browser.fits_width().await,
        "the production section fits 1280x800"
    );

    // The job runner builds and releases it (no notice for non-content records).
    let source = reload_until(&browser, &page, "data-status=\"delivered\"").await;
    assert!(
        !source.contains(&passphrase),
        "the passphrase is not shown again"
    );
    let shown_sha = browser
        .text(&browser.find("#production code.digest").await)
        .await;
    reload_until(&browser, &page, "data-status=\"active\"").await;
    browser
        .script("document.getElementById('production').scrollIntoView(); return true;")
        .await;
    browser.screenshot(&shots, "review-custody-sections").await;
    browser.goto(&format!("{base}/review/holds")).await;
    let holds = browser.text(&browser.find("#holds").await).await;
    assert!(holds.contains(&number), "{holds}");
    browser.screenshot(&shots, "holds-page").await;
    assert!(browser.fits_width().await, "the holds page fits 1280x800");
    browser.window(390, 844).await;
    for path in [
        format!("/review/requests/{subpoena}"),
        "/review/holds".into(),
    ] {
        browser.goto(&format!("{base}{path}")).await;
        browser.find("main h1").await;
        assert!(browser.fits_width().await, "{path} fits a phone's width");
    }
    browser.goto(&page).await;
    browser
        .script("document.getElementById('preservation').scrollIntoView(); return true;")
        .await;
    browser.screenshot(&shots, "review-custody-phone").await;
    browser.goto(&format!("{base}/review/holds")).await;
    browser.screenshot(&shots, "holds-page-phone").await;
    browser.window(1280, 800).await;
    sign_out(&browser).await;

    // The officer finds the download on the portal and fetches it with the browser's session.
    sign_in_and_enrol(&browser, &base, officer, "/portal").await;
    browser
        .goto(&format!("{base}/portal/requests/{subpoena}"))
        .await;
    let link = browser.find("#download").await;
    let label = browser.text(&link).await;
    assert!(label.contains(&format!("{number}.zip")), "{label}");
    let sha = browser.text(&browser.find("#package-sha256").await).await;
    assert_eq!(
        sha, shown_sha,
        "the officer and the custodian see one package"
    );
    browser.screenshot(&shots, "officer-download").await;
    let href = browser
        .script("return document.getElementById('download').href;")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let resp = reqwest::Client::new()
        .get(&href)
        .header(reqwest::header::COOKIE, browser.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-content-sha256"], sha.as_str());
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(common::sha256(&bytes), sha);
    let pkg = env.data_dir.join("download.zip");
    std::fs::write(&pkg, &bytes).unwrap();
    let out = env
        .command()
        .args(["production", "verify"])
        .arg(&pkg)
        .args(["--passphrase", &passphrase])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the passphrase shown once opens the package: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The download was counted.
    browser
        .goto(&format!("{base}/portal/requests/{subpoena}"))
        .await;
    let left = browser.text(&browser.find("#downloads-left").await).await;
    assert_eq!(left, "4");
    sign_out(&browser).await;

    // The admin's outbox, jobs and agency pages fit both widths.
    sign_in_and_enrol(&browser, &base, "pat@legal.provider.example", "/review").await;
    browser.goto(&format!("{base}/admin/agencies")).await;
    browser
        .click(&browser.find("#agencies a[href^='/admin/agencies/']").await)
        .await;
    let agency_page = browser.wait_for_url("/admin/agencies/").await;
    browser.find("#agency-key").await;
    let pages = [
        agency_page.trim_start_matches(&base).to_string(),
        "/admin/outbox".to_string(),
        "/admin/jobs".to_string(),
    ];
    for width in [(1280, 800), (390, 844)] {
        browser.window(width.0, width.1).await;
        for path in &pages {
            browser.goto(&format!("{base}{path}")).await;
            browser.find("main h1").await;
            if !browser.fits_width().await {
                let wide = browser
                    .script(
                        "return Array.from(document.querySelectorAll('body *')).filter(e => \
                         e.getBoundingClientRect().right > window.innerWidth + 1).map(e => \
                         e.tagName + '#' + e.id + '.' + e.className + ' ' + \
                         Math.round(e.getBoundingClientRect().right)).slice(0, 12).join(' | ');",
                    )
                    .await;
                panic!("{path} does not fit {width:?}: {wide}");
            }
        }
    }
    browser.window(1280, 800).await;
    browser.goto(&format!("{base}/admin/jobs")).await;
    browser.screenshot(&shots, "admin-jobs").await;
    browser.quit().await;
    drop(server);
    println!("screenshots: {}", shots.display());
}
