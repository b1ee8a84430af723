-- Device returns, and reimbursement (issue 6; LEGAL.md, "Costs"): the fee schedule, time
-- recorded on requests, the billing marks of a request (burdensome, waived), invoices.

-- The outcome of a device return: what the officer learns, and the mail to the owner (whose
-- address is in the outbox only; nothing here names the owner).
CREATE TABLE device_returns (
    request_id   BLOB PRIMARY KEY REFERENCES requests(id),
    outcome      TEXT NOT NULL CHECK (outcome IN ('owner_contacted', 'device_not_known')),
    mail_id      BLOB,
    decided_by   BLOB NOT NULL REFERENCES users(id),
    decided_at   TEXT NOT NULL
);

-- The fee schedule: one row per process type with a fee, and the row 'hourly' for the rate
-- burdensome requests are billed at. No rows: the built-in default schedule.
CREATE TABLE fee_schedule (
    item          TEXT PRIMARY KEY,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency      TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE time_entries (
    id          BLOB PRIMARY KEY,
    request_id  BLOB NOT NULL REFERENCES requests(id),
    user_id     BLOB NOT NULL REFERENCES users(id),
    minutes     INTEGER NOT NULL CHECK (minutes > 0),
    note        TEXT NOT NULL,
    logged_at   TEXT NOT NULL
);
CREATE INDEX time_entries_request ON time_entries (request_id, logged_at);

CREATE TABLE request_billing (
    request_id         BLOB PRIMARY KEY REFERENCES requests(id),
    burdensome         INTEGER NOT NULL DEFAULT 0,
    burdensome_reason  TEXT,
    waiver             TEXT CHECK (waiver IN ('child_safety', 'threat_to_life')),
    waiver_note        TEXT,
    waived_by          BLOB REFERENCES users(id),
    waived_at          TEXT,
    updated_at         TEXT NOT NULL
);

CREATE TABLE invoice_counters (
    year  INTEGER PRIMARY KEY,
    last  INTEGER NOT NULL
);

CREATE TABLE invoices (
    id                 BLOB PRIMARY KEY,
    number             TEXT NOT NULL UNIQUE,
    request_id         BLOB NOT NULL UNIQUE REFERENCES requests(id),
    agency_id          BLOB NOT NULL REFERENCES agencies(id),
    process            TEXT NOT NULL,
    currency           TEXT NOT NULL,
    fee_minor          INTEGER NOT NULL,
    billed_minutes     INTEGER NOT NULL,
    hourly_rate_minor  INTEGER NOT NULL,
    hours_minor        INTEGER NOT NULL,
    total_minor        INTEGER NOT NULL,
    amount_due_minor   INTEGER NOT NULL,
    waiver             TEXT CHECK (waiver IN ('child_safety', 'threat_to_life')),
    waiver_note        TEXT,
    status             TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'waived')),
    issued_by          BLOB NOT NULL REFERENCES users(id),
    issued_at          TEXT NOT NULL,
    paid_on            TEXT,
    paid_reference     TEXT,
    updated_at         TEXT NOT NULL
);
CREATE INDEX invoices_status ON invoices (status, issued_at);
