-- Emergency paging (issue 6): the on-call rota, the paging webhook and its timings, one row per
-- emergency request (paging state, acknowledgement, first answer, the legal process that
-- followed) and every attempt to reach someone.

-- The admin's ordered on-call list: primary and secondary reviewers, each optionally only for
-- a window of the day (minutes after midnight UTC; a window may wrap midnight).
CREATE TABLE on_call (
    id            UUID PRIMARY KEY,
    tier          TEXT NOT NULL CHECK (tier IN ('primary', 'secondary')),
    position      BIGINT NOT NULL,
    user_id       UUID NOT NULL REFERENCES users(id),
    window_start  BIGINT,
    window_end    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);

-- One row: where pages go besides e-mail, and how often. The secret signs the webhook's
-- requests; it is written, never read back out through the API.
CREATE TABLE paging_settings (
    id                      BIGINT PRIMARY KEY CHECK (id = 1),
    webhook_url             TEXT,
    webhook_secret          TEXT,
    secret_set_at           TIMESTAMPTZ,
    repage_minutes          BIGINT NOT NULL,
    escalate_minutes        BIGINT NOT NULL,
    followup_reminder_days  TEXT NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);

CREATE TABLE emergencies (
    request_id          UUID PRIMARY KEY REFERENCES requests(id),
    agency_id           UUID NOT NULL REFERENCES agencies(id),
    status              TEXT NOT NULL CHECK (status IN ('paging', 'acknowledged')),
    rounds              BIGINT NOT NULL DEFAULT 0,
    paged_at            TIMESTAMPTZ,
    escalated_at        TIMESTAMPTZ,
    acknowledged_by     UUID REFERENCES users(id),
    acknowledged_at     TIMESTAMPTZ,
    first_answer_at     TIMESTAMPTZ,
    first_answer_kind   TEXT,
    followup_request_id UUID REFERENCES requests(id),
    followup_at         TIMESTAMPTZ,
    -- When the answer came that the legal process must follow (the reminders count from it).
    followup_due_from   TIMESTAMPTZ,
    reminders_sent      BIGINT NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX emergencies_agency ON emergencies (agency_id);

CREATE TABLE page_attempts (
    id          UUID PRIMARY KEY,
    request_id  UUID NOT NULL REFERENCES requests(id),
    round       BIGINT NOT NULL,
    tier        TEXT NOT NULL,
    user_id     UUID REFERENCES users(id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    at          TIMESTAMPTZ NOT NULL,
    result      TEXT NOT NULL CHECK (result IN ('queued', 'sending', 'delivered', 'failed')),
    detail      TEXT,
    mail_id     UUID,
    finished_at TIMESTAMPTZ
);
CREATE INDEX page_attempts_request ON page_attempts (request_id, at);
