-- Jingxun audit trail (PostgreSQL). Keep in step with ../sqlite/20261129190001_audit.sql.
-- Append-only for everyone, administrators included: triggers raise on every UPDATE, DELETE and
-- TRUNCATE (a superuser could still drop them; the hash chain shows what was changed then).
-- Rows form a hash chain: `hash` is SHA-256 over `prev_hash` and the row's canonical fields
-- (see `jingxun::audit`), `prev_hash` the previous row's hash (64 zeros for row 1). Ids are
-- assigned by the appender as previous id + 1 under an advisory lock, so they have no gaps.
-- `at` is unix milliseconds UTC; `details` is JSON kept as TEXT (JSONB would reformat it and
-- the hash is over the exact text).
CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    component  TEXT   NOT NULL,
    event      TEXT   NOT NULL,
    actor      TEXT,
    phone      TEXT,
    object     TEXT,
    outcome    TEXT   NOT NULL,
    details    TEXT   NOT NULL,
    source     TEXT,
    request_id TEXT,
    prev_hash  TEXT   NOT NULL,
    hash       TEXT   NOT NULL UNIQUE
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_phone ON audit_log (phone, id) WHERE phone IS NOT NULL;
CREATE INDEX audit_log_event ON audit_log (event, id);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: its rows cannot be changed or deleted (%)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
