-- Keep in step with ../postgres/20261207120000_plugin_capability_grants.sql.
-- Plugin contract 1.1 (issue 13): besides datasources and HTTP hosts, an administrator grants a
-- plugin host capabilities by name ('directory', 'citizen'), each separately. SQLite cannot
-- change a CHECK in place: the table is rebuilt with the same columns and rows.
CREATE TABLE plugin_grants_new (
    plugin     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('datasource', 'http-host', 'capability')),
    target     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, kind, target)
);
INSERT INTO plugin_grants_new (plugin, kind, target, granted_at)
    SELECT plugin, kind, target, granted_at FROM plugin_grants;
DROP TABLE plugin_grants;
ALTER TABLE plugin_grants_new RENAME TO plugin_grants;

-- The address book query `TXL` (the bundled `directory` plugin) is an officer's business like
-- the four police queries: the built-in officer role holds it (an administrator may take it away).
INSERT INTO role_businesses (role, keyword) VALUES ('officer', 'TXL');
