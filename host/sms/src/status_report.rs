//! SMS-STATUS-REPORT (TS 23.040 §9.2.2.3): the SMSC's report on a message the modem submitted,
//! matched to it by TP-MR.

use super::address::{self, Address};
use super::reader::Reader;
use super::{PduError, timestamp};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

const MTI_STATUS_REPORT: u8 = 0x02;
/// TP-MMS set: no more messages waiting.
const NO_MORE_MESSAGES: u8 = 0x04;

/// A delivery report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The SMSC that sent it, if the modem printed one.
    pub smsc: Option<Address>,
    /// TP-MR of the submitted message (the `+CMGS: <mr>` the modem answered).
    pub message_reference: u8,
    /// TP-RA: the recipient of the submitted message.
    pub recipient: Address,
    /// TP-SCTS: when the SMSC received the submitted message.
    pub service_centre_time: DateTime<FixedOffset>,
    /// TP-DT: when the message was delivered, or the status last changed.
    pub discharge_time: DateTime<FixedOffset>,
    /// TP-ST.
    pub status: u8,
}

/// What a TP-ST value means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOutcome {
    /// Delivered (0x00-0x1F: "short message transaction completed").
    Delivered,
    /// Not yet delivered; the SMSC is still trying (0x20-0x3F: temporary error).
    Pending,
    /// Will not be delivered (0x40-0x7F: permanent error, or temporary error with no more
    /// attempts; 0x80-0xFF, reserved, are treated as failures too since nothing says delivered).
    Failed,
}

impl StatusReport {
    /// What the status means (TS 23.040 §9.2.3.15).
    pub fn outcome(&self) -> DeliveryOutcome {
        match self.status {
            0x00..=0x1F => DeliveryOutcome::Delivered,
            0x20..=0x3F => DeliveryOutcome::Pending,
            _ => DeliveryOutcome::Failed,
        }
    }
}

/// Reads an SMS-STATUS-REPORT TPDU, the SMSC information already read. Optional fields after
/// TP-ST (parameter indicator, PID, DCS, user data) are ignored.
pub(crate) fn read_status_report(
    reader: &mut Reader<'_>,
    smsc: Option<Address>,
) -> Result<StatusReport, PduError> {
    let first = reader.u8("first octet")?;
    debug_assert_eq!(first & 0x03, MTI_STATUS_REPORT);
    let message_reference = reader.u8("message reference")?;
    let recipient = address::read_address(reader, "recipient address")?;
    let service_centre_time = timestamp::decode(reader.array("service centre time stamp")?)?;
    let discharge_time = timestamp::decode(reader.array("discharge time")?)?;
    let status = reader.u8("status")?;
    Ok(StatusReport {
        smsc,
        message_reference,
        recipient,
        service_centre_time,
        discharge_time,
        status,
    })
}

/// Builds an SMS-STATUS-REPORT PDU with SMSC information `0x00` first, for the modem simulator
/// and tests. A recipient that cannot be encoded (empty, or bad characters) is written as an
/// empty address; times are written as [`super::encode_deliver`] writes them.
pub fn encode_status_report(
    message_reference: u8,
    recipient: &Address,
    service_centre_time: DateTime<FixedOffset>,
    discharge_time: DateTime<FixedOffset>,
    status: u8,
) -> Vec<u8> {
    let mut pdu = Vec::with_capacity(32);
    pdu.push(0x00);
    pdu.push(MTI_STATUS_REPORT | NO_MORE_MESSAGES);
    pdu.push(message_reference);
    let mark = pdu.len();
    if let Err(e) = address::write_address(recipient, &mut pdu) {
        tracing::warn!(error = %e, "status report recipient cannot be encoded; writing an empty address");
        pdu.truncate(mark);
        pdu.extend_from_slice(&[0x00, 0x81]);
    }
    timestamp::encode(&service_centre_time, &mut pdu);
    timestamp::encode(&discharge_time, &mut pdu);
    pdu.push(status);
    pdu
}

#[cfg(test)]
mod tests {
    use super::super::{Incoming, decode_incoming, decode_incoming_hex};
    use super::*;

    fn report(hex: &str) -> StatusReport {
        match decode_incoming_hex(hex).unwrap() {
            Incoming::StatusReport(r) => r,
            other => panic!("expected a status report, got {other:?}"),
        }
    }

    fn time(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    /// A status report from SMSLib's tests: delivered.
    #[test]
    fn decodes_a_published_delivered_report() {
        let r = report("079144973770939906270C91449777621047012021216043000120212160930000");
        assert_eq!(r.smsc, Some(Address::international("447973073999")));
        assert_eq!(r.message_reference, 0x27);
        assert_eq!(r.recipient, Address::international("447977260174"));
        assert_eq!(r.service_centre_time, time("2010-02-12T12:06:34+00:00"));
        assert_eq!(r.discharge_time, time("2010-02-12T12:06:39+00:00"));
        assert_eq!(r.status, 0x00);
        assert_eq!(r.outcome(), DeliveryOutcome::Delivered);
    }

    /// A status report from python-messaging's tests: TP-ST 0x43 ("not obtainable"), a
    /// permanent failure.
    #[test]
    fn decodes_a_published_failed_report() {
        let r = report("07914306073011F006270B913426565711F7012081111345400120811174054043");
        assert_eq!(r.smsc, Some(Address::international("34607003110")));
        assert_eq!(r.message_reference, 0x27);
        assert_eq!(r.recipient, Address::international("43626575117"));
        assert_eq!(r.service_centre_time, time("2010-02-18T11:31:54+01:00"));
        assert_eq!(r.discharge_time, time("2010-02-18T11:47:50+01:00"));
        assert_eq!(r.status, 0x43);
        assert_eq!(r.outcome(), DeliveryOutcome::Failed);
    }

    #[test]
    fn outcome_follows_the_status_ranges() {
        let mut r = report("079144973770939906270C91449777621047012021216043000120212160930000");
        for (status, outcome) in [
            (0x00, DeliveryOutcome::Delivered),
            (0x02, DeliveryOutcome::Delivered),
            (0x1F, DeliveryOutcome::Delivered),
            (0x20, DeliveryOutcome::Pending),
            (0x30, DeliveryOutcome::Pending),
            (0x3F, DeliveryOutcome::Pending),
            (0x40, DeliveryOutcome::Failed),
            (0x65, DeliveryOutcome::Failed),
            (0x7F, DeliveryOutcome::Failed),
            (0x80, DeliveryOutcome::Failed),
        ] {
            r.status = status;
            assert_eq!(r.outcome(), outcome, "{status:#04x}");
        }
    }

    #[test]
    fn encoded_report_decodes_back() {
        let sent = time("2026-04-01T10:00:00+08:00");
        let done = time("2026-04-01T10:00:07+08:00");
        let pdu = encode_status_report(
            42,
            &Address::international("8613800000000"),
            sent,
            done,
            0x30,
        );
        let Incoming::StatusReport(r) = decode_incoming(&pdu).unwrap() else {
            panic!("not a status report")
        };
        assert_eq!(
            r,
            StatusReport {
                smsc: None,
                message_reference: 42,
                recipient: Address::international("8613800000000"),
                service_centre_time: sent,
                discharge_time: done,
                status: 0x30,
            }
        );
        assert_eq!(r.outcome(), DeliveryOutcome::Pending);
    }

    #[test]
    fn truncated_report_names_the_missing_field() {
        let err =
            decode_incoming_hex("0006270C914497776210470120212160430001202121609300").unwrap_err();
        assert_eq!(
            err.to_string(),
            "PDU truncated: expected 1 more octets for the status, but only 0 remain"
        );
    }
}
