//! Phone numbers as people type them: splitting recipient lists and normalising each number to
//! one canonical form, so that `+8613800000001`, `008613800000001`, `8613800000001` and
//! `13800000001` are the same phone (R6, R7).
//!
//! Canonical form: `+` and the international digits for full numbers; the bare digits for short
//! codes (service numbers such as `95110`), which have no international form.

use std::fmt;

/// A phone number in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a typed number is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but separators.
    #[error("the number is empty")]
    Empty,
    /// Letters or other symbols.
    #[error("`{0}` contains characters other than digits, spaces, '-' and a leading '+'")]
    InvalidCharacter(String),
    /// Longer than E.164 allows or shorter than any service number.
    #[error("`{0}` must have 3 to 15 digits")]
    BadLength(String),
}

impl PhoneNumber {
    /// Normalises `input` with `country_code` (digits, e.g. `86`) for national numbers.
    /// Full-width digits and plus signs (as typed on Chinese keyboards) are accepted.
    pub fn parse(input: &str, country_code: &str) -> Result<Self, PhoneError> {
        let mut digits = String::with_capacity(input.len());
        let mut plus = false;
        for c in input.trim().chars() {
            let c = fold_full_width(c);
            match c {
                '0'..='9' => digits.push(c),
                '+' if digits.is_empty() && !plus => plus = true,
                ' ' | '-' | '(' | ')' | '\u{3000}' => {}
                _ => return Err(PhoneError::InvalidCharacter(input.trim().to_string())),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        let international = if plus {
            Some(digits.clone())
        } else if let Some(rest) = digits.strip_prefix("00") {
            Some(rest.to_string())
        } else if digits.starts_with(country_code) && digits.len() >= country_code.len() + 10 {
            Some(digits.clone())
        } else if digits.len() >= 10 {
            let national = digits.strip_prefix('0').unwrap_or(&digits);
            Some(format!("{country_code}{national}"))
        } else {
            None
        };
        match international {
            Some(d) if (8..=15).contains(&d.len()) => Ok(Self(format!("+{d}"))),
            Some(d) => Err(PhoneError::BadLength(d)),
            None if digits.len() >= 3 => Ok(Self(digits)),
            None => Err(PhoneError::BadLength(digits)),
        }
    }

    /// The canonical text (`+8613800000001` or a short code like `95110`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a full international number rather than a short code.
    pub fn is_international(&self) -> bool {
        self.0.starts_with('+')
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fold_full_width(c: char) -> char {
    match c {
        '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap_or(c),
        '\u{FF0B}' => '+',
        '\u{FF0D}' => '-',
        _ => c,
    }
}

/// The outcome of reading a typed recipient list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recipients {
    /// Valid numbers in the order given, each once.
    pub valid: Vec<PhoneNumber>,
    /// Entries that are not numbers, with the reason, so they can be shown back (never dropped silently).
    pub invalid: Vec<(String, PhoneError)>,
    /// How many entries repeated a number already in `valid`.
    pub duplicates: usize,
}

/// Splits a recipient list on commas (ASCII or Chinese), semicolons, whitespace and newlines,
/// normalises each number and removes repeats.
pub fn parse_recipients(list: &str, country_code: &str) -> Recipients {
    let mut out = Recipients::default();
    let mut seen = std::collections::HashSet::new();
    let entries = list
        .split([',', '，', ';', '；', '、', '\n', '\r', '\t'])
        .flat_map(|chunk| split_spaced_numbers(chunk.trim()))
        .filter(|e| !e.is_empty());
    for entry in entries {
        match PhoneNumber::parse(entry, country_code) {
            Ok(number) if seen.insert(number.clone()) => out.valid.push(number),
            Ok(_) => out.duplicates += 1,
            Err(e) => out.invalid.push((entry.to_string(), e)),
        }
    }
    out
}

/// `138 0000 0001` is one number typed with spaces, but `13800000001 13900000002` is two:
/// split on whitespace only when every piece is a full number of its own.
fn split_spaced_numbers(chunk: &str) -> Vec<&str> {
    let pieces: Vec<&str> = chunk.split_whitespace().collect();
    if pieces.len() > 1 && pieces.iter().all(|p| p.trim_start_matches('+').len() >= 10) {
        pieces
    } else {
        vec![chunk]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        PhoneNumber::parse(s, "86").unwrap().to_string()
    }

    #[test]
    fn the_same_mobile_written_four_ways_is_one_phone() {
        for typed in [
            "+8613800000001",
            "008613800000001",
            "8613800000001",
            "13800000001",
            "138 0000 0001",
            "１３８００００００01",
        ] {
            assert_eq!(canon(typed), "+8613800000001", "{typed}");
        }
    }

    #[test]
    fn short_service_numbers_stay_as_typed() {
        assert_eq!(canon("95110"), "95110");
        assert!(
            !PhoneNumber::parse("95110", "86")
                .unwrap()
                .is_international()
        );
    }

    #[test]
    fn a_national_landline_loses_its_trunk_prefix() {
        assert_eq!(canon("010 6555 1234"), "+861065551234");
    }

    #[test]
    fn letters_and_absurd_lengths_are_refused_with_the_reason() {
        assert!(matches!(
            PhoneNumber::parse("13800abc001", "86"),
            Err(PhoneError::InvalidCharacter(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("12", "86"),
            Err(PhoneError::BadLength(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("+1234567890123456", "86"),
            Err(PhoneError::BadLength(_))
        ));
        assert_eq!(PhoneNumber::parse(" ", "86"), Err(PhoneError::Empty));
    }

    #[test]
    fn recipient_lists_accept_chinese_commas_newlines_and_drop_repeats() {
        let r = parse_recipients(
            "13800000001，13900000002, 13800000001\n+8613700000003；abc",
            "86",
        );
        let valid: Vec<_> = r.valid.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            valid,
            ["+8613800000001", "+8613900000002", "+8613700000003"]
        );
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.invalid.len(), 1);
        assert_eq!(r.invalid[0].0, "abc");
    }

    #[test]
    fn space_separated_full_numbers_are_several_recipients() {
        let r = parse_recipients("13800000001 13900000002", "86");
        assert_eq!(r.valid.len(), 2);
    }
}
