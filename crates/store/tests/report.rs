//! The transparency counters on both backends: import is idempotent, counters always equal a
//! recount from the facts and from the audit log, national security process only in bands.

use std::sync::Arc;

use custodian_report::{Facts, ImportBatch, ImportReader, ImportRow, Period, Recount};
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;
use rand::{Rng, SeedableRng};

async fn backends(test: &str) -> Vec<(DynStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut out: Vec<(DynStore, Option<tempfile::TempDir>)> = vec![(Arc::new(sqlite), Some(dir))];
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = PgStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        out.push((Arc::new(pg), None));
    }
    out
}

const HEAD: &str = "reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,responded_at\n";

fn rows(text: &str) -> Vec<ImportRow> {
    let mut r = ImportReader::new(std::io::Cursor::new(format!("{HEAD}{text}"))).unwrap();
    let (good, bad) = r.next_chunk(10_000).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    good
}

async fn import(store: &DynStore, rows: &[ImportRow]) -> Vec<ImportOutcome> {
    store
        .reports()
        .import_rows(&actor(), &ImportBatch::new(rows.to_vec()))
        .await
        .unwrap()
}

async fn recount_equals_counters(store: &DynStore, period: Period) {
    let stored = store.reports().report(period).await.unwrap();
    // From the facts table.
    let facts = store.reports().all_facts().await.unwrap();
    let cells = custodian_report::tally(facts.iter().map(|(_, f, l)| (f, l)));
    let from_facts = custodian_report::Report::from_cells(period, &cells);
    assert_eq!(
        stored,
        from_facts,
        "counters vs facts ({})",
        store.backend()
    );
    // From the audit log and the import batches it commits to.
    let recount = recount(store).await;
    assert_eq!(
        stored,
        recount.report(period),
        "counters vs log ({})",
        store.backend()
    );
}

async fn recount(store: &DynStore) -> Recount {
    let mut recount = Recount::default();
    for e in store.audit_entries(0, u32::MAX).await.unwrap() {
        recount.push(&e.entry).unwrap();
    }
    for idx in recount.batches() {
        let rows = store.reports().imported_batch(idx).await.unwrap();
        recount.push_batch(idx, &rows).unwrap();
    }
    recount
}

fn actor() -> Actor {
    Actor::System("test".into())
}

#[tokio::test]
async fn import_is_idempotent_and_reports_the_published_fields() {
    for (store, _dir) in backends("import_is_idempotent").await {
        let batch = rows(
            "A1,2025-01-02,US,subpoena,false,1,full,non_content,,false,false,2025-01-09\n\
             A2,2025-02-02,DE,epoc,false,2,partial,content,,true,false,2025-02-05\n\
             A3,2025-03-02,US,national_security_letter,false,300,full,non_content,,true,false,\n\
             A4,2025-03-02,US,fisa_order,false,5,full,content,,true,false,\n\
             A5,2025-03-04,US,preservation,false,4,none,none,no_data,false,false,2025-03-04\n\
             A6,2025-05-04,FR,emergency,true,1,full,non_content,,false,true,2025-05-04\n\
             A7,2025-08-04,US,search_warrant,false,1,none,none,rejected,false,false,2025-08-20\n",
        );
        let before = store.audit_size().await.unwrap();
        let first = import(&store, &batch).await;
        assert!(first.iter().all(|o| *o == ImportOutcome::Imported));
        let size = store.audit_size().await.unwrap();
        assert_eq!(size, before + 1, "one audit entry commits to the batch");
        let entry = store
            .audit_entries(before, 1)
            .await
            .unwrap()
            .remove(0)
            .entry;
        assert_eq!(entry.action, "requests.imported");
        assert_eq!(entry.details["rows"], 7);
        let report = store
            .reports()
            .report("2025-H1".parse().unwrap())
            .await
            .unwrap();
        let again = import(&store, &batch).await;
        assert!(again.iter().all(|o| *o == ImportOutcome::AlreadyImported));
        assert_eq!(
            store.audit_size().await.unwrap(),
            size,
            "nothing logged twice"
        );
        assert_eq!(
            store
                .reports()
                .report("2025-H1".parse().unwrap())
                .await
                .unwrap(),
            report
        );

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["period"], "2025-H1");
        for field in [
            "by_process",
            "by_country",
            "national_security",
            "preservation",
            "emergency",
            "notices",
            "median_days_to_respond",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["national_security"]["requests_band"], "0-249");
        assert_eq!(json["national_security"]["accounts_band"], "250-499");
        let text = json.to_string();
        assert!(!text.contains("national_security_letter"), "{text}");
        assert!(!text.contains("fisa_order"), "{text}");
        let us = report
            .by_country
            .iter()
            .find(|c| c.country == "US")
            .unwrap();
        assert_eq!(us.received, 2, "NSL and FISA are not in the country totals");
        assert_eq!(
            (report.preservation.requests, report.preservation.accounts),
            (1, 4)
        );
        assert_eq!(
            (report.emergency.received, report.emergency.disclosed),
            (1, 1)
        );
        assert_eq!(
            (
                report.notices.ndo_received,
                report.notices.sent,
                report.notices.delayed
            ),
            (1, 1, 1)
        );
        assert_eq!(report.median_days_to_respond, Some(1.5), "days 0, 0, 3, 7");
        let year = store
            .reports()
            .report("2025".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(
            year.totals.received, 5,
            "seven rows, two of them national security"
        );
        recount_equals_counters(&store, "2025".parse().unwrap()).await;
    }
}

#[tokio::test]
async fn counters_equal_a_recount_after_random_changes() {
    use custodian_report::{Disclosed, NoneReason, Outcome};
    for (store, _dir) in backends("counters_equal_a_recount").await {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let processes = custodian_core::LegalProcess::ALL;
        let countries = ["US", "DE", "FR", "GB", "IN"];
        let random_facts = |rng: &mut rand::rngs::StdRng| -> Facts {
            let received_at = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc)
                + chrono::Duration::days(rng.gen_range(0..730));
            let (outcome, disclosed, none_reason) = match rng.gen_range(0..6) {
                0 => (None, None, None),
                1 => (Some(Outcome::Full), Some(Disclosed::Content), None),
                2 => (Some(Outcome::Partial), Some(Disclosed::NonContent), None),
                3 => (
                    Some(Outcome::None),
                    Some(Disclosed::None),
                    Some(NoneReason::Rejected),
                ),
                4 => (
                    Some(Outcome::None),
                    Some(Disclosed::None),
                    Some(NoneReason::NoData),
                ),
                _ => (
                    Some(Outcome::None),
                    Some(Disclosed::None),
                    Some(NoneReason::Withdrawn),
                ),
            };
            Facts {
                received_at,
                country: countries[rng.gen_range(0..countries.len())]
                    .parse()
                    .unwrap(),
                process: processes[rng.gen_range(0..processes.len())],
                category: rng.gen_bool(0.2).then(|| "police".to_string()),
                emergency: rng.gen_bool(0.1),
                accounts: rng.gen_range(0..5),
                outcome,
                disclosed,
                none_reason,
                ndo: rng.gen_bool(0.3),
                notified: rng.gen_bool(0.3),
                responded_at: outcome
                    .map(|_| received_at + chrono::Duration::days(rng.gen_range(0..40))),
            }
        };
        for step in 0..120 {
            let object = format!("import:R{}", rng.gen_range(0..40));
            let facts = random_facts(&mut rng);
            store
                .reports()
                .set_facts(&actor(), &object, &facts)
                .await
                .unwrap();
            if step % 30 == 29 {
                for p in ["2024-H1", "2024-H2", "2025-H1", "2025-H2", "2024", "2025"] {
                    recount_equals_counters(&store, p.parse().unwrap()).await;
                }
            }
        }
    }
}

#[tokio::test]
async fn batches_skip_what_is_counted_and_later_changes_supersede_imported_rows() {
    use custodian_report::{Disclosed, NoneReason, Outcome};
    for (store, _dir) in backends("batches_supersede").await {
        // A request counted by an entry of its own (as an older import did) is not imported
        // again under the same reference.
        let older = rows("L1,2024-02-01,US,subpoena,false,1,full,non_content,,false,false,\n");
        store
            .reports()
            .set_facts(&actor(), "import:L1", &older[0].facts)
            .await
            .unwrap();
        let batch = rows(
            "L1,2024-02-01,US,subpoena,false,1,full,non_content,,false,false,\n\
             B1,2024-02-02,GB,cloud_act_order,false,2,full,content,,false,false,\n\
             B2,2024-03-02,GB,cloud_act_order,false,1,none,none,no_data,false,false,\n\
             B3,2024-08-02T09:30:00.25Z,IE,foreign_direct,false,1,full,non_content,,false,false,2024-08-03T01:02:03.123456Z\n\
             B1,2024-09-02,IE,foreign_direct,false,1,full,non_content,,false,false,\n",
        );
        assert_eq!(batch[4].earlier, Some(3), "the reader saw B1 before");
        let outcomes = import(&store, &batch).await;
        assert_eq!(
            outcomes,
            [
                ImportOutcome::AlreadyImported,
                ImportOutcome::Imported,
                ImportOutcome::Imported,
                ImportOutcome::Imported,
                ImportOutcome::AlreadyImported
            ],
            "a reference counted before, and one twice in the batch, are not stored again"
        );
        let size = store.audit_size().await.unwrap();
        let stored = store.reports().imported_batch(size - 1).await.unwrap();
        assert_eq!(
            stored.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
            ["import:B1", "import:B2", "import:B3"],
            "in the order stored, without the skipped row"
        );
        assert_eq!(
            stored[2].1, batch[3].facts,
            "read back as imported, fractions of a second too"
        );
        recount_equals_counters(&store, "2024".parse().unwrap()).await;

        // An imported request decided otherwise later: its row stays as imported (the batch
        // still verifies) and the new facts count instead.
        let mut changed = batch[2].facts.clone();
        changed.outcome = Some(Outcome::None);
        changed.disclosed = Some(Disclosed::None);
        changed.none_reason = Some(NoneReason::Rejected);
        assert!(store
            .reports()
            .set_facts(&actor(), "import:B2", &changed)
            .await
            .unwrap());
        assert_eq!(
            store.reports().imported_batch(size - 1).await.unwrap(),
            stored
        );
        let report = store
            .reports()
            .report("2024-H1".parse().unwrap())
            .await
            .unwrap();
        let gb = report
            .by_country
            .iter()
            .find(|c| c.country == "GB")
            .unwrap();
        assert_eq!((gb.received, gb.rejected, gb.no_data), (2, 1, 0));
        recount_equals_counters(&store, "2024".parse().unwrap()).await;
        recount_equals_counters(&store, "2024-H1".parse().unwrap()).await;

        // What verify-report checks of requests recorded by entries of their own.
        let recorded = recount(&store).await.entries_in("2024".parse().unwrap());
        assert_eq!(
            recorded.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
            ["import:B2", "import:L1"]
        );
        assert!(store
            .reports()
            .check_recorded(&recorded)
            .await
            .unwrap()
            .is_empty());
        let wrong = vec![
            (recorded[0].0.clone(), [7u8; 32]),
            ("import:nowhere".to_string(), recorded[1].1),
        ];
        let problems = store.reports().check_recorded(&wrong).await.unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("no longer holds the facts"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("import:nowhere has disappeared"),
            "{problems:?}"
        );
    }
}

#[tokio::test]
async fn categories_have_rows_of_their_own() {
    for (store, _dir) in backends("categories").await {
        let head = "reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,category\n";
        let text = format!(
            "{head}K1,2023-01-05T08:00:00.654321Z,GB,cloud_act_order,false,2,full,content,,false,false,opo\n\
             K2,2023-01-05,GB,cloud_act_order,false,3,none,none,no_data,false,false,ipa_cdr\n\
             K3,2023-01-05,GB,cloud_act_order,false,1,full,non_content,,false,false,ipa_cdr\n\
             K4\\back,2023-01-05,GB,cloud_act_order,false,1,full,non_content,,false,false,\n"
        );
        let mut r = ImportReader::new(std::io::Cursor::new(text)).unwrap();
        let (good, bad) = r.next_chunk(100).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        import(&store, &good).await;
        let report = store
            .reports()
            .report("2023-H1".parse().unwrap())
            .await
            .unwrap();
        let rows: Vec<(Option<&str>, u64, u64, u64)> = report
            .by_country_process
            .iter()
            .map(|r| (r.category.as_deref(), r.received, r.disclosed, r.accounts))
            .collect();
        assert_eq!(
            rows,
            [
                (None, 1, 1, 1),
                (Some("ipa_cdr"), 2, 1, 4),
                (Some("opo"), 1, 1, 2)
            ]
        );
        let size = store.audit_size().await.unwrap();
        let stored = store.reports().imported_batch(size - 1).await.unwrap();
        assert_eq!(stored[3].0, "import:K4\\back", "stored as given");
        assert_eq!(stored[0].1, good[0].facts, "a fraction of a second too");
        let process = &report.by_process[0];
        assert_eq!(
            (process.process.as_str(), process.received),
            ("cloud_act_order", 4)
        );
        recount_equals_counters(&store, "2023-H1".parse().unwrap()).await;
    }
}

/// Two handles on one database, as two `custodian import` processes have: each keeps its
/// own knowledge of the references stored (PostgreSQL keeps no index on them).
async fn two_handles(test: &str) -> Vec<(DynStore, DynStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let first = SqliteStore::open(&path).await.unwrap();
    first.migrate().await.unwrap();
    let second = SqliteStore::open(&path).await.unwrap();
    let mut out: Vec<(DynStore, DynStore, Option<tempfile::TempDir>)> =
        vec![(Arc::new(first), Arc::new(second), Some(dir))];
    if let Some(url) = fresh_postgres_url(test).await {
        let first = PgStore::connect(&url).await.unwrap();
        first.migrate().await.unwrap();
        let second = PgStore::connect(&url).await.unwrap();
        out.push((Arc::new(first), Arc::new(second), None));
    }
    out
}

fn numbered(prefix: &str, n: usize) -> Vec<ImportRow> {
    let text: String = (0..n)
        .map(|i| {
            format!(
                "{prefix}{i},2025-01-{:02},US,subpoena,false,1,full,non_content,,false,false,\n",
                i % 28 + 1
            )
        })
        .collect();
    rows(&text)
}

fn received(report: &custodian_report::Report) -> u64 {
    report.by_process.iter().map(|p| p.received).sum()
}

#[tokio::test]
async fn imports_from_two_processes_count_each_reference_once() {
    for (a, b, _dir) in two_handles("import_two_processes").await {
        let backend = a.backend();
        let outcomes = |o: &[ImportOutcome]| {
            o.iter()
                .map(|o| matches!(o, ImportOutcome::Imported))
                .collect::<Vec<_>>()
        };
        let r = numbered("R", 4);
        assert_eq!(
            outcomes(&import(&a, &r[0..2]).await),
            [true, true],
            "{backend}"
        );
        // The second handle has seen nothing yet: it reads what the first stored.
        assert_eq!(
            outcomes(&import(&b, &r[1..3]).await),
            [false, true],
            "{backend}"
        );
        // The first must learn of the second's batch, stored after its own.
        assert_eq!(
            outcomes(&import(&a, &r[2..4]).await),
            [false, true],
            "{backend}"
        );
        assert_eq!(outcomes(&import(&b, &r).await), [false; 4], "{backend}");
        let period: Period = "2025-H1".parse().unwrap();

        // The second changes a counted request's facts, and so its cells, between two batches
        // of the first, which must not trust the cells its own last batch left.
        assert_eq!(outcomes(&import(&a, &numbered("S", 2)).await), [true, true]);
        let mut changed = r[0].facts.clone();
        changed.outcome = Some(custodian_report::Outcome::Partial);
        let actor = Actor::System("test".into());
        assert!(b
            .reports()
            .set_facts(&actor, &r[0].object(), &changed)
            .await
            .unwrap());
        assert_eq!(outcomes(&import(&a, &numbered("T", 2)).await), [true, true]);
        recount_equals_counters(&a, period).await;

        // The same new file imported by both at once: every reference counted once.
        let c = numbered("C", 300);
        let (x, y) = tokio::join!(import(&a, &c), import(&b, &c));
        for (i, (x, y)) in x.iter().zip(&y).enumerate() {
            assert_ne!(
                matches!(x, ImportOutcome::Imported),
                matches!(y, ImportOutcome::Imported),
                "{backend}: row {i} imported by exactly one"
            );
        }
        let report = a.reports().report(period).await.unwrap();
        assert_eq!(received(&report), 308, "{backend}");
        recount_equals_counters(&a, period).await;
        // Neither takes them again.
        assert_eq!(
            outcomes(&import(&b, &c[..3]).await),
            [false; 3],
            "{backend}"
        );
    }
}
