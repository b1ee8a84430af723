//! The bulk insert of an import batch on SQLite, through SQLite's own C interface.
//!
//! sqlx hands every parameter of a statement to its worker thread as an owned value and binds
//! it there; at 15 values a row that cost twice what SQLite takes to store the row, and kept
//! `custodian import` at a fifth of the speed of the sqlite3 shell's `.import`. Here the
//! connection's handle is borrowed from sqlx for the batch (inside its transaction), one
//! statement is prepared, and each row is bound, stepped and reset in place, as `.import`
//! does. Besides the link of an unnamed blob file (`blobs.rs`), this is the only unsafe code
//! in the store: every call is checked, and the statement is finalised on every path.

use std::ffi::{c_int, CStr};
use std::ptr::{self, NonNull};

use custodian_report::ImportRow;
use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

use crate::{StoreError, StoreResult};

/// One prepared statement on a borrowed connection handle.
struct Statement<'h> {
    db: NonNull<ffi::sqlite3>,
    stmt: NonNull<ffi::sqlite3_stmt>,
    _handle: std::marker::PhantomData<&'h mut ()>,
}

fn error(db: NonNull<ffi::sqlite3>, what: &str) -> StoreError {
    // SAFETY: `db` is an open connection; sqlite3_errmsg returns a NUL-terminated string
    // owned by SQLite, valid until the next call on the connection, and copied here.
    let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) }
        .to_string_lossy()
        .into_owned();
    StoreError::Database(sqlx::Error::Protocol(format!("{what}: {msg}")))
}

impl<'h> Statement<'h> {
    fn prepare(handle: &'h mut LockedSqliteHandle<'_>, sql: &str) -> StoreResult<Statement<'h>> {
        let db = handle.as_raw_handle();
        let len = c_int::try_from(sql.len())
            .map_err(|_| StoreError::Corrupt("statement too long".into()))?;
        let mut stmt = ptr::null_mut();
        // SAFETY: `db` is the open connection sqlx lent us (the guard in `handle` keeps its
        // worker off it for 'h); `sql` is valid for `len` bytes; `stmt` receives the result.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db.as_ptr(),
                sql.as_ptr().cast(),
                len,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        match NonNull::new(stmt) {
            Some(stmt) if rc == ffi::SQLITE_OK => Ok(Statement {
                db,
                stmt,
                _handle: std::marker::PhantomData,
            }),
            _ => Err(error(db, "preparing the import statement")),
        }
    }

    fn check(&self, rc: c_int, what: &str) -> StoreResult<()> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error(self.db, what))
        }
    }

    fn int(&mut self, i: c_int, v: i64) -> StoreResult<()> {
        // SAFETY: a live statement; SQLite checks the index.
        let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt.as_ptr(), i, v) };
        self.check(rc, "binding")
    }

    fn text(&mut self, i: c_int, v: Option<&str>) -> StoreResult<()> {
        let Some(v) = v else {
            // SAFETY: as above.
            let rc = unsafe { ffi::sqlite3_bind_null(self.stmt.as_ptr(), i) };
            return self.check(rc, "binding");
        };
        let len =
            c_int::try_from(v.len()).map_err(|_| StoreError::Corrupt("value too long".into()))?;
        // SAFETY: `v` is valid for `len` bytes of UTF-8; SQLITE_TRANSIENT makes SQLite copy it
        // before returning, so nothing here has to outlive the call.
        let rc = unsafe {
            ffi::sqlite3_bind_text(
                self.stmt.as_ptr(),
                i,
                v.as_ptr().cast(),
                len,
                ffi::SQLITE_TRANSIENT(),
            )
        };
        self.check(rc, "binding")
    }

    /// Runs a query; whether it gave a row.
    fn any_row(&mut self) -> StoreResult<bool> {
        // SAFETY: a live statement; reset after one step.
        let rc = unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) };
        // SAFETY: as above.
        let reset = unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
        if rc != ffi::SQLITE_ROW && rc != ffi::SQLITE_DONE {
            return Err(error(self.db, "running a query"));
        }
        self.check(reset, "running a query")?;
        Ok(rc == ffi::SQLITE_ROW)
    }

    /// Runs the statement once; whether it changed a row.
    fn run(&mut self) -> StoreResult<bool> {
        // SAFETY: a live statement with every parameter bound; reset readies it for the
        // next row (bindings are kept, and all are bound again).
        let rc = unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) };
        let changed = rc == ffi::SQLITE_DONE
            // SAFETY: an open connection.
            && unsafe { ffi::sqlite3_changes(self.db.as_ptr()) } > 0;
        // SAFETY: as above.
        let reset = unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
        if rc != ffi::SQLITE_DONE {
            return Err(error(self.db, "storing an imported row"));
        }
        self.check(reset, "storing an imported row")?;
        Ok(changed)
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: finalised exactly once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// OR IGNORE: a reference imported before is skipped. (An upsert's DO NOTHING on the object
/// alone left the primary key able to abort the statement, so SQLite kept a statement journal
/// and copied every page a row touched.) The primary key (batch, pos) cannot collide: the
/// batch is the index of the audit entry written under the audit lock.
const INSERT: &str = "INSERT OR IGNORE INTO report_imported (batch, pos, object, received_at, \
     country, process, category, emergency, accounts, outcome, disclosed, none_reason, ndo, \
     notified, responded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
     ?14, ?15)";

/// The same, for when requests imported otherwise (one audit entry each, before import
/// batches) are counted in report_facts: those are skipped too.
const INSERT_UNLESS_COUNTED: &str = "INSERT OR IGNORE INTO report_imported (batch, pos, object, \
     received_at, country, process, category, emergency, accounts, outcome, disclosed, \
     none_reason, ndo, notified, responded_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
     ?11, ?12, ?13, ?14, ?15 WHERE NOT EXISTS (SELECT 1 FROM report_facts WHERE object = ?3)";

/// Whether report_facts counts any imported request.
const ANY_COUNTED: &str =
    "SELECT 1 FROM report_facts WHERE object >= 'import:' AND object < 'import;' LIMIT 1";

impl Statement<'_> {
    /// A time as the migration's untyped time columns keep it: whole seconds as the integer
    /// of Unix seconds, anything finer as sqlx writes a timestamp (RFC 3339 text).
    fn time(&mut self, i: c_int, t: Option<&chrono::DateTime<chrono::Utc>>) -> StoreResult<()> {
        match t {
            Some(t) if t.timestamp_subsec_nanos() == 0 => self.int(i, t.timestamp()),
            Some(t) => {
                let text = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
                self.text(i, Some(&text))
            }
            None => self.text(i, None),
        }
    }
}

/// Stores the rows not yet counted under `batch`, each at its position in `rows`, in the
/// sequence `order` gives; returns the positions stored.
pub(crate) fn insert_imported(
    handle: &mut LockedSqliteHandle<'_>,
    batch: i64,
    rows: &[&ImportRow],
    order: &[usize],
) -> StoreResult<Vec<usize>> {
    // A larger page cache for the connection (64 MiB, from SQLite's 2 MiB): a batch touches
    // more pages than that, and each spill wrote them to the log more than once.
    Statement::prepare(handle, "PRAGMA cache_size = -65536")?.any_row()?;
    // Checkpoints every 64 MiB of log rather than every 4 MiB: each batch's commit then no
    // longer copies the pages it wrote straight back into the database, and a page written
    // by several batches is copied once.
    Statement::prepare(handle, "PRAGMA wal_autocheckpoint = 16384")?.any_row()?;
    let counted = Statement::prepare(handle, ANY_COUNTED)?.any_row()?;
    let mut stmt = Statement::prepare(
        handle,
        if counted {
            INSERT_UNLESS_COUNTED
        } else {
            INSERT
        },
    )?;
    let mut inserted = Vec::with_capacity(rows.len());
    let mut object = String::with_capacity(64);
    for &pos in order {
        let Some(row) = rows.get(pos) else {
            return Err(StoreError::Corrupt(format!(
                "import: no row at position {pos}"
            )));
        };
        let f = &row.facts;
        object.clear();
        object.push_str("import:");
        object.push_str(&row.reference);
        stmt.int(1, batch)?;
        stmt.int(2, i64::try_from(pos).unwrap_or(i64::MAX))?;
        stmt.text(3, Some(&object))?;
        stmt.time(4, Some(&f.received_at))?;
        stmt.text(5, Some(f.country.code()))?;
        stmt.text(6, Some(f.process.as_str()))?;
        stmt.text(7, f.category.as_deref())?;
        stmt.int(8, i64::from(f.emergency))?;
        stmt.int(9, i64::try_from(f.accounts).unwrap_or(i64::MAX))?;
        stmt.text(10, f.outcome.map(|o| o.as_str()))?;
        stmt.text(11, f.disclosed.map(|o| o.as_str()))?;
        stmt.text(12, f.none_reason.map(|o| o.as_str()))?;
        stmt.int(13, i64::from(f.ndo))?;
        stmt.int(14, i64::from(f.notified))?;
        stmt.time(15, f.responded_at.as_ref())?;
        if stmt.run()? {
            inserted.push(pos);
        }
    }
    Ok(inserted)
}
