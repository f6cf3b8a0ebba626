-- Keep in step with ../postgres/20261206120000_unmatched_status_reports.sql.
-- Status reports that matched no sent part when they arrived, kept instead of dropped.
--
-- A report is matched to a part by modem, TP-MR and recipient (TP-RA). The modem can hand over
-- the +CDS before the driver has recorded the part's TP-MR from the +CMGS answer: such an early
-- report waits here and is applied (and removed) when its part is recorded shortly after. Others
-- (a report for a part sent before the store knew of it, a duplicate) stay for inspection.
CREATE TABLE unmatched_status_reports (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    modem             TEXT    NOT NULL,
    message_reference INTEGER NOT NULL CHECK (message_reference BETWEEN 0 AND 255),
    -- TP-RA normalised as message peers are.
    recipient         TEXT    NOT NULL,
    status            INTEGER NOT NULL CHECK (status BETWEEN 0 AND 255),
    outcome           TEXT    NOT NULL CHECK (outcome IN ('delivered', 'failed', 'pending')),
    received_at       INTEGER NOT NULL
);

-- Finding the reports waiting for a part as it is recorded.
CREATE INDEX unmatched_status_reports_part
    ON unmatched_status_reports (modem, message_reference, received_at);
