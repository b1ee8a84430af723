-- The review console's administration: settings every server reads (the active policy
-- profile), the holiday calendars deadlines are counted in, and the deadline reminders already
-- mailed (so that no assignee is reminded twice of the same deadline).

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE holiday_calendars (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    base        TEXT NOT NULL CHECK (base IN ('us_federal', 'empty')),
    created_at  TEXT NOT NULL
);

-- A day off the admin added, or (worked = 1) a compiled federal holiday the provider works.
CREATE TABLE holidays (
    calendar    TEXT NOT NULL REFERENCES holiday_calendars(code),
    day         TEXT NOT NULL,
    name        TEXT NOT NULL,
    worked      INTEGER NOT NULL,
    PRIMARY KEY (calendar, day)
);

CREATE TABLE deadline_reminders (
    request_id   BLOB NOT NULL REFERENCES requests(id),
    kind         TEXT NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    respond_by   TEXT NOT NULL,
    assignee_id  BLOB NOT NULL REFERENCES users(id),
    mail_id      BLOB NOT NULL,
    sent_at      TEXT NOT NULL,
    PRIMARY KEY (request_id, kind, respond_by, assignee_id)
);
