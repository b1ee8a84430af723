-- The demo customer-data store: what a small online shop with cloud storage and smart-home
-- devices keeps about its customers. Times are Unix seconds (UTC), days are YYYY-MM-DD.
-- Foreign keys without cascades: deleting an account names every table it touches.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL UNIQUE,     -- lower case
    phone        TEXT,                     -- E.164
    phone_digits TEXT,
    created_at   INTEGER NOT NULL,
    status       TEXT NOT NULL
);
CREATE INDEX accounts_phone ON accounts (phone_digits);

CREATE TABLE addresses (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    kind        TEXT NOT NULL,
    line1       TEXT NOT NULL,
    line2       TEXT,
    city        TEXT NOT NULL,
    region      TEXT,
    postal_code TEXT NOT NULL,
    country     TEXT NOT NULL,
    added_on    TEXT NOT NULL
);
CREATE INDEX addresses_account ON addresses (account_id);

-- Only what a card vault hands back: never the card number.
CREATE TABLE payment_methods (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    brand        TEXT NOT NULL,
    last_four    TEXT NOT NULL,
    expires      TEXT NOT NULL,
    billing_name TEXT NOT NULL,
    added_on     TEXT NOT NULL
);
CREATE INDEX payment_methods_account ON payment_methods (account_id);

CREATE TABLE services (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL,
    plan       TEXT,
    since      TEXT NOT NULL,
    until      TEXT,
    PRIMARY KEY (account_id, name, since)
);

CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    placed_at          INTEGER NOT NULL,
    status             TEXT NOT NULL,
    total_minor        INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    payment_method_id  TEXT NOT NULL REFERENCES payment_methods (id),
    ship_to_address_id INTEGER NOT NULL REFERENCES addresses (id)
);
CREATE INDEX orders_account ON orders (account_id, placed_at);

CREATE TABLE order_items (
    order_id         TEXT NOT NULL REFERENCES orders (id),
    line             INTEGER NOT NULL,
    description      TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    PRIMARY KEY (order_id, line)
);

-- A device sold on is registered again by its next owner: the serial alone is not a key.
CREATE TABLE devices (
    serial          TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    model           TEXT NOT NULL,
    registered_at   INTEGER NOT NULL,
    last_seen_at    INTEGER,
    deregistered_at INTEGER,
    PRIMARY KEY (serial, account_id)
);
CREATE INDEX devices_account ON devices (account_id);

CREATE TABLE sign_ins (
    id         INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    at         INTEGER NOT NULL,
    ip_address TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    method     TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX sign_ins_account ON sign_ins (account_id, at);

-- The bytes live in files/<stored_as>, written before the row that names them.
CREATE TABLE files (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    path       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    stored_as  TEXT NOT NULL,
    UNIQUE (account_id, path)
);
CREATE INDEX files_account ON files (account_id, created_at);
