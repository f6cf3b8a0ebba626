//! SMS-SUBMIT (TS 23.040 §9.2.2.2): what the host hands the modem with `AT+CMGS`, split into
//! concatenated parts when the text is long.

use super::address::{self, Address, AddressKind};
use super::dcs::{dcs_for, interpret_dcs};
use super::reader::Reader;
use super::split::split;
use super::udh::Concat;
use super::{Encoding, PduError, timestamp, user_data};
use serde::Serialize;
use std::time::Duration;

const MTI_SUBMIT: u8 = 0x01;
/// TP-VPF = 10: relative validity period, one octet.
const VPF_RELATIVE: u8 = 0x10;
const VPF_MASK: u8 = 0x18;
const STATUS_REPORT_REQUEST: u8 = 0x20;
const UDHI: u8 = 0x40;

/// A decoded SMS-SUBMIT (one part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Submit {
    /// TP-DA.
    pub destination: Address,
    /// TP-MR.
    pub message_reference: u8,
    /// TP-SRR: a status report is requested.
    pub status_report_request: bool,
    /// TP-DCS as sent.
    pub dcs: u8,
    /// The alphabet of the user data.
    pub encoding: Encoding,
    /// The relative TP-VP octet; `None` when absent or in the absolute or enhanced format
    /// (those 7 octets are skipped).
    pub validity: Option<u8>,
    /// Where this part belongs, for a concatenated message.
    pub concat: Option<Concat>,
    /// The text of this part; for [`Encoding::Data8`] the uppercase hex of the octets.
    pub text: String,
    /// The user data after any header (unpacked septets for GSM 7-bit), as in
    /// [`super::Deliver::user_data`].
    pub user_data: Vec<u8>,
}

/// Decodes a PDU-mode SMS-SUBMIT: SMSC information (`0x00` for the default SMSC), then the TPDU.
/// Used by the modem simulator to read what the host sends.
pub fn decode_submit(pdu: &[u8]) -> Result<Submit, PduError> {
    let mut reader = Reader::new(pdu);
    address::read_smsc(&mut reader)?;
    let first = reader.u8("first octet")?;
    if first & 0x03 != MTI_SUBMIT {
        return Err(PduError::UnexpectedMessageType {
            found: match first & 0x03 {
                0x00 => "SMS-DELIVER",
                0x02 => "SMS-STATUS-REPORT",
                _ => "reserved",
            },
            mti: first & 0x03,
            expected: "SMS-SUBMIT",
        });
    }
    let message_reference = reader.u8("message reference")?;
    let destination = address::read_address(&mut reader, "destination address")?;
    let _protocol_id = reader.u8("protocol identifier")?;
    let dcs = reader.u8("data coding scheme")?;
    let validity = match first & VPF_MASK {
        0x00 => None,
        VPF_RELATIVE => Some(reader.u8("validity period")?),
        _ => {
            reader.take(7, "validity period")?;
            None
        }
    };
    let encoding = interpret_dcs(dcs).encoding;
    let ud = user_data::read(&mut reader, first & UDHI != 0, encoding)?;
    Ok(Submit {
        destination,
        message_reference,
        status_report_request: first & STATUS_REPORT_REQUEST != 0,
        dcs,
        encoding,
        validity,
        concat: ud.concat,
        text: ud.text,
        user_data: ud.payload,
    })
}

/// How [`encode_submit`] builds its PDUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOptions {
    /// Ask for a status report (TP-SRR). Default: true.
    pub status_report: bool,
    /// How long the SMSC keeps trying; sent as a relative TP-VP rounded up (see
    /// [`super::relative_validity`]). Default: none, the SMSC's own default.
    pub validity: Option<Duration>,
    /// Use 16-bit concatenation references (one unit less per part). Default: false.
    pub wide_reference: bool,
    /// Send as UCS2 even if the text fits the GSM 7-bit alphabet. Default: false.
    pub force_ucs2: bool,
}

impl Default for SubmitOptions {
    fn default() -> Self {
        SubmitOptions {
            status_report: true,
            validity: None,
            wide_reference: false,
            force_ucs2: false,
        }
    }
}

/// One part of an outgoing message, ready for `AT+CMGS=<tpdu_len>` followed by `hex()` and Ctrl-Z.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPart {
    /// The PDU; it starts with `0x00` so the modem uses the SIM's default SMSC.
    pub pdu: Vec<u8>,
    /// Octets after the SMSC information: the `<length>` of `AT+CMGS`.
    pub tpdu_len: usize,
    /// This part's number, from 1.
    pub seq: u8,
    /// How many parts the message has.
    pub total: u8,
    /// The alphabet of the text.
    pub encoding: Encoding,
}

impl SubmitPart {
    /// The PDU as uppercase hex, as `AT+CMGS` expects it.
    pub fn hex(&self) -> String {
        hex::encode_upper(&self.pdu)
    }
}

/// Encodes `text` to `to` as SMS-SUBMIT PDUs, one per part, each with `0x00` SMSC information
/// and TP-MR 0 (the modem assigns the reference). Long texts get a concatenation header with
/// `concat_reference` (its low 8 bits unless `options.wide_reference`); the caller picks a
/// reference not in recent use for the same recipient. The alphabet and cuts are those of
/// [`super::plan_with`].
///
/// Errors: an empty, alphanumeric or otherwise invalid destination, or a text needing more than
/// 255 parts.
pub fn encode_submit(
    to: &Address,
    text: &str,
    concat_reference: u16,
    options: &SubmitOptions,
) -> Result<Vec<SubmitPart>, PduError> {
    if to.value.is_empty() {
        return Err(PduError::InvalidAddress("the destination is empty".into()));
    }
    if to.kind == AddressKind::Alphanumeric {
        return Err(PduError::InvalidAddress(format!(
            "cannot send to the alphanumeric address {:?}; give a phone number",
            to.value
        )));
    }
    let split = split(text, options.force_ucs2, options.wide_reference);
    let total = u8::try_from(split.ranges.len()).map_err(|_| PduError::TooManyParts {
        parts: split.ranges.len(),
    })?;
    let validity = options.validity.map(timestamp::relative_validity);

    // TP-DA, TP-PID, TP-DCS and TP-VP are the same in every part.
    let mut middle = Vec::with_capacity(16);
    address::write_address(to, &mut middle)?;
    middle.push(0x00); // TP-PID: plain short message
    middle.push(dcs_for(split.encoding));
    middle.extend(validity);

    let mut first = MTI_SUBMIT;
    if validity.is_some() {
        first |= VPF_RELATIVE;
    }
    if options.status_report {
        first |= STATUS_REPORT_REQUEST;
    }

    let mut scratch = Vec::with_capacity(user_data::MAX_SEPTETS);
    let mut parts = Vec::with_capacity(split.ranges.len());
    for (index, range) in split.ranges.iter().enumerate() {
        let seq = index as u8 + 1;
        let concat = (total > 1).then_some(Concat {
            reference: concat_reference,
            total,
            seq,
            wide_reference: options.wide_reference,
        });
        let mut pdu = Vec::with_capacity(3 + middle.len() + 1 + user_data::MAX_OCTETS);
        pdu.push(0x00); // SMSC information: the SIM's default SMSC
        pdu.push(if concat.is_some() {
            first | UDHI
        } else {
            first
        });
        pdu.push(0x00); // TP-MR: assigned by the modem
        pdu.extend_from_slice(&middle);
        user_data::write(
            &mut pdu,
            split.encoding,
            &text[range.clone()],
            concat.as_ref(),
            &mut scratch,
        )?;
        parts.push(SubmitPart {
            tpdu_len: pdu.len() - 1,
            pdu,
            seq,
            total,
            encoding: split.encoding,
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::super::decode_hex;
    use super::*;

    fn days(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n * 86400))
    }

    fn no_report(validity: Option<Duration>) -> SubmitOptions {
        SubmitOptions {
            status_report: false,
            validity,
            ..SubmitOptions::default()
        }
    }

    /// The SMS-SUBMIT example of the "SMS PDU mode" tutorial (Lars Pettersson, dreamfabric).
    #[test]
    fn decodes_and_reproduces_the_dreamfabric_tutorial_submit() {
        let hex = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37";
        let s = decode_submit(&decode_hex(hex).unwrap()).unwrap();
        assert_eq!(s.destination, Address::international("46708251358"));
        assert_eq!(s.message_reference, 0);
        assert!(!s.status_report_request);
        assert_eq!((s.dcs, s.encoding), (0x00, Encoding::Gsm7));
        assert_eq!(s.validity, Some(0xAA));
        assert_eq!(s.concat, None);
        assert_eq!(s.text, "hellohello");

        let parts = encode_submit(
            &Address::parse("+46708251358").unwrap(),
            "hellohello",
            0,
            &no_report(days(4)),
        )
        .unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].hex(), hex);
        assert_eq!(parts[0].tpdu_len, 23);
        assert_eq!((parts[0].seq, parts[0].total), (1, 1));
    }

    /// PDUs published in python-messaging's tests, reproduced byte for byte.
    #[test]
    fn reproduces_published_single_part_submits() {
        let to = Address::parse("+34654123456").unwrap();
        // TP-SRR set, no validity period.
        let parts = encode_submit(&to, "hey yo", 0, &SubmitOptions::default()).unwrap();
        assert_eq!(parts[0].hex(), "0021000B914356143254F6000006E8721E947F03");
        // A trailing '@' is the septet 0x00 and survives because TP-UDL counts septets.
        let parts = encode_submit(&to, "BÄRÇA äñ@", 0, &no_report(None)).unwrap();
        assert_eq!(
            parts[0].hex(),
            "0001000B914356143254F6000009C2AD341104EDFB00"
        );
        assert_eq!(decode_submit(&parts[0].pdu).unwrap().text, "BÄRÇA äñ@");
        // UCS2 to a number of unknown type (0x81).
        let parts = encode_submit(
            &Address::parse("655345678").unwrap(),
            "Русский",
            0,
            &no_report(days(4)),
        )
        .unwrap();
        assert_eq!(
            parts[0].hex(),
            "001100098156355476F80008AA0E0420044304410441043A04380439"
        );
        assert_eq!(parts[0].encoding, Encoding::Ucs2);
    }

    /// A three-part GSM 7-bit message with 8-bit reference 136 (python-messaging, made with
    /// umts-tools), reproduced byte for byte.
    #[test]
    fn reproduces_a_published_multipart_submit() {
        let text = "Or walk with Kings - nor lose the common touch, if neither foes nor loving friends can hurt you, \
                    If all men count with you, but none too much; If you can fill the unforgiving minute With sixty \
                    seconds' worth of distance run, Yours is the Earth and everything thats in it, And - which is \
                    more - you will be a Man, my son";
        let expected = [
            "005100098156355476F80000AAA00500038803019E72D03DCC5E83EE693A1AB44CBBCF73500BE47ECB41ECF7BC0CA2A3CBA0F1BBDD7EBB41F4777D8C6681D26690BB9CA6A3CB7290F95D9E83DC6F3988FDB6A7DD6790599E2EBBC973D038EC06A1EB723A28FFAEB340493328CC6683DA653768FCAEBBE9A07B9A8E06E5DF7516485CA783DC6F7719447FBF41EDFA18BD0325CDA0FCBB0E1A87DD",
            "005100098156355476F80000AAA005000388030240E6349B0DA2A3CBA0BADBFC969FD3F6B4FB0C6AA7DD757A19744DD3D1A0791A4FCF83E6E5F1DB4D9E9F40F7B79C8E06BDCD20727A4E0FBBC76590BCEE6681B2EFBA7C0E4ACF41747419540CCBE96850D84D0695ED65799E8E4EBBCF203A3A4C9F83D26E509ACE0205DD64500B7447A7C768507A0E6ABFE565500B947FD741F7349B0D129741",
            "005100098156355476F80000AA14050003880303C2A066D8CD02B5F3A0F9DB0D",
        ];
        let parts = encode_submit(
            &Address::parse("655345678").unwrap(),
            text,
            136,
            &no_report(days(4)),
        )
        .unwrap();
        assert_eq!(parts.len(), 3);
        for (i, (part, hex)) in parts.iter().zip(expected).enumerate() {
            assert_eq!(part.hex(), hex, "part {}", i + 1);
            assert_eq!((part.seq as usize, part.total), (i + 1, 3));
            let decoded = decode_submit(&part.pdu).unwrap();
            assert_eq!(
                decoded.concat,
                Some(Concat {
                    reference: 136,
                    total: 3,
                    seq: i as u8 + 1,
                    wide_reference: false
                })
            );
        }
    }

    /// R1: Chinese text goes as UCS2; 200 characters take 3 parts (67 + 67 + 66).
    #[test]
    fn two_hundred_chinese_characters_make_three_ucs2_parts() {
        let text: String = "警讯平台测试短信".chars().cycle().take(200).collect();
        let parts = encode_submit(
            &Address::international("8613800000000"),
            &text,
            77,
            &SubmitOptions::default(),
        )
        .unwrap();
        assert_eq!(parts.len(), 3);
        let mut joined = String::new();
        for (i, part) in parts.iter().enumerate() {
            assert_eq!(
                (part.seq as usize, part.total, part.encoding),
                (i + 1, 3, Encoding::Ucs2)
            );
            let s = decode_submit(&part.pdu).unwrap();
            assert!(s.user_data.len() <= 134, "67 UTF-16 units at most");
            assert!(s.status_report_request);
            assert_eq!(
                s.concat,
                Some(Concat {
                    reference: 77,
                    total: 3,
                    seq: i as u8 + 1,
                    wide_reference: false
                })
            );
            joined.push_str(&s.text);
        }
        assert_eq!(joined, text);
    }

    #[test]
    fn destination_must_be_a_number() {
        let err = encode_submit(
            &Address::international(""),
            "x",
            0,
            &SubmitOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid address: the destination is empty");
        let err = encode_submit(
            &Address::alphanumeric("POLICE"),
            "x",
            0,
            &SubmitOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("alphanumeric"), "{err}");
        let err = encode_submit(&Address::national("12a"), "x", 0, &SubmitOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("'a'"), "{err}");
    }

    #[test]
    fn more_than_255_parts_is_an_error() {
        let text = "x".repeat(153 * 255);
        assert_eq!(
            encode_submit(
                &Address::international("1"),
                &text,
                0,
                &SubmitOptions::default()
            )
            .unwrap()
            .len(),
            255
        );
        let text = "x".repeat(153 * 255 + 1);
        let err = encode_submit(
            &Address::international("1"),
            &text,
            0,
            &SubmitOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err, PduError::TooManyParts { parts: 256 });
    }

    #[test]
    fn wide_references_use_iei_8() {
        let options = SubmitOptions {
            wide_reference: true,
            ..SubmitOptions::default()
        };
        let parts = encode_submit(
            &Address::international("8613800000000"),
            &"y".repeat(200),
            0xABCD,
            &options,
        )
        .unwrap();
        assert_eq!(parts.len(), 2);
        let s = decode_submit(&parts[1].pdu).unwrap();
        assert_eq!(
            s.concat,
            Some(Concat {
                reference: 0xABCD,
                total: 2,
                seq: 2,
                wide_reference: true
            })
        );
        assert_eq!(s.text, "y".repeat(200 - 152));
    }

    #[test]
    fn absolute_validity_is_skipped_on_decode() {
        // python-messaging's absolute-validity PDU (TP-VPF 11).
        let s = decode_submit(
            &decode_hex("0019000B914316565811F900000170520251930004E8373B0C").unwrap(),
        )
        .unwrap();
        assert_eq!(s.validity, None);
        assert_eq!(s.text, "hola");
        assert_eq!(s.destination.to_string(), "+34616585119");
    }

    #[test]
    fn deliver_is_rejected_by_decode_submit() {
        let err = decode_submit(
            &decode_hex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected SMS-DELIVER PDU (TP-MTI 0); expected SMS-SUBMIT"
        );
    }
}
