//! `custodian import`, `custodian report` and `custodian audit verify-report`, run as the
//! binary, on SQLite and (when CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_custodian");

const CSV: &str = "reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,responded_at
A1,2025-01-02,US,subpoena,false,1,full,non_content,,false,false,2025-01-09
A2,2025-02-02,DE,epoc,false,2,partial,content,,true,false,2025-02-05
A3,2025-03-02,US,national_security_letter,false,5,full,non_content,,true,false,
A4,2025-03-02T10:00:00Z,US,search_warrant,false,5,none,none,rejected,false,false,
A5,2025-03-02,XX,search_warrant,false,5,none,none,rejected,false,false,
A6,2025-03-02,US,search_warrant,false,-1,none,none,rejected,false,false,
A1,2025-04-02,US,subpoena,false,1,full,non_content,,false,false,
";

fn run(dir: &Path, db: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("CUSTODIAN_DATA_DIR", dir)
        .env_remove("CUSTODIAN_CONFIG")
        .env("CUSTODIAN_LOG", "warn");
    match db {
        Some(url) => c.env("CUSTODIAN_DATABASE_URL", url),
        None => c.env_remove("CUSTODIAN_DATABASE_URL"),
    };
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn databases() -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(url) = custodian_store::testing::fresh_postgres_url("report_cli").await {
        v.push(Some(url));
    }
    v
}

async fn raw(dir: &Path, db: &Option<String>, sql: &str) {
    use sqlx::Connection;
    match db {
        None => {
            let url = format!("sqlite://{}", dir.join("custodian.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
    }
}

#[tokio::test]
async fn import_report_and_verify_then_tamper() {
    for db in databases().await {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("in.csv");
        std::fs::write(&file, CSV).unwrap();
        let f = file.to_str().unwrap();

        // Two rows a batch: the duplicate A1 on line 8 is found in another batch than the
        // first A1 (line 2), by the store.
        let o = run(dir, db.as_deref(), &["import", f, "--batch", "2"]);
        let t = text(&o);
        assert_eq!(
            o.status.code(),
            Some(1),
            "rejected rows make the exit 1: {t}"
        );
        assert!(
            t.contains("imported 4, skipped 0 (already imported), rejected 3"),
            "{t}"
        );
        assert!(t.contains("rejected line 6: country:"), "{t}");
        assert!(t.contains("rejected line 7: accounts:"), "{t}");
        assert!(
            t.contains("rejected line 8: reference 'A1' already used on line 2"),
            "{t}"
        );
        let o = run(dir, db.as_deref(), &["import", f]);
        let t = text(&o);
        assert!(t.contains("imported 0, skipped 4"), "{t}");
        assert!(t.contains("skipped line 2: reference 'A1'"), "{t}");
        assert!(t.contains("rejected line 8: reference 'A1'"), "{t}");

        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "reference,colour\nA,red\n").unwrap();
        let o = run(dir, db.as_deref(), &["import", bad.to_str().unwrap()]);
        assert!(!o.status.success());
        assert!(text(&o).contains("unknown column 'colour'"), "{}", text(&o));

        let report = dir.join("r.json");
        let o = run(
            dir,
            db.as_deref(),
            &[
                "report",
                "--period",
                "2025-H1",
                "--out",
                report.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(json["national_security"]["requests_band"], "0-249");
        assert!(!json.to_string().contains("national_security_letter"));

        let r = report.to_str().unwrap();
        let o = run(dir, db.as_deref(), &["audit", "verify-report", r]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("report verified"), "{}", text(&o));

        // Every format renders.
        for fmt in ["csv", "html", "pdf"] {
            let o = run(
                dir,
                db.as_deref(),
                &["report", "--period", "2025", "--format", fmt],
            );
            assert!(o.status.success(), "{fmt}: {}", text(&o));
        }

        // The imported rows cannot be changed in place ...
        let (drop_update, drop_delete) = if db.is_some() {
            (
                "DROP TRIGGER report_imported_no_update ON report_imported",
                "SELECT 1",
            )
        } else {
            (
                "DROP TRIGGER report_imported_no_update",
                "DROP TRIGGER report_imported_no_delete",
            )
        };
        // ... but whoever can drop the triggers can. A counted request altered is noticed,
        // and only while it is altered.
        raw(dir, &db, drop_update).await;
        raw(dir, &db, drop_delete).await;
        raw(
            dir,
            &db,
            "UPDATE report_imported SET accounts = 9 WHERE object = 'import:A2'",
        )
        .await;
        let o = run(dir, db.as_deref(), &["audit", "verify-report", r]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("do not hash to the root the log recorded"),
            "{}",
            text(&o)
        );
        raw(
            dir,
            &db,
            "UPDATE report_imported SET accounts = 2 WHERE object = 'import:A2'",
        )
        .await;
        let o = run(dir, db.as_deref(), &["audit", "verify-report", r]);
        assert!(o.status.success(), "{}", text(&o));

        // A counted request removed is noticed.
        raw(
            dir,
            &db,
            "DELETE FROM report_imported WHERE object = 'import:A2'",
        )
        .await;
        let o = run(dir, db.as_deref(), &["audit", "verify-report", r]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("the log recorded 2 rows, 1 are stored"),
            "{}",
            text(&o)
        );

        // A batch's log entry rewritten is noticed.
        let drop = if db.is_some() {
            "DROP TRIGGER audit_log_no_update ON audit_log"
        } else {
            "DROP TRIGGER audit_log_no_update"
        };
        raw(dir, &db, drop).await;
        raw(
            dir,
            &db,
            "UPDATE audit_log SET details = replace(details, '\"rows\":2', '\"rows\":1') \
             WHERE action = 'requests.imported'",
        )
        .await;
        let o = run(dir, db.as_deref(), &["audit", "verify-report", r]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("leaf hash"), "{}", text(&o));
    }
}
