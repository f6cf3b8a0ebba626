-- Keep in step with ../postgres/20261208150000_members_channels_news.sql: same tables, columns, constraints and meaning.
-- Times are unix milliseconds UTC; phone numbers canonical (+8613800000001).
-- Members, channels and news (issue 14; R3, R4, R9-R13, R16): the public website's half.

-- Members of the police website: people who are not police staff, with their own sign-in.
-- A phone is bound to at most one member (R9); caps limit the news SMS a member receives per
-- day and per month in the platform's time zone (NULL: no cap; replies to the member's own
-- commands never count).
CREATE TABLE members (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    login          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    password_hash  TEXT,
    phone          TEXT    UNIQUE,
    phone_bound_at BIGINT,
    daily_cap      BIGINT  CHECK (daily_cap IS NULL OR daily_cap >= 0),
    monthly_cap    BIGINT  CHECK (monthly_cap IS NULL OR monthly_cap >= 0),
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    CHECK ((phone IS NULL) = (phone_bound_at IS NULL))
);

-- Channels (news columns are channels, R3, R4): content reaches only the audience, all members
-- or the staff of one role or one address-book group. An item stays valid `validity_ms` after
-- it is published (NULL: until removed); `digest_at` ("HH:MM") sends the day's items at once.
CREATE TABLE channels (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    audience_kind  TEXT    NOT NULL CHECK (audience_kind IN ('members', 'role', 'group')),
    audience_name  TEXT,
    validity_ms    BIGINT  CHECK (validity_ms IS NULL OR validity_ms > 0),
    digest_at      TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    CHECK ((audience_kind = 'members') = (audience_name IS NULL))
);

-- Who follows a channel: a member (whichever phone they have bound when an item goes out), or
-- a staff phone (role and group channels), canonical.
CREATE TABLE channel_subscriptions (
    channel_id  BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    member_id   BIGINT  REFERENCES members (id) ON DELETE CASCADE,
    phone       TEXT,
    created_at  BIGINT  NOT NULL,
    CHECK ((member_id IS NULL) <> (phone IS NULL))
);
CREATE UNIQUE INDEX channel_subscriptions_member ON channel_subscriptions (channel_id, member_id)
    WHERE member_id IS NOT NULL;
CREATE UNIQUE INDEX channel_subscriptions_phone ON channel_subscriptions (channel_id, phone)
    WHERE phone IS NOT NULL;
CREATE INDEX channel_subscriptions_of_member ON channel_subscriptions (member_id)
    WHERE member_id IS NOT NULL;

-- Published items. A publish retried with the same idempotency key finds its item.
CREATE TABLE news_items (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id       BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    title            TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    published_at     BIGINT  NOT NULL,
    valid_until      BIGINT,
    published_by     TEXT    NOT NULL,
    idempotency_key  TEXT,
    UNIQUE (channel_id, idempotency_key)
);
CREATE INDEX news_items_latest ON news_items (channel_id, published_at);

-- One item's way to one subscriber: queued (with its message) or skipped over the member's
-- cap, written in the transaction that queues the message; unique, so that an item reaches
-- each subscriber once however often its fan-out is retried.
CREATE TABLE news_deliveries (
    item_id     BIGINT  NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    phone       TEXT    NOT NULL,
    member_id   BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('queued', 'over-cap')),
    message_id  BIGINT,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (item_id, phone)
);

-- The billing ledger (R12): one row per SMS queued to a member on the platform's behalf (news,
-- a recommendation), with its parts, in the transaction that queues it. `month` ("YYYY-MM")
-- and `day` ("YYYY-MM-DD") are in the platform's time zone, for caps and monthly usage.
CREATE TABLE billing_ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id   BIGINT  NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('news', 'recommend')),
    channel_id  BIGINT  REFERENCES channels (id) ON DELETE SET NULL,
    item_id     BIGINT  REFERENCES news_items (id) ON DELETE SET NULL,
    message_id  BIGINT  NOT NULL,
    parts       BIGINT  NOT NULL CHECK (parts >= 1),
    month       TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX billing_ledger_member_day ON billing_ledger (member_id, day);
CREATE INDEX billing_ledger_month ON billing_ledger (month, member_id);
