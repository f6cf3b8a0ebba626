-- The web admin's own data (sqlite; issue 4). Keep in step with
-- ../postgres/20261201120000_web_admin.sql: same tables, columns, constraints and meaning.
-- Times are unix milliseconds UTC.

-- The address book (R21): departments nested to any depth, contacts with several numbers,
-- groups that mix contacts and whole departments. A department with people or
-- sub-departments cannot be deleted (the application says so; RESTRICT makes sure).
CREATE TABLE ab_departments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id  INTEGER REFERENCES ab_departments (id) ON DELETE RESTRICT,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ab_departments_parent ON ab_departments (parent_id);

CREATE TABLE ab_contacts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    title         TEXT    NOT NULL DEFAULT '',
    department_id INTEGER REFERENCES ab_departments (id) ON DELETE RESTRICT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX ab_contacts_department ON ab_contacts (department_id);

-- A contact's numbers, canonical (+8613800000001), in order: messages go to seq 1.
CREATE TABLE ab_contact_numbers (
    contact_id INTEGER NOT NULL REFERENCES ab_contacts (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    number     TEXT    NOT NULL,
    PRIMARY KEY (contact_id, seq)
);
CREATE INDEX ab_contact_numbers_number ON ab_contact_numbers (number);

CREATE TABLE ab_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A member is a contact or a department (with everything below it), never both.
CREATE TABLE ab_group_members (
    group_id      INTEGER NOT NULL REFERENCES ab_groups (id) ON DELETE CASCADE,
    contact_id    INTEGER REFERENCES ab_contacts (id) ON DELETE CASCADE,
    department_id INTEGER REFERENCES ab_departments (id) ON DELETE CASCADE,
    CHECK ((contact_id IS NULL) <> (department_id IS NULL))
);
CREATE UNIQUE INDEX ab_group_members_contact ON ab_group_members (group_id, contact_id)
    WHERE contact_id IS NOT NULL;
CREATE UNIQUE INDEX ab_group_members_department ON ab_group_members (group_id, department_id)
    WHERE department_id IS NOT NULL;

-- What one web user prepared and will come back to: a send draft waiting for confirmation,
-- a phone import's report. Owned by one login, kept a day, deleted when used (a confirmed
-- draft is deleted in the transaction that queues its messages, so it is sent once).
CREATE TABLE web_stash (
    id         TEXT    PRIMARY KEY,
    login      TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('send_draft', 'phone_import')),
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_stash_expires ON web_stash (expires_at);

-- The sends made on the web admin (R7): who sent what to how many, for the results page; the
-- messages carry the batch id.
CREATE TABLE web_sends (
    batch_id   TEXT    PRIMARY KEY,
    login      TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    recipients INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Recipient names of a web send, by message (the address book may change afterwards).
CREATE TABLE web_send_names (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL
);

-- The dashboard's per-minute chart and today's counts read messages by time.
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_sent ON messages (sent_at) WHERE sent_at IS NOT NULL;
