-- Retention (issue 18 item 12; `jingxun::store::retention`). Keep in step with
-- ../postgres/20261204090000_retention.sql.
-- Retention deletes old finished messages, and with them their webhook deliveries. Every
-- other table that references messages (parts, inbound parts, the API inbox, web send names)
-- has an index leading with message_id; this one had none, so each message deleted would scan
-- the whole table (for the deletion itself and for the foreign key's check). New deliveries
-- get ever larger message ids, so the index grows at its end.
CREATE INDEX api_webhook_deliveries_message ON api_webhook_deliveries (message_id);
