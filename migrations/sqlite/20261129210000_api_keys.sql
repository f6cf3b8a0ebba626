-- HTTP API for other systems (issue 5; R16, R17, R19, R20). Keep in step with
-- ../postgres/20261129210000_api_keys.sql: same tables, columns, constraints and meaning.
-- Times are unix milliseconds UTC.

-- One row per client system. The key itself is never stored: only the hex SHA-256 of the full
-- key text (`jx_...`) and its first characters for display. Revoked keys keep their row (and
-- their name) so that audit rows and messages keep pointing at a known client.
CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    key_hash        TEXT    NOT NULL UNIQUE,
    key_prefix      TEXT    NOT NULL,
    -- Space-separated scopes: send, receive.
    scopes          TEXT    NOT NULL,
    -- Requests per second the key may make (a burst of the same size is allowed).
    rate_per_second INTEGER NOT NULL CHECK (rate_per_second >= 1),
    -- Space-separated canonical numbers the key may send from; empty: any.
    service_numbers TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);

-- The first answer to each idempotency key of each API key, stored in the transaction that
-- queued the messages, so that a retry (even a concurrent one) gets the same answer and queues
-- nothing. `request_hash` is the SHA-256 of the request's canonical JSON: the same key with a
-- different request is refused.
CREATE TABLE api_idempotency (
    api_key         TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    response        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (api_key, idempotency_key)
);

-- The API key (its name) that queued a message: only that key may read it back.
ALTER TABLE messages ADD COLUMN api_key TEXT;
CREATE INDEX messages_api_key ON messages (api_key, id) WHERE api_key IS NOT NULL;
