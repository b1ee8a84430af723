-- Transparency report (PostgreSQL): the reporting facts of every counted request, and the
-- counters derived from them, kept up to date in the same transaction as the facts.

-- One row per counted request. `object` is the audit object that carries its facts:
-- 'request:<uuid>' for a request received here, 'import:<reference>' for an imported one.
-- `audit_idx`/`leaf_hash` name the audit entry that recorded these facts last.
CREATE TABLE report_facts (
    object        TEXT PRIMARY KEY,
    period        TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    country       TEXT NOT NULL,
    process       TEXT NOT NULL,
    emergency     BOOLEAN NOT NULL,
    accounts      BIGINT NOT NULL,
    outcome       TEXT,
    disclosed     TEXT,
    none_reason   TEXT,
    ndo           BOOLEAN NOT NULL,
    notified      BOOLEAN NOT NULL,
    responded_at  TIMESTAMPTZ,
    audit_idx     BIGINT NOT NULL,
    leaf_hash     BYTEA NOT NULL
);

-- The counters: a half-year, a report section (dim), a row (key) and a column (metric).
-- `acc` is the sum mod 2^256 of the audit leaf hashes counted in the cell.
CREATE TABLE report_cells (
    period  TEXT NOT NULL,
    dim     TEXT NOT NULL,
    key     TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   BIGINT NOT NULL,
    acc     BYTEA NOT NULL,
    PRIMARY KEY (period, dim, key, metric)
);
