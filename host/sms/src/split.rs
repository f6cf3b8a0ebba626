//! Choosing the alphabet for a text and splitting it into parts (TS 23.040 §9.2.3.24.1).
//!
//! A text goes as GSM 7-bit when every character is in the default alphabet or its extension
//! table, else as UCS2. One part holds 160 septets or 70 UTF-16 code units; with a concatenation
//! header, 153 / 67 (8-bit reference) or 152 / 66 (16-bit reference). Parts are cut between
//! characters, so an escape pair or a surrogate pair is never split.

use super::submit::SubmitOptions;
use super::udh::Concat;
use super::user_data::{MAX_OCTETS, MAX_SEPTETS};
use super::{Encoding, gsm7};
use serde::Serialize;
use std::ops::Range;

/// What [`super::encode_submit`] would do with a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The alphabet the text goes in.
    pub encoding: Encoding,
    /// How many parts (SMS) it takes.
    pub parts: usize,
    /// Its length: septets for GSM 7-bit (escaped characters count 2), UTF-16 code units for
    /// UCS2.
    pub units: usize,
    /// Units one part holds: 160 / 70 for a single part, 153 / 67 (or 152 / 66 with 16-bit
    /// references) when the text is split.
    pub per_part: usize,
}

/// Plans `text` with the default [`SubmitOptions`]: GSM 7-bit if every character is in the
/// default alphabet or extension table, else UCS2; 8-bit concatenation references.
pub fn plan(text: &str) -> Plan {
    plan_with(text, &SubmitOptions::default())
}

/// Plans `text` as [`super::encode_submit`] would send it with `options`.
pub fn plan_with(text: &str, options: &SubmitOptions) -> Plan {
    let split = split(text, options.force_ucs2, options.wide_reference);
    Plan {
        encoding: split.encoding,
        parts: split.ranges.len(),
        units: split.units,
        per_part: split.per_part,
    }
}

/// A text cut into parts.
pub(crate) struct Split {
    pub(crate) encoding: Encoding,
    pub(crate) units: usize,
    pub(crate) per_part: usize,
    /// Byte ranges of the parts in the text; at least one (empty for an empty text).
    pub(crate) ranges: Vec<Range<usize>>,
}

/// Units one part of `encoding` holds: (alone, with a concatenation header).
fn capacity(encoding: Encoding, wide_reference: bool) -> (usize, usize) {
    let header = Concat::header_len(wide_reference);
    match encoding {
        Encoding::Gsm7 => (MAX_SEPTETS, MAX_SEPTETS - (header * 8).div_ceil(7)),
        Encoding::Ucs2 => (MAX_OCTETS / 2, (MAX_OCTETS - header) / 2),
        Encoding::Data8 => (MAX_OCTETS, MAX_OCTETS - header),
    }
}

/// Units `c` takes in `encoding` (GSM 7-bit only for characters in the alphabet).
fn units_of(c: char, encoding: Encoding) -> usize {
    match encoding {
        Encoding::Gsm7 => gsm7::lookup(c).map_or(1, |s| s.len()),
        Encoding::Ucs2 => c.len_utf16(),
        Encoding::Data8 => c.len_utf8(),
    }
}

/// Chooses the alphabet and cuts `text` into parts.
pub(crate) fn split(text: &str, force_ucs2: bool, wide_reference: bool) -> Split {
    let (encoding, units) = match gsm7::septet_count(text) {
        Some(septets) if !force_ucs2 => (Encoding::Gsm7, septets),
        _ => (Encoding::Ucs2, text.encode_utf16().count()),
    };
    let (single, multi) = capacity(encoding, wide_reference);
    if units <= single {
        return Split {
            encoding,
            units,
            per_part: single,
            ranges: std::iter::once(0..text.len()).collect(),
        };
    }
    let mut ranges = Vec::with_capacity(units.div_ceil(multi));
    let (mut start, mut filled) = (0, 0);
    for (index, c) in text.char_indices() {
        let n = units_of(c, encoding);
        if filled + n > multi {
            ranges.push(start..index);
            start = index;
            filled = 0;
        }
        filled += n;
    }
    ranges.push(start..text.len());
    Split {
        encoding,
        units,
        per_part: multi,
        ranges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<&str> {
        split(text, false, false)
            .ranges
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn gsm7_limits_are_160_then_153() {
        assert_eq!(plan(&"x".repeat(160)).parts, 1);
        assert_eq!(plan(&"x".repeat(160)).per_part, 160);
        let p = plan(&"x".repeat(161));
        assert_eq!(
            (p.encoding, p.parts, p.units, p.per_part),
            (Encoding::Gsm7, 2, 161, 153)
        );
        assert_eq!(plan(&"x".repeat(153 * 2)).parts, 2);
        assert_eq!(plan(&"x".repeat(153 * 2 + 1)).parts, 3);
        let wide = SubmitOptions {
            wide_reference: true,
            ..SubmitOptions::default()
        };
        assert_eq!(plan_with(&"x".repeat(153 * 2), &wide).parts, 3);
        assert_eq!(plan_with(&"x".repeat(152 * 2), &wide).per_part, 152);
    }

    #[test]
    fn ucs2_limits_are_70_then_67() {
        assert_eq!(plan(&"中".repeat(70)).parts, 1);
        let p = plan(&"中".repeat(71));
        assert_eq!(
            (p.encoding, p.parts, p.units, p.per_part),
            (Encoding::Ucs2, 2, 71, 67)
        );
        assert_eq!(plan(&"中".repeat(67 * 3)).parts, 3);
        assert_eq!(plan(&"中".repeat(67 * 3 + 1)).parts, 4);
    }

    #[test]
    fn escapes_count_twice_and_are_never_split() {
        // 80 euro signs are 160 septets: one part.
        assert_eq!(plan(&"€".repeat(80)).parts, 1);
        assert_eq!(plan(&"€".repeat(80)).units, 160);
        // 152 'x' then '€': the escape pair does not fit in part one and moves to part two.
        let text = format!("{}€{}", "x".repeat(152), "y".repeat(10));
        let cut = parts(&text);
        assert_eq!(cut, [&text[..152], &text[152..]]);
        assert!(cut[1].starts_with('€'));
    }

    #[test]
    fn surrogate_pairs_are_never_split() {
        // 66 Chinese characters then an emoji (2 code units): the emoji opens part two.
        let text = format!("{}😀{}", "中".repeat(66), "文".repeat(10));
        let cut = parts(&text);
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[0], "中".repeat(66));
        assert!(cut[1].starts_with('😀'));
        assert_eq!(plan(&text).units, 66 + 2 + 10);
    }

    #[test]
    fn any_non_gsm_character_makes_the_whole_text_ucs2() {
        let p = plan("Hello 中国");
        assert_eq!((p.encoding, p.units, p.per_part), (Encoding::Ucs2, 8, 70));
        let forced = SubmitOptions {
            force_ucs2: true,
            ..SubmitOptions::default()
        };
        assert_eq!(plan_with("Hello", &forced).encoding, Encoding::Ucs2);
    }

    #[test]
    fn empty_text_is_one_empty_part() {
        let p = plan("");
        assert_eq!((p.encoding, p.parts, p.units), (Encoding::Gsm7, 1, 0));
        assert_eq!(parts(""), [""]);
    }
}
