-- Custodian foundation schema (SQLite). UUIDs are 16-byte blobs, times RFC 3339 text in UTC.

CREATE TABLE agencies (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    country     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'suspended')),
    phone       TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE agency_domains (
    agency_id   BLOB NOT NULL REFERENCES agencies(id),
    domain      TEXT NOT NULL,
    PRIMARY KEY (agency_id, domain)
);

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    agency_id     BLOB REFERENCES agencies(id),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id          BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE request_counters (
    year        INTEGER PRIMARY KEY,
    last        INTEGER NOT NULL
);

CREATE TABLE requests (
    id                BLOB PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE,
    agency_id         BLOB NOT NULL REFERENCES agencies(id),
    submitted_by      BLOB NOT NULL REFERENCES users(id),
    process           TEXT NOT NULL,
    issuing_country   TEXT NOT NULL,
    emergency         INTEGER NOT NULL,
    status            TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    respond_by        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    intake            TEXT NOT NULL
);
CREATE INDEX requests_agency_received ON requests (agency_id, received_at DESC);
CREATE INDEX requests_status ON requests (status, respond_by);

CREATE TABLE request_targets (
    request_id  BLOB NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (request_id, kind, value)
);
CREATE INDEX request_targets_value ON request_targets (kind, value);

CREATE TABLE documents (
    id            BLOB PRIMARY KEY,
    request_id    BLOB NOT NULL REFERENCES requests(id),
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    uploaded_by   BLOB NOT NULL REFERENCES users(id),
    created_at    TEXT NOT NULL
);
CREATE INDEX documents_request ON documents (request_id);

CREATE TABLE messages (
    id            BLOB PRIMARY KEY,
    request_id    BLOB NOT NULL REFERENCES requests(id),
    author_id     BLOB NOT NULL REFERENCES users(id),
    from_agency   INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX messages_request ON messages (request_id, created_at);

CREATE TABLE idempotency_keys (
    user_id       BLOB NOT NULL REFERENCES users(id),
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    request_id    BLOB NOT NULL REFERENCES requests(id),
    response      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    idx         INTEGER PRIMARY KEY,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    at          TEXT NOT NULL,
    details     TEXT NOT NULL,
    leaf_hash   BLOB NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object, idx);

-- The log is append-only: the database itself refuses to change or remove an entry.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE audit_checkpoints (
    size        INTEGER PRIMARY KEY,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
