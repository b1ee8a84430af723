//! The audit log as an auditor meets it: `custodian audit verify` and `audit checkpoint` against
//! a database someone has tampered with directly.

mod common;

use common::*;
use sqlx::Connection;

async fn tamper(env: &Env, sql_sqlite: &[&str], sql_pg: &[&str]) {
    match &env.database_url {
        None => {
            let url = format!("sqlite://{}", env.data_dir.join("custodian.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for s in sql_sqlite {
                sqlx::query(s).execute(&mut c).await.unwrap();
            }
        }
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            for s in sql_pg {
                sqlx::query(s).execute(&mut c).await.unwrap();
            }
        }
    }
}

fn verify(env: &Env) -> (bool, String) {
    let out = env.command().args(["audit", "verify"]).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[tokio::test]
async fn one_changed_byte_is_named_by_audit_verify() {
    for env in Env::all("audit_tamper").await {
        env.officer_token("Springfield PD", "springfieldpd.gov");
        let (ok, out) = verify(&env);
        assert!(ok, "{}: a fresh log verifies: {out}", env.name);
        assert!(out.contains("3 entries"), "{out}");
        let note = env.run(&["audit", "checkpoint"]);
        assert!(
            note.contains("\n3\n"),
            "the checkpoint covers 3 entries: {note}"
        );
        assert!(note.contains("— custodian/audit "), "signed: {note}");
        let key = env.run(&["audit", "public-key"]);
        assert!(key.starts_with("custodian/audit+"), "{key}");

        // Change one byte of entry 1's details, going around the append-only triggers.
        tamper(
            &env,
            &[
                "DROP TRIGGER audit_log_no_update",
                "UPDATE audit_log SET details = replace(details, 'agency_officer', 'agency_officeR') WHERE idx = 1",
            ],
            &[
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
                "UPDATE audit_log SET details = replace(details, 'agency_officer', 'agency_officeR') WHERE idx = 1",
                "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update",
            ],
        )
        .await;
        let (ok, out) = verify(&env);
        assert!(!ok, "{}: tampering must fail verification", env.name);
        assert!(
            out.contains("TAMPERED") && out.contains("entry 1"),
            "{}: names entry 1: {out}",
            env.name
        );
        let refused = env
            .command()
            .args(["audit", "checkpoint"])
            .output()
            .unwrap();
        assert!(
            !refused.status.success(),
            "no checkpoint is signed over a tampered log"
        );
    }
}

#[tokio::test]
async fn a_rewritten_entry_with_a_recomputed_hash_is_caught_by_the_checkpoint() {
    for env in Env::all("audit_rewrite").await {
        env.officer_token("Springfield PD", "springfieldpd.gov");
        env.run(&["audit", "checkpoint"]);
        // A careful intruder deletes the last entry; the signed checkpoint still counts it.
        tamper(
            &env,
            &[
                "DROP TRIGGER audit_log_no_delete",
                "DELETE FROM audit_log WHERE idx = 2",
            ],
            &[
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
                "DELETE FROM audit_log WHERE idx = 2",
                "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update",
            ],
        )
        .await;
        let (ok, out) = verify(&env);
        assert!(!ok, "{}: a truncated log must fail: {out}", env.name);
        assert!(out.contains("TAMPERED"), "{out}");
    }
}
