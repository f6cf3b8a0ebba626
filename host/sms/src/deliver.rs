//! SMS-DELIVER (TS 23.040 §9.2.2.1): a message the network delivers to the modem.

use super::address::{self, Address};
use super::dcs::{dcs_for, interpret_dcs};
use super::reader::Reader;
use super::split::split;
use super::udh::Concat;
use super::{Encoding, PduError, timestamp, ucs2, user_data};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

const MTI_DELIVER: u8 = 0x00;
/// TP-MMS: set when no more messages are waiting in the SC.
const NO_MORE_MESSAGES: u8 = 0x04;
const STATUS_REPORT_INDICATION: u8 = 0x20;
const UDHI: u8 = 0x40;

/// A received short message (one part of a concatenated message, if `concat` is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deliver {
    /// The SMSC that delivered it, if the modem printed one.
    pub smsc: Option<Address>,
    /// The sender (TP-OA).
    pub originator: Address,
    /// TP-PID.
    pub protocol_id: u8,
    /// TP-DCS as received; see [`super::interpret_dcs`] for the message class.
    pub dcs: u8,
    /// The alphabet of the user data.
    pub encoding: Encoding,
    /// TP-SCTS: when the SMSC received the message, in the SMSC's time zone.
    pub timestamp: DateTime<FixedOffset>,
    /// Where this part belongs, for a concatenated message.
    pub concat: Option<Concat>,
    /// The text of this part; for [`Encoding::Data8`] the uppercase hex of the octets.
    pub text: String,
    /// The user data after any header: for GSM 7-bit the unpacked septets (one per octet, the
    /// alphabet's codes), otherwise the octets as received.
    pub user_data: Vec<u8>,
    /// TP-SRI: the sender asked for a status report.
    pub status_report_indication: bool,
    /// TP-MMS clear: the SMSC has more messages waiting for this modem.
    pub more_messages_to_send: bool,
}

/// Reads an SMS-DELIVER TPDU, the SMSC information already read.
pub(crate) fn read_deliver(
    reader: &mut Reader<'_>,
    smsc: Option<Address>,
) -> Result<Deliver, PduError> {
    let first = reader.u8("first octet")?;
    debug_assert_eq!(first & 0x03, MTI_DELIVER);
    let originator = address::read_address(reader, "originator address")?;
    let protocol_id = reader.u8("protocol identifier")?;
    let dcs = reader.u8("data coding scheme")?;
    let timestamp = timestamp::decode(reader.array("service centre time stamp")?)?;
    let encoding = interpret_dcs(dcs).encoding;
    let ud = user_data::read(reader, first & UDHI != 0, encoding)?;
    Ok(Deliver {
        smsc,
        originator,
        protocol_id,
        dcs,
        encoding,
        timestamp,
        concat: ud.concat,
        text: ud.text,
        user_data: ud.payload,
        status_report_indication: first & STATUS_REPORT_INDICATION != 0,
        more_messages_to_send: first & NO_MORE_MESSAGES == 0,
    })
}

/// The text of consecutive parts of one concatenated message, given in order. The user data of
/// adjacent UCS2 parts is joined before it is decoded: a sender may cut a surrogate pair (an
/// emoji) between two parts, and each half alone decodes to U+FFFD. Parts in other alphabets
/// add their own text. An odd trailing octet of a UCS2 part is dropped, as when the part is
/// decoded alone, so that it cannot shift the parts after it.
pub fn join_parts<'a>(parts: impl IntoIterator<Item = &'a Deliver>) -> String {
    let mut text = String::new();
    let mut ucs2_octets = Vec::new();
    for part in parts {
        if part.encoding == Encoding::Ucs2 {
            let even = part.user_data.len() & !1;
            ucs2_octets.extend_from_slice(&part.user_data[..even]);
        } else {
            ucs2::decode_into(&ucs2_octets, &mut text);
            ucs2_octets.clear();
            text.push_str(&part.text);
        }
    }
    ucs2::decode_into(&ucs2_octets, &mut text);
    text
}

/// How [`encode_deliver`] builds its PDUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverOptions {
    /// The service centre time stamp of every part.
    pub timestamp: DateTime<FixedOffset>,
    /// The concatenation reference (low 8 bits only unless `wide_reference`).
    pub concat_reference: u16,
    /// Use a 16-bit concatenation reference.
    pub wide_reference: bool,
    /// The SMSC to put in front of each PDU; `None` writes `0x00`.
    pub smsc: Option<Address>,
}

impl DeliverOptions {
    /// Options with the given time stamp, reference 0, 8-bit references and no SMSC.
    pub fn new(timestamp: DateTime<FixedOffset>) -> Self {
        DeliverOptions {
            timestamp,
            concat_reference: 0,
            wide_reference: false,
            smsc: None,
        }
    }
}

/// Builds the SMS-DELIVER PDUs a network would send for `text` from `from`, one per part, each
/// with the SMSC information first (for the modem simulator and tests). The text is split as
/// [`super::encode_submit`] splits it. The time stamp keeps a two-digit year (read back right for
/// 1970-2069), whole quarter hours of zone and whole seconds.
///
/// Errors: a sender or SMSC that cannot be encoded, or a text needing more than 255 parts.
pub fn encode_deliver(
    from: &Address,
    text: &str,
    options: &DeliverOptions,
) -> Result<Vec<Vec<u8>>, PduError> {
    let split = split(text, false, options.wide_reference);
    let total = u8::try_from(split.ranges.len()).map_err(|_| PduError::TooManyParts {
        parts: split.ranges.len(),
    })?;
    let mut head = Vec::with_capacity(32);
    address::write_address(from, &mut head)?;
    head.push(0x00); // TP-PID: plain short message
    head.push(dcs_for(split.encoding));
    timestamp::encode(&options.timestamp, &mut head);

    let mut smsc = Vec::with_capacity(12);
    address::write_smsc(options.smsc.as_ref(), &mut smsc)?;

    let mut scratch = Vec::with_capacity(user_data::MAX_SEPTETS);
    let mut pdus = Vec::with_capacity(split.ranges.len());
    for (index, range) in split.ranges.iter().enumerate() {
        let concat = (total > 1).then_some(Concat {
            reference: options.concat_reference,
            total,
            seq: index as u8 + 1,
            wide_reference: options.wide_reference,
        });
        let mut pdu = Vec::with_capacity(smsc.len() + 1 + head.len() + 1 + user_data::MAX_OCTETS);
        pdu.extend_from_slice(&smsc);
        pdu.push(MTI_DELIVER | NO_MORE_MESSAGES | if concat.is_some() { UDHI } else { 0 });
        pdu.extend_from_slice(&head);
        user_data::write(
            &mut pdu,
            split.encoding,
            &text[range.clone()],
            concat.as_ref(),
            &mut scratch,
        )?;
        pdus.push(pdu);
    }
    Ok(pdus)
}

/// The SMS-DELIVER PDUs of one UCS2 message whose parts carry exactly the given `chunks` of
/// UTF-16BE user data, each with the SMSC information first (for the simulator and tests).
/// [`encode_deliver`] never cuts a surrogate pair between parts, but a sending handset may cut
/// anywhere: this builds what the network then delivers. One chunk makes a single SMS.
///
/// Errors: a chunk longer than a part holds, more than 255 chunks, a sender or SMSC that
/// cannot be encoded.
pub fn encode_deliver_ucs2_chunks(
    from: &Address,
    chunks: &[&[u8]],
    options: &DeliverOptions,
) -> Result<Vec<Vec<u8>>, PduError> {
    let total = u8::try_from(chunks.len())
        .map_err(|_| PduError::TooManyParts {
            parts: chunks.len(),
        })?
        .max(1);
    let mut head = Vec::with_capacity(32);
    address::write_address(from, &mut head)?;
    head.push(0x00); // TP-PID: plain short message
    head.push(dcs_for(Encoding::Ucs2));
    timestamp::encode(&options.timestamp, &mut head);
    let mut smsc = Vec::with_capacity(12);
    address::write_smsc(options.smsc.as_ref(), &mut smsc)?;

    let mut pdus = Vec::with_capacity(chunks.len());
    for (index, chunk) in chunks.iter().enumerate() {
        let concat = (total > 1).then_some(Concat {
            reference: options.concat_reference,
            total,
            seq: index as u8 + 1,
            wide_reference: options.wide_reference,
        });
        let mut pdu = Vec::with_capacity(smsc.len() + 1 + head.len() + 1 + user_data::MAX_OCTETS);
        pdu.extend_from_slice(&smsc);
        pdu.push(MTI_DELIVER | NO_MORE_MESSAGES | if concat.is_some() { UDHI } else { 0 });
        pdu.extend_from_slice(&head);
        let start = pdu.len();
        pdu.push(0);
        if let Some(c) = &concat {
            c.write_header(&mut pdu);
        }
        pdu.extend_from_slice(chunk);
        let udl = pdu.len() - start - 1;
        if udl > user_data::MAX_OCTETS {
            return Err(PduError::InvalidUserData(format!(
                "part {} has {udl} octets of user data; a part holds at most {}",
                index + 1,
                user_data::MAX_OCTETS
            )));
        }
        pdu[start] = udl as u8;
        pdus.push(pdu);
    }
    Ok(pdus)
}

#[cfg(test)]
mod tests {
    use super::super::{AddressKind, Incoming, decode_incoming, decode_incoming_hex};
    use super::*;

    fn deliver(hex: &str) -> Deliver {
        match decode_incoming_hex(hex).unwrap() {
            Incoming::Deliver(d) => d,
            other => panic!("expected a deliver, got {other:?}"),
        }
    }

    fn time(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    /// The SMS-DELIVER example of the "SMS PDU mode" tutorial (Lars Pettersson, dreamfabric).
    /// Its sender type-of-address is 0xC8 (type of number "subscriber", national numbering
    /// plan), which is not international, so the number shows without '+'.
    #[test]
    fn decodes_the_dreamfabric_tutorial_deliver() {
        let d = deliver("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37");
        assert_eq!(d.smsc, Some(Address::international("27381000015")));
        assert_eq!(d.originator.kind, AddressKind::Unknown);
        assert_eq!(d.originator.value, "27838890001");
        assert_eq!((d.protocol_id, d.dcs, d.encoding), (0, 0, Encoding::Gsm7));
        assert_eq!(d.timestamp, time("1999-03-29T15:16:59+02:00"));
        assert_eq!(d.text, "hellohello");
        assert_eq!(d.user_data, b"hellohello");
        assert_eq!(d.concat, None);
        assert!(!d.status_report_indication);
        assert!(!d.more_messages_to_send);
    }

    /// A UCS2 Chinese message as published in python-messaging's tests.
    #[test]
    fn decodes_a_ucs2_chinese_deliver() {
        let d = deliver("07914306073011F0040B914316709807F2000880604290224080084E2D5174901A8BAF");
        assert_eq!(d.smsc, Some(Address::international("34607003110")));
        assert_eq!(d.originator, Address::international("34610789702"));
        assert_eq!((d.dcs, d.encoding), (0x08, Encoding::Ucs2));
        assert_eq!(d.timestamp, time("2008-06-24T09:22:04+02:00"));
        assert_eq!(d.text, "中兴通讯");
        assert_eq!(
            d.user_data,
            [0x4E, 0x2D, 0x51, 0x74, 0x90, 0x1A, 0x8B, 0xAF]
        );
    }

    /// python-messaging's "How are you?" deliver; its zone octet 0x08 is a "negative zero".
    #[test]
    fn decodes_gsm7_with_a_negative_zero_zone() {
        let d =
            deliver("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07");
        assert_eq!(d.smsc, Some(Address::international("31624000000")));
        assert_eq!(d.originator.to_string(), "+31641600986");
        assert_eq!(d.text, "How are you?");
        assert_eq!(d.timestamp, time("2002-08-26T19:37:41+00:00"));
    }

    /// Alphanumeric senders of odd and even semi-octet length (python-messaging's tests).
    #[test]
    fn decodes_alphanumeric_senders() {
        let d = deliver(concat!(
            "07919471060040340409D0C6A733390400009060920173018093CC74595C96838C4F6772085AD6DDE4320B444E9741D4B03C",
            "6D7EC3E9E9B71B9474D3CB727799DEA286CFE5B9991DA6CBC3F432E85E9793CBA0F09A9EB6A7CB72BA0B9474D3CB727799DE",
            "72D6E9FABAFB0CBAA7E56490BA4CD7D34170F91BE4ACD3F575F7794E0F9F4161F1B92C2F8FD1EE32DD054AA2E520E3D3991C",
            "82A8E5701B"
        ));
        assert_eq!(d.originator, Address::alphanumeric("FONIC"));
        assert_eq!(d.smsc, Some(Address::international("491760000443")));
        assert_eq!(
            d.text,
            "Lieber FONIC Kunde, die Tarifoption Internet-Tagesflatrate wurde aktiviert. \
             Internet-Nutzung wird jetzt pro Nutzungstag abgerechnet. Ihr FONIC Team"
        );
        let d = deliver(
            "07919333852804000412D0F7FBDD454FB75D693A0000903002801153402BCD301E9F0605D9E971191483C140412A35690D52832063D2F9040599A058EE05A3BD6430580E",
        );
        assert_eq!(d.originator, Address::alphanumeric("www.tim.it"));
        assert_eq!(d.text, "Maxxi Alice 100 ATTIVATA FINO AL 19/04/2009");
    }

    /// A two-part message with the euro sign (an escape) and an 8-bit reference, DCS 0xF1
    /// (class 1), from python-messaging's tests.
    #[test]
    fn decodes_concatenated_parts_with_extension_characters() {
        let first = deliver(concat!(
            "07919471227210244405852122F039F101506271217180A005000319020198E9B2B82C0759DFE4B0F9ED2EB7967537B9CC02",
            "B5D37450122D2FCB41EE303DFD7687D96537881A96A7CD6F383DFD7683F46134BBEC064DD36550DA0D22A7CBF3721BE42CD3",
            "F5A0198B56036DCA20B8FC0D6A0A4170767D0EAAE540433A082E7F83A6E5F93CFD76BB40D7B2DB0D9AA6CB2072BA3C2F8392",
            "6EF31BE44E8FD17450BB8C9683CA"
        ));
        let second = deliver(concat!(
            "07919471227210244405852122F039F1015062712181804F050003190202E4E8309B5E7683DAFC319A5E76B340F73D9A5D76",
            "83A6E93268FD9ED3CB6EF67B0E5AD172B19B2C2693C9602E90355D6683A6F0B007946E8382F5393BEC26BB00"
        ));
        let concat = |seq| Concat {
            reference: 25,
            total: 2,
            seq,
            wide_reference: false,
        };
        assert_eq!(first.concat, Some(concat(1)));
        assert_eq!(second.concat, Some(concat(2)));
        assert_eq!(
            (first.protocol_id, first.dcs, first.encoding),
            (0x39, 0xF1, Encoding::Gsm7)
        );
        assert_eq!(first.originator.value, "12220");
        assert_eq!(first.timestamp, time("2010-05-26T17:12:17+02:00"));
        assert_eq!(
            first.text,
            "Lieber Vodafone-Kunde, mit Ihrer nationalen Tarifoption zahlen Sie in diesem Netz 3,45 € \
             pro MB plus 59 Ct pro Session. Wenn Sie diese Info nicht mehr e"
        );
        assert_eq!(
            second.text,
            "rhalten möchten, wählen Sie kostenlos +4917212220. Viel Spaß im Ausland."
        );
        // 160 septets less the 7 the header takes.
        assert_eq!(first.user_data.len(), 153);
    }

    /// Part 1 of 8 of a concatenated message from Gammu's test data; TP-MMS is clear.
    #[test]
    fn decodes_gammu_concatenated_part_with_more_messages_waiting() {
        let d = deliver(concat!(
            "07918497900000F6400B918406290000F4000002219221351140A005000363080140CCB7BCDC06A5E1F37A1B447EB3DF72D03C4D",
            "0785DB653A0B347EBBE7E531BD4CAFCB4161721A9E9E8FD3EE33A8CC4ED35D206899CD2EBBE9E579BC5E06D9D3F47019E42EC7EB",
            "6550F95C9ED3C37316C81CAE8FD3E2FA1C5496BFE7A0B49B054A87C775767A0E4AC3E7F5B60B34ADCFE16537393D9F9741E4F4D9",
            "9D9ECFD36D10FC2DA7D3D3"
        ));
        assert_eq!(d.smsc, Some(Address::international("48790900006")));
        assert_eq!(d.originator, Address::international("48609200004"));
        assert_eq!(d.timestamp, time("2020-12-29T12:53:11+01:00"));
        assert_eq!(
            d.concat,
            Some(Concat {
                reference: 0x63,
                total: 8,
                seq: 1,
                wide_reference: false
            })
        );
        assert!(d.more_messages_to_send);
        // The first septet after the header and its fill bit is a space.
        assert_eq!(
            d.text,
            " Lorem ipsum dolor sit amet, consectetur adipiscing elit. Pellentesque vitae neque egestas, \
             faucibus eros in, iaculis ipsum. Suspendisse dignissim portti"
        );
        assert_eq!(d.user_data.len(), 153);
    }

    /// A UCS2 deliver whose user data stops short of its length (published in smspdudecoder's
    /// tests) is refused with a clear error rather than decoded partially.
    #[test]
    fn truncated_user_data_is_an_error() {
        let err = decode_incoming_hex(
            "0891683110304105F1240D91683167414052F700081270115183942344597D70E6597D70E651CF80A551CF80A55C",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "PDU truncated: expected 68 more octets for the user data, but only 17 remain"
        );
    }

    #[test]
    fn eight_bit_data_is_kept_in_user_data_and_hex_text() {
        let options = DeliverOptions::new(time("2026-01-02T03:04:05+08:00"));
        let mut pdu = encode_deliver(&Address::international("8613800000000"), "", &options)
            .unwrap()
            .remove(0);
        // Turn the empty GSM 7-bit message into 3 octets of 8-bit data (DCS 0xF4, class 0).
        let dcs_at = pdu.len() - 1 - 7 - 1;
        pdu[dcs_at] = 0xF4;
        pdu.pop();
        pdu.extend_from_slice(&[0x03, 0xCA, 0xFE, 0x00]);
        let Incoming::Deliver(d) = decode_incoming(&pdu).unwrap() else {
            panic!("not a deliver")
        };
        assert_eq!(d.encoding, Encoding::Data8);
        assert_eq!(d.user_data, [0xCA, 0xFE, 0x00]);
        assert_eq!(d.text, "CAFE00");
    }

    #[test]
    fn encodes_deliver_with_smsc_and_sender() {
        let options = DeliverOptions {
            smsc: Some(Address::international("27381000015")),
            ..DeliverOptions::new(time("1999-03-29T15:16:59+02:00"))
        };
        let pdus = encode_deliver(
            &Address::international("27838890001"),
            "hellohello",
            &options,
        )
        .unwrap();
        assert_eq!(
            hex::encode_upper(&pdus[0]),
            "07917283010010F5040B917238880900F10000993092516195800AE8329BFD4697D9EC37"
        );
    }

    fn utf16be(text: &str) -> Vec<u8> {
        let mut octets = Vec::new();
        ucs2::encode_into(text, &mut octets);
        octets
    }

    fn decoded(pdus: &[Vec<u8>]) -> Vec<Deliver> {
        pdus.iter()
            .map(|pdu| match decode_incoming(pdu).unwrap() {
                Incoming::Deliver(d) => d,
                other => panic!("expected a deliver, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_emoji_cut_between_two_ucs2_parts_is_whole_once_the_parts_are_joined() {
        let octets = utf16be("a😀b");
        assert_eq!(octets, [0x00, 0x61, 0xD8, 0x3D, 0xDE, 0x00, 0x00, 0x62]);
        let options = DeliverOptions {
            concat_reference: 9,
            ..DeliverOptions::new(time("2026-05-01T08:00:00+08:00"))
        };
        let pdus = encode_deliver_ucs2_chunks(
            &Address::international("8613800000001"),
            &[&octets[..4], &octets[4..]],
            &options,
        )
        .unwrap();
        let parts = decoded(&pdus);
        // Each part alone holds half a surrogate pair.
        assert_eq!(parts[0].text, "a\u{FFFD}");
        assert_eq!(parts[1].text, "\u{FFFD}b");
        assert_eq!(
            parts
                .iter()
                .map(|p| p.concat.map(|c| (c.seq, c.total)))
                .collect::<Vec<_>>(),
            [Some((1, 2)), Some((2, 2))]
        );
        assert_eq!(join_parts(&parts), "a😀b");
    }

    #[test]
    fn joined_parts_keep_other_alphabets_and_an_odd_ucs2_octet_shifts_nothing() {
        let options = DeliverOptions::new(time("2026-05-01T08:00:00+08:00"));
        let from = Address::national("13800000001");
        let gsm = decoded(&encode_deliver(&from, "abc", &options).unwrap());
        let mut odd = utf16be("中");
        odd.push(0x4E);
        let odd = decoded(&encode_deliver_ucs2_chunks(&from, &[&odd], &options).unwrap());
        let tail =
            decoded(&encode_deliver_ucs2_chunks(&from, &[&utf16be("文")], &options).unwrap());
        assert_eq!(
            odd[0].text, "中",
            "the odd octet is dropped in the part alone"
        );
        assert_eq!(
            join_parts([&odd[0], &tail[0], &gsm[0], &tail[0]]),
            "中文abc文"
        );
        assert_eq!(join_parts(&[]), "");
    }

    #[test]
    fn a_ucs2_chunk_too_long_for_a_part_is_refused() {
        let options = DeliverOptions::new(time("2026-05-01T08:00:00+08:00"));
        let from = Address::national("13800000001");
        let long = vec![0x4E; 136];
        let err = encode_deliver_ucs2_chunks(&from, &[&long[..134], &long], &options).unwrap_err();
        assert!(err.to_string().contains("part 2 has 142 octets"), "{err}");
    }

    #[test]
    fn multipart_deliver_carries_the_reference_in_every_part() {
        let options = DeliverOptions {
            concat_reference: 0x1234,
            wide_reference: true,
            ..DeliverOptions::new(time("2026-05-01T08:00:00+08:00"))
        };
        let text = "警".repeat(140);
        let pdus = encode_deliver(&Address::alphanumeric("Police110"), &text, &options).unwrap();
        assert_eq!(pdus.len(), 3, "140 / 66 per part");
        let mut joined = String::new();
        for (i, pdu) in pdus.iter().enumerate() {
            let Incoming::Deliver(d) = decode_incoming(pdu).unwrap() else {
                panic!("not a deliver")
            };
            assert_eq!(d.originator, Address::alphanumeric("Police110"));
            assert_eq!(
                d.concat,
                Some(Concat {
                    reference: 0x1234,
                    total: 3,
                    seq: i as u8 + 1,
                    wide_reference: true
                })
            );
            joined.push_str(&d.text);
        }
        assert_eq!(joined, text);
    }
}
