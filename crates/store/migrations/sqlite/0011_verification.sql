-- Verification of the requester (issue 6): the independent source each agency was verified
-- against, the risk assessment stored with every request, the reviewers' call-backs, flags on
-- requests (a suspension, another agency asking about the same target), suspended officers,
-- and the networks each officer has used.

-- What or who an admin checked the agency against, when, and who recorded it.
CREATE TABLE agency_sources (
    agency_id    BLOB PRIMARY KEY REFERENCES agencies(id),
    source       TEXT NOT NULL,
    checked_at   TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);

-- The risk assessment of a request (JSON, with its reasons), written in the request's own
-- transaction; `cleared_*` is an approver's clearance of a high score.
CREATE TABLE request_risk (
    request_id        BLOB PRIMARY KEY REFERENCES requests(id),
    score             INTEGER NOT NULL,
    level             TEXT NOT NULL CHECK (level IN ('low', 'medium', 'high')),
    hard_blocked      INTEGER NOT NULL,
    assessment        TEXT NOT NULL,
    network           TEXT,
    assessed_at       TEXT NOT NULL,
    cleared_by        BLOB REFERENCES users(id),
    cleared_at        TEXT,
    clearance_reason  TEXT
);
CREATE INDEX request_risk_level ON request_risk (level, score);

-- A call-back to the agency at its directory number, as the reviewer recorded it.
CREATE TABLE callbacks (
    id               BLOB PRIMARY KEY,
    request_id       BLOB NOT NULL REFERENCES requests(id),
    outcome          TEXT NOT NULL CHECK (outcome IN
        ('confirmed', 'not_confirmed', 'officer_unknown', 'no_answer', 'number_mismatch')),
    directory_phone  TEXT NOT NULL,
    called_number    TEXT NOT NULL,
    reviewer_id      BLOB NOT NULL REFERENCES users(id),
    called_at        TEXT NOT NULL,
    spoke_with       TEXT,
    note             TEXT
);
CREATE INDEX callbacks_request ON callbacks (request_id, called_at);

-- A mark on a request for the reviewers: its officer or agency was suspended, or another
-- agency asked about the same target. `resolved_at` is set when the suspension is lifted.
CREATE TABLE request_flags (
    request_id   BLOB NOT NULL REFERENCES requests(id),
    kind         TEXT NOT NULL CHECK (kind IN
        ('officer_suspended', 'agency_suspended', 'same_target')),
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    PRIMARY KEY (request_id, kind)
);

CREATE TABLE officer_suspensions (
    user_id       BLOB PRIMARY KEY REFERENCES users(id),
    reason        TEXT NOT NULL,
    suspended_by  TEXT NOT NULL,
    suspended_at  TEXT NOT NULL
);

-- Networks (an IPv4 /24 or IPv6 /48 prefix) an officer signed in or served process from.
-- `trusted`: established by use the provider had no reason to doubt (the officer's first
-- network, a request not flagged for its network, a confirmed call-back or a clearance).
CREATE TABLE officer_networks (
    user_id     BLOB NOT NULL REFERENCES users(id),
    network     TEXT NOT NULL,
    trusted     INTEGER NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    seen        INTEGER NOT NULL,
    PRIMARY KEY (user_id, network)
);
