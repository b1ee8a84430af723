-- Emergency paging (issue 6): the on-call rota, the paging webhook and its timings, one row per
-- emergency request (paging state, acknowledgement, first answer, the legal process that
-- followed) and every attempt to reach someone.

-- The admin's ordered on-call list: primary and secondary reviewers, each optionally only for
-- a window of the day (minutes after midnight UTC; a window may wrap midnight).
CREATE TABLE on_call (
    id            BLOB PRIMARY KEY,
    tier          TEXT NOT NULL CHECK (tier IN ('primary', 'secondary')),
    position      BIGINT NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users(id),
    window_start  BIGINT,
    window_end    BIGINT,
    created_at    TEXT NOT NULL
);

-- One row: where pages go besides e-mail, and how often. The secret signs the webhook's
-- requests; it is written, never read back out through the API.
CREATE TABLE paging_settings (
    id                      BIGINT PRIMARY KEY CHECK (id = 1),
    webhook_url             TEXT,
    webhook_secret          TEXT,
    secret_set_at           TEXT,
    repage_minutes          BIGINT NOT NULL,
    escalate_minutes        BIGINT NOT NULL,
    followup_reminder_days  TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);

CREATE TABLE emergencies (
    request_id          BLOB PRIMARY KEY REFERENCES requests(id),
    agency_id           BLOB NOT NULL REFERENCES agencies(id),
    status              TEXT NOT NULL CHECK (status IN ('paging', 'acknowledged')),
    rounds              BIGINT NOT NULL DEFAULT 0,
    paged_at            TEXT,
    escalated_at        TEXT,
    acknowledged_by     BLOB REFERENCES users(id),
    acknowledged_at     TEXT,
    first_answer_at     TEXT,
    first_answer_kind   TEXT,
    followup_request_id BLOB REFERENCES requests(id),
    followup_at         TEXT,
    -- When the answer came that the legal process must follow (the reminders count from it).
    followup_due_from   TEXT,
    reminders_sent      BIGINT NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL
);
CREATE INDEX emergencies_agency ON emergencies (agency_id);

CREATE TABLE page_attempts (
    id          BLOB PRIMARY KEY,
    request_id  BLOB NOT NULL REFERENCES requests(id),
    round       BIGINT NOT NULL,
    tier        TEXT NOT NULL,
    user_id     BLOB REFERENCES users(id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    at          TEXT NOT NULL,
    result      TEXT NOT NULL CHECK (result IN ('queued', 'sending', 'delivered', 'failed')),
    detail      TEXT,
    mail_id     BLOB,
    finished_at TEXT
);
CREATE INDEX page_attempts_request ON page_attempts (request_id, at);
