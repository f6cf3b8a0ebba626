-- Keep in step with ../postgres/20261202100000_messages_peer_by_tail.sql.
-- Finding one number's messages without a random index write for every message stored.
--
-- messages_peer (peer, id) put each new message's entry at its number's place in the index: a
-- different leaf page for nearly every recipient of a group send to numbers scattered as a staff
-- list's are. Those page writes were most of the cost of storing a message: issue 5's benchmark
-- stored 49,000 such recipients a second with it and 87,000 with this index instead.
--
-- messages_peer_tail orders entries by the number's last two characters first, then by id, so a
-- new message's entry is always appended at the end of one of about a hundred runs (one per
-- ending 00..99): a commit dirties at most about a hundred leaf pages whatever its size. Finding
-- a number reads its run (about 1% of the index; 1.3 ms for 2 million messages) and keeps the
-- entries whose number matches; the index holds the number, so only those rows are read.
-- Queries name the same expression (store::query::PEER_TAIL); it means the same on SQLite and
-- PostgreSQL (1-based substr; a number shorter than two characters is its own tail).
DROP INDEX IF EXISTS messages_peer;
CREATE INDEX messages_peer_tail ON messages (substr(peer, length(peer) - 1), id, peer);
