//! Storage for the transparency report: the reporting facts of every counted request and the
//! counters derived from them (migrations 0002 and 0009). As in `sql.rs`, the SQL is written
//! once and stamped out per backend by [`impl_report_store!`], which each backend module
//! invokes so that it can use the backend's pools and audit lock; the one statement that
//! differs, the bulk insert of an import batch, is [`BulkImport`].
//!
//! A request's facts are recorded in one of two ways, each with its audit entry in the same
//! transaction as the counters it moves:
//! - `report_change`: one `report.counted` entry carrying the new facts, the facts row in
//!   `report_facts`, and the difference (old -> new) applied to the counter cells. The request
//!   lifecycle uses it when a request is received and when it ends, and `set_facts` for any
//!   later change.
//! - `import_rows`: a batch of imported rows in `report_imported` (never changed afterwards),
//!   one `requests.imported` entry committing to them by their Merkle root
//!   (`custodian_report::batch`), and their counts added to the cells, grouped by profile.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use custodian_report::import::{reference_hash, visit_entries};
use custodian_report::{Acc, CellKey, CellValue, Facts, ImportBatch, ImportRow, Period, Report};

use crate::{Actor, StoreResult};

pub use custodian_report::import_object;

/// What importing one row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported,
    /// A request with this reference was imported before: nothing changed.
    AlreadyImported,
}

/// The transparency report's storage, implemented by both backends. Reach it from a
/// [`crate::DynStore`] with `store.reports()`.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Imports a batch of rows in one transaction: the new references are stored with one
    /// `requests.imported` audit entry committing to them and their counters; a reference
    /// seen before (imported, or counted otherwise) is left alone.
    async fn import_rows(
        &self,
        actor: &Actor,
        batch: &ImportBatch,
    ) -> StoreResult<Vec<ImportOutcome>>;

    /// Records new facts for a counted request (audit object `object`), e.g. when a review
    /// decides it. Returns false when the facts were already these.
    async fn set_facts(&self, actor: &Actor, object: &str, facts: &Facts) -> StoreResult<bool>;

    /// The counter cells of the given periods (a year is read as its two halves).
    async fn report_cells(&self, periods: &[Period]) -> StoreResult<Vec<CellValue>>;

    /// The half-years that have anything counted, oldest first.
    async fn report_periods(&self) -> StoreResult<Vec<Period>>;

    /// Every counted request's latest facts with the leaf that recorded them (for checks
    /// that recount from scratch; this costs the number of requests).
    async fn all_facts(&self) -> StoreResult<Vec<(String, Facts, [u8; 32])>>;

    /// The stored rows of the import batch recorded by audit entry `batch`, in `pos` order.
    async fn imported_batch(&self, batch: u64) -> StoreResult<Vec<(String, Facts)>>;

    /// For requests recorded by audit entries of their own (object and that entry's leaf):
    /// which no longer have those facts in `report_facts`, each with what is wrong.
    async fn check_recorded(&self, recorded: &[(String, [u8; 32])]) -> StoreResult<Vec<String>>;

    /// The report of a period, built from the counters alone (no verification block).
    async fn report(&self, period: Period) -> StoreResult<Report> {
        let cells = self.report_cells(&period.halves()).await?;
        Ok(Report::from_cells(period, &cells))
    }
}

/// The bulk insert of an import batch, the one statement written per backend: stores the
/// rows not yet counted (by object, in `report_imported` or `report_facts`) under `batch`
/// with their position in `rows`, and returns those positions. The rows' references are
/// distinct, and the caller holds the audit lock, which every import takes first: no other
/// transaction inserts into `report_imported` meanwhile.
#[async_trait]
pub(crate) trait BulkImport: sqlx::Database {
    /// How an import batch's transaction begins. On SQLite it takes the write lock at once:
    /// a transaction that read first and wrote later fails at once ("database is locked"),
    /// without waiting, if another process wrote in between, as a server does while
    /// `custodian import` runs beside it.
    const BEGIN_WRITE: &'static str;

    /// Brings the index that finds a batch's rows up to date before they are read, where
    /// storing a batch leaves it behind (PostgreSQL's block-range index); empty otherwise.
    const SUMMARIZE_BATCHES: &'static str;

    /// `(p, p, ...), (...)`: `rows` rows of `cols` parameters, in binding order. PostgreSQL
    /// numbers them; SQLite gets anonymous `?`, because sqlx looks up every numbered
    /// parameter's name in a list as long as the statement, which made a 2,000-row insert
    /// cost quadratic time.
    fn values_list(rows: usize, cols: usize) -> String {
        values_list(rows, cols)
    }

    /// `p, p, ...`: `n` parameters in binding order.
    fn placeholders(n: usize) -> String {
        Self::values_list(n, 1).replace(['(', ')'], "")
    }

    /// Stores `rows[i]` at position `i` of `batch`, inserting them in the sequence `order`
    /// gives (a permutation of the positions); returns the positions stored, in any order.
    async fn insert_imported(
        tx: &mut sqlx::Transaction<'static, Self>,
        known: &mut Option<KnownReferences>,
        batch: i64,
        rows: &[&ImportRow],
        order: &[usize],
    ) -> StoreResult<Vec<usize>>;

    /// The stored totals of these cells (a cell never counted is absent).
    async fn read_cells(
        tx: &mut sqlx::Transaction<'static, Self>,
        keys: &[&CellKey],
    ) -> StoreResult<Vec<CellValue>>;

    /// Sets these cells' totals, making the cells that are new.
    async fn write_cells(
        tx: &mut sqlx::Transaction<'static, Self>,
        cells: &[CellValue],
    ) -> StoreResult<()>;
}

/// The references imported into a store so far, for a backend that keeps no index on them
/// (PostgreSQL): a 64-bit hash of each object, and the last batch read. An importing process
/// reads the table once, then reads only the batches stored after `through` (found by the
/// batch's block-range index), and claims its own batch's hashes as it checks them. Every
/// batch holds the audit lock from that read to its commit, so no batch is stored unseen in
/// between; a hash found in the set is confirmed against the table before a row is skipped.
#[derive(Debug)]
pub struct KnownReferences {
    through: i64,
    /// The batch each hash was stored in, so that confirming one reads that batch only, or
    /// [`ANY_BATCH`].
    hashes: HashMap<u64, i64, custodian_report::FxBuild>,
    /// The counter cells as this process's last batch (audit entry `cells_after`) left them,
    /// so that the next batch reads only the cells it has not met. Every change of a cell
    /// appends an audit entry in its transaction, under the audit lock: when the next batch
    /// is the log's next entry, nothing else changed them.
    cells: CellCache,
    cells_after: i64,
}

/// Counter cells known to hold these totals (a cell never counted: zero).
pub(crate) type CellCache = HashMap<CellKey, (i64, Acc)>;

/// Two stored references share this hash (once in billions of batches): confirming either
/// reads every batch.
const ANY_BATCH: i64 = -1;

/// A store's [`KnownReferences`], read on its first import batch; batches of one process
/// take it in turn. Emptied whenever a batch fails: the set holds a batch's hashes from the
/// moment they are checked, and a batch that did not commit (or whose commit failed in an
/// unknown way) is read back from the table rather than trusted.
#[derive(Debug, Default)]
pub struct ImportedReferences(pub(crate) tokio::sync::Mutex<Option<KnownReferences>>);

impl KnownReferences {
    /// Adds the batches committed since the set was last read (all of them the first time).
    async fn catch_up<'k>(
        known: &'k mut Option<KnownReferences>,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> StoreResult<&'k mut KnownReferences> {
        use futures::TryStreamExt;
        let k = known.get_or_insert_with(|| KnownReferences {
            through: -1,
            hashes: HashMap::default(),
            cells: CellCache::new(),
            cells_after: -1,
        });
        // Usually the batches since are this process's own, already in the set: the log
        // says whether another process stored one, before the table is read.
        let others: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM audit_log WHERE idx > $1 AND action = $2)",
        )
        .bind(k.through)
        .bind(custodian_report::BATCH_ACTION)
        .fetch_one(&mut **tx)
        .await?;
        if !others {
            return Ok(k);
        }
        summarize_batches(tx).await?;
        let mut through = k.through;
        {
            let mut rows = sqlx::query_as::<_, (i64, String)>(
                "SELECT batch, object FROM report_imported WHERE batch > $1",
            )
            .bind(k.through)
            .fetch(&mut **tx);
            while let Some((batch, object)) = rows.try_next().await? {
                through = through.max(batch);
                let reference = object
                    .strip_prefix(custodian_report::IMPORT_PREFIX)
                    .unwrap_or(&object);
                k.remember(reference_hash(reference), batch);
            }
        }
        k.through = through;
        Ok(k)
    }

    fn remember(&mut self, hash: u64, batch: i64) {
        let at = self.hashes.entry(hash).or_insert(batch);
        if *at != batch {
            *at = ANY_BATCH;
        }
    }

    /// Claims each row's hash for `batch`, and returns the rows whose hash a stored batch
    /// already holds (by index in `rows`), with that batch: one pass ([`visit_entries`]).
    fn claim(&mut self, batch: i64, rows: &[&ImportRow]) -> Vec<(usize, i64)> {
        let keys: Vec<u64> = rows.iter().map(|r| reference_hash(&r.reference)).collect();
        let mut held = Vec::new();
        visit_entries(&mut self.hashes, &keys, |i, entry| match entry {
            std::collections::hash_map::Entry::Occupied(at) => held.push((i, *at.get())),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(batch);
            }
        });
        held
    }

    /// A row of `batch` whose hash an earlier batch holds was stored after all: the hash now
    /// stands for references in two batches.
    fn shared(&mut self, reference: &str) {
        self.hashes.insert(reference_hash(reference), ANY_BATCH);
    }

    /// Records that `batch` committed.
    pub(crate) fn committed(&mut self, batch: i64) {
        self.through = self.through.max(batch);
        self.cells_after = batch;
    }

    /// The cells as they are before audit entry `idx`, as far as known: those left by this
    /// process's last batch if that was the entry before, none otherwise.
    pub(crate) fn cells_before(&mut self, idx: i64) -> &mut CellCache {
        if idx != self.cells_after + 1 {
            self.cells.clear();
        }
        &mut self.cells
    }
}

/// A `report_cells` row as both backends read it.
pub(crate) type CellRow = (String, String, String, String, i64, Vec<u8>);

pub(crate) fn cell_value((period, dim, key, metric, value, acc): CellRow) -> CellValue {
    CellValue {
        key: CellKey {
            period,
            dim,
            key,
            metric,
        },
        value,
        acc: Acc::from_slice(&acc),
    }
}

const WRITE_CELLS: &str = "ON CONFLICT (period, dim, key, metric) DO UPDATE \
     SET value = excluded.value, acc = excluded.acc";

/// Columns of `report_imported` in the order the bulk inserts bind them.
const IMPORTED_COLUMNS: &str = "batch, pos, object, received_at, country, process, category, \
     emergency, accounts, outcome, disclosed, none_reason, ndo, notified, responded_at";

#[async_trait]
impl BulkImport for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const SUMMARIZE_BATCHES: &'static str = "";

    fn values_list(rows: usize, cols: usize) -> String {
        let one = format!("({})", vec!["?"; cols].join(", "));
        vec![one; rows].join(", ")
    }

    /// The unique index on the reference decides (INSERT OR IGNORE); `known` stays unused.
    async fn insert_imported(
        tx: &mut sqlx::Transaction<'static, Self>,
        _known: &mut Option<KnownReferences>,
        batch: i64,
        rows: &[&ImportRow],
        order: &[usize],
    ) -> StoreResult<Vec<usize>> {
        let mut handle = tx.lock_handle().await?;
        crate::sqlite_bulk::insert_imported(&mut handle, batch, rows, order)
    }

    async fn read_cells(
        tx: &mut sqlx::Transaction<'static, Self>,
        keys: &[&CellKey],
    ) -> StoreResult<Vec<CellValue>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in crate::sql::statement_chunks(keys, CHUNK) {
            let sql = format!(
                "SELECT period, dim, key, metric, value, acc FROM report_cells \
                 WHERE (period, dim, key, metric) IN (VALUES {})",
                Self::values_list(chunk.len(), 4)
            );
            let mut q = sqlx::query_as::<_, CellRow>(&sql);
            for k in chunk {
                q = q.bind(&k.period).bind(&k.dim).bind(&k.key).bind(&k.metric);
            }
            out.extend(q.fetch_all(&mut **tx).await?.into_iter().map(cell_value));
        }
        Ok(out)
    }

    async fn write_cells(
        tx: &mut sqlx::Transaction<'static, Self>,
        cells: &[CellValue],
    ) -> StoreResult<()> {
        for chunk in crate::sql::statement_chunks(cells, CHUNK) {
            let sql = format!(
                "INSERT INTO report_cells (period, dim, key, metric, value, acc) VALUES {} \
                 {WRITE_CELLS}",
                Self::values_list(chunk.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q
                    .bind(&c.key.period)
                    .bind(&c.key.dim)
                    .bind(&c.key.key)
                    .bind(&c.key.metric)
                    .bind(c.value)
                    .bind(c.acc.0.as_slice());
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl BulkImport for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const SUMMARIZE_BATCHES: &'static str =
        "SELECT brin_summarize_new_values('report_imported_batch')";

    /// The table has no index on the reference (migration 0016): the batch is checked
    /// against the references stored before, kept in memory as hashes ([`KnownReferences`]),
    /// and only a reference the set may hold is looked for in the table.
    async fn insert_imported(
        tx: &mut sqlx::Transaction<'static, Self>,
        known: &mut Option<KnownReferences>,
        batch: i64,
        rows: &[&ImportRow],
        order: &[usize],
    ) -> StoreResult<Vec<usize>> {
        // The reads below go through the batch's block-range index and report_facts' key:
        // while a large import runs the table has no statistics, and the planner would scan
        // all of it for every batch.
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut **tx)
            .await?;
        let known = KnownReferences::catch_up(known, tx).await?;
        let held = known.claim(batch, rows);
        let mut candidates: Vec<String> = Vec::with_capacity(held.len());
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for &(i, b) in &held {
            candidates.push(rows[i].object());
            let b = if b == ANY_BATCH {
                (0, known.through)
            } else {
                (b, b)
            };
            (first, last) = (first.min(b.0), last.max(b.1));
        }
        let mut taken_objects: Vec<String> = Vec::new();
        if !candidates.is_empty() {
            // A file imported again (or, once in billions of batches, two references with
            // one hash): the batches that may hold them, read through the block-range index
            // (a file imported again in the same order has one earlier batch for each).
            summarize_batches(tx).await?;
            taken_objects.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT i.object FROM report_imported i \
                     JOIN unnest($1::text[]) AS c(object) ON i.object = c.object COLLATE \"C\" \
                     WHERE i.batch BETWEEN $2 AND $3",
                )
                .bind(&candidates)
                .bind(first)
                .bind(last)
                .fetch_all(&mut **tx)
                .await?,
            );
        }
        // Requests imported otherwise (one audit entry each, before import batches) are
        // counted in report_facts, whose primary key finds them.
        let counted_otherwise: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM report_facts \
             WHERE object >= 'import:' AND object < 'import;')",
        )
        .fetch_one(&mut **tx)
        .await?;
        if counted_otherwise {
            let objects: Vec<String> = rows.iter().map(|r| r.object()).collect();
            taken_objects.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT object FROM report_facts WHERE object = ANY($1)",
                )
                .bind(&objects)
                .fetch_all(&mut **tx)
                .await?,
            );
        }
        sqlx::query("SET LOCAL enable_seqscan = on")
            .execute(&mut **tx)
            .await?;
        // The references of the batch already counted (objects without their "import:").
        let taken: HashSet<&str> = taken_objects
            .iter()
            .filter_map(|o| o.strip_prefix(custodian_report::IMPORT_PREFIX))
            .collect();
        for &(i, _) in &held {
            if !taken.contains(rows[i].reference.as_str()) {
                known.shared(&rows[i].reference);
            }
        }
        let fresh: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| !taken.contains(rows[i].reference.as_str()))
            .collect();
        if !fresh.is_empty() {
            pg_copy(tx, batch, rows, &fresh).await?;
        }
        Ok(fresh)
    }

    /// One statement with a column per array, whatever the number of cells: PostgreSQL
    /// parses and plans a VALUES list of thousands of rows for longer than it takes to run
    /// it, and an import batch touches thousands of cells.
    async fn read_cells(
        tx: &mut sqlx::Transaction<'static, Self>,
        keys: &[&CellKey],
    ) -> StoreResult<Vec<CellValue>> {
        let column = |f: fn(&CellKey) -> &str| keys.iter().map(|k| f(k)).collect::<Vec<&str>>();
        let rows = sqlx::query_as::<_, CellRow>(
            "SELECT c.period, c.dim, c.key, c.metric, c.value, c.acc \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) \
                 AS k(period, dim, key, metric) \
             JOIN report_cells c USING (period, dim, key, metric)",
        )
        .bind(column(|k| &k.period))
        .bind(column(|k| &k.dim))
        .bind(column(|k| &k.key))
        .bind(column(|k| &k.metric))
        .fetch_all(&mut **tx)
        .await?;
        Ok(rows.into_iter().map(cell_value).collect())
    }

    async fn write_cells(
        tx: &mut sqlx::Transaction<'static, Self>,
        cells: &[CellValue],
    ) -> StoreResult<()> {
        let column =
            |f: fn(&CellKey) -> &str| cells.iter().map(|c| f(&c.key)).collect::<Vec<&str>>();
        sqlx::query(&format!(
            "INSERT INTO report_cells (period, dim, key, metric, value, acc) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::int8[], $6::bytea[]) {WRITE_CELLS}"
        ))
        .bind(column(|k| &k.period))
        .bind(column(|k| &k.dim))
        .bind(column(|k| &k.key))
        .bind(column(|k| &k.metric))
        .bind(cells.iter().map(|c| c.value).collect::<Vec<i64>>())
        .bind(
            cells
                .iter()
                .map(|c| c.acc.0.as_slice())
                .collect::<Vec<&[u8]>>(),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// A batch's rows in COPY's binary format, which PostgreSQL reads without parsing text.
struct CopyBinary(Vec<u8>);

/// The COPY is sent this much at a time as the rows are written out, so that PostgreSQL
/// stores the first rows while the later ones are written.
const COPY_SEND_AT: usize = 1 << 20;

/// Room for a chunk and the row that takes it past [`COPY_SEND_AT`].
fn copy_chunk() -> Vec<u8> {
    Vec::with_capacity(COPY_SEND_AT + 4096)
}

impl CopyBinary {
    fn new() -> CopyBinary {
        let mut b = copy_chunk();
        b.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        b.extend_from_slice(&0i32.to_be_bytes()); // flags
        b.extend_from_slice(&0i32.to_be_bytes()); // header extension
        CopyBinary(b)
    }

    fn tuple(&mut self, fields: i16) {
        self.0.extend_from_slice(&fields.to_be_bytes());
    }

    fn bytes(&mut self, v: &[u8]) {
        self.0
            .extend_from_slice(&i32::try_from(v.len()).unwrap_or(i32::MAX).to_be_bytes());
        self.0.extend_from_slice(v);
    }

    fn text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.bytes(v.as_bytes()),
            None => self.0.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }

    /// An imported request's object, `import:` and its reference.
    fn object(&mut self, reference: &str) {
        let prefix = custodian_report::IMPORT_PREFIX;
        let len = i32::try_from(prefix.len() + reference.len()).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(prefix.as_bytes());
        self.0.extend_from_slice(reference.as_bytes());
    }

    fn int8(&mut self, v: i64) {
        self.bytes(&v.to_be_bytes());
    }

    fn bool(&mut self, v: bool) {
        self.bytes(&[u8::from(v)]);
    }

    /// Microseconds since 2000-01-01 00:00 UTC, PostgreSQL's timestamptz.
    fn time(&mut self, t: Option<&chrono::DateTime<chrono::Utc>>) {
        const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
        match t {
            Some(t) => self.int8(t.timestamp_micros() - PG_EPOCH_MICROS),
            None => self.text(None),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self.0
    }
}

/// Stores `rows[i]` at position `i` for each `i` of `order`, in that sequence, with COPY,
/// the way `psql`'s `\copy` loads a file (in the binary format: nothing for the server to
/// parse), and summarises the new pages for the batch index.
async fn pg_copy(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    batch: i64,
    rows: &[&ImportRow],
    order: &[usize],
) -> StoreResult<()> {
    let mut copy = tx
        .copy_in_raw(&format!(
            "COPY report_imported ({IMPORTED_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    let mut buf = CopyBinary::new();
    for &i in order {
        let f = &rows[i].facts;
        buf.tuple(15);
        buf.int8(batch);
        buf.bytes(&i32::try_from(i).unwrap_or(i32::MAX).to_be_bytes());
        buf.object(&rows[i].reference);
        buf.time(Some(&f.received_at));
        buf.text(Some(f.country.code()));
        buf.text(Some(f.process.as_str()));
        buf.text(f.category.as_deref());
        buf.bool(f.emergency);
        buf.int8(i64::try_from(f.accounts).unwrap_or(i64::MAX));
        buf.text(f.outcome.map(|o| o.as_str()));
        buf.text(f.disclosed.map(|o| o.as_str()));
        buf.text(f.none_reason.map(|o| o.as_str()));
        buf.bool(f.ndo);
        buf.bool(f.notified);
        buf.time(f.responded_at.as_ref());
        if buf.0.len() >= COPY_SEND_AT {
            let full = std::mem::replace(&mut buf.0, copy_chunk());
            if let Err(e) = copy.send(full).await {
                let _ = copy.abort("import batch failed").await;
                return Err(e.into());
            }
        }
    }
    if let Err(e) = copy.send(buf.finish()).await {
        let _ = copy.abort("import batch failed").await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

/// Summarises the pages stored since the last summary for the batch's block-range index.
/// An import leaves that to the reads that need it (this, or autovacuum): an unsummarised
/// range is read by every look for a batch, and summarising as each batch is stored cost an
/// import a twentieth of its time.
async fn summarize_batches(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> StoreResult<()> {
    sqlx::query(<sqlx::Postgres as BulkImport>::SUMMARIZE_BATCHES)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `($1, $2, ...), (...)` for `rows` rows of `cols` parameters.
pub(crate) fn values_list(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Rows per multi-row statement (well below both backends' parameter limits).
pub(crate) const CHUNK: usize = 1000;

pub(crate) const FACT_COLUMNS: &str = "object, period, received_at, country, process, category, \
     emergency, accounts, outcome, disclosed, none_reason, ndo, notified, responded_at, audit_idx, \
     leaf_hash";

/// The facts columns of `report_imported`, as `facts_of` reads them.
pub(crate) const IMPORTED_FACT_COLUMNS: &str = "object, received_at, country, process, category, \
     emergency, accounts, outcome, disclosed, none_reason, ndo, notified, responded_at";

macro_rules! impl_report_store {
    ($store:ident, $db:ident) => {
        mod report_impl {
            use std::collections::{HashMap, HashSet};

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use custodian_audit::AuditEntry;
            use custodian_core::RequestStatus;
            use custodian_report::{
                row_leaf, CellKey, CellValue, Deltas, Disclosed, Facts, ImportBatch, NoneReason,
                Outcome, Period, BATCH_ACTION, BATCH_OBJECT,
            };
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::report_sql::{
                cell_value, BulkImport, CellRow, ImportOutcome, ReportStore, CHUNK, FACT_COLUMNS,
                IMPORTED_FACT_COLUMNS,
            };
            use $crate::sql::{parse_column, statement_chunks};
            use $crate::{Actor, StoreError, StoreResult};

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn leaf_of(bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
                bytes
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("report_facts.leaf_hash".into()))
            }

            /// The facts columns of a `report_facts` or `report_imported` row.
            fn facts_of(row: &DbRow) -> StoreResult<Facts> {
                let opt = |c: &str| -> StoreResult<Option<String>> { Ok(row.try_get(c)?) };
                let outcome: Option<Outcome> = opt("outcome")?
                    .map(|s| parse_column("outcome", &s))
                    .transpose()?;
                let disclosed: Option<Disclosed> = opt("disclosed")?
                    .map(|s| parse_column("disclosed", &s))
                    .transpose()?;
                let none_reason: Option<NoneReason> = opt("none_reason")?
                    .map(|s| parse_column("none_reason", &s))
                    .transpose()?;
                Ok(Facts {
                    received_at: row.try_get("received_at")?,
                    country: parse_column("country", &row.try_get::<String, _>("country")?)?,
                    process: parse_column("process", &row.try_get::<String, _>("process")?)?,
                    category: row.try_get("category")?,
                    emergency: row.try_get("emergency")?,
                    accounts: u64::try_from(row.try_get::<i64, _>("accounts")?).unwrap_or(0),
                    outcome,
                    disclosed,
                    none_reason,
                    ndo: row.try_get("ndo")?,
                    notified: row.try_get("notified")?,
                    responded_at: row.try_get("responded_at")?,
                })
            }

            fn facts_row(row: &DbRow) -> StoreResult<(String, Facts, [u8; 32])> {
                Ok((
                    row.try_get("object")?,
                    facts_of(row)?,
                    leaf_of(row.try_get("leaf_hash")?)?,
                ))
            }

            /// An imported row: its object, facts and row leaf (computed, not stored).
            fn imported_row(row: &DbRow) -> StoreResult<(String, Facts, [u8; 32])> {
                let object: String = row.try_get("object")?;
                let facts = facts_of(row)?;
                let leaf = row_leaf(&object, &facts);
                Ok((object, facts, leaf))
            }

            fn placeholders(n: usize) -> String {
                <super::$db as BulkImport>::placeholders(n)
            }

            fn values_list(rows: usize, cols: usize) -> String {
                <super::$db as BulkImport>::values_list(rows, cols)
            }

            fn details_of(facts: &Facts) -> StoreResult<serde_json::Value> {
                serde_json::to_value(facts).map_err(|e| StoreError::Corrupt(e.to_string()))
            }

            impl Store {
                /// The latest facts of these objects, by object: the `report_facts` row if there
                /// is one, else the imported row.
                async fn report_load(
                    tx: &mut Tx,
                    objects: &[String],
                ) -> StoreResult<HashMap<String, (Facts, [u8; 32])>> {
                    let mut out = HashMap::new();
                    for chunk in statement_chunks(&objects, CHUNK) {
                        let sql = format!(
                            "SELECT {FACT_COLUMNS} FROM report_facts WHERE object IN ({})",
                            placeholders(chunk.len())
                        );
                        let mut q = sqlx::query(&sql);
                        for o in chunk {
                            q = q.bind(o);
                        }
                        for row in q.fetch_all(&mut **tx).await? {
                            let (object, facts, leaf) = facts_row(&row)?;
                            out.insert(object, (facts, leaf));
                        }
                        // Only an imported request can be in report_imported (which
                        // PostgreSQL does not index by object: see migration 0016).
                        let rest: Vec<&String> = chunk
                            .iter()
                            .filter(|o| {
                                o.starts_with(custodian_report::IMPORT_PREFIX)
                                    && !out.contains_key(*o)
                            })
                            .collect();
                        if rest.is_empty() {
                            continue;
                        }
                        let sql = format!(
                            "SELECT {IMPORTED_FACT_COLUMNS} FROM report_imported WHERE object IN ({})",
                            placeholders(rest.len())
                        );
                        let mut q = sqlx::query(&sql);
                        for o in rest {
                            q = q.bind(o);
                        }
                        for row in q.fetch_all(&mut **tx).await? {
                            let (object, facts, leaf) = imported_row(&row)?;
                            out.insert(object, (facts, leaf));
                        }
                    }
                    Ok(out)
                }

                /// Appends audit entries (with their leaves) inside `tx`; the caller holds the
                /// audit lock and numbered them from the log's next index.
                async fn report_entries(
                    tx: &mut Tx,
                    entries: &[(&AuditEntry, &[u8; 32])],
                ) -> StoreResult<()> {
                    for chunk in statement_chunks(&entries, CHUNK) {
                        let sql = format!(
                            "INSERT INTO audit_log (idx, actor, action, object, at, details, leaf_hash) \
                             VALUES {}",
                            values_list(chunk.len(), 7)
                        );
                        let mut q = sqlx::query(&sql);
                        for (entry, leaf) in chunk {
                            let details = serde_json::to_string(&entry.details)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            q = q
                                .bind(i64::try_from(entry.idx).unwrap_or(i64::MAX))
                                .bind(entry.actor.clone())
                                .bind(entry.action.clone())
                                .bind(entry.object.clone())
                                .bind(entry.at)
                                .bind(details)
                                .bind(leaf.to_vec());
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                /// The one path by which reporting facts change: for each (object, action,
                /// old, new) appends an audit entry with the new facts, writes the facts row
                /// and moves the counters from old to new, in `tx`.
                pub(crate) async fn report_change(
                    tx: &mut Tx,
                    actor: &Actor,
                    changes: Vec<(String, &'static str, Option<(Facts, [u8; 32])>, Facts)>,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    if changes.is_empty() {
                        return Ok(());
                    }
                    Self::lock_audit(tx).await?;
                    let next: i64 =
                        sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log")
                            .fetch_one(&mut **tx)
                            .await?;
                    let actor_label = actor.label();
                    let mut recorded = Vec::with_capacity(changes.len());
                    let mut deltas = Deltas::default();
                    for (i, (object, action, old, new)) in changes.into_iter().enumerate() {
                        let entry = AuditEntry {
                            idx: u64::try_from(next).unwrap_or(0) + i as u64,
                            actor: actor_label.clone(),
                            action: action.to_string(),
                            object,
                            at,
                            details: details_of(&new)?,
                        };
                        let leaf = entry.leaf_hash();
                        deltas.change(old.as_ref().map(|(f, l)| (f, l)), Some((&new, &leaf)));
                        recorded.push((entry, leaf, new));
                    }
                    let entries: Vec<(&AuditEntry, &[u8; 32])> =
                        recorded.iter().map(|(e, l, _)| (e, l)).collect();
                    Self::report_entries(tx, &entries).await?;
                    for chunk in statement_chunks(&recorded, CHUNK) {
                        let sql = format!(
                            "INSERT INTO report_facts ({FACT_COLUMNS}) VALUES {} \
                             ON CONFLICT (object) DO UPDATE SET period = excluded.period, \
                             received_at = excluded.received_at, country = excluded.country, \
                             process = excluded.process, category = excluded.category, \
                             emergency = excluded.emergency, \
                             accounts = excluded.accounts, outcome = excluded.outcome, \
                             disclosed = excluded.disclosed, none_reason = excluded.none_reason, \
                             ndo = excluded.ndo, notified = excluded.notified, \
                             responded_at = excluded.responded_at, audit_idx = excluded.audit_idx, \
                             leaf_hash = excluded.leaf_hash",
                            values_list(chunk.len(), 16)
                        );
                        let mut q = sqlx::query(&sql);
                        for (entry, leaf, f) in chunk {
                            q = q
                                .bind(entry.object.clone())
                                .bind(f.period().to_string())
                                .bind(f.received_at)
                                .bind(f.country.code().to_string())
                                .bind(f.process.as_str())
                                .bind(f.category.clone())
                                .bind(f.emergency)
                                .bind(i64::try_from(f.accounts).unwrap_or(i64::MAX))
                                .bind(f.outcome.map(|o| o.as_str()))
                                .bind(f.disclosed.map(|o| o.as_str()))
                                .bind(f.none_reason.map(|o| o.as_str()))
                                .bind(f.ndo)
                                .bind(f.notified)
                                .bind(f.responded_at)
                                .bind(i64::try_from(entry.idx).unwrap_or(i64::MAX))
                                .bind(leaf.to_vec());
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Self::report_apply(tx, deltas).await
                }

                /// Adds the deltas to the stored counters (read, add, write: the audit lock
                /// taken by `report_change` keeps other writers out meanwhile).
                async fn report_apply(tx: &mut Tx, deltas: Deltas) -> StoreResult<()> {
                    Self::report_apply_known(tx, deltas, &mut $crate::report_sql::CellCache::new()).await
                }

                /// [`report_apply`], with the cells already known to hold these totals
                /// taken from `known` rather than read, and `known` brought up to date.
                async fn report_apply_known(
                    tx: &mut Tx,
                    deltas: Deltas,
                    known: &mut $crate::report_sql::CellCache,
                ) -> StoreResult<()> {
                    if deltas.0.is_empty() {
                        return Ok(());
                    }
                    let mut touched: Vec<(CellKey, (i64, custodian_report::Acc))> =
                        deltas.0.into_iter().collect();
                    touched.sort_by(|a, b| a.0.cmp(&b.0));
                    let unknown: Vec<&CellKey> = touched
                        .iter()
                        .map(|(k, _)| k)
                        .filter(|k| !known.contains_key(*k))
                        .collect();
                    if !unknown.is_empty() {
                        let read = <super::$db as BulkImport>::read_cells(tx, &unknown).await?;
                        for key in unknown {
                            known.entry(key.clone()).or_default();
                        }
                        for c in read {
                            known.insert(c.key, (c.value, c.acc));
                        }
                    }
                    let cells: Vec<CellValue> = touched
                        .into_iter()
                        .map(|(key, (dv, dacc))| {
                            let (mut value, mut acc) = known.get(&key).cloned().unwrap_or_default();
                            value += dv;
                            acc.merge(&dacc);
                            CellValue { key, value, acc }
                        })
                        .collect();
                    <super::$db as BulkImport>::write_cells(tx, &cells).await?;
                    for c in cells {
                        known.insert(c.key, (c.value, c.acc));
                    }
                    Ok(())
                }

                /// Hook for intake (`insert_requests`): received requests are counted at once,
                /// in the order given, one `report_change` per submitter.
                pub(crate) async fn report_received(
                    tx: &mut Tx,
                    received: &[(&Actor, Uuid, &$crate::NewRequest, DateTime<Utc>)],
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    type Change = (String, &'static str, Option<(Facts, [u8; 32])>, Facts);
                    let mut by_actor: Vec<(&Actor, Vec<Change>)> = Vec::new();
                    for (actor, id, request, received_at) in received {
                        let intake = &request.intake.intake;
                        let facts = Facts {
                            received_at: *received_at,
                            country: custodian_report::counted_country(intake),
                            process: intake.process,
                            category: None,
                            emergency: request.intake.is_emergency(),
                            accounts: intake.targets.len() as u64,
                            outcome: None,
                            disclosed: None,
                            none_reason: None,
                            ndo: intake.ndo_until.is_some(),
                            notified: false,
                            responded_at: None,
                        };
                        let change = (format!("request:{id}"), "report.counted", None, facts);
                        match by_actor.iter_mut().find(|(a, _)| a == actor) {
                            Some((_, changes)) => changes.push(change),
                            None => by_actor.push((actor, vec![change])),
                        }
                    }
                    for (actor, changes) in by_actor {
                        Self::report_change(tx, actor, changes, at).await?;
                    }
                    Ok(())
                }

                /// Stores an import batch's fresh rows (`fresh_rows`, which are `rows[fresh[k]]`,
                /// inserted in the sequence `order`), its audit entry and its counts, and
                /// commits; returns the indices in the batch's rows that were stored (none: the
                /// transaction was rolled back).
                #[allow(clippy::too_many_arguments)]
                async fn store_import_batch(
                    mut tx: Tx,
                    known: &mut Option<$crate::report_sql::KnownReferences>,
                    actor: &Actor,
                    batch: &ImportBatch,
                    idx: i64,
                    at: DateTime<Utc>,
                    fresh: &[usize],
                    fresh_rows: &[&custodian_report::ImportRow],
                    order: &[usize],
                ) -> StoreResult<Vec<usize>> {
                    let inserted = <super::$db as BulkImport>::insert_imported(
                        &mut tx, known, idx, fresh_rows, order,
                    )
                    .await?;
                    if inserted.is_empty() {
                        tx.rollback().await?;
                        return Ok(Vec::new());
                    }
                    let mut stored = Vec::with_capacity(inserted.len());
                    for &p in &inserted {
                        let i = *fresh.get(p).ok_or_else(|| {
                            StoreError::Corrupt(format!("import: no row at position {p}"))
                        })?;
                        stored.push(i);
                    }
                    stored.sort_unstable();
                    let (deltas, details) = batch.stored(&stored);
                    let entry = AuditEntry {
                        idx: u64::try_from(idx).unwrap_or(0),
                        actor: actor.label(),
                        action: BATCH_ACTION.to_string(),
                        object: BATCH_OBJECT.to_string(),
                        at,
                        details: details.to_value(),
                    };
                    let leaf = entry.leaf_hash();
                    Self::report_entries(&mut tx, &[(&entry, &leaf)]).await?;
                    match known.as_mut() {
                        Some(k) => {
                            Self::report_apply_known(&mut tx, deltas, k.cells_before(idx)).await?
                        }
                        None => Self::report_apply(&mut tx, deltas).await?,
                    }
                    tx.commit().await?;
                    Ok(stored)
                }

                /// Hook for `transition`: a request that ends without a decision is counted as
                /// answered with nothing; closing records when it was answered.
                pub(crate) async fn report_transition(
                    tx: &mut Tx,
                    actor: &Actor,
                    id: Uuid,
                    to: RequestStatus,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let reason = match to {
                        RequestStatus::Withdrawn => Some(NoneReason::Withdrawn),
                        RequestStatus::Rejected => Some(NoneReason::Rejected),
                        RequestStatus::Redirected => Some(NoneReason::Redirected),
                        RequestStatus::Closed => None,
                        _ => return Ok(()),
                    };
                    let object = format!("request:{id}");
                    let mut old = Self::report_load(tx, std::slice::from_ref(&object)).await?;
                    let Some((facts, leaf)) = old.remove(&object) else {
                        return Ok(()); // received before reporting existed
                    };
                    let mut new = facts.clone();
                    if let Some(reason) = reason {
                        new.outcome = Some(Outcome::None);
                        new.disclosed = Some(Disclosed::None);
                        new.none_reason = Some(reason);
                    }
                    new.responded_at = new.responded_at.or(Some(at));
                    if new == facts {
                        return Ok(());
                    }
                    Self::report_change(
                        tx,
                        actor,
                        vec![(object, "report.counted", Some((facts, leaf)), new)],
                        at,
                    )
                    .await
                }
            }

            #[async_trait]
            impl ReportStore for Store {
                async fn import_rows(
                    &self,
                    actor: &Actor,
                    batch: &ImportBatch,
                ) -> StoreResult<Vec<ImportOutcome>> {
                    let rows = batch.rows();
                    let at = $crate::sql::now();
                    let mut tx = self
                        .writer()
                        .begin_with(<super::$db as BulkImport>::BEGIN_WRITE)
                        .await?;
                    Self::lock_audit(&mut tx).await?;
                    let idx: i64 =
                        sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log")
                            .fetch_one(&mut *tx)
                            .await?;
                    // A reference twice in the batch: the later rows are left out (and reported
                    // as already imported: the reader marked them as seen earlier). The reader
                    // marks every reference it saw before, so a batch without marks has none
                    // twice.
                    let check = rows.iter().any(|r| r.earlier.is_some());
                    let mut seen: HashSet<&str, custodian_report::FxBuild> = HashSet::default();
                    let mut fresh = Vec::with_capacity(rows.len());
                    let mut fresh_rows = Vec::with_capacity(rows.len());
                    // Where each row of the batch is among the fresh ones, if it is.
                    let mut fresh_pos = vec![None; rows.len()];
                    for (i, row) in rows.iter().enumerate() {
                        if !check || seen.insert(row.reference.as_str()) {
                            fresh_pos[i] = Some(fresh.len());
                            fresh.push(i);
                            fresh_rows.push(row);
                        }
                    }
                    let order: Vec<usize> = batch
                        .by_reference()
                        .iter()
                        .filter_map(|&i| fresh_pos.get(i as usize).copied().flatten())
                        .collect();
                    let mut known = self.imported.0.lock().await;
                    // From here on the set holds this batch's references: any failure before
                    // the commit has finished empties it (see ImportedReferences).
                    let stored = Self::store_import_batch(
                        tx, &mut known, actor, batch, idx, at, &fresh, &fresh_rows, &order,
                    )
                    .await;
                    match stored {
                        Ok(inserted) => {
                            if let (Some(known), false) = (known.as_mut(), inserted.is_empty()) {
                                known.committed(idx);
                            }
                            let mut outcomes = vec![ImportOutcome::AlreadyImported; rows.len()];
                            for i in inserted {
                                outcomes[i] = ImportOutcome::Imported;
                            }
                            Ok(outcomes)
                        }
                        Err(e) => {
                            *known = None;
                            Err(e)
                        }
                    }
                }

                async fn set_facts(
                    &self,
                    actor: &Actor,
                    object: &str,
                    facts: &Facts,
                ) -> StoreResult<bool> {
                    let at = $crate::sql::now();
                    let mut tx = self.writer().begin().await?;
                    let object = object.to_string();
                    let mut old = Self::report_load(&mut tx, std::slice::from_ref(&object)).await?;
                    let old = old.remove(&object);
                    if old.as_ref().is_some_and(|(f, _)| f == facts) {
                        return Ok(false);
                    }
                    Self::report_change(
                        &mut tx,
                        actor,
                        vec![(object, "report.counted", old, facts.clone())],
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn report_cells(&self, periods: &[Period]) -> StoreResult<Vec<CellValue>> {
                    let mut out = Vec::new();
                    for p in periods.iter().flat_map(|p| p.halves()) {
                        let rows = sqlx::query_as::<_, CellRow>(
                            "SELECT period, dim, key, metric, value, acc FROM report_cells \
                             WHERE period = $1",
                        )
                        .bind(p.to_string())
                        .fetch_all(self.reader())
                        .await?;
                        out.extend(rows.into_iter().map(cell_value));
                    }
                    Ok(out)
                }

                async fn report_periods(&self) -> StoreResult<Vec<Period>> {
                    let rows: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT period FROM report_cells WHERE value <> 0 \
                         AND dim IN ('total', 'national_security') ORDER BY period",
                    )
                    .fetch_all(self.reader())
                    .await?;
                    let mut out: Vec<Period> =
                        rows.iter().filter_map(|p| Period::parse(p).ok()).collect();
                    out.sort();
                    Ok(out)
                }

                async fn all_facts(&self) -> StoreResult<Vec<(String, Facts, [u8; 32])>> {
                    let sql = format!("SELECT {FACT_COLUMNS} FROM report_facts");
                    let rows = sqlx::query(&sql).fetch_all(self.reader()).await?;
                    let mut out: HashMap<String, (Facts, [u8; 32])> = HashMap::new();
                    for row in &rows {
                        let (o, f, l) = facts_row(row)?;
                        out.insert(o, (f, l));
                    }
                    let sql = format!("SELECT {IMPORTED_FACT_COLUMNS} FROM report_imported");
                    for row in sqlx::query(&sql).fetch_all(self.reader()).await? {
                        let (o, f, l) = imported_row(&row)?;
                        out.entry(o).or_insert((f, l));
                    }
                    let mut v: Vec<(String, Facts, [u8; 32])> =
                        out.into_iter().map(|(o, (f, l))| (o, f, l)).collect();
                    v.sort_by(|a, b| a.0.cmp(&b.0));
                    Ok(v)
                }

                async fn imported_batch(&self, batch: u64) -> StoreResult<Vec<(String, Facts)>> {
                    let summarize = <super::$db as BulkImport>::SUMMARIZE_BATCHES;
                    if !summarize.is_empty() {
                        sqlx::query(summarize).execute(self.writer()).await?;
                    }
                    let sql = format!(
                        "SELECT {IMPORTED_FACT_COLUMNS} FROM report_imported WHERE batch = $1 \
                         ORDER BY pos"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(i64::try_from(batch).unwrap_or(i64::MAX))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get("object")?, facts_of(r)?)))
                        .collect()
                }

                async fn check_recorded(
                    &self,
                    recorded: &[(String, [u8; 32])],
                ) -> StoreResult<Vec<String>> {
                    let mut problems = Vec::new();
                    for chunk in statement_chunks(&recorded, CHUNK) {
                        let sql = format!(
                            "SELECT object, leaf_hash FROM report_facts WHERE object IN ({})",
                            placeholders(chunk.len())
                        );
                        let mut q = sqlx::query(&sql);
                        for (o, _) in chunk {
                            q = q.bind(o);
                        }
                        let mut found: HashMap<String, [u8; 32]> = HashMap::new();
                        for row in q.fetch_all(self.reader()).await? {
                            found.insert(row.try_get("object")?, leaf_of(row.try_get("leaf_hash")?)?);
                        }
                        for (o, leaf) in chunk {
                            match found.get(o) {
                                None => problems.push(format!(
                                    "counted request {o} has disappeared from report_facts"
                                )),
                                Some(l) if l != leaf => problems.push(format!(
                                    "counted request {o}: report_facts no longer holds the facts \
                                     the log recorded"
                                )),
                                Some(_) => {}
                            }
                        }
                    }
                    Ok(problems)
                }
            }
        }
    };
}
pub(crate) use impl_report_store;
