//! Preservation, production and customer notice end to end, on SQLite and PostgreSQL: the
//! clock driven by the test, the job runner doing what a server would do on that day, mail
//! read back from a real SMTP server on loopback, packages opened and checked as an agency
//! would.

mod common;

use chrono::Duration;
use common::*;
use custodian_core::preservation::HoldStatus;
use custodian_custody::CustodyError;
use custodian_sources::{AccountId, DataSource};
use custodian_store::custody::{HeldKind, HoldFilter};
use custodian_store::Actor;

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
