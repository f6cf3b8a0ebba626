-- Where the audit chain becomes keyed (PostgreSQL). Keep in step with
-- ../sqlite/20261203120000_audit_keyed_chain.sql.
-- From row `keyed_from` on, `audit_log.hash` is HMAC-SHA256 with a subkey of the platform key
-- (the [secrets] key_file, kept outside the database) instead of plain SHA-256, so that whoever
-- can write the database but not read the key file cannot change a row and re-hash the rest
-- unnoticed. Rows written before the key existed keep their SHA-256: a log upgrades without
-- rewriting its history. `mac` is the HMAC of `keyed_from` and the hash of the row before it
-- (see `jingxun::audit` chain.rs); the row is written once, with the first keyed row, and never
-- changed: triggers raise on every UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_chain_keyed (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    keyed_from BIGINT NOT NULL,
    mac        TEXT   NOT NULL
);

CREATE FUNCTION audit_chain_keyed_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_chain_keyed is append-only: its row cannot be changed or deleted (%)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_chain_keyed_append_only BEFORE UPDATE OR DELETE ON audit_chain_keyed
    FOR EACH ROW EXECUTE FUNCTION audit_chain_keyed_refuse_change();

CREATE TRIGGER audit_chain_keyed_no_truncate BEFORE TRUNCATE ON audit_chain_keyed
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_keyed_refuse_change();
