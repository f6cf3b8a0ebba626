-- Jingxun directory (SQLite): users, roles, business grants, registered phones and the help text
-- (R2, R6, R15). Keep in step with ../postgres/20261129190000_directory.sql: same tables, columns,
-- constraints and meaning. Times are BIGINT unix milliseconds UTC; booleans are 0/1.
-- Logins are stored lower case, keywords upper case, phone numbers in the canonical form of
-- `jingxun::phone::PhoneNumber` (`+8613800000001`); the library enforces these forms.

-- People who may use the platform. Web sign-in (password hash, second factor) comes with the web
-- admin in its own migration; there are no default accounts.
CREATE TABLE users (
    login      TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Named groups of users; the built-in ones are seeded below and cannot be removed by the library.
CREATE TABLE roles (
    name        TEXT    PRIMARY KEY,
    description TEXT    NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at  INTEGER NOT NULL
);

CREATE TABLE user_roles (
    login TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    role  TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (login, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

-- Businesses (command keywords such as CP) granted to a role: every member may use them.
CREATE TABLE role_businesses (
    role    TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    PRIMARY KEY (role, keyword)
);

-- Businesses granted to one user directly, on top of those of the user's roles.
CREATE TABLE user_businesses (
    login   TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    PRIMARY KEY (login, keyword)
);

-- The registry of legitimate officer phones (R6), checked before every police command.
CREATE TABLE phones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    number      TEXT    NOT NULL UNIQUE,
    owner_name  TEXT    NOT NULL,
    user_login  TEXT    REFERENCES users (login),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    disabled_at INTEGER
);
CREATE INDEX phones_user ON phones (user_login) WHERE user_login IS NOT NULL;

-- The one administrator-edited help text sent in answer to `H` (R15); absent until first set.
CREATE TABLE help_text (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    text       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);

INSERT INTO roles (name, description, builtin, created_at) VALUES
    ('admin',     'administers users, roles, grants, plugins and settings', 1, 0),
    ('operator',  'runs the platform: modems, queues, datasources', 1, 0),
    ('registrar', 'maintains the registry of officer phones', 1, 0),
    ('auditor',   'reads and verifies the audit log', 1, 0),
    ('officer',   'sends police queries by SMS', 1, 0);

INSERT INTO role_businesses (role, keyword) VALUES
    ('officer', 'CP'), ('officer', 'JZ'), ('officer', 'SFZ'), ('officer', 'ZT');
