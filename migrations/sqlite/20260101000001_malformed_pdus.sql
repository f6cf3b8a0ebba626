-- PDUs the modem delivered that could not be decoded: kept exactly as received, with the reason,
-- so that nothing a phone sent is lost silently. Same table in ../postgres/.
CREATE TABLE inbound_malformed (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    modem     TEXT    NOT NULL,
    raw_pdu   TEXT    NOT NULL,
    error     TEXT    NOT NULL,
    stored_at INTEGER NOT NULL
);
CREATE INDEX inbound_malformed_pdu ON inbound_malformed (modem, raw_pdu);
