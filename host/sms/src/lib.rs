//! The 3GPP TS 23.040 SMS codec: SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT PDUs, the GSM 7-bit
//! and UCS2 alphabets, concatenation headers and the splitting of long texts into parts (R1).
//!
//! Everything here is pure and synchronous. PDUs are in the form a modem uses in PDU mode
//! (3GPP TS 27.005, `AT+CMGF=0`): the SMSC information first, then the TPDU.
//!
//! - Decoding: [`decode_incoming`] / [`decode_incoming_hex`] for what a modem hands the host
//!   (`+CMT`, `+CMGR`, `+CMGL`, `+CDS`), [`decode_submit`] for what the host hands a modem (used by
//!   the modem simulator). Decoders never panic, whatever the input.
//! - Encoding: [`encode_submit`] splits a text into parts ready for `AT+CMGS`; [`plan`] tells in
//!   advance what it would do. [`encode_deliver`] and [`encode_status_report`] build the PDUs a
//!   network would send, for the simulator and tests.
//!
//! The codec is written here rather than taken from a crate: the crates on offer (`sms-pdu`,
//! `sms-pdu-decoder`) decode only, or lack status reports, 16-bit concatenation references, the
//! relative validity mapping or the never-split guarantees for escapes and surrogate pairs that
//! this platform needs, and the whole codec is a few hundred lines of table-driven code.

mod address;
mod dcs;
mod deliver;
mod gsm7;
mod reader;
mod split;
mod status_report;
mod submit;
mod timestamp;
mod ucs2;
mod udh;
mod user_data;

#[cfg(test)]
mod roundtrip_tests;

pub use address::{Address, AddressKind};
pub use dcs::{DataCoding, interpret_dcs};
pub use deliver::{
    Deliver, DeliverOptions, encode_deliver, encode_deliver_ucs2_chunks, join_parts,
};
pub use gsm7::{is_gsm7_char, is_gsm7_text};
pub use split::{Plan, plan, plan_with};
pub use status_report::{DeliveryOutcome, StatusReport, encode_status_report};
pub use submit::{Submit, SubmitOptions, SubmitPart, decode_submit, encode_submit};
pub use timestamp::{relative_validity, relative_validity_duration};
pub use udh::Concat;

use reader::Reader;
use serde::{Deserialize, Serialize};

/// The alphabet of a message's user data (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The GSM 7-bit default alphabet with its extension table; the user data length counts
    /// septets.
    Gsm7,
    /// UCS2, sent as UTF-16BE so that characters outside the BMP travel as surrogate pairs.
    Ucs2,
    /// 8-bit data, also used for reserved or compressed coding schemes: the octets are kept as
    /// they are.
    Data8,
}

impl Encoding {
    /// The name used in JSON, logs and the store: `gsm7`, `ucs2` or `data8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
            Encoding::Data8 => "data8",
        }
    }

    /// The encoding of a name [`Encoding::as_str`] gives; `None` for any other text.
    pub fn from_name(name: &str) -> Option<Encoding> {
        [Encoding::Gsm7, Encoding::Ucs2, Encoding::Data8]
            .into_iter()
            .find(|e| e.as_str() == name)
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a PDU could not be decoded, or a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// The PDU ended before a field it announces.
    #[error(
        "PDU truncated: expected {needed} more octets for the {field}, but only {available} remain"
    )]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Octets the field needs.
        needed: usize,
        /// Octets left in the PDU.
        available: usize,
    },
    /// The hex text given for a PDU is not hex.
    #[error(
        "PDU is not valid hex ({0}); expected an even number of hex digits as printed by the modem"
    )]
    InvalidHex(String),
    /// The TPDU is of another type than the caller can handle.
    #[error("unexpected {found} PDU (TP-MTI {mti}); expected {expected}")]
    UnexpectedMessageType {
        /// What the PDU is.
        found: &'static str,
        /// The TP-MTI bits.
        mti: u8,
        /// What was expected.
        expected: &'static str,
    },
    /// An address is empty, too long or has a character it cannot carry.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// A time stamp field does not hold a valid date, time or time zone.
    #[error("invalid time stamp: {0}")]
    InvalidTimestamp(String),
    /// The user data (or its header) contradicts its own length fields.
    #[error("invalid user data: {0}")]
    InvalidUserData(String),
    /// The text needs more parts than a concatenation header can number.
    #[error("text needs {parts} parts but a concatenated message has at most 255; shorten it")]
    TooManyParts {
        /// The parts the text would need.
        parts: usize,
    },
}

/// A PDU a modem hands the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A received short message.
    Deliver(Deliver),
    /// A delivery report for a message the host sent.
    StatusReport(StatusReport),
}

/// Decodes a PDU from a modem (`+CMT`, `+CMGR`, `+CMGL`, `+CDS`): SMSC information first, then
/// an SMS-DELIVER or SMS-STATUS-REPORT TPDU. Octets after the last field are ignored.
pub fn decode_incoming(pdu: &[u8]) -> Result<Incoming, PduError> {
    let mut reader = Reader::new(pdu);
    let smsc = address::read_smsc(&mut reader)?;
    let first_octet = reader.peek("first octet")?;
    match first_octet & 0x03 {
        0x00 => deliver::read_deliver(&mut reader, smsc).map(Incoming::Deliver),
        0x02 => status_report::read_status_report(&mut reader, smsc).map(Incoming::StatusReport),
        mti => Err(PduError::UnexpectedMessageType {
            found: if mti == 0x01 {
                "SMS-SUBMIT"
            } else {
                "reserved"
            },
            mti,
            expected: "SMS-DELIVER or SMS-STATUS-REPORT",
        }),
    }
}

/// [`decode_incoming`] on the hex text a modem prints; either case and surrounding whitespace
/// are accepted.
pub fn decode_incoming_hex(hex: &str) -> Result<Incoming, PduError> {
    decode_incoming(&decode_hex(hex)?)
}

/// Hex text (either case, surrounding whitespace ignored) to octets.
pub(crate) fn decode_hex(text: &str) -> Result<Vec<u8>, PduError> {
    hex::decode(text.trim()).map_err(|e| PduError::InvalidHex(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_serializes_as_lowercase_names() {
        assert_eq!(serde_json::to_string(&Encoding::Gsm7).unwrap(), "\"gsm7\"");
        assert_eq!(serde_json::to_string(&Encoding::Ucs2).unwrap(), "\"ucs2\"");
        assert_eq!(
            serde_json::to_string(&Encoding::Data8).unwrap(),
            "\"data8\""
        );
        assert_eq!(Encoding::Ucs2.to_string(), "ucs2");
    }

    #[test]
    fn hex_input_tolerates_case_and_surrounding_whitespace() {
        let upper = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
        let messy = format!("  \r\n{}\r\n", upper.to_lowercase());
        assert_eq!(
            decode_incoming_hex(upper).unwrap(),
            decode_incoming_hex(&messy).unwrap()
        );
    }

    #[test]
    fn hex_input_with_odd_length_or_bad_digits_is_an_error() {
        let err = decode_incoming_hex("0791F").unwrap_err();
        assert!(matches!(err, PduError::InvalidHex(_)), "{err}");
        let err = decode_incoming_hex("07ZZ").unwrap_err();
        assert!(matches!(err, PduError::InvalidHex(_)), "{err}");
    }

    #[test]
    fn submit_pdu_is_rejected_as_incoming_with_a_clear_message() {
        let err =
            decode_incoming_hex("0011000B916407281553F80000AA0AE8329BFD4697D9EC37").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected SMS-SUBMIT PDU (TP-MTI 1); expected SMS-DELIVER or SMS-STATUS-REPORT"
        );
    }

    #[test]
    fn empty_input_reports_truncation_of_the_smsc_information() {
        let err = decode_incoming(&[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PDU truncated: expected 1 more octets for the SMSC information length, but only 0 remain"
        );
    }

    #[test]
    fn every_encoding_reads_back_from_its_name_and_nothing_else_does() {
        for e in [Encoding::Gsm7, Encoding::Ucs2, Encoding::Data8] {
            assert_eq!(Encoding::from_name(e.as_str()), Some(e));
        }
        assert_eq!(Encoding::from_name("UCS2"), None);
        assert_eq!(Encoding::from_name("latin1"), None);
    }
}
