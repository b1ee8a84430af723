-- Device returns, and reimbursement (issue 6; LEGAL.md, "Costs"): the fee schedule, time
-- recorded on requests, the billing marks of a request (burdensome, waived), invoices.

-- The outcome of a device return: what the officer learns, and the mail to the owner (whose
-- address is in the outbox only; nothing here names the owner).
CREATE TABLE device_returns (
    request_id   UUID PRIMARY KEY REFERENCES requests(id),
    outcome      TEXT NOT NULL CHECK (outcome IN ('owner_contacted', 'device_not_known')),
    mail_id      UUID,
    decided_by   UUID NOT NULL REFERENCES users(id),
    decided_at   TIMESTAMPTZ NOT NULL
);

-- The fee schedule: one row per process type with a fee, and the row 'hourly' for the rate
-- burdensome requests are billed at. No rows: the built-in default schedule.
CREATE TABLE fee_schedule (
    item          TEXT PRIMARY KEY,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency      TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE time_entries (
    id          UUID PRIMARY KEY,
    request_id  UUID NOT NULL REFERENCES requests(id),
    user_id     UUID NOT NULL REFERENCES users(id),
    minutes     BIGINT NOT NULL CHECK (minutes > 0),
    note        TEXT NOT NULL,
    logged_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX time_entries_request ON time_entries (request_id, logged_at);

CREATE TABLE request_billing (
    request_id         UUID PRIMARY KEY REFERENCES requests(id),
    burdensome         BOOLEAN NOT NULL DEFAULT FALSE,
    burdensome_reason  TEXT,
    waiver             TEXT CHECK (waiver IN ('child_safety', 'threat_to_life')),
    waiver_note        TEXT,
    waived_by          UUID REFERENCES users(id),
    waived_at          TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE invoice_counters (
    year  INTEGER PRIMARY KEY,
    last  BIGINT NOT NULL
);

CREATE TABLE invoices (
    id                 UUID PRIMARY KEY,
    number             TEXT NOT NULL UNIQUE,
    request_id         UUID NOT NULL UNIQUE REFERENCES requests(id),
    agency_id          UUID NOT NULL REFERENCES agencies(id),
    process            TEXT NOT NULL,
    currency           TEXT NOT NULL,
    fee_minor          BIGINT NOT NULL,
    billed_minutes     BIGINT NOT NULL,
    hourly_rate_minor  BIGINT NOT NULL,
    hours_minor        BIGINT NOT NULL,
    total_minor        BIGINT NOT NULL,
    amount_due_minor   BIGINT NOT NULL,
    waiver             TEXT CHECK (waiver IN ('child_safety', 'threat_to_life')),
    waiver_note        TEXT,
    status             TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'waived')),
    issued_by          UUID NOT NULL REFERENCES users(id),
    issued_at          TIMESTAMPTZ NOT NULL,
    paid_on            TEXT,
    paid_reference     TEXT,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX invoices_status ON invoices (status, issued_at);
