-- Keep in step with ../sqlite/20261207120000_plugin_capability_grants.sql.
-- Plugin contract 1.1 (issue 13): besides datasources and HTTP hosts, an administrator grants a
-- plugin host capabilities by name ('directory', 'citizen'), each separately.
ALTER TABLE plugin_grants DROP CONSTRAINT plugin_grants_kind_check;
ALTER TABLE plugin_grants ADD CONSTRAINT plugin_grants_kind_check
    CHECK (kind IN ('datasource', 'http-host', 'capability'));

-- The address book query `TXL` (the bundled `directory` plugin) is an officer's business like
-- the four police queries: the built-in officer role holds it (an administrator may take it away).
INSERT INTO role_businesses (role, keyword) VALUES ('officer', 'TXL');
