//! The demo customer-data store as a data source: lookups by every identifier kind, date
//! ranges, valid files streamed in bounded chunks, deterministic generation, and the
//! customer's own "delete my account".

mod common;

use std::collections::HashSet;

use common::{day, large_period, named, store, target};
use custodian_core::request::DateRange;
use custodian_core::TargetKind;
use custodian_sources::records::content_table;
use custodian_sources::{
    AccountId, DataSource, DemoStore, SourceError, SubscriberRecord, TransactionalRecords,
    CHUNK_SIZE,
};
use futures::StreamExt;
use sha2::{Digest, Sha256};

async fn only_account(store: &DemoStore, kind: TargetKind, value: &str) -> AccountId {
    let found = store.find_accounts(&target(kind, value)).await.unwrap();
    assert_eq!(found.len(), 1, "{kind} {value} finds {found:?}");
    found.into_iter().next().unwrap()
}

async fn read_all(
    store: &dyn DataSource,
    account: &AccountId,
    file: &str,
) -> (Vec<usize>, Vec<u8>) {
    let mut stream = store.open_file(account, file).await.unwrap();
    let mut chunks = Vec::new();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        chunks.push(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    (chunks, bytes)
}

#[tokio::test]
async fn every_identifier_a_demand_names_finds_its_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let mut accounts = HashSet::new();
    for t in named() {
        accounts.insert(only_account(&store, t.kind, &t.value).await);
    }
    assert_eq!(
        accounts.len(),
        5,
        "each named identifier has an account of its own"
    );

    // However the officer typed it.
    let by_email = only_account(&store, TargetKind::Email, "Jordan.Smith42@EXAMPLE.com").await;
    let sub = store.subscriber(&by_email).await.unwrap();
    assert_eq!(sub.email, "jordan.smith42@example.com");
    assert_eq!(sub.name, "Jordan Smith");
    let by_phone = only_account(&store, TargetKind::Phone, "+1 (555) 014-27788").await;
    assert_eq!(
        store.subscriber(&by_phone).await.unwrap().phone.as_deref(),
        Some("+155501427788")
    );
    let by_id = only_account(&store, TargetKind::AccountId, "acct-424242").await;
    assert_eq!(by_id.as_str(), "acct-424242");

    // A device's owner can be found and written to (device return), without the officer.
    let owner = only_account(&store, TargetKind::DeviceSerial, "fx12345678").await;
    let records = store.transactional(&owner, None).await.unwrap();
    assert!(records.devices.iter().any(|d| d.serial == "FX12345678"));
    assert!(store.subscriber(&owner).await.unwrap().email.contains('@'));

    let buyer = only_account(&store, TargetKind::OrderId, "112-1234567-7654321").await;
    let records = store.transactional(&buyer, None).await.unwrap();
    let order = records
        .orders
        .iter()
        .find(|o| o.order_id == "112-1234567-7654321")
        .expect("the named order");
    assert_eq!(
        order.total_minor,
        order
            .items
            .iter()
            .map(|i| i64::from(i.quantity) * i.unit_price_minor)
            .sum::<i64>()
    );

    // Nobody else.
    let none = store
        .find_accounts(&target(TargetKind::Email, "nobody@example.org"))
        .await
        .unwrap();
    assert!(none.is_empty());
    let none = store
        .find_accounts(&target(TargetKind::DeviceSerial, "FX00000000"))
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn ip_addresses_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let err = store
        .find_accounts(&target(TargetKind::IpAddress, "192.0.2.10"))
        .await
        .unwrap_err();
    match err {
        SourceError::Unsupported { kind, reason } => {
            assert_eq!(kind, TargetKind::IpAddress);
            assert!(reason.contains("does not identify an account"), "{reason}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn subscriber_records_disclose_cards_masked_and_are_believable() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let ids = store.account_ids().await.unwrap();
    assert_eq!(ids.len(), 12 + 5);
    let mut emails = HashSet::new();
    for id in &ids {
        let s: SubscriberRecord = store.subscriber(id).await.unwrap();
        assert!(
            emails.insert(s.email.clone()),
            "e-mail addresses are unique"
        );
        assert!(s.email.contains('@') && s.email == s.email.to_lowercase());
        assert!(!s.addresses.is_empty() && !s.payment_methods.is_empty());
        for p in &s.payment_methods {
            assert_eq!(p.last_four.len(), 4);
            assert!(p.last_four.chars().all(|c| c.is_ascii_digit()));
            assert!(p.masked().ends_with(&format!("ending in {}", p.last_four)));
        }
        assert!(s.services.iter().any(|sv| sv.name == "Shop"));
        assert!(s.created_at.date_naive() <= day(common::AS_OF));
        // The CSV has one row per record, under the header.
        let tables = s.tables();
        assert_eq!(tables[0].to_csv().lines().count(), 2);
        assert_eq!(tables[2].rows.len(), s.payment_methods.len());
        assert!(
            !tables.iter().any(|t| t.to_csv().contains("card_number")),
            "no full card numbers"
        );
    }
    let unknown = AccountId::parse("acct-000001").unwrap();
    assert!(matches!(
        store.subscriber(&unknown).await,
        Err(SourceError::NotFound(_))
    ));
}

#[tokio::test]
async fn transactional_records_keep_to_the_date_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let account = only_account(&store, TargetKind::Email, "jordan.smith42@example.com").await;
    let all: TransactionalRecords = store.transactional(&account, None).await.unwrap();
    assert!(all.sign_ins.len() > 100, "two years of sign-ins");
    assert!(all.sign_ins.iter().any(|s| s.ip_address.is_ipv4()));
    let first = all.sign_ins.first().unwrap().at.date_naive();
    let last = all.sign_ins.last().unwrap().at.date_naive();
    assert!((last - first).num_days() > 600, "{first} to {last}");

    let range = DateRange {
        from: day("2025-06-01"),
        to: day("2025-06-30"),
    };
    let june = store.transactional(&account, Some(range)).await.unwrap();
    assert_eq!(june.date_range, Some(range));
    let in_june = |t: chrono::DateTime<chrono::Utc>| {
        t.date_naive() >= range.from && t.date_naive() <= range.to
    };
    let expected: Vec<_> = all
        .sign_ins
        .iter()
        .filter(|s| in_june(s.at))
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(june.sign_ins, expected);
    let expected: Vec<_> = all
        .orders
        .iter()
        .filter(|o| in_june(o.placed_at))
        .cloned()
        .collect();
    assert_eq!(june.orders, expected);
    // A device counts when it was registered at any time in the period.
    for d in &all.devices {
        let overlaps = d.registered_at.date_naive() <= range.to
            && !matches!(d.deregistered_at, Some(t) if t.date_naive() < range.from);
        assert_eq!(june.devices.contains(d), overlaps, "{d:?}");
    }
    // Ordered and serialised the same way every time.
    assert!(all.sign_ins.windows(2).all(|w| w[0].at <= w[1].at));
    let again = store.transactional(&account, None).await.unwrap();
    assert_eq!(
        serde_json::to_string(&all).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    let csv: Vec<String> = all.tables().iter().map(|t| t.to_csv()).collect();
    let csv_again: Vec<String> = again.tables().iter().map(|t| t.to_csv()).collect();
    assert_eq!(csv, csv_again);
    assert!(csv[3].starts_with("account_id,at,ip_address,outcome,method,user_agent\n"));

    let reversed = DateRange {
        from: range.to,
        to: range.from,
    };
    let err = store
        .transactional(&account, Some(reversed))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Invalid(ref m) if m.contains("date_range")),
        "{err}"
    );
}

fn kind_of(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE" {
        "audio/wav"
    } else if &bytes[4..8] == b"ftyp" {
        "video/mp4"
    } else if bytes.starts_with(b"%PDF-") && bytes.ends_with(b"%%EOF\n") {
        "application/pdf"
    } else {
        "unknown"
    }
}

#[tokio::test]
async fn content_is_real_files_created_in_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let summary = store.summary().await.unwrap();
    let large = only_account(&store, TargetKind::Email, "jordan.smith42@example.com").await;
    assert_eq!(summary.large_account, large);

    let files = store.content(&large, None).await.unwrap();
    let total: u64 = files.iter().map(|f| f.size).sum();
    assert_eq!(total, summary.large_account_bytes);
    let wanted = 3 * 1024 * 1024;
    assert!(
        total > wanted * 7 / 10 && total < wanted * 13 / 10,
        "{total}"
    );
    let period = large_period();
    let kinds: HashSet<&str> = files.iter().map(|f| f.media_type.as_str()).collect();
    assert_eq!(
        kinds.len(),
        4,
        "documents, photos, voice recordings and videos: {kinds:?}"
    );
    for f in &files {
        let d = f.created_at.date_naive();
        assert!(d >= period.from && d <= period.to, "{} {d}", f.path);
        let (_, bytes) = read_all(&store, &large, &f.id).await;
        assert_eq!(bytes.len() as u64, f.size, "{}", f.path);
        assert_eq!(kind_of(&bytes), f.media_type, "{}", f.path);
    }
    let listing = content_table(&large, &files);
    assert_eq!(listing.rows.len(), files.len());

    let october = DateRange {
        from: day("2025-10-01"),
        to: day("2025-10-31"),
    };
    let some = store.content(&large, Some(october)).await.unwrap();
    let expected: Vec<_> = files
        .iter()
        .filter(|f| {
            f.created_at.date_naive() >= october.from && f.created_at.date_naive() <= october.to
        })
        .cloned()
        .collect();
    assert_eq!(some, expected);
    let before = DateRange {
        from: day("2024-01-01"),
        to: day("2025-08-31"),
    };
    assert!(store
        .content(&large, Some(before))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_large_file_streams_in_bounded_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let large = store.summary().await.unwrap().large_account;
    let files = store.content(&large, None).await.unwrap();
    let biggest = files.iter().max_by_key(|f| f.size).unwrap();
    assert!(biggest.size > 8 * CHUNK_SIZE as u64, "{}", biggest.size);

    let (chunks, bytes) = read_all(&store, &large, &biggest.id).await;
    assert!(
        chunks.iter().all(|&n| n > 0 && n <= CHUNK_SIZE),
        "{chunks:?}"
    );
    assert_eq!(
        chunks.len() as u64,
        biggest.size.div_ceil(CHUNK_SIZE as u64)
    );
    let on_disk = std::fs::read(
        store
            .root()
            .join("files")
            .join(large.as_str())
            .join(format!("{}.mp4", biggest.id)),
    )
    .unwrap();
    assert_eq!(Sha256::digest(&bytes), Sha256::digest(&on_disk));

    // A reader may stop after the first chunk: nothing else was read for it.
    let mut stream = store.open_file(&large, &biggest.id).await.unwrap();
    assert_eq!(stream.size(), biggest.size);
    assert_eq!(stream.media_type(), "video/mp4");
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.len(), CHUNK_SIZE);
    assert_eq!(&first[..], &on_disk[..CHUNK_SIZE]);
    drop(stream);

    let err = store.open_file(&large, "file-9999999").await.err().unwrap();
    assert!(matches!(err, SourceError::NotFound(_)));
    // Another account's file is not found through this one.
    let other = only_account(&store, TargetKind::AccountId, "acct-424242").await;
    let err = store.open_file(&other, &biggest.id).await.err().unwrap();
    assert!(matches!(err, SourceError::NotFound(_)));
}

async fn fingerprint(store: &DemoStore) -> Vec<String> {
    let mut out = Vec::new();
    for id in store.account_ids().await.unwrap() {
        out.push(serde_json::to_string(&store.subscriber(&id).await.unwrap()).unwrap());
        out.push(serde_json::to_string(&store.transactional(&id, None).await.unwrap()).unwrap());
        for f in store.content(&id, None).await.unwrap() {
            let (_, bytes) = read_all(store, &id, &f.id).await;
            out.push(format!(
                "{} {}",
                f.path,
                hex::encode(Sha256::digest(&bytes))
            ));
        }
    }
    out
}

#[tokio::test]
async fn the_same_seed_generates_the_same_store() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = fingerprint(&store(a.path()).await).await;
    let second = fingerprint(&store(b.path()).await).await;
    assert_eq!(first, second);

    let mut other = common::size();
    other.seed += 1;
    let c = tempfile::tempdir().unwrap();
    let third = DemoStore::generate(&c.path().join("x"), &other)
        .await
        .unwrap();
    assert_ne!(first, fingerprint(&third).await);
}

#[tokio::test]
async fn generation_refuses_a_directory_that_holds_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let again = DemoStore::generate(store.root(), &common::size()).await;
    assert!(matches!(again, Err(SourceError::Invalid(_))));
    assert!(DemoStore::open(&dir.path().join("nowhere")).await.is_err());
    // The partial directory was renamed into place, not left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["customer-data"]);
}

#[tokio::test]
async fn deleting_an_account_removes_its_rows_and_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let before = store.summary().await.unwrap();
    let account = only_account(&store, TargetKind::Email, "jordan.smith42@example.com").await;
    let other = only_account(&store, TargetKind::OrderId, "112-1234567-7654321").await;
    let other_before = store.transactional(&other, None).await.unwrap();
    let files = store.content(&account, None).await.unwrap();
    let biggest = files.iter().max_by_key(|f| f.size).unwrap().clone();

    // A copy already under way (a legal hold's snapshot) reads on to the end.
    let mut in_flight = store.open_file(&account, &biggest.id).await.unwrap();
    let first = in_flight.next().await.unwrap().unwrap();

    let deleted = store.delete_account(&account).await.unwrap();
    assert_eq!(deleted.files, files.len() as u64);
    assert_eq!(deleted.bytes, before.large_account_bytes);

    let mut copied = first.len() as u64;
    while let Some(chunk) = in_flight.next().await {
        copied += chunk.unwrap().len() as u64;
    }
    assert_eq!(copied, biggest.size);

    assert!(store
        .find_accounts(&target(TargetKind::Email, "jordan.smith42@example.com"))
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.subscriber(&account).await,
        Err(SourceError::NotFound(_))
    ));
    assert!(matches!(
        store.transactional(&account, None).await,
        Err(SourceError::NotFound(_))
    ));
    assert!(matches!(
        store.content(&account, None).await,
        Err(SourceError::NotFound(_))
    ));
    assert!(matches!(
        store.open_file(&account, &biggest.id).await,
        Err(SourceError::NotFound(_))
    ));
    assert!(!store.root().join("files").join(account.as_str()).exists());
    assert!(matches!(
        store.delete_account(&account).await,
        Err(SourceError::NotFound(_))
    ));

    let after = store.summary().await.unwrap();
    assert_eq!(after.accounts, before.accounts - 1);
    assert_eq!(after.files, before.files - files.len() as u64);
    assert_eq!(
        store.transactional(&other, None).await.unwrap(),
        other_before
    );
}

#[tokio::test]
async fn records_of_a_wider_period_narrow_as_the_source_selects() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let account = only_account(&store, TargetKind::Email, "jordan.smith42@example.com").await;
    let whole = store.transactional(&account, None).await.unwrap();
    for range in [
        large_period(),
        DateRange {
            from: day("2025-01-01"),
            to: day("2025-06-30"),
        },
        DateRange {
            from: day("2026-03-01"),
            to: day("2026-03-31"),
        },
    ] {
        let asked = store.transactional(&account, Some(range)).await.unwrap();
        assert_eq!(whole.within(Some(range)).unwrap(), asked, "{range:?}");
    }
    assert!(!whole.sign_ins.is_empty());
}
