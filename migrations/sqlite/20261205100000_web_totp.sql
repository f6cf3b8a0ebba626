-- Web sign-in's second factor (sqlite; issue 18 item 10). Keep in step with
-- ../postgres/20261205100000_web_totp.sql: same tables, columns, constraints and meaning. Times are
-- unix milliseconds UTC. Checklist "Sign-in and sessions": administrators get a second factor.

-- A web user's TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps). The secret is sealed
-- with a subkey of the platform key (secrets.key_file, purpose "web-totp"; XChaCha20-Poly1305
-- with the login as associated data, text "v1." + hex of nonce, ciphertext and tag), so that a
-- copy of the database alone gives no codes. A row whose enabled_at is NULL is an enrolment
-- shown but not yet confirmed with a code: it asks nothing at sign-in.
CREATE TABLE web_totp (
    login      TEXT    PRIMARY KEY REFERENCES users (login) ON DELETE CASCADE,
    secret     TEXT    NOT NULL,
    enabled_at INTEGER,
    -- The time step (unix seconds / 30) of the last code accepted: a code of that step or an
    -- earlier one is refused, so that each code is used once.
    last_step  INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Recovery codes: ten per enrolment, shown once; stored as the hex HMAC-SHA256 of the login and
-- the code under a subkey of the platform key (purpose "web-recovery-codes"). Each is good
-- once: used_at is set when it is.
CREATE TABLE web_recovery_codes (
    login     TEXT    NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (login, code_hash)
);

-- What a session may do: 'full' (signed in), 'code' (the password was right; the second factor
-- is asked next, nothing else is allowed) or 'enrol' (the user's role requires a second factor
-- the user does not have yet: only its enrolment is allowed). verified_at: when the user last
-- proved who they are (password and code at sign-in, or again for a sensitive action); 0 for
-- sessions older than this column.
ALTER TABLE web_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full'
    CHECK (stage IN ('full', 'code', 'enrol'));
ALTER TABLE web_sessions ADD COLUMN verified_at INTEGER NOT NULL DEFAULT 0;
