-- Preservation, production and customer notice (issue 5): legal holds and their snapshots,
-- production packages and their download link, customer notices and their recipients, and the
-- agency's age public key. Object keys name bytes in the object store, written before the row.

ALTER TABLE agencies ADD COLUMN age_recipient TEXT;

CREATE TABLE holds (
    id              BLOB PRIMARY KEY,
    request_id      BLOB NOT NULL REFERENCES requests(id),
    agency_id       BLOB NOT NULL REFERENCES agencies(id),
    status          TEXT NOT NULL CHECK (status IN ('capturing', 'active', 'released', 'failed')),
    categories      TEXT NOT NULL,
    date_from       TEXT,
    date_to         TEXT,
    days            BIGINT NOT NULL,
    renewal_days    BIGINT NOT NULL,
    max_renewals    BIGINT NOT NULL,
    renewals        BIGINT NOT NULL DEFAULT 0,
    started_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    reviewer_id     BLOB REFERENCES users(id),
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    captured_at     TEXT,
    accounts        BIGINT NOT NULL DEFAULT 0,
    files           BIGINT NOT NULL DEFAULT 0,
    bytes           BIGINT NOT NULL DEFAULT 0,
    released_at     TEXT,
    release_reason  TEXT,
    error           TEXT
);
CREATE INDEX holds_request ON holds (request_id);
CREATE INDEX holds_status ON holds (status, expires_at);
-- One live hold per request.
CREATE UNIQUE INDEX holds_live ON holds (request_id) WHERE status IN ('capturing', 'active');

-- The accounts a hold found, and by which of the demand's identifiers.
CREATE TABLE hold_accounts (
    hold_id       BLOB NOT NULL REFERENCES holds(id),
    account_id    TEXT NOT NULL,
    target_kind   TEXT NOT NULL,
    target_value  TEXT NOT NULL,
    PRIMARY KEY (hold_id, account_id, target_kind, target_value)
);
CREATE INDEX hold_accounts_target ON hold_accounts (target_kind, target_value);

-- What a hold keeps: an account's subscriber or transactional records (JSON) or one file.
CREATE TABLE hold_items (
    hold_id       BLOB NOT NULL REFERENCES holds(id),
    seq           BIGINT NOT NULL,
    account_id    TEXT NOT NULL,
    category      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('subscriber', 'transactional', 'file')),
    file_id       TEXT,
    path          TEXT,
    media_type    TEXT,
    file_created_at TEXT,
    object_key    TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    PRIMARY KEY (hold_id, seq)
);

CREATE TABLE productions (
    id               BLOB PRIMARY KEY,
    request_id       BLOB NOT NULL REFERENCES requests(id),
    agency_id        BLOB NOT NULL REFERENCES agencies(id),
    status           TEXT NOT NULL CHECK (status IN ('building', 'built', 'delivered', 'failed')),
    protection       TEXT NOT NULL,
    -- A ZIP passphrase, kept only until the package is built (it was shown once already).
    passphrase       TEXT,
    custodian_id     BLOB NOT NULL REFERENCES users(id),
    created_at       TEXT NOT NULL,
    object_key       TEXT,
    package_sha256   TEXT,
    package_bytes    BIGINT,
    manifest_sha256  TEXT,
    files            BIGINT,
    bytes            BIGINT,
    audit_idx        BIGINT,
    collection       TEXT,
    built_at         TEXT,
    released_at      TEXT,
    expires_at       TEXT,
    max_downloads    BIGINT NOT NULL,
    link_days        BIGINT NOT NULL,
    downloads        BIGINT NOT NULL DEFAULT 0,
    error            TEXT
);
CREATE INDEX productions_request ON productions (request_id, created_at);
CREATE UNIQUE INDEX productions_live ON productions (request_id)
    WHERE status IN ('building', 'built', 'delivered');

CREATE TABLE customer_notices (
    request_id   BLOB PRIMARY KEY REFERENCES requests(id),
    notice       TEXT NOT NULL,
    rule         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('scheduled', 'under_review', 'review_due', 'sent', 'withheld', 'not_required')),
    due_at       TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    sent_at      TEXT
);

-- One per account told: the unguessable token of its notice page (kept as a SHA-256) and the
-- mail that carried it (the address lives in the outbox only).
CREATE TABLE notice_recipients (
    id          BLOB PRIMARY KEY,
    request_id  BLOB NOT NULL REFERENCES customer_notices(request_id),
    account_id  TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    mail_id     BLOB REFERENCES mail_outbox(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX notice_recipients_request ON notice_recipients (request_id);
