//! The object store against a real S3-compatible server on loopback (moto), when installed.

use bytes::Bytes;
use custodian_store::testing::{start_s3, S3_TEST_ENV};
use custodian_store::{Blobs, StoreError};

#[tokio::test]
async fn blobs_round_trip_through_s3() {
    let Some(server) = start_s3("blobs_round_trip_through_s3").await else {
        return;
    };
    for (k, v) in S3_TEST_ENV {
        std::env::set_var(k, v);
    }
    let blobs = Blobs::from_url(&server.url).unwrap();
    let pdf = Bytes::from_static(b"%PDF-1.7\nserved by S3\n%%EOF\n");
    let stored = blobs.put(pdf.clone()).await.unwrap();
    assert_eq!(stored.size, pdf.len() as u64);
    assert_eq!(blobs.get(&stored.sha256).await.unwrap(), pdf);
    // The same bytes again land on the same address.
    assert_eq!(blobs.put(pdf.clone()).await.unwrap().sha256, stored.sha256);
    let missing = "0".repeat(64);
    assert!(matches!(
        blobs.get(&missing).await,
        Err(StoreError::Corrupt(_))
    ));
}
