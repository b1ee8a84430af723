-- The review workflow: who works a request, the decision per category, letters to the agency.

ALTER TABLE requests ADD COLUMN assignee_id UUID REFERENCES users(id);

CREATE TABLE decisions (
    request_id      UUID PRIMARY KEY REFERENCES requests(id),
    decided_by      UUID NOT NULL REFERENCES users(id),
    decided_at      TIMESTAMPTZ NOT NULL,
    decision        TEXT NOT NULL,
    needs_approval  BOOLEAN NOT NULL,
    approved_by     UUID REFERENCES users(id),
    approved_at     TIMESTAMPTZ
);

CREATE TABLE letters (
    id          UUID PRIMARY KEY,
    request_id  UUID NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    author_id   UUID NOT NULL REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX letters_request ON letters (request_id, created_at);
