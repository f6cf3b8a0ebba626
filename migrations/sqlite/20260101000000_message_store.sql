-- Jingxun message store (SQLite). Keep in step with ../postgres/20260101000000_message_store.sql:
-- same tables, columns, constraints and meaning; only the id and integer types differ.
-- All timestamps are BIGINT unix milliseconds UTC. Integers that mean booleans are 0/1
-- (sqlx's Any driver cannot decode SQLite BOOLEAN columns).

-- One row per SMS we send ('out') or receive ('in').
-- Outbound states: queued -> sending -> sent -> delivered | failed | expired.
-- Inbound states: received, or partial (a concatenated set that timed out incomplete).
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    direction        TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    peer             TEXT    NOT NULL,
    service_number   TEXT,
    text             TEXT    NOT NULL,
    encoding         TEXT    CHECK (encoding IS NULL OR encoding IN ('gsm7', 'ucs2', 'data8')),
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'delivered',
                                                      'failed', 'expired', 'received', 'partial')),
    parts_total      INTEGER CHECK (parts_total IS NULL OR parts_total BETWEEN 1 AND 255),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 0 CHECK (max_attempts >= 0),
    next_attempt_at  INTEGER,
    last_error       TEXT,
    modem            TEXT,
    lease_owner      TEXT,
    lease_until      INTEGER,
    priority         INTEGER NOT NULL DEFAULT 0,
    status_report    INTEGER NOT NULL DEFAULT 0 CHECK (status_report IN (0, 1)),
    valid_until      INTEGER,
    concat_reference INTEGER CHECK (concat_reference IS NULL OR concat_reference BETWEEN 0 AND 65535),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    delivered_at     INTEGER,
    batch_id         TEXT
);

-- Claiming due work and counting queue depths.
CREATE INDEX messages_state_due ON messages (state, next_attempt_at);
-- Listing by peer and by batch (per-recipient results of one send).
CREATE INDEX messages_peer ON messages (peer, id);
CREATE INDEX messages_batch ON messages (batch_id) WHERE batch_id IS NOT NULL;

-- The parts of an outbound message, created when its first part is sent.
CREATE TABLE message_parts (
    message_id        INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 255),
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'delivered', 'failed')),
    modem             TEXT,
    message_reference INTEGER CHECK (message_reference IS NULL OR message_reference BETWEEN 0 AND 255),
    status            INTEGER CHECK (status IS NULL OR status BETWEEN 0 AND 255),
    sent_at           INTEGER,
    reported_at       INTEGER,
    PRIMARY KEY (message_id, seq)
);

-- Matching a status report (modem, TP-MR) to the most recent part sent with that reference.
CREATE INDEX message_parts_report ON message_parts (modem, message_reference, sent_at);

-- Every PDU received, exactly as the modem gave it; single-part messages too.
CREATE TABLE inbound_parts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    modem            TEXT    NOT NULL,
    sender           TEXT    NOT NULL,
    service_number   TEXT,
    concat_reference INTEGER CHECK (concat_reference IS NULL OR concat_reference BETWEEN 0 AND 65535),
    parts_total      INTEGER NOT NULL CHECK (parts_total BETWEEN 1 AND 255),
    seq              INTEGER NOT NULL CHECK (seq BETWEEN 1 AND parts_total),
    raw_pdu          TEXT    NOT NULL,
    text             TEXT    NOT NULL,
    encoding         TEXT    NOT NULL CHECK (encoding IN ('gsm7', 'ucs2', 'data8')),
    received_at      INTEGER NOT NULL,
    stored_at        INTEGER NOT NULL,
    message_id       INTEGER REFERENCES messages (id) ON DELETE CASCADE
);

-- At most one unassembled part per slot of a concatenated set: a slot is free again once its set
-- has been assembled, so a sender reusing the reference later starts a new set.
CREATE UNIQUE INDEX inbound_parts_open_slot
    ON inbound_parts (sender, concat_reference, parts_total, seq) WHERE message_id IS NULL;
-- Duplicate detection (network resends) and set lookups.
CREATE INDEX inbound_parts_sender ON inbound_parts (sender, concat_reference, seq, stored_at);
CREATE INDEX inbound_parts_message ON inbound_parts (message_id);
-- Finding stale incomplete sets.
CREATE INDEX inbound_parts_unassembled ON inbound_parts (stored_at) WHERE message_id IS NULL;
