-- The review workflow: who works a request, the decision per category, letters to the agency.

ALTER TABLE requests ADD COLUMN assignee_id BLOB REFERENCES users(id);

CREATE TABLE decisions (
    request_id      BLOB PRIMARY KEY REFERENCES requests(id),
    decided_by      BLOB NOT NULL REFERENCES users(id),
    decided_at      TEXT NOT NULL,
    decision        TEXT NOT NULL,
    needs_approval  INTEGER NOT NULL,
    approved_by     BLOB REFERENCES users(id),
    approved_at     TEXT
);

CREATE TABLE letters (
    id          BLOB PRIMARY KEY,
    request_id  BLOB NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    author_id   BLOB NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX letters_request ON letters (request_id, created_at);
