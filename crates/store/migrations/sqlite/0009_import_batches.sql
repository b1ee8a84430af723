-- Imported requests, committed to by batch (SQLite). An import stores each batch's rows here,
-- numbered by `pos` in the order stored, and appends one audit entry (`requests.imported`, at
-- index `batch`) whose details hold the Merkle root of the batch's row leaves; see
-- docs/transparency-verification.md. Rows are never changed: a later change of an imported
-- request's facts is recorded in report_facts by an audit entry of its own.
CREATE TABLE report_imported (
    batch         INTEGER NOT NULL,
    pos           INTEGER NOT NULL,
    object        TEXT NOT NULL UNIQUE,
    -- Times without a declared type, so that a whole second is kept as the integer of Unix
    -- seconds (5 bytes where the text took 25: imported times are mostly dates) and any other
    -- time as RFC 3339 text; sqlx reads both as a timestamp.
    received_at   NOT NULL,
    country       TEXT NOT NULL,
    process       TEXT NOT NULL,
    category      TEXT,
    emergency     INTEGER NOT NULL,
    accounts      INTEGER NOT NULL,
    outcome       TEXT,
    disclosed     TEXT,
    none_reason   TEXT,
    ndo           INTEGER NOT NULL,
    notified      INTEGER NOT NULL,
    responded_at,
    PRIMARY KEY (batch, pos)
) WITHOUT ROWID;

CREATE TRIGGER report_imported_no_update BEFORE UPDATE ON report_imported
BEGIN
    SELECT RAISE(ABORT, 'report_imported is append-only');
END;
CREATE TRIGGER report_imported_no_delete BEFORE DELETE ON report_imported
BEGIN
    SELECT RAISE(ABORT, 'report_imported is append-only');
END;

-- A finer category within the process (Facts::category).
ALTER TABLE report_facts ADD COLUMN category TEXT;
