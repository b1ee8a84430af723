-- Imported requests, committed to by batch (PostgreSQL). An import stores each batch's rows
-- here, numbered by `pos` in the order stored, and appends one audit entry
-- (`requests.imported`, at index `batch`) whose details hold the Merkle root of the batch's
-- row leaves; see docs/transparency-verification.md. Rows are never changed: a later change of
-- an imported request's facts is recorded in report_facts by an audit entry of its own.
CREATE TABLE report_imported (
    batch         BIGINT NOT NULL,
    pos           INTEGER NOT NULL,
    -- Compared byte by byte: an object is an identifier, and the C collation makes the
    -- unique index about a third cheaper to maintain during an import.
    object        TEXT COLLATE "C" NOT NULL UNIQUE,
    received_at   TIMESTAMPTZ NOT NULL,
    country       TEXT NOT NULL,
    process       TEXT NOT NULL,
    category      TEXT,
    emergency     BOOLEAN NOT NULL,
    accounts      BIGINT NOT NULL,
    outcome       TEXT,
    disclosed     TEXT,
    none_reason   TEXT,
    ndo           BOOLEAN NOT NULL,
    notified      BOOLEAN NOT NULL,
    responded_at  TIMESTAMPTZ
);
-- A batch's rows are found by a block-range index: rows are appended batch after batch, so
-- it is exact enough and costs nothing to maintain, where a B-tree on (batch, pos) doubled
-- the index work of an import. `pos` orders them within the batch. The import summarises
-- the new ranges after each batch (brin_summarize_new_values).
CREATE INDEX report_imported_batch ON report_imported USING brin (batch);

CREATE FUNCTION report_imported_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report_imported is append-only';
END;
$$;
CREATE TRIGGER report_imported_no_update BEFORE UPDATE OR DELETE ON report_imported
    FOR EACH ROW EXECUTE FUNCTION report_imported_append_only();
CREATE TRIGGER report_imported_no_truncate BEFORE TRUNCATE ON report_imported
    FOR EACH STATEMENT EXECUTE FUNCTION report_imported_append_only();

-- A finer category within the process (Facts::category).
ALTER TABLE report_facts ADD COLUMN category TEXT;
