//! Preservation, production and customer notice end to end, on SQLite and PostgreSQL: the
//! clock driven by the test, the job runner doing what a server would do on that day, mail
//! read back from a real SMTP server on loopback, packages opened and checked as an agency
//! would.

mod common;

use chrono::Duration;
use common::*;
use custodian_core::notice::NoticeStatus;
use custodian_core::policy::CustomerNotice;
use custodian_core::preservation::HoldStatus;
use custodian_core::{DataCategory, RequestStatus};
use custodian_custody::CustodyError;
use custodian_sources::{AccountId, DataSource};
use custodian_store::custody::{HeldKind, HoldFilter, ProductionStatus};
use custodian_store::{Actor, Clock};

fn preservation() -> serde_json::Value {
    serde_json::json!({
        "process": "preservation",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": JORDAN}],
        "date_range": {"from": "2025-09-01", "to": "2025-12-31"},
        "categories": ["subscriber", "transactional", "content"]
    })
}

#[tokio::test]
async fn a_hold_keeps_a_deleted_account_complete_until_it_expires() {
    for w in worlds("a_hold_keeps_a_deleted_account").await {
        let n = w.name;
        let r = w.serve(preservation()).await;
        let reviewer = Actor::User(w.reviewer.id);
        let hold = w
            .custody
            .preserve(&reviewer, Some(w.reviewer.id), r.id, None)
            .await
            .unwrap();
        assert_eq!(hold.status, HoldStatus::Capturing, "{n}");
        assert_eq!(hold.terms.days, 90);
        assert_eq!(hold.expires_at, hold.started_at + Duration::days(90), "{n}");
        // One live hold per request.
        assert!(matches!(
            w.custody.preserve(&reviewer, None, r.id, None).await,
            Err(CustodyError::Conflict(_))
        ));

        w.run().await;
        let hold = w.store.custody().get_hold(hold.id).await.unwrap();
        assert_eq!(hold.status, HoldStatus::Active, "{n}: {:?}", hold.error);
        assert_eq!(hold.accounts, 1, "{n}");
        assert!(hold.files > 0 && hold.bytes > 1024 * 1024, "{n}: {hold:?}");
        let items = w.store.custody().hold_items(hold.id).await.unwrap();
        assert!(items.iter().any(|i| i.kind == HeldKind::Subscriber));
        assert!(items.iter().any(|i| i.kind == HeldKind::Transactional));
        let files: Vec<_> = items.iter().filter(|i| i.kind == HeldKind::File).collect();
        assert_eq!(files.len() as u64, hold.files, "{n}");
        let account = AccountId::parse(&items[0].account_id).unwrap();
        let at_source = w
            .demo
            .content(&account, Some(large_period()))
            .await
            .unwrap();
        assert_eq!(
            at_source.len(),
            files.len(),
            "{n}: every file in the range is held"
        );

        // The customer deletes the account; the hold's copy is untouched and complete.
        w.demo.delete_account(&account).await.unwrap();
        assert!(w
            .demo
            .find_accounts(&email_target(JORDAN))
            .await
            .unwrap()
            .is_empty());
        for i in &items {
            assert_eq!(
                object_sha256(&w.blobs, &i.object.key).await.unwrap(),
                i.object.sha256,
                "{n}: {} is still held",
                i.object.key
            );
        }

        // A restarted server (a new runner, nothing in memory) reminds the reviewer a week
        // before the end.
        w.advance(Duration::days(84));
        w.run().await;
        let got = w.smtp.to("riley@legal.provider.example");
        assert!(
            got.iter().any(|m| m.subject().contains(&r.number)),
            "{n}: {:?}",
            got.iter().map(|m| m.subject()).collect::<Vec<_>>()
        );

        // One renewal of 90 days; a second is refused.
        let renewed = w.custody.renew_hold(&reviewer, hold.id).await.unwrap();
        assert_eq!(
            renewed.expires_at,
            hold.expires_at + Duration::days(90),
            "{n}"
        );
        assert_eq!(renewed.renewals, 1);
        match w.custody.renew_hold(&reviewer, hold.id).await {
            Err(CustodyError::Conflict(m)) => assert!(m.contains("renewed 1 time"), "{m}"),
            other => panic!("{n}: a second renewal: {other:?}"),
        }

        // The old expiry passes: the hold was renewed, nothing happens.
        w.advance(Duration::days(7));
        w.run().await;
        let still = w.store.custody().get_hold(hold.id).await.unwrap();
        assert_eq!(still.status, HoldStatus::Active, "{n}");
        assert_eq!(
            object_sha256(&w.blobs, &items[0].object.key).await.unwrap(),
            items[0].object.sha256
        );

        // The renewed expiry passes: the runner releases the hold and deletes its copy.
        w.advance(Duration::days(90));
        w.run().await;
        let ended = w.store.custody().get_hold(hold.id).await.unwrap();
        assert_eq!(ended.status, HoldStatus::Released, "{n}");
        assert_eq!(ended.release_reason.as_deref(), Some("expired"));
        for i in &items {
            assert!(
                w.blobs.open_key(&i.object.key).await.is_err(),
                "{n}: {} is deleted",
                i.object.key
            );
        }
        let actions = w.audit_actions().await;
        for a in [
            "hold.created",
            "hold.captured",
            "hold.renewed",
            "hold.released",
        ] {
            assert!(actions.iter().any(|x| x == a), "{n}: {a} is audited");
        }
        let active = w
            .store
            .custody()
            .list_holds(&HoldFilter {
                status: Some(HoldStatus::Active),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(active.is_empty(), "{n}");
    }
}

#[tokio::test]
async fn an_epoc_pr_hold_lasts_60_days_and_extends_by_30() {
    for w in worlds("an_epoc_pr_hold_lasts_60_days").await {
        let mut intake = preservation();
        intake["process"] = "epoc_pr".into();
        intake["issuing_country"] = "DE".into();
        intake["issuing_authority"] = "Staatsanwaltschaft Berlin".into();
        intake["received_via"] = "e_evidence".into();
        intake["categories"] = serde_json::json!(["subscriber"]);
        intake["order"] =
            serde_json::json!({"reference": "EPOC-PR-DE-2026-7", "enforcing_state": "IE"});
        let r = w.serve(intake).await;
        let reviewer = Actor::User(w.reviewer.id);
        let hold = w
            .custody
            .preserve(&reviewer, None, r.id, None)
            .await
            .unwrap();
        assert_eq!(
            hold.expires_at,
            hold.started_at + Duration::days(60),
            "{}",
            w.name
        );
        w.run().await;
        let hold = w.store.custody().get_hold(hold.id).await.unwrap();
        assert_eq!(hold.files, 0, "subscriber only");
        let renewed = w.custody.renew_hold(&reviewer, hold.id).await.unwrap();
        assert_eq!(renewed.expires_at, hold.expires_at + Duration::days(30));
        // Released early by the reviewer: the copy goes at once.
        let items = w.store.custody().hold_items(hold.id).await.unwrap();
        let released = w
            .custody
            .release_hold(&reviewer, hold.id, "the production order was answered")
            .await
            .unwrap();
        assert_eq!(released.status, HoldStatus::Released);
        assert!(w.blobs.open_key(&items[0].object.key).await.is_err());
        assert!(matches!(
            w.custody.renew_hold(&reviewer, hold.id).await,
            Err(CustodyError::Conflict(_))
        ));
        w.run().await;
    }
}

/// Downloads the request's package as the officer (or whoever `scope` is) and writes it to a
/// file.
async fn download_to(
    w: &World,
    user: &custodian_store::User,
    request: uuid::Uuid,
    path: &std::path::Path,
) -> Result<u64, CustodyError> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let d = w
        .custody
        .download(
            &Actor::User(user.id),
            custodian_store::Scope::of(user),
            request,
        )
        .await?;
    let mut f = tokio::fs::File::create(path).await.unwrap();
    let mut stream = d.read.stream;
    let mut n = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        f.write_all(&chunk).await.unwrap();
    }
    f.flush().await.unwrap();
    assert_eq!(Some(n), d.production.package_bytes);
    Ok(n)
}

fn verify(
    w: &World,
    package: &std::path::Path,
    unlock: custodian_production::Unlock,
    extract: Option<std::path::PathBuf>,
) -> Result<custodian_production::Verified, custodian_production::VerifyError> {
    custodian_production::verify(
        package,
        &custodian_production::VerifyOptions {
            unlock,
            audit_key: Some(w.public_key_text()),
            extract_to: extract,
        },
    )
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn a_warrant_tells_the_customer_and_the_production_waits_the_days() {
    for w in worlds("a_warrant_tells_the_customer").await {
        let n = w.name;
        let r = w.serve(warrant(serde_json::json!({}))).await;
        w.decide(
            &r,
            &[
                DataCategory::Subscriber,
                DataCategory::Transactional,
                DataCategory::Content,
            ],
            None,
        )
        .await;
        // Only a custodian signs the certificate.
        assert!(w.custody.produce(&w.reviewer, r.id).await.is_err());
        let produced = w.custody.produce(&w.custodian, r.id).await.unwrap();
        let passphrase = produced.passphrase.expect("no age key: a ZIP passphrase");
        assert_eq!(produced.production.protection, "zip-aes256");
        assert_eq!(w.status(r.id).await, RequestStatus::Producing, "{n}");
        // One production at a time.
        assert!(matches!(
            w.custody.produce(&w.custodian, r.id).await,
            Err(CustodyError::Conflict(_))
        ));

        w.run().await;
        // The notice went to the account's address over SMTP, before any release.
        let mails = w.smtp.to(JORDAN);
        assert_eq!(mails.len(), 1, "{n}");
        assert!(mails[0]
            .subject()
            .starts_with("Legal process concerning your account"));
        let text = mails[0].text();
        assert!(text.contains("Springfield Police Department"), "{text}");
        assert!(text.contains(&r.number));
        assert!(text.contains("Nothing will be disclosed before"));
        let link = mails[0]
            .link_containing("/notice/")
            .expect("a link to the notice page");
        assert!(link.starts_with("https://custodian.provider.example/notice/"));
        let page = w.custody.notice_page(&token_of(&link)).await.unwrap();
        assert_eq!(page.agency, "Springfield Police Department");
        assert_eq!(page.number, r.number);
        assert!(page.disclosed.contains(&DataCategory::Content));
        assert!(page.not_before.is_some() && page.disclosed_at.is_none());
        assert!(w.custody.notice_page("not-a-token").await.is_err());
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.notice, CustomerNotice::BeforeDisclosure);
        assert_eq!(notice.status, NoticeStatus::Sent);

        // The package is built and stored, and waits.
        let p = w
            .store
            .custody()
            .get_production(produced.production.id)
            .await
            .unwrap();
        assert_eq!(p.status, ProductionStatus::Built, "{n}: {:?}", p.error);
        assert!(p.package_bytes.unwrap() > 1024 * 1024);
        let pkg = w.dir.path().join("package.zip");
        assert!(matches!(
            download_to(&w, &w.officer, r.id, &pkg).await,
            Err(CustodyError::NotFound)
        ));
        w.advance(Duration::days(9));
        w.run().await;
        assert_eq!(w.status(r.id).await, RequestStatus::Producing, "{n}: day 9");
        w.advance(Duration::days(1) + Duration::minutes(20));
        w.run().await;
        assert_eq!(
            w.status(r.id).await,
            RequestStatus::Delivered,
            "{n}: day 10"
        );

        // The officer downloads it and checks it as the agency would.
        download_to(&w, &w.officer, r.id, &pkg).await.unwrap();
        let out = w.dir.path().join("extracted");
        let verified = verify(
            &w,
            &pkg,
            custodian_production::Unlock::Passphrase(passphrase.clone()),
            Some(out.clone()),
        )
        .unwrap();
        assert!(verified.audit_key_given);
        assert_eq!(
            verified.manifest.request.categories,
            vec![
                DataCategory::Subscriber,
                DataCategory::Transactional,
                DataCategory::Content
            ]
        );
        let files = &verified.manifest.files;
        assert!(files.iter().any(|f| f.path.ends_with("/subscriber.json")));
        assert!(files.iter().any(|f| f.path.ends_with("/sign_ins.csv")));
        let content = files
            .iter()
            .filter(|f| f.path.starts_with("records/content/") && f.path.contains("/files/"))
            .count();
        assert!(content > 0, "{n}");
        // The certificate names the custodian who signed it off.
        let certificate = std::fs::read(out.join("certificate.pdf")).unwrap();
        assert!(
            String::from_utf8_lossy(&certificate).contains(&w.custodian.name),
            "{n}: the certificate names {}",
            w.custodian.name
        );
        if have(
            "sha256sum",
            "CUSTODIAN_REQUIRE_SHA256SUM",
            "sha256sum -c of a production",
        ) {
            let (ok, report) = sha256sum_check(&out);
            assert!(ok, "{report}");
            assert!(report.contains("subscriber.json: OK"), "{report}");
        }

        // Another agency's officer: not found, as for a missing request.
        assert!(matches!(
            download_to(&w, &w.other_officer, r.id, &w.dir.path().join("x")).await,
            Err(CustodyError::NotFound)
        ));
        // The link works twice here (max_downloads = 2), then is used up.
        download_to(&w, &w.officer, r.id, &pkg).await.unwrap();
        assert!(matches!(
            download_to(&w, &w.officer, r.id, &pkg).await,
            Err(CustodyError::Gone { code: "download_limit_reached", message: m }) if m.contains("used 2 times")
        ));
        // A new link; it expires after 14 days.
        w.custody
            .renew_link(&Actor::User(w.custodian.id), p.id, None, None)
            .await
            .unwrap();
        download_to(&w, &w.officer, r.id, &pkg).await.unwrap();
        w.advance(Duration::days(14) + Duration::minutes(1));
        assert!(matches!(
            download_to(&w, &w.officer, r.id, &pkg).await,
            Err(CustodyError::Gone {
                code: "link_expired",
                ..
            })
        ));
        let actions = w.audit_actions().await;
        let count = |a: &str| actions.iter().filter(|x| *x == a).count();
        assert_eq!(count("production.downloaded"), 3, "{n}");
        assert_eq!(count("production.download_refused"), 2, "{n}");
        assert_eq!(count("production.packaged"), 1);

        // A package altered on the way fails verification.
        let mut bytes = std::fs::read(&pkg).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        let bad = w.dir.path().join("tampered.zip");
        std::fs::write(&bad, &bytes).unwrap();
        assert!(verify(
            &w,
            &bad,
            custodian_production::Unlock::Passphrase(passphrase),
            None
        )
        .is_err());
    }
}

#[tokio::test]
async fn an_order_gagged_until_a_date_is_told_the_day_after_it_ends() {
    for w in worlds("an_order_gagged_until_a_date").await {
        let n = w.name;
        // The agency gave an age key: the package is encrypted to it.
        let identity = age::x25519::Identity::generate();
        w.store
            .custody()
            .set_age_recipient(
                &Actor::System("test".into()),
                w.agency.id,
                Some(&identity.to_public().to_string()),
                w.clock.now(),
            )
            .await
            .unwrap();
        let last_day = (w.clock.now() + Duration::days(20)).date_naive();
        let r = w
            .serve(warrant(
                serde_json::json!({"ndo_until": last_day.to_string()}),
            ))
            .await;
        w.decide(&r, &[DataCategory::Subscriber, DataCategory::Content], None)
            .await;
        let produced = w.custody.produce(&w.custodian, r.id).await.unwrap();
        assert!(produced.passphrase.is_none());
        w.run().await;
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.notice, CustomerNotice::AfterNdo, "{n}");
        assert_eq!(notice.status, NoticeStatus::Scheduled);
        assert!(
            w.smtp.to(JORDAN).is_empty(),
            "{n}: no mail while the order runs"
        );
        // The order delays the notice, not the production.
        assert_eq!(w.status(r.id).await, RequestStatus::Delivered, "{n}");
        let pkg = w.dir.path().join("package.tar.age");
        download_to(&w, &w.officer, r.id, &pkg).await.unwrap();
        assert!(std::fs::read(&pkg)
            .unwrap()
            .starts_with(b"age-encryption.org/v1\n"));
        use age::secrecy::ExposeSecret;
        let unlock =
            custodian_production::Unlock::age_identity_file(identity.to_string().expose_secret())
                .unwrap();
        verify(&w, &pkg, unlock, None).unwrap();

        // The last minute of the order's last day: still nothing.
        let day_after = custodian_core::notice::after_order(last_day);
        w.clock.set(day_after - Duration::minutes(1));
        w.run().await;
        assert!(w.smtp.to(JORDAN).is_empty(), "{n}: the order's last day");
        // The day after: the runner sends it.
        w.clock.set(day_after + Duration::minutes(1));
        w.run().await;
        let mails = w.smtp.to(JORDAN);
        assert_eq!(mails.len(), 1, "{n}");
        assert!(mails[0]
            .text()
            .contains("did not allow us to tell you earlier"));
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.status, NoticeStatus::Sent);
        let page = w
            .custody
            .notice_page(&token_of(&mails[0].link_containing("/notice/").unwrap()))
            .await
            .unwrap();
        assert!(
            page.disclosed_at.is_some(),
            "{n}: the page says it was disclosed"
        );
    }
}

#[tokio::test]
async fn an_order_with_no_end_comes_back_to_a_reviewer_yearly() {
    for w in worlds("an_order_with_no_end").await {
        let n = w.name;
        let r = w
            .serve(warrant(serde_json::json!({"ndo_until": "indefinite"})))
            .await;
        w.decide(&r, &[DataCategory::Content], None).await;
        w.run().await;
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.status, NoticeStatus::UnderReview, "{n}");
        assert!(notice.due_at.unwrap() > w.clock.now() + Duration::days(360));
        w.advance(Duration::days(366));
        w.run().await;
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.status, NoticeStatus::ReviewDue, "{n}");
        let reviewer_mail = w.smtp.to("riley@legal.provider.example");
        assert_eq!(reviewer_mail.len(), 1, "{n}");
        assert!(reviewer_mail[0].subject().contains("non-disclosure order"));
        assert!(w.smtp.to(JORDAN).is_empty());
        let reviewer = Actor::User(w.reviewer.id);
        let again = w
            .custody
            .review_order(&reviewer, r.id, custodian_custody::OrderReview::Continues)
            .await
            .unwrap();
        assert_eq!(again.status, NoticeStatus::UnderReview);
        assert!(again.due_at.unwrap() > w.clock.now() + Duration::days(360));
        let lifted = w
            .custody
            .review_order(&reviewer, r.id, custodian_custody::OrderReview::Lifted)
            .await
            .unwrap();
        assert_eq!(lifted.status, NoticeStatus::Sent);
        w.run().await;
        assert_eq!(
            w.smtp.to(JORDAN).len(),
            1,
            "{n}: told once the order is lifted"
        );
        // The review that was pending is cancelled: a year on, nothing more happens.
        w.advance(Duration::days(400));
        w.run().await;
        assert_eq!(w.smtp.to("riley@legal.provider.example").len(), 1, "{n}");
    }
}

#[tokio::test]
async fn illegal_conduct_withholds_notice_and_an_emergency_tells_afterwards() {
    for w in worlds("illegal_conduct_withholds_notice").await {
        let n = w.name;
        let r = w.serve(warrant(serde_json::json!({}))).await;
        w.decide(
            &r,
            &[DataCategory::Content],
            Some("the account distributes stolen card numbers"),
        )
        .await;
        w.custody.produce(&w.custodian, r.id).await.unwrap();
        w.run().await;
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.notice, CustomerNotice::WithheldIllegalConduct, "{n}");
        assert_eq!(notice.status, NoticeStatus::Withheld);
        assert_eq!(w.status(r.id).await, RequestStatus::Delivered, "{n}");
        assert!(w.smtp.to(JORDAN).is_empty());

        let e = w
            .serve(serde_json::json!({
                "process": "emergency",
                "issuing_authority": "Springfield Police Department",
                "issuing_country": "US",
                "emergency": {"danger_of_death_or_serious_injury": true,
                              "supervisor_name": "Sgt. Okafor", "supervisor_phone": "+1 217 555 0100"},
                "targets": [{"type": "email", "value": "casey.weber7@example.com"}],
                "categories": ["subscriber", "content"]
            }))
            .await;
        w.decide(&e, &[DataCategory::Subscriber, DataCategory::Content], None)
            .await;
        w.run().await;
        let notice = w.store.custody().get_notice(e.id).await.unwrap().unwrap();
        assert_eq!(notice.notice, CustomerNotice::AfterEmergency, "{n}");
        assert_eq!(notice.status, NoticeStatus::Scheduled);
        assert!(w.smtp.to("casey.weber7@example.com").is_empty());
        w.custody
            .send_notice_now(&Actor::User(w.reviewer.id), e.id)
            .await
            .unwrap();
        w.run().await;
        assert_eq!(w.smtp.to("casey.weber7@example.com").len(), 1, "{n}");
        // The scheduled send, cancelled, does not send twice.
        w.advance(Duration::days(31));
        w.run().await;
        assert_eq!(w.smtp.to("casey.weber7@example.com").len(), 1, "{n}");
    }
}

#[tokio::test]
async fn a_production_for_a_deleted_account_comes_from_the_hold() {
    for w in worlds("a_production_for_a_deleted_account").await {
        let n = w.name;
        let p = w.serve(preservation()).await;
        let hold = w
            .custody
            .preserve(&Actor::User(w.reviewer.id), None, p.id, None)
            .await
            .unwrap();
        w.run().await;
        let held_files = w.store.custody().get_hold(hold.id).await.unwrap().files;
        let account = AccountId::parse(
            &w.store.custody().hold_accounts(hold.id).await.unwrap()[0].account_id,
        )
        .unwrap();
        w.demo.delete_account(&account).await.unwrap();

        let r = w
            .serve(warrant(serde_json::json!({"ndo_until": "indefinite"})))
            .await;
        w.decide(&r, &[DataCategory::Subscriber, DataCategory::Content], None)
            .await;
        let produced = w.custody.produce(&w.custodian, r.id).await.unwrap();
        w.run().await;
        let built = w
            .store
            .custody()
            .get_production(produced.production.id)
            .await
            .unwrap();
        assert_eq!(
            built.status,
            ProductionStatus::Delivered,
            "{n}: {:?}",
            built.error
        );
        let from = &built.collection.as_ref().unwrap()["accounts"][0]["from"];
        assert_eq!(from["content"], format!("hold:{}", hold.id), "{n}: {from}");
        assert_eq!(from["subscriber"], format!("hold:{}", hold.id));
        let pkg = w.dir.path().join("from-hold.zip");
        download_to(&w, &w.officer, r.id, &pkg).await.unwrap();
        let verified = verify(
            &w,
            &pkg,
            custodian_production::Unlock::Passphrase(produced.passphrase.unwrap()),
            None,
        )
        .unwrap();
        let content = verified
            .manifest
            .files
            .iter()
            .filter(|f| f.path.contains("/files/"))
            .count() as u64;
        assert_eq!(content, held_files, "{n}: every held file is produced");
    }
}

#[tokio::test]
async fn holds_and_packages_live_in_an_s3_bucket() {
    use custodian_store::testing::{backends, start_s3, S3_TEST_ENV};
    let Some(s3) = start_s3("holds_and_packages_live_in_an_s3_bucket").await else {
        return;
    };
    for (k, v) in S3_TEST_ENV {
        std::env::set_var(k, v);
    }
    let bucket = custodian_store::Blobs::from_url(&s3.url).unwrap();
    let t = backends("holds_and_packages_live_in_an_s3_bucket")
        .await
        .remove(0);
    // Larger than one part: the package goes up as a multipart upload.
    let w = World::sized(t, bucket, Some(24 * 1024 * 1024)).await;
    let p = w.serve(preservation()).await;
    let hold = w
        .custody
        .preserve(&Actor::User(w.reviewer.id), None, p.id, None)
        .await
        .unwrap();
    w.run().await;
    let hold = w.store.custody().get_hold(hold.id).await.unwrap();
    assert_eq!(hold.status, HoldStatus::Active, "{:?}", hold.error);
    assert!(hold.bytes > 20 * 1024 * 1024);
    let items = w.store.custody().hold_items(hold.id).await.unwrap();
    for i in &items {
        assert_eq!(
            object_sha256(&w.blobs, &i.object.key).await.unwrap(),
            i.object.sha256
        );
    }

    let r = w
        .serve(warrant(serde_json::json!({"ndo_until": "indefinite"})))
        .await;
    w.decide(&r, &[DataCategory::Subscriber, DataCategory::Content], None)
        .await;
    let produced = w.custody.produce(&w.custodian, r.id).await.unwrap();
    w.run().await;
    let built = w
        .store
        .custody()
        .get_production(produced.production.id)
        .await
        .unwrap();
    assert_eq!(
        built.status,
        ProductionStatus::Delivered,
        "{:?}",
        built.error
    );
    assert!(built.package_bytes.unwrap() > 20 * 1024 * 1024);
    assert!(built
        .object_key
        .as_deref()
        .unwrap()
        .starts_with("productions/"));
    let pkg = w.dir.path().join("s3.zip");
    download_to(&w, &w.officer, r.id, &pkg).await.unwrap();
    verify(
        &w,
        &pkg,
        custodian_production::Unlock::Passphrase(produced.passphrase.unwrap()),
        None,
    )
    .unwrap();
    // The package was never on the local disk: only in the bucket.
    assert!(!w.dir.path().join("objects").exists());

    // Releasing the hold empties its prefix in the bucket.
    w.custody
        .release_hold(&Actor::User(w.reviewer.id), hold.id, "answered")
        .await
        .unwrap();
    for i in &items {
        assert!(w.blobs.open_key(&i.object.key).await.is_err());
    }
}

#[tokio::test]
async fn a_withdrawn_request_tells_no_one_after_its_order() {
    for w in worlds("a_withdrawn_request_tells_no_one").await {
        let n = w.name;
        let last_day = (w.clock.now() + Duration::days(5)).date_naive();
        let r = w
            .serve(warrant(
                serde_json::json!({"ndo_until": last_day.to_string()}),
            ))
            .await;
        w.decide(&r, &[DataCategory::Content], None).await;
        w.run().await;
        w.store
            .transition(
                &Actor::User(w.officer.id),
                custodian_store::Scope::Agency(w.agency.id),
                r.id,
                RequestStatus::Withdrawn,
                Some("the case was closed"),
            )
            .await
            .unwrap();
        w.clock
            .set(custodian_core::notice::after_order(last_day) + Duration::minutes(1));
        w.run().await;
        assert!(w.smtp.to(JORDAN).is_empty(), "{n}");
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.status, NoticeStatus::NotRequired, "{n}");
    }
}

/// The profile an admin switches to while the server runs decides customer notice, as it
/// decides the review API's answers: under provider-default a subscriber disclosure tells no
/// one; under notify-all the customer is told before it.
#[tokio::test]
async fn the_profile_an_admin_switches_to_decides_the_notice() {
    for w in worlds("the_profile_an_admin_switches_to").await {
        let n = w.name;
        let subpoena = |email: &str| {
            serde_json::json!({
                "process": "subpoena",
                "issuing_authority": "Springfield Police Department",
                "issuing_country": "US",
                "targets": [{"type": "email", "value": email}],
                "categories": ["subscriber"]
            })
        };
        let r = w.serve(subpoena(JORDAN)).await;
        w.decide(&r, &[DataCategory::Subscriber], None).await;
        w.run().await;
        let before = w.store.custody().get_notice(r.id).await.unwrap();
        assert!(
            before
                .as_ref()
                .is_none_or(|x| x.notice == CustomerNotice::NotRequired),
            "{n}: {before:?}"
        );
        assert!(w.smtp.to(JORDAN).is_empty(), "{n}");

        w.store
            .admin()
            .set_setting(
                &system(),
                custodian_store::POLICY_PROFILE_SETTING,
                Some("notify-all"),
            )
            .await
            .unwrap();
        let other = "casey.weber7@example.com";
        let r = w.serve(subpoena(other)).await;
        w.decide(&r, &[DataCategory::Subscriber], None).await;
        w.run().await;
        let notice = w.store.custody().get_notice(r.id).await.unwrap().unwrap();
        assert_eq!(notice.notice, CustomerNotice::BeforeDisclosure, "{n}");
        assert_eq!(w.smtp.to(other).len(), 1, "{n}");
    }
}
