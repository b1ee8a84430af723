-- Custodian foundation schema (PostgreSQL).

CREATE TABLE agencies (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    country     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'suspended')),
    phone       TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE agency_domains (
    agency_id   UUID NOT NULL REFERENCES agencies(id),
    domain      TEXT NOT NULL,
    PRIMARY KEY (agency_id, domain)
);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    agency_id     UUID REFERENCES agencies(id),
    password_hash TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE request_counters (
    year        INTEGER PRIMARY KEY,
    last        BIGINT NOT NULL
);

CREATE TABLE requests (
    id                UUID PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE,
    agency_id         UUID NOT NULL REFERENCES agencies(id),
    submitted_by      UUID NOT NULL REFERENCES users(id),
    process           TEXT NOT NULL,
    issuing_country   TEXT NOT NULL,
    emergency         BOOLEAN NOT NULL,
    status            TEXT NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL,
    respond_by        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    intake            TEXT NOT NULL
);
CREATE INDEX requests_agency_received ON requests (agency_id, received_at DESC);
CREATE INDEX requests_status ON requests (status, respond_by);

CREATE TABLE request_targets (
    request_id  UUID NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (request_id, kind, value)
);
CREATE INDEX request_targets_value ON request_targets (kind, value);

CREATE TABLE documents (
    id            UUID PRIMARY KEY,
    request_id    UUID NOT NULL REFERENCES requests(id),
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    uploaded_by   UUID NOT NULL REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX documents_request ON documents (request_id);

CREATE TABLE messages (
    id            UUID PRIMARY KEY,
    request_id    UUID NOT NULL REFERENCES requests(id),
    author_id     UUID NOT NULL REFERENCES users(id),
    from_agency   BOOLEAN NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_request ON messages (request_id, created_at);

CREATE TABLE idempotency_keys (
    user_id       UUID NOT NULL REFERENCES users(id),
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    request_id    UUID NOT NULL REFERENCES requests(id),
    response      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    idx         BIGINT PRIMARY KEY,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    details     TEXT NOT NULL,
    leaf_hash   BYTEA NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object, idx);

-- The log is append-only: the database itself refuses to change or remove an entry.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE audit_checkpoints (
    size        BIGINT PRIMARY KEY,
    root        BYTEA NOT NULL,
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
