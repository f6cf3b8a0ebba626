//! The GSM 7-bit default alphabet and its extension table (TS 23.038 §6.2.1, §6.2.1.1) and the
//! packing of septets into octets (TS 23.038 §6.1.2.1.1).
//!
//! Mapping choices, so that decode(encode(text)) == text always holds:
//! - 0x09 is `Ç` as in the TS 23.038 table (not `ç` as some tools print it); `ç` is not in the
//!   alphabet and makes a text go as UCS2.
//! - Greek capitals that look like Latin ones are not folded into Latin letters.
//! - On decode, an escape followed by a code the extension table does not define shows the
//!   default-alphabet character of that code (§6.2.1.1); a lone escape at the end, or an escape
//!   followed by another escape, shows a space.

/// The escape to the extension table.
pub(crate) const ESC: u8 = 0x1B;
/// The code of `<CR>`, used to fill 7 spare bits at the end of packed user data
/// (TS 23.038 §6.1.2.3.1).
const CR: u8 = 0x0D;

/// The default alphabet, indexed by septet. 0x1B (escape) is shown as a space if it ever has to be
/// shown on its own.
const DEFAULT: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: (code after the escape, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'), // form feed
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Marks an ASCII table entry that needs the escape.
const ESCAPED: u16 = 0x100;
/// Marks an ASCII character that is not in the alphabet.
const ABSENT: u16 = 0xFFFF;

/// ASCII character → septet code (with [`ESCAPED`]) or [`ABSENT`]; built from the tables above so
/// they cannot disagree.
const ASCII_TO_GSM: [u16; 128] = build_ascii_table();

const fn build_ascii_table() -> [u16; 128] {
    let mut table = [ABSENT; 128];
    let mut code = 0;
    while code < 128 {
        let c = DEFAULT[code] as u32;
        if c < 128 && code != ESC as usize && table[c as usize] == ABSENT {
            table[c as usize] = code as u16;
        }
        code += 1;
    }
    let mut i = 0;
    while i < EXTENSION.len() {
        let (code, c) = EXTENSION[i];
        if (c as u32) < 128 {
            table[c as usize] = code as u16 | ESCAPED;
        }
        i += 1;
    }
    table
}

/// A character's place in the alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Septet {
    /// One septet of the default alphabet.
    Default(u8),
    /// The escape followed by this extension-table code.
    Extended(u8),
}

impl Septet {
    /// Septets the character takes: 1, or 2 with the escape.
    pub(crate) fn len(self) -> usize {
        match self {
            Septet::Default(_) => 1,
            Septet::Extended(_) => 2,
        }
    }
}

/// Where `c` is in the default alphabet or extension table, if anywhere.
pub(crate) fn lookup(c: char) -> Option<Septet> {
    if c.is_ascii() {
        let entry = ASCII_TO_GSM[c as usize];
        return match entry {
            ABSENT => None,
            e if e & ESCAPED != 0 => Some(Septet::Extended((e & 0x7F) as u8)),
            e => Some(Septet::Default(e as u8)),
        };
    }
    // The non-ASCII part of the alphabet; `tests::every_code_round_trips` keeps it in step with
    // `DEFAULT` and `EXTENSION`.
    let code = match c {
        '£' => 0x01,
        '¥' => 0x03,
        'è' => 0x04,
        'é' => 0x05,
        'ù' => 0x06,
        'ì' => 0x07,
        'ò' => 0x08,
        'Ç' => 0x09,
        'Ø' => 0x0B,
        'ø' => 0x0C,
        'Å' => 0x0E,
        'å' => 0x0F,
        'Δ' => 0x10,
        'Φ' => 0x12,
        'Γ' => 0x13,
        'Λ' => 0x14,
        'Ω' => 0x15,
        'Π' => 0x16,
        'Ψ' => 0x17,
        'Σ' => 0x18,
        'Θ' => 0x19,
        'Ξ' => 0x1A,
        'Æ' => 0x1C,
        'æ' => 0x1D,
        'ß' => 0x1E,
        'É' => 0x1F,
        '¤' => 0x24,
        '¡' => 0x40,
        'Ä' => 0x5B,
        'Ö' => 0x5C,
        'Ñ' => 0x5D,
        'Ü' => 0x5E,
        '§' => 0x5F,
        '¿' => 0x60,
        'ä' => 0x7B,
        'ö' => 0x7C,
        'ñ' => 0x7D,
        'ü' => 0x7E,
        'à' => 0x7F,
        '€' => return Some(Septet::Extended(0x65)),
        _ => return None,
    };
    Some(Septet::Default(code))
}

/// Whether `c` can be sent in the GSM 7-bit alphabet (default or extension table).
pub fn is_gsm7_char(c: char) -> bool {
    lookup(c).is_some()
}

/// Whether every character of `text` can be sent in the GSM 7-bit alphabet.
pub fn is_gsm7_text(text: &str) -> bool {
    text.chars().all(is_gsm7_char)
}

/// Septets `text` takes, escapes counted twice; `None` if a character is not in the alphabet.
pub(crate) fn septet_count(text: &str) -> Option<usize> {
    text.chars()
        .try_fold(0usize, |n, c| lookup(c).map(|s| n + s.len()))
}

/// Appends the septets of `text` to `out`. Returns the first character that is not in the
/// alphabet, if any (`out` then holds the septets before it).
pub(crate) fn encode_into(text: &str, out: &mut Vec<u8>) -> Result<(), char> {
    for c in text.chars() {
        match lookup(c).ok_or(c)? {
            Septet::Default(code) => out.push(code),
            Septet::Extended(code) => {
                out.push(ESC);
                out.push(code);
            }
        }
    }
    Ok(())
}

/// Appends the text of `septets` to `out` (see the module comment for unknown escapes).
pub(crate) fn decode_into(septets: &[u8], out: &mut String) {
    let mut iter = septets.iter().map(|s| s & 0x7F);
    while let Some(code) = iter.next() {
        if code != ESC {
            out.push(DEFAULT[code as usize]);
            continue;
        }
        match iter.next() {
            None | Some(ESC) => out.push(' '),
            Some(ext) => out.push(
                EXTENSION
                    .iter()
                    .find(|(e, _)| *e == ext)
                    .map_or(DEFAULT[ext as usize], |(_, c)| *c),
            ),
        }
    }
}

/// Packs `septets` after `fill_bits` zero bits (0-6, the fill after a user data header) and
/// appends the octets to `out`. With `cr_fill`, 7 spare bits at the end hold `<CR>`, so that a
/// receiver counting octets does not read a trailing `@` (TS 23.038 §6.1.2.3.1); the user data
/// length still gives the true septet count.
pub(crate) fn pack_into(septets: &[u8], fill_bits: u8, cr_fill: bool, out: &mut Vec<u8>) {
    let mut acc: u32 = 0;
    let mut bits = u32::from(fill_bits);
    out.reserve((bits as usize + septets.len() * 7).div_ceil(8));
    for &s in septets {
        acc |= u32::from(s & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if cr_fill && bits == 1 && !septets.is_empty() {
        acc |= u32::from(CR) << 1;
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

/// Unpacks `count` septets that start after `fill_bits` bits of `data` and appends them to `out`.
/// Returns `false` (having appended only what was there) if `data` is too short.
pub(crate) fn unpack_into(data: &[u8], fill_bits: u8, count: usize, out: &mut Vec<u8>) -> bool {
    out.reserve(count);
    for i in 0..count {
        let bit = usize::from(fill_bits) + i * 7;
        let (index, shift) = (bit / 8, bit % 8);
        let Some(&low) = data.get(index) else {
            return false;
        };
        let mut value = u16::from(low) >> shift;
        if shift > 1 {
            let Some(&high) = data.get(index + 1) else {
                return false;
            };
            value |= u16::from(high) << (8 - shift);
        }
        out.push((value & 0x7F) as u8);
    }
    true
}

/// Octets that `septets` septets take when packed.
pub(crate) fn packed_len(septets: usize) -> usize {
    (septets * 7).div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(septets: &[u8], fill: u8) -> Vec<u8> {
        let mut out = Vec::new();
        pack_into(septets, fill, true, &mut out);
        out
    }

    fn unpack(data: &[u8], fill: u8, count: usize) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(unpack_into(data, fill, count, &mut out));
        out
    }

    fn encode(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(text, &mut out).unwrap();
        out
    }

    fn decode(septets: &[u8]) -> String {
        let mut out = String::new();
        decode_into(septets, &mut out);
        out
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0u8..128 {
            if code == ESC {
                continue;
            }
            let c = DEFAULT[code as usize];
            assert_eq!(lookup(c), Some(Septet::Default(code)), "{c:?}");
        }
        for (code, c) in EXTENSION {
            assert_eq!(lookup(c), Some(Septet::Extended(code)), "{c:?}");
            assert_eq!(decode(&[ESC, code]), c.to_string());
        }
    }

    #[test]
    fn characters_outside_the_alphabet_are_not_gsm7() {
        for c in [
            'ç', '`', '\t', '中', '😀', 'Α', /* Greek capital alpha */
            '\u{A0}',
        ] {
            assert!(!is_gsm7_char(c), "{c:?}");
        }
        assert!(is_gsm7_text("Hello {world} [x] ~|^\\ €5 @home\u{0C}"));
        assert!(!is_gsm7_text("警讯"));
    }

    #[test]
    fn escapes_count_as_two_septets() {
        assert_eq!(septet_count("a€["), Some(5));
        assert_eq!(septet_count("a中"), None);
        assert_eq!(encode("€"), vec![0x1B, 0x65]);
    }

    /// TS 23.038 §6.1.2.1.1 / the classic "hellohello" example: 10 septets in 9 octets.
    #[test]
    fn packs_hellohello_like_the_published_example() {
        let septets = encode("hellohello");
        let packed = pack(&septets, 0);
        assert_eq!(
            packed,
            [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]
        );
        assert_eq!(decode(&unpack(&packed, 0, 10)), "hellohello");
    }

    #[test]
    fn packs_after_fill_bits() {
        // "abcd" after one fill bit, as after a 6-octet concatenation header.
        let packed = pack(&encode("abcd"), 1);
        assert_eq!(packed, [0xC2, 0xE2, 0x31, 0x19]);
        assert_eq!(decode(&unpack(&packed, 1, 4)), "abcd");
    }

    /// 7 septets leave 7 spare bits: they carry <CR>, but the septet count still decides.
    #[test]
    fn seven_spare_bits_are_filled_with_cr_and_a_trailing_at_survives() {
        let septets = encode("1234567");
        let packed = pack(&septets, 0);
        assert_eq!(packed.len(), 7);
        assert_eq!(packed[6] >> 1, CR);
        assert_eq!(decode(&unpack(&packed, 0, 7)), "1234567");

        let packed = pack(&encode("abcdef@"), 0);
        assert_eq!(decode(&unpack(&packed, 0, 7)), "abcdef@");
        let packed = pack(&encode("abcdefg@"), 0);
        assert_eq!(packed.len(), 7);
        assert_eq!(decode(&unpack(&packed, 0, 8)), "abcdefg@");
    }

    #[test]
    fn unpack_reports_short_data_instead_of_panicking() {
        let mut out = Vec::new();
        assert!(!unpack_into(&[0xE8], 0, 3, &mut out));
        assert!(!unpack_into(&[], 3, 1, &mut out));
    }

    #[test]
    fn unknown_escapes_fall_back_as_the_spec_says() {
        // ESC + 'A' (no extension entry) shows 'A'; a lone trailing ESC and ESC ESC show spaces.
        assert_eq!(decode(&[ESC, 0x41, 0x42]), "AB");
        assert_eq!(decode(&[0x41, ESC]), "A ");
        assert_eq!(decode(&[ESC, ESC, 0x41]), " A");
    }

    #[test]
    fn packed_length_rounds_up() {
        assert_eq!(packed_len(0), 0);
        assert_eq!(packed_len(1), 1);
        assert_eq!(packed_len(8), 7);
        assert_eq!(packed_len(160), 140);
    }
}
