-- Where the audit chain becomes keyed (SQLite). Keep in step with
-- ../postgres/20261203120000_audit_keyed_chain.sql.
-- From row `keyed_from` on, `audit_log.hash` is HMAC-SHA256 with a subkey of the platform key
-- (the [secrets] key_file, kept outside the database) instead of plain SHA-256, so that whoever
-- can write the database but not read the key file cannot change a row and re-hash the rest
-- unnoticed. Rows written before the key existed keep their SHA-256: a log upgrades without
-- rewriting its history. `mac` is the HMAC of `keyed_from` and the hash of the row before it
-- (see `jingxun::audit` chain.rs); the row is written once, with the first keyed row, and never
-- changed: triggers abort every UPDATE and DELETE.
CREATE TABLE audit_chain_keyed (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    keyed_from INTEGER NOT NULL,
    mac        TEXT    NOT NULL
);

CREATE TRIGGER audit_chain_keyed_no_update BEFORE UPDATE ON audit_chain_keyed
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_keyed is append-only: its row cannot be changed');
END;

CREATE TRIGGER audit_chain_keyed_no_delete BEFORE DELETE ON audit_chain_keyed
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_keyed is append-only: its row cannot be deleted');
END;
