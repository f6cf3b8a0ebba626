-- Jingxun audit trail (SQLite). Keep in step with ../postgres/20261129190001_audit.sql.
-- Append-only for everyone, administrators included: triggers abort every UPDATE and DELETE.
-- Rows form a hash chain: `hash` is SHA-256 over `prev_hash` and the row's canonical fields
-- (see `jingxun::audit`), `prev_hash` the previous row's hash (64 zeros for row 1). Ids are
-- assigned by the appender as previous id + 1 under the write lock, so they have no gaps.
-- `at` is unix milliseconds UTC; `details` is JSON text, hashed exactly as stored.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    component  TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    actor      TEXT,
    phone      TEXT,
    object     TEXT,
    outcome    TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    source     TEXT,
    request_id TEXT,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE
);

-- Listing by time, by phone, by event.
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_phone ON audit_log (phone, id) WHERE phone IS NOT NULL;
CREATE INDEX audit_log_event ON audit_log (event, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: its rows cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: its rows cannot be deleted');
END;
