-- Web admin sign-in (postgres; issue 4). Keep in step with ../sqlite/20261129220300_web_accounts.sql:
-- same tables, columns, constraints and meaning. Times are unix milliseconds UTC.
-- Checklist "Sign-in and sessions": argon2id hashes, lock-out per account, server-side sessions
-- whose ids are stored only as their SHA-256.

-- The web password of a directory user. A user without a row here cannot sign in to the web
-- admin (officers who only text commands need none). The hash is an argon2id PHC string
-- ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the password itself is never stored.
CREATE TABLE web_accounts (
    login               TEXT    PRIMARY KEY REFERENCES users (login) ON DELETE CASCADE,
    password_hash       TEXT    NOT NULL,
    -- Consecutive failed sign-ins since the last success or lock-out.
    failed_count        BIGINT NOT NULL DEFAULT 0,
    -- Sign-in is refused until this time after too many failures.
    locked_until        BIGINT,
    password_changed_at BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- Signed-in browsers. The cookie carries a 128-bit random id; only its hex SHA-256 is stored,
-- so a copy of the database opens no session. A session ends at sign-out, at expires_at
-- (absolute limit), after idle_ms without a request, or when its user's password changes.
CREATE TABLE web_sessions (
    id_hash      TEXT    PRIMARY KEY,
    login        TEXT    NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_ms      BIGINT NOT NULL CHECK (idle_ms > 0),
    expires_at   BIGINT NOT NULL
);
CREATE INDEX web_sessions_login ON web_sessions (login);
