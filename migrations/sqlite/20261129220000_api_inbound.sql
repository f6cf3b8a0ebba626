-- Inbound SMS for API clients and per-key source networks (issue 5; R16, R19, R20). Keep in
-- step with ../postgres/20261129220000_api_inbound.sql: same tables, columns, constraints and
-- meaning. Times are unix milliseconds UTC.

-- Space-separated networks (CIDR, e.g. `10.0.0.0/8 192.168.1.7/32`) the key may be used from;
-- empty: any.
ALTER TABLE api_keys ADD COLUMN allowed_networks TEXT NOT NULL DEFAULT '';
-- Where inbound messages assigned to the key are POSTed (plain http:// for now), and the
-- secret their HMAC-SHA256 signature is made with. The secret must be stored as it is (the
-- signature needs it); it is shown once when set and never listed.
ALTER TABLE api_keys ADD COLUMN webhook_url TEXT;
ALTER TABLE api_keys ADD COLUMN webhook_secret TEXT;

-- Which inbound messages go to which key: those whose first word is one of its keywords
-- (`keyword`, upper case), or that arrived on one of its service numbers (`number`, digits as
-- the modem's `service_number`). Each keyword and number belongs to one key at most. A key
-- without rows receives nothing.
CREATE TABLE api_inbound_routes (
    kind    TEXT    NOT NULL CHECK (kind IN ('keyword', 'number')),
    value   TEXT    NOT NULL,
    api_key TEXT    NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX api_inbound_routes_key ON api_inbound_routes (api_key);

-- Inbound messages assigned to a key, written by the command router in the transaction that
-- marks the message routed. `seq` is the inbox cursor: assignments are committed in `seq`
-- order (one writer on SQLite, an advisory lock on PostgreSQL), so a client that has read up
-- to a cursor never misses a later assignment, even of an older message.
CREATE TABLE api_inbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    api_key    TEXT    NOT NULL,
    message_id INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_inbox_key ON api_inbox (api_key, seq);

-- Webhook deliveries: one per assigned message of a key that had a webhook then, inserted in
-- the same transaction as the assignment (nothing is lost on a crash). `pending` rows are
-- POSTed when `next_attempt_at` has come, by a dispatcher holding the row's lease; a 2xx answer
-- makes them `delivered`; failures are retried with exponential backoff until the row is
-- `abandoned` (too old, or the key was revoked or its webhook removed; `last_error` says why).
CREATE TABLE api_webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    api_key         TEXT    NOT NULL,
    message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'delivered', 'abandoned')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    -- The HTTP status of the last attempt, when there was an answer.
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (api_key, message_id)
);
CREATE INDEX api_webhook_deliveries_due ON api_webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX api_webhook_deliveries_key ON api_webhook_deliveries (api_key, id);
