-- Web accounts (SQLite): the second factor, recovery codes, browser sessions, sign-in
-- throttling, self-registration of agency officers, and colleagues following a request.
-- Secrets a copy of the database must not hand out (session ids, recovery codes, e-mail
-- verification tokens) are kept as SHA-256 or argon2id digests only.

-- TOTP (RFC 6238). `confirmed_at` is NULL while enrolment is under way; `last_step` is the
-- last 30-second step accepted, so that a code cannot be used twice.
CREATE TABLE user_totp (
    user_id       BLOB PRIMARY KEY REFERENCES users(id),
    secret        BLOB NOT NULL,
    confirmed_at  TEXT,
    last_step     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id     BLOB NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- A browser session: the cookie holds a random id, the row its SHA-256. `stage` says how far
-- sign-in got: password checked and the second factor due, TOTP enrolment due, or complete.
CREATE TABLE web_sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id),
    stage         TEXT NOT NULL CHECK (stage IN ('second_factor', 'enrol', 'full')),
    csrf          TEXT NOT NULL,
    flash         TEXT,
    user_agent    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX web_sessions_user ON web_sessions (user_id, created_at);

-- Failed sign-ins per account (SHA-256 of the lower-cased e-mail address, known or not), so
-- that every server counts the same failures.
CREATE TABLE sign_in_throttle (
    account           TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL,
    first_failure_at  TEXT NOT NULL,
    locked_until      TEXT
);

-- An officer's registration, from the form to an account. `agency_id` is the agency whose
-- verified domain holds the address; without one, the agency described here waits for an
-- admin. A lookalike domain is refused and the attempt kept, flagged, for the admin.
CREATE TABLE registrations (
    id                BLOB PRIMARY KEY,
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    password_hash     TEXT,
    agency_id         BLOB REFERENCES agencies(id),
    agency_name       TEXT,
    agency_country    TEXT,
    agency_kind       TEXT,
    agency_phone      TEXT,
    status            TEXT NOT NULL CHECK (status IN
        ('awaiting_email', 'awaiting_approval', 'approved', 'refused', 'lookalike')),
    lookalike_of      TEXT,
    token_hash        TEXT UNIQUE,
    token_expires_at  TEXT,
    user_id           BLOB REFERENCES users(id),
    created_at        TEXT NOT NULL,
    verified_at       TEXT,
    decided_at        TEXT,
    decided_by        BLOB REFERENCES users(id)
);
CREATE INDEX registrations_status ON registrations (status, created_at);

-- Colleagues of the serving agency who follow a request (at most five per request).
CREATE TABLE request_followers (
    request_id  BLOB NOT NULL REFERENCES requests(id),
    user_id     BLOB NOT NULL REFERENCES users(id),
    added_by    BLOB NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (request_id, user_id)
);
CREATE INDEX request_followers_user ON request_followers (user_id);
