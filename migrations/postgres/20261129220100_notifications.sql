-- OA reminders and citizen application notices (issue 5; R17, R19). Keep in step with
-- ../sqlite/20261129220100_notifications.sql: same tables, columns, constraints, seed rows and
-- meaning. Times are unix milliseconds UTC.

-- The administrator-edited texts of the notices, one per kind (`oa.todo`, `oa.read`,
-- `citizen.passport`, `citizen.exit_entry`, `citizen.id_card`). Placeholders such as `{title}`
-- are filled in when a notice is sent; a `[[...]]` segment is left out when a placeholder in it
-- has no value. Changed with `jingxun template set` (audited); the library checks the text.
CREATE TABLE notification_templates (
    name       TEXT    PRIMARY KEY,
    text       TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL,
    -- Who set the text (`cli:<user>`); `default` for the seeded texts.
    updated_by TEXT    NOT NULL
);

-- The latest known status of each citizen application (passport, exit-entry permit, ID card),
-- written in the transaction that queues its notice, so that a citizen can query it by SMS
-- (R17). `phone` is the citizen's number (canonical) that the office gave with the notice.
CREATE TABLE citizen_applications (
    kind               TEXT    NOT NULL CHECK (kind IN ('passport', 'exit_entry', 'id_card')),
    application_number TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    phone              TEXT    NOT NULL,
    name               TEXT,
    note               TEXT,
    -- The API key (its name) of the office that sent the latest notice.
    api_key            TEXT    NOT NULL,
    -- The notice message of the latest status.
    message_id         BIGINT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    PRIMARY KEY (kind, application_number)
);

INSERT INTO notification_templates (name, text, updated_at, updated_by) VALUES
    ('oa.todo', '【OA待办】{name}：您有一项待办事项“{title}”[[，来自{from}]][[，请于{due}前办理]]。请登录OA系统处理。', 0, 'default'),
    ('oa.read', '【OA待阅】{name}：您有一份待阅文件“{title}”[[，来自{from}]][[，请于{due}前阅知]]。请登录OA系统查阅。', 0, 'default'),
    ('citizen.passport', '【公安出入境】[[{name}，]]您的护照申请（受理编号{application_number}）当前状态：{status}。[[{note}]]', 0, 'default'),
    ('citizen.exit_entry', '【公安出入境】[[{name}，]]您的出入境通行证申请（受理编号{application_number}）当前状态：{status}。[[{note}]]', 0, 'default'),
    ('citizen.id_card', '【公安户政】[[{name}，]]您的居民身份证申请（受理编号{application_number}）当前状态：{status}。[[{note}]]', 0, 'default');
