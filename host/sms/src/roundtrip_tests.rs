//! Property tests across the codec (R1): every text survives encode → decode split into parts that
//! respect the size limits, and no input makes a decoder panic.

use super::*;
use chrono::{DateTime, FixedOffset};
use proptest::prelude::*;

/// Characters that stress the codec: GSM default and extension characters, '@' (septet 0),
/// characters just outside the alphabet, Chinese, emoji (surrogate pairs) and line breaks.
const INTERESTING: &[char] = &[
    '@',
    '€',
    '^',
    '{',
    '}',
    '\\',
    '[',
    ']',
    '~',
    '|',
    '\u{0C}',
    '\n',
    '\r',
    ' ',
    'a',
    'Z',
    '0',
    'Ç',
    'ç',
    'ß',
    'Δ',
    '`',
    '\t',
    '中',
    '警',
    '讯',
    '😀',
    '👮',
    '\u{10FFFF}',
    '\u{0}',
];

const GSM_ONLY: &[char] = &[
    '@', '€', '^', '{', '}', '\\', '[', ']', '~', '|', '\u{0C}', '\n', '\r', ' ', 'a', 'Z', '0',
    'Ç', 'ß', 'Δ', '£', 'à', '¿',
];

fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(INTERESTING),
            1 => any::<char>(),
        ],
        0..500,
    )
    .prop_map(String::from_iter)
}

fn gsm_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(GSM_ONLY), 0..700).prop_map(String::from_iter)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any_text(), gsm_text()]
}

/// Checks one part's user data against the limits of its alphabet and part count.
fn check_limits(
    encoding: Encoding,
    user_data_len: usize,
    total: u8,
    wide: bool,
) -> Result<(), TestCaseError> {
    let header = match (total > 1, wide) {
        (false, _) => 0,
        (true, false) => 6,
        (true, true) => 7,
    };
    match encoding {
        Encoding::Gsm7 => {
            let header_septets = (header * 8usize).div_ceil(7);
            prop_assert!(
                user_data_len + header_septets <= 160,
                "{user_data_len} septets after a {header}-octet header"
            );
        }
        _ => prop_assert!(
            user_data_len + header <= 140,
            "{user_data_len} octets after a {header}-octet header"
        ),
    }
    Ok(())
}

fn time() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-02-17T09:30:00+08:00").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn submit_round_trips_within_part_limits(
        text in text(),
        reference in any::<u16>(),
        wide in any::<bool>(),
        force_ucs2 in any::<bool>(),
    ) {
        let options = SubmitOptions { wide_reference: wide, force_ucs2, ..SubmitOptions::default() };
        let to = Address::international("8613800000000");
        let parts = encode_submit(&to, &text, reference, &options).unwrap();
        let plan = plan_with(&text, &options);
        prop_assert_eq!(plan.parts, parts.len());
        let total = parts.len() as u8;
        let mut joined = String::new();
        for (i, part) in parts.iter().enumerate() {
            prop_assert_eq!(part.tpdu_len, part.pdu.len() - 1);
            prop_assert_eq!(part.pdu[0], 0x00);
            prop_assert_eq!((part.seq, part.total, part.encoding), (i as u8 + 1, total, plan.encoding));
            let s = decode_submit(&part.pdu).unwrap();
            prop_assert_eq!(&s.destination, &to);
            prop_assert_eq!(s.encoding, plan.encoding);
            let expected_concat = (total > 1).then(|| Concat {
                reference: if wide { reference } else { reference & 0xFF },
                total,
                seq: i as u8 + 1,
                wide_reference: wide,
            });
            prop_assert_eq!(s.concat, expected_concat);
            check_limits(s.encoding, s.user_data.len(), total, wide)?;
            joined.push_str(&s.text);
        }
        prop_assert_eq!(joined, text);
    }

    #[test]
    fn deliver_round_trips_within_part_limits(
        text in text(),
        reference in any::<u16>(),
        wide in any::<bool>(),
    ) {
        let options = DeliverOptions {
            concat_reference: reference,
            wide_reference: wide,
            smsc: Some(Address::international("8613800100500")),
            timestamp: time(),
        };
        let from = Address::parse("10086").unwrap();
        let pdus = encode_deliver(&from, &text, &options).unwrap();
        let total = pdus.len() as u8;
        let mut joined = String::new();
        for (i, pdu) in pdus.iter().enumerate() {
            let Incoming::Deliver(d) = decode_incoming(pdu).unwrap() else {
                return Err(TestCaseError::fail("not a deliver"));
            };
            prop_assert_eq!(&d.originator, &from);
            prop_assert_eq!(&d.smsc, &options.smsc);
            prop_assert_eq!(d.timestamp, time());
            prop_assert_eq!(d.concat.map(|c| (c.seq, c.total)), (total > 1).then_some((i as u8 + 1, total)));
            check_limits(d.encoding, d.user_data.len(), total, wide)?;
            joined.push_str(&d.text);
        }
        prop_assert_eq!(joined, text);
    }

    /// A sending handset may cut UCS2 parts anywhere, between the halves of a surrogate pair
    /// too: the parts joined give the text back whole.
    #[test]
    fn ucs2_parts_cut_anywhere_join_back_to_the_text(
        text in any_text(),
        units_per_part in prop::collection::vec(8usize..=67, 1..10),
        reference in any::<u16>(),
    ) {
        let octets: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut rest = octets.as_slice();
        for units in units_per_part.iter().cycle() {
            let (chunk, after) = rest.split_at((units * 2).min(rest.len()));
            chunks.push(chunk);
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        let options = DeliverOptions { concat_reference: reference, ..DeliverOptions::new(time()) };
        let pdus = encode_deliver_ucs2_chunks(&Address::alphanumeric("Police"), &chunks, &options).unwrap();
        prop_assert_eq!(pdus.len(), chunks.len());
        let parts: Vec<Deliver> = pdus
            .iter()
            .map(|pdu| match decode_incoming(pdu) {
                Ok(Incoming::Deliver(d)) => Ok(d),
                other => Err(TestCaseError::fail(format!("not a deliver: {other:?}"))),
            })
            .collect::<Result<_, _>>()?;
        prop_assert_eq!(join_parts(&parts), text);
    }

    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_incoming(&bytes);
        let _ = decode_submit(&bytes);
    }

    /// Valid PDUs with random octets changed and a random cut: closer to what a noisy serial line
    /// produces than uniform noise, so the decoders get past the first fields.
    #[test]
    fn decoders_never_panic_on_damaged_pdus(
        text in text(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        kind in 0..3u8,
    ) {
        let mut pdu = match kind {
            0 => encode_submit(&Address::international("8613800000000"), &text, 1, &SubmitOptions::default())
                .unwrap()
                .remove(0)
                .pdu,
            1 => encode_deliver(&Address::alphanumeric("Police"), &text, &DeliverOptions::new(time()))
                .unwrap()
                .remove(0),
            _ => encode_status_report(7, &Address::national("13800000000"), time(), time(), 0x00),
        };
        for (index, value) in edits {
            let i = index.index(pdu.len());
            pdu[i] = value;
        }
        pdu.truncate(cut.index(pdu.len() + 1));
        let _ = decode_incoming(&pdu);
        let _ = decode_submit(&pdu);
    }
}
