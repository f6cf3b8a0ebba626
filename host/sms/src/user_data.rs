//! TP-UDL and TP-UD (TS 23.040 §9.2.3.16, §9.2.3.24): the user data length, the optional user
//! data header and the text in its alphabet, with the fill bits that align GSM 7-bit text after a
//! header.

use super::reader::Reader;
use super::udh::{self, Concat};
use super::{Encoding, PduError, gsm7, ucs2};

/// Most septets of GSM 7-bit user data.
pub(crate) const MAX_SEPTETS: usize = 160;
/// Most octets of 8-bit or UCS2 user data.
pub(crate) const MAX_OCTETS: usize = 140;

/// Decoded user data.
#[derive(Debug)]
pub(crate) struct UserData {
    pub(crate) concat: Option<Concat>,
    /// The text; for 8-bit data the uppercase hex of the payload.
    pub(crate) text: String,
    /// The payload after the header: unpacked septets (one per octet) for GSM 7-bit, the
    /// octets otherwise.
    pub(crate) payload: Vec<u8>,
}

/// Septets a header of `header_len` octets takes, fill bits included.
fn header_septets(header_len: usize) -> usize {
    (header_len * 8).div_ceil(7)
}

/// Reads TP-UDL and TP-UD; `udhi` is the TP-UDHI bit of the first octet.
pub(crate) fn read(
    reader: &mut Reader<'_>,
    udhi: bool,
    encoding: Encoding,
) -> Result<UserData, PduError> {
    let udl = usize::from(reader.u8("user data length")?);
    let octets = match encoding {
        Encoding::Gsm7 => gsm7::packed_len(udl),
        Encoding::Ucs2 | Encoding::Data8 => udl,
    };
    let ud = reader.take(octets, "user data")?;

    let (concat, header_len) = if udhi {
        let Some((&udhl, rest)) = ud.split_first() else {
            return Err(PduError::InvalidUserData(
                "the header indicator is set but the user data is empty".into(),
            ));
        };
        let elements = rest.get(..usize::from(udhl)).ok_or_else(|| {
            PduError::InvalidUserData(format!(
                "user data header of {udhl} octets does not fit in {} octets of user data",
                rest.len()
            ))
        })?;
        (udh::parse_concat(elements), usize::from(udhl) + 1)
    } else {
        (None, 0)
    };

    let mut text = String::new();
    let payload = match encoding {
        Encoding::Gsm7 => {
            let header_septets = header_septets(header_len);
            let count = udl.checked_sub(header_septets).ok_or_else(|| {
                PduError::InvalidUserData(format!(
                    "user data header of {header_len} octets is longer than the user data length of {udl} septets"
                ))
            })?;
            let fill_bits = (header_septets * 7 - header_len * 8) as u8;
            let mut septets = Vec::with_capacity(count);
            // The octets taken above hold 7 × udl bits, so all `count` septets are there.
            if !gsm7::unpack_into(&ud[header_len..], fill_bits, count, &mut septets) {
                return Err(PduError::InvalidUserData(format!(
                    "{count} septets do not fit in the user data"
                )));
            }
            gsm7::decode_into(&septets, &mut text);
            septets
        }
        Encoding::Ucs2 => {
            let payload = ud[header_len..].to_vec();
            ucs2::decode_into(&payload, &mut text);
            payload
        }
        Encoding::Data8 => {
            let payload = ud[header_len..].to_vec();
            text = hex::encode_upper(&payload);
            payload
        }
    };
    Ok(UserData {
        concat,
        text,
        payload,
    })
}

/// Appends TP-UDL and TP-UD for `text` in `encoding` (GSM 7-bit or UCS2) with an optional
/// concatenation header. `scratch` is reused between parts to hold septets. The caller has split
/// the text to fit; a part that does not fit is an error.
pub(crate) fn write(
    out: &mut Vec<u8>,
    encoding: Encoding,
    text: &str,
    concat: Option<&Concat>,
    scratch: &mut Vec<u8>,
) -> Result<(), PduError> {
    let header_len = concat.map_or(0, |c| Concat::header_len(c.wide_reference));
    match encoding {
        Encoding::Gsm7 => {
            scratch.clear();
            gsm7::encode_into(text, scratch).map_err(|c| {
                PduError::InvalidUserData(format!("{c:?} is not in the GSM 7-bit alphabet"))
            })?;
            let header_septets = header_septets(header_len);
            let udl = header_septets + scratch.len();
            if udl > MAX_SEPTETS {
                return Err(PduError::InvalidUserData(format!(
                    "{udl} septets of user data exceed the {MAX_SEPTETS} a message holds"
                )));
            }
            out.push(udl as u8);
            if let Some(c) = concat {
                c.write_header(out);
            }
            let fill_bits = (header_septets * 7 - header_len * 8) as u8;
            gsm7::pack_into(scratch, fill_bits, true, out);
        }
        Encoding::Ucs2 | Encoding::Data8 => {
            let start = out.len();
            out.push(0);
            if let Some(c) = concat {
                c.write_header(out);
            }
            if encoding == Encoding::Ucs2 {
                ucs2::encode_into(text, out);
            } else {
                out.extend_from_slice(text.as_bytes());
            }
            let udl = out.len() - start - 1;
            if udl > MAX_OCTETS {
                out.truncate(start);
                return Err(PduError::InvalidUserData(format!(
                    "{udl} octets of user data exceed the {MAX_OCTETS} a message holds"
                )));
            }
            out[start] = udl as u8;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(encoding: Encoding, text: &str, concat: Option<Concat>) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, encoding, text, concat.as_ref(), &mut Vec::new()).unwrap();
        out
    }

    fn read_back(bytes: &[u8], udhi: bool, encoding: Encoding) -> UserData {
        let mut reader = Reader::new(bytes);
        let ud = read(&mut reader, udhi, encoding).unwrap();
        assert_eq!(reader.remaining(), 0);
        ud
    }

    const CONCAT: Concat = Concat {
        reference: 0x88,
        total: 3,
        seq: 1,
        wide_reference: false,
    };

    #[test]
    fn gsm7_after_a_6_octet_header_starts_after_one_fill_bit() {
        let bytes = written(Encoding::Gsm7, "Or", Some(CONCAT));
        // UDL 7 + 2 septets; 6 header octets; 'O' (0x4F) shifted by one fill bit.
        assert_eq!(
            bytes,
            [0x09, 0x05, 0x00, 0x03, 0x88, 0x03, 0x01, 0x9E, 0x72]
        );
        let ud = read_back(&bytes, true, Encoding::Gsm7);
        assert_eq!(ud.text, "Or");
        assert_eq!(ud.concat, Some(CONCAT));
        assert_eq!(ud.payload, [0x4F, 0x72]);
    }

    #[test]
    fn gsm7_after_a_7_octet_header_needs_no_fill() {
        let wide = Concat {
            wide_reference: true,
            reference: 0x1234,
            ..CONCAT
        };
        let bytes = written(Encoding::Gsm7, "hi€", Some(wide));
        assert_eq!(bytes[0], 8 + 4);
        let ud = read_back(&bytes, true, Encoding::Gsm7);
        assert_eq!((ud.text.as_str(), ud.concat), ("hi€", Some(wide)));
    }

    #[test]
    fn ucs2_and_data8_lengths_count_octets_including_the_header() {
        let bytes = written(Encoding::Ucs2, "警讯", Some(CONCAT));
        assert_eq!(bytes[0], 6 + 4);
        let ud = read_back(&bytes, true, Encoding::Ucs2);
        assert_eq!(ud.text, "警讯");
        assert_eq!(ud.payload, [0x8B, 0x66, 0x8B, 0xAF]);

        let ud = read_back(&[0x03, 0x01, 0xAB, 0xFF], false, Encoding::Data8);
        assert_eq!(ud.text, "01ABFF");
        assert_eq!(ud.payload, [0x01, 0xAB, 0xFF]);
    }

    #[test]
    fn oversized_parts_are_refused() {
        let mut out = Vec::new();
        let long = "x".repeat(161);
        assert!(write(&mut out, Encoding::Gsm7, &long, None, &mut Vec::new()).is_err());
        let long = "中".repeat(71);
        assert!(write(&mut out, Encoding::Ucs2, &long, None, &mut Vec::new()).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn inconsistent_headers_are_errors() {
        let mut r = Reader::new(&[0x00]);
        assert!(
            read(&mut r, true, Encoding::Ucs2)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        // UDHL 9 in 3 octets.
        let mut r = Reader::new(&[0x03, 0x09, 0x00, 0x00]);
        assert!(
            read(&mut r, true, Encoding::Data8)
                .unwrap_err()
                .to_string()
                .contains("does not fit")
        );
        // 6-octet header but UDL of 2 septets (2 octets are present).
        let mut r = Reader::new(&[0x02, 0x01, 0x00]);
        assert!(read(&mut r, true, Encoding::Gsm7).is_err());
        let mut r = Reader::new(&[0x06, 0x05, 0x00, 0x03, 0x01, 0x02, 0x01]);
        assert!(
            read(&mut r, true, Encoding::Gsm7)
                .unwrap_err()
                .to_string()
                .contains("longer than")
        );
    }
}
