//! `custodian serve --object-store s3://...` keeps served documents in the bucket.

mod common;

use common::*;
use custodian_store::testing::{start_s3, S3_TEST_ENV};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

#[tokio::test]
async fn documents_go_to_the_bucket() {
    let Some(s3) = start_s3("documents_go_to_the_bucket").await else {
        return;
    };
    let env = Env::sqlite();
    let token = env.officer_token("Springfield PD", "springfieldpd.gov");
    let mut cmd = env.command();
    for (k, v) in S3_TEST_ENV {
        cmd.env(k, v);
    }
    cmd.env("CUSTODIAN_OBJECT_STORE", &s3.url);
    let server = Server::start(cmd);
    let client = reqwest::Client::new();
    let doc = pdf(1, 10_000);
    let form = Form::new()
        .text("request", subpoena_json(1))
        .part("document", Part::bytes(doc.clone()).file_name("s.pdf"));
    let created: Value = client
        .post(format!("{}/api/v1/requests", server.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("created");
    let doc_id = created["documents"][0]["id"].as_str().unwrap();
    let bytes = client
        .get(format!(
            "{}/api/v1/requests/{id}/documents/{doc_id}",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], &doc[..]);
    assert!(
        !env.data_dir.join("objects").exists(),
        "nothing was written to the local object store"
    );
    // The object is in the bucket under its digest.
    for (k, v) in S3_TEST_ENV {
        std::env::set_var(k, v);
    }
    let bucket = custodian_store::Blobs::from_url(&s3.url).unwrap();
    assert_eq!(&bucket.get(&sha256(&doc)).await.unwrap()[..], &doc[..]);
}
