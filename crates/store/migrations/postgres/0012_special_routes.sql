-- The special routes (issue 6): a reviewer's attestation that a UK order under the US-UK
-- agreement targets no US person and no one in the United States, and the refusal of a
-- foreign order on a ground of the closed list, with the letter in the Regulation's form, and
-- what the enforcing state of an EU order told the provider after the notice (Art. 12).

CREATE TABLE order_attestations (
    request_id          UUID PRIMARY KEY REFERENCES requests(id),
    not_us_person       BOOLEAN NOT NULL,
    not_located_in_us   BOOLEAN NOT NULL,
    basis               TEXT NOT NULL,
    attested_by         UUID NOT NULL REFERENCES users(id),
    attested_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE order_refusals (
    request_id  UUID PRIMARY KEY REFERENCES requests(id),
    ground      TEXT NOT NULL,
    details     TEXT NOT NULL,
    letter_id   UUID NOT NULL REFERENCES letters(id),
    refused_by  UUID NOT NULL REFERENCES users(id),
    refused_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE order_enforcing_replies (
    request_id  UUID PRIMARY KEY REFERENCES requests(id),
    reply       TEXT NOT NULL,
    note        TEXT NOT NULL,
    recorded_by UUID NOT NULL REFERENCES users(id),
    recorded_at TIMESTAMPTZ NOT NULL
);
