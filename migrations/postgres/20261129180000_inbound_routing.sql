-- Routing of inbound messages to the command router: a message is handed to one router at a
-- time under a lease, and marked routed in the same transaction that queues its replies, so a
-- crash neither loses a command nor answers it twice.
ALTER TABLE messages ADD COLUMN routed_at BIGINT;
ALTER TABLE messages ADD COLUMN route_lease_until BIGINT;
CREATE INDEX messages_unrouted ON messages (id) WHERE direction = 'in' AND routed_at IS NULL;
