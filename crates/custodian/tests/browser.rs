//! End-to-end in a real browser: the real `custodian serve` binary, Debian's chromium driven
//! through chromedriver. An officer registers, verifies the address from the mail, enrols an
//! authenticator, serves a subpoena with a PDF and finds it in My requests. Screenshots of the
//! main pages go into a folder whose path the test prints (CUSTODIAN_SCREENSHOT_DIR to choose).

mod common;

use chrono::Utc;
use common::webdriver::Browser;
use common::Env;
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
