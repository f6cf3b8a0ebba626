-- Keep in step with ../postgres/20261206140000_sender_kind.sql.
-- Alphanumeric senders (issue 18 finding 6): a received SMS whose originator is an alphanumeric
-- name (TP-OA type of number 101, e.g. a bank's "ICBC", or "13800000001" typed as a name by
-- whoever sent it) is kept with that name as it came and marked so, never read as a phone
-- number: such a sender can claim any name, so it must not be matched against registered phones.
-- 'number' for every row stored before, and for every outbound message.
ALTER TABLE inbound_parts ADD COLUMN sender_kind TEXT NOT NULL DEFAULT 'number'
    CHECK (sender_kind IN ('number', 'alphanumeric'));
ALTER TABLE messages ADD COLUMN peer_kind TEXT NOT NULL DEFAULT 'number'
    CHECK (peer_kind IN ('number', 'alphanumeric'));

-- A concatenated set belongs to one sender of one kind: the name "10086" and the number 10086
-- are different senders.
DROP INDEX inbound_parts_open_slot;
CREATE UNIQUE INDEX inbound_parts_open_slot
    ON inbound_parts (sender, sender_kind, concat_reference, parts_total, seq)
    WHERE message_id IS NULL;
