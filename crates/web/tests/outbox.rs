//! The admin's view of the mail outbox and the job table: only admins see it (it holds
//! recipients' addresses), a failed mail can be sent again, a sent one cannot.

use custodian_core::Role;
use custodian_store::testing::backends;
use custodian_store::*;
use custodian_web::{auth, AppState, WebConfig};
use reqwest::StatusCode;
use serde_json::Value;

async fn user_token(store: &DynStore, email: &str, role: Role) -> String {
    let sys = Actor::System("test".into());
    let user = store
        .create_user(
            &sys,
            NewUser {
                email: email.into(),
                name: "Someone".into(),
                role,
                agency_id: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    let token = format!("{}{}", auth::TOKEN_PREFIX, uuid::Uuid::new_v4().simple());
    store
        .create_token(&sys, user.id, &auth::token_hash(&token), "t")
        .await
        .unwrap();
    token
}

async fn serve(store: DynStore, dir: &std::path::Path) -> String {
    let policy = custodian_core::policy::PolicyProfile::builtin("provider-default").unwrap();
    let state = AppState::new(store, Blobs::local(dir), WebConfig::default(), policy);
    let app = custodian_web::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn only_admins_read_the_outbox_and_resend_failed_mail() {
    for b in backends("only_admins_read_the_outbox").await {
        let dir = tempfile::tempdir().unwrap();
        let base = serve(b.store.clone(), dir.path()).await;
        let admin = user_token(&b.store, "admin@provider.example", Role::Admin).await;
        let reviewer = user_token(&b.store, "reviewer@provider.example", Role::Reviewer).await;
        let now = chrono::Utc::now();
        let queued = b
            .store
            .outbox()
            .queue(
                &Actor::System("test".into()),
                NewMail {
                    kind: "deadline_reminder".into(),
                    recipient: "reviewer@provider.example".into(),
                    subject: "LE-2026-000001 is due tomorrow".into(),
                    body_text: "Due tomorrow.".into(),
                    request_id: None,
                    send_after: None,
                },
                now,
            )
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let get = |path: &str, token: &str| {
            client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
        };

        let r = get("/api/v1/admin/outbox", &reviewer).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}", b.name);
        let r = client
            .get(format!("{base}/api/v1/admin/jobs"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let r = get("/api/v1/admin/outbox?status=queued", &admin)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let list: Vec<Value> = r.json().await.unwrap();
        assert_eq!(list.len(), 1, "{}", b.name);
        assert_eq!(list[0]["id"], queued.to_string());
        assert_eq!(list[0]["status"], "queued");
        let r = get("/api/v1/admin/outbox?status=lost", &admin)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query");

        let r = get("/api/v1/admin/jobs?status=queued", &admin)
            .await
            .unwrap();
        let jobs: Vec<Value> = r.json().await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0]["kind"], MAIL_SEND_JOB);

        let resend = |id: String| {
            client
                .post(format!("{base}/api/v1/admin/outbox/{id}/resend"))
                .bearer_auth(&admin)
                .send()
        };
        // Queued, not failed: nothing to resend.
        assert_eq!(
            resend(queued.to_string()).await.unwrap().status(),
            StatusCode::CONFLICT
        );
        b.store
            .outbox()
            .mark_attempt_failed(queued, "550 mailbox unavailable", true)
            .await
            .unwrap();
        assert_eq!(
            resend(queued.to_string()).await.unwrap().status(),
            StatusCode::ACCEPTED
        );
        let r = get(&format!("/api/v1/admin/outbox/{queued}"), &admin)
            .await
            .unwrap();
        let one: Value = r.json().await.unwrap();
        assert_eq!(one["status"], "queued", "{}", b.name);
        let missing = uuid::Uuid::new_v4();
        assert_eq!(
            resend(missing.to_string()).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        let r = get(&format!("/api/v1/admin/outbox/{missing}"), &admin)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
