-- Keep in step with ../postgres/20261202090000_drop_messages_api_key_index.sql.
-- Nothing reads messages by API key in bulk: a key reads its messages back by id
-- (GET /api/v1/messages/{id} checks messages.api_key of that one row). The index only cost
-- every API enqueue one more B-tree insert per recipient (issue 5's benchmark). A future
-- listing of a key's messages brings it back.
DROP INDEX IF EXISTS messages_api_key;
