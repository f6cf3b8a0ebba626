-- Keep in step with ../postgres/20261208090000_plugin_events_state.sql.
-- Plugin contract 1.1, part two (issue 13): host events delivered to plugins at least once,
-- and each plugin's durable key-value state.

-- Events as they happen, written in the transaction of what happened (a citizen application's
-- new status...). The plugin host fans each out to the plugins that asked for it, once.
CREATE TABLE host_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('application-changed')),
    payload        TEXT    NOT NULL,
    occurred_at    INTEGER NOT NULL,
    fanned_out_at  INTEGER
);
CREATE INDEX host_events_to_fan_out ON host_events (id) WHERE fanned_out_at IS NULL;

-- One delivery of one event (a host event, or a scheduled tick) to one plugin: pending until
-- the plugin's call returned ok and its effects were committed with `done`, or until it failed
-- every attempt. `event_key` is the id the plugin sees, unique per plugin, so that fanning out
-- or scheduling twice delivers once.
CREATE TABLE plugin_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin       TEXT    NOT NULL,
    event_key    TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('tick', 'application-changed')),
    payload      TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    due_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  INTEGER,
    finished_at  INTEGER,
    last_error   TEXT,
    UNIQUE (plugin, event_key)
);
CREATE INDEX plugin_events_due ON plugin_events (due_at) WHERE state = 'pending';

-- Each plugin's own values (capability `state`).
CREATE TABLE plugin_state (
    plugin      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    value       BLOB    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (plugin, key)
);
