-- Plugin platform (issue 3, R5). Keep in step with ../postgres/20261129200000_plugins.sql.
-- Times are unix milliseconds UTC; integers that mean booleans are 0/1.

-- Datasources plugins may query read-only, by name (`jingxun datasource add`).
CREATE TABLE datasources (
    name       TEXT    PRIMARY KEY,
    url        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Every installed version of every plugin: the component itself and what its manifest said.
-- Only a plugin's current and previous versions are kept (older ones are deleted on upgrade).
CREATE TABLE plugin_versions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin       TEXT    NOT NULL,
    version      TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    -- The keywords and requested datasources, space-separated, for conflict checks and grants.
    keywords     TEXT    NOT NULL,
    datasources  TEXT    NOT NULL,
    -- The manifest as JSON.
    manifest     TEXT    NOT NULL,
    component    BLOB    NOT NULL,
    installed_at INTEGER NOT NULL
);
CREATE INDEX plugin_versions_plugin ON plugin_versions (plugin, id);

-- One row per installed plugin: which version runs, which one a rollback returns to.
CREATE TABLE plugins (
    name             TEXT    PRIMARY KEY,
    enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Installed from the bundled directory at first start: such plugins are granted the
    -- datasources they ask for when those are added.
    bundled          INTEGER NOT NULL DEFAULT 0 CHECK (bundled IN (0, 1)),
    current_version  INTEGER NOT NULL REFERENCES plugin_versions (id),
    previous_version INTEGER REFERENCES plugin_versions (id),
    updated_at       INTEGER NOT NULL
);

-- What an administrator allowed each plugin: datasources by name, HTTP hosts by name.
CREATE TABLE plugin_grants (
    plugin     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('datasource', 'http-host')),
    target     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, kind, target)
);

-- Each plugin's configuration values (`config.get`).
CREATE TABLE plugin_config (
    plugin     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, key)
);

-- One row: `generation` counts every change above, so that a running daemon notices changes made
-- by another process (the CLI); `bundled_installed` is set once the bundled plugins were installed.
CREATE TABLE plugin_registry (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    generation        INTEGER NOT NULL,
    bundled_installed INTEGER NOT NULL CHECK (bundled_installed IN (0, 1))
);
INSERT INTO plugin_registry (id, generation, bundled_installed) VALUES (1, 0, 0);
