//! TP-Data-Coding-Scheme (TS 23.038 §4): which alphabet the user data uses and the message class.

use super::Encoding;
use serde::Serialize;

/// What a TP-DCS octet says about the user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataCoding {
    /// The alphabet. Reserved alphabets and coding groups, and compressed text (which no handset
    /// in use sends), are [`Encoding::Data8`]: the octets are kept losslessly rather than guessed
    /// at.
    pub encoding: Encoding,
    /// The message class 0-3 when the scheme gives one (class 0 is a "flash" message shown at
    /// once and not stored).
    pub class: Option<u8>,
    /// The text is compressed (TS 23.042).
    pub compressed: bool,
}

/// Interprets a TP-DCS octet.
///
/// - `00xx xxxx` general data coding and `01xx xxxx` the same with automatic deletion: bit 5
///   compressed, bit 4 says bits 1-0 are the class, bits 3-2 the alphabet (00 GSM 7-bit,
///   01 8-bit, 10 UCS2, 11 reserved).
/// - `1100`/`1101` message waiting indication (GSM 7-bit), `1110` the same in UCS2.
/// - `1111 xxxx` data coding/message class: bit 2 is 8-bit data (else GSM 7-bit), bits 1-0 the class.
/// - `1000`-`1011` reserved coding groups.
pub fn interpret_dcs(dcs: u8) -> DataCoding {
    let class_bits = Some(dcs & 0x03);
    match dcs >> 4 {
        0x0..=0x7 => {
            let compressed = dcs & 0x20 != 0;
            let class = if dcs & 0x10 != 0 { class_bits } else { None };
            let encoding = match (compressed, (dcs >> 2) & 0x03) {
                (true, _) => Encoding::Data8,
                (false, 0) => Encoding::Gsm7,
                (false, 2) => Encoding::Ucs2,
                (false, _) => Encoding::Data8,
            };
            DataCoding {
                encoding,
                class,
                compressed,
            }
        }
        0xC | 0xD => DataCoding {
            encoding: Encoding::Gsm7,
            class: None,
            compressed: false,
        },
        0xE => DataCoding {
            encoding: Encoding::Ucs2,
            class: None,
            compressed: false,
        },
        0xF => DataCoding {
            encoding: if dcs & 0x04 != 0 {
                Encoding::Data8
            } else {
                Encoding::Gsm7
            },
            class: class_bits,
            compressed: false,
        },
        _ => DataCoding {
            encoding: Encoding::Data8,
            class: None,
            compressed: false,
        },
    }
}

/// The TP-DCS for text sent in `encoding` with no message class.
pub(crate) fn dcs_for(encoding: Encoding) -> u8 {
    match encoding {
        Encoding::Gsm7 => 0x00,
        Encoding::Data8 => 0x04,
        Encoding::Ucs2 => 0x08,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(dcs: u8) -> Encoding {
        interpret_dcs(dcs).encoding
    }

    #[test]
    fn general_coding_group_selects_the_alphabet() {
        assert_eq!(enc(0x00), Encoding::Gsm7);
        assert_eq!(enc(0x04), Encoding::Data8);
        assert_eq!(enc(0x08), Encoding::Ucs2);
        assert_eq!(
            enc(0x0C),
            Encoding::Data8,
            "reserved alphabet is kept as data"
        );
        assert_eq!(enc(0x48), Encoding::Ucs2, "automatic deletion group");
        assert_eq!(interpret_dcs(0x00).class, None);
        assert_eq!(interpret_dcs(0x10).class, Some(0), "class 0 (flash)");
        assert_eq!(interpret_dcs(0x19).class, Some(1));
        assert_eq!(enc(0x19), Encoding::Ucs2);
    }

    #[test]
    fn compressed_text_is_kept_as_data() {
        let coding = interpret_dcs(0x20);
        assert!(coding.compressed);
        assert_eq!(coding.encoding, Encoding::Data8);
    }

    #[test]
    fn message_class_group_gives_class_and_alphabet() {
        assert_eq!(
            interpret_dcs(0xF1),
            DataCoding {
                encoding: Encoding::Gsm7,
                class: Some(1),
                compressed: false
            }
        );
        assert_eq!(enc(0xF6), Encoding::Data8);
        assert_eq!(interpret_dcs(0xF6).class, Some(2));
    }

    #[test]
    fn message_waiting_and_reserved_groups() {
        assert_eq!(enc(0xC0), Encoding::Gsm7);
        assert_eq!(enc(0xD8), Encoding::Gsm7);
        assert_eq!(enc(0xE0), Encoding::Ucs2);
        for dcs in 0x80..=0xBF {
            assert_eq!(enc(dcs), Encoding::Data8, "{dcs:#04x}");
        }
    }

    #[test]
    fn outgoing_dcs_matches_the_alphabet() {
        for encoding in [Encoding::Gsm7, Encoding::Ucs2, Encoding::Data8] {
            assert_eq!(enc(dcs_for(encoding)), encoding);
        }
    }
}
