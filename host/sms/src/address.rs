//! Addresses (TS 23.040 §9.1.2.5): phone numbers as swapped semi-octets with a type-of-address
//! octet, alphanumeric senders as packed GSM 7-bit text, and the SMSC information that opens a
//! PDU-mode PDU (TS 24.011 §8.2.5.1).

use super::reader::Reader;
use super::{PduError, gsm7};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most digits an address field can hold (10 octets of semi-octets).
const MAX_DIGITS: usize = 20;
/// Most GSM 7-bit septets an alphanumeric address can hold (10 octets).
const MAX_ALPHANUMERIC_SEPTETS: usize = 11;

const TOA_INTERNATIONAL: u8 = 0x91;
const TOA_NATIONAL: u8 = 0xA1;
const TOA_UNKNOWN: u8 = 0x81;
const TOA_ALPHANUMERIC: u8 = 0xD0;

/// The type of number of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressKind {
    /// Type-of-address 0x91: the value starts with the country code.
    International,
    /// Type-of-address 0xA1: a number within the country.
    National,
    /// An alphanumeric sender name (type-of-address 0xD0).
    Alphanumeric,
    /// Type of number unknown (0x81 when sending); the network interprets the digits.
    Unknown,
}

/// A phone number or alphanumeric sender.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// The type of number.
    pub kind: AddressKind,
    /// Digits (`0-9`, `*`, `#`) without `+`, or the alphanumeric text.
    pub value: String,
}

impl Address {
    /// An international number; a leading `+` is dropped.
    pub fn international(digits: &str) -> Self {
        Address {
            kind: AddressKind::International,
            value: digits.strip_prefix('+').unwrap_or(digits).to_owned(),
        }
    }

    /// A national number.
    pub fn national(digits: &str) -> Self {
        Address {
            kind: AddressKind::National,
            value: digits.to_owned(),
        }
    }

    /// An alphanumeric sender name.
    pub fn alphanumeric(text: &str) -> Self {
        Address {
            kind: AddressKind::Alphanumeric,
            value: text.to_owned(),
        }
    }

    /// Parses what a user or configuration gives, after trimming surrounding whitespace:
    /// `+8613800000000` is international, `13800000000` (digits, `*`, `#`) of unknown type, and
    /// text with a letter alphanumeric. Empty input, other characters, more than 20 digits or
    /// more than 11 septets of alphanumeric text are errors.
    pub fn parse(s: &str) -> Result<Address, PduError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PduError::InvalidAddress("the address is empty".into()));
        }
        if let Some(digits) = s.strip_prefix('+') {
            check_digits(digits)?;
            return Ok(Address::international(digits));
        }
        if s.chars().any(char::is_alphabetic) {
            check_alphanumeric(s)?;
            return Ok(Address::alphanumeric(s));
        }
        check_digits(s)?;
        Ok(Address {
            kind: AddressKind::Unknown,
            value: s.to_owned(),
        })
    }

    /// The type-of-address octet used when encoding.
    pub(crate) fn type_of_address(&self) -> u8 {
        match self.kind {
            AddressKind::International => TOA_INTERNATIONAL,
            AddressKind::National => TOA_NATIONAL,
            AddressKind::Alphanumeric => TOA_ALPHANUMERIC,
            AddressKind::Unknown => TOA_UNKNOWN,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == AddressKind::International {
            f.write_str("+")?;
        }
        f.write_str(&self.value)
    }
}

impl std::str::FromStr for Address {
    type Err = PduError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

fn check_digits(digits: &str) -> Result<(), PduError> {
    if digits.is_empty() {
        return Err(PduError::InvalidAddress("the number has no digits".into()));
    }
    if let Some(c) = digits.chars().find(|c| digit_nibble(*c).is_none()) {
        return Err(PduError::InvalidAddress(format!(
            "{c:?} in {digits:?} is not a digit, '*' or '#'"
        )));
    }
    if digits.len() > MAX_DIGITS {
        return Err(PduError::InvalidAddress(format!(
            "{digits:?} has {} digits; an address holds at most {MAX_DIGITS}",
            digits.len()
        )));
    }
    Ok(())
}

fn check_alphanumeric(text: &str) -> Result<(), PduError> {
    match gsm7::septet_count(text) {
        None => Err(PduError::InvalidAddress(format!(
            "alphanumeric address {text:?} has characters outside the GSM 7-bit alphabet"
        ))),
        Some(0) => Err(PduError::InvalidAddress("the address is empty".into())),
        Some(n) if n > MAX_ALPHANUMERIC_SEPTETS => Err(PduError::InvalidAddress(format!(
            "alphanumeric address {text:?} takes {n} septets; at most {MAX_ALPHANUMERIC_SEPTETS} fit"
        ))),
        Some(_) => Ok(()),
    }
}

/// The semi-octet of an address digit (TS 23.040 §9.1.2.3).
fn digit_nibble(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(0xA),
        '#' => Some(0xB),
        _ => None,
    }
}

/// The character of an address semi-octet; `None` for the 0xF filler.
fn nibble_char(n: u8) -> Option<char> {
    match n {
        0..=9 => Some((b'0' + n) as char),
        0xA => Some('*'),
        0xB => Some('#'),
        0xC => Some('a'),
        0xD => Some('b'),
        0xE => Some('c'),
        _ => None,
    }
}

/// Appends `digits` as swapped semi-octets, an odd count ending with the 0xF filler.
/// The digits must have been checked.
fn push_semi_octets(digits: &str, out: &mut Vec<u8>) {
    let mut pending: Option<u8> = None;
    for n in digits.chars().filter_map(digit_nibble) {
        match pending.take() {
            None => pending = Some(n),
            Some(low) => out.push(low | (n << 4)),
        }
    }
    if let Some(low) = pending {
        out.push(low | 0xF0);
    }
}

/// Appends the characters of swapped semi-octets, at most `max` of them, skipping fillers.
fn read_semi_octets(octets: &[u8], max: usize, out: &mut String) {
    let nibbles = octets.iter().flat_map(|o| [o & 0x0F, o >> 4]).take(max);
    out.extend(nibbles.filter_map(nibble_char));
}

/// Appends an address field (TP-OA, TP-DA, TP-RA): length in semi-octets, type of address,
/// value.
pub(crate) fn write_address(address: &Address, out: &mut Vec<u8>) -> Result<(), PduError> {
    if address.kind == AddressKind::Alphanumeric {
        check_alphanumeric(&address.value)?;
        let mut septets = Vec::with_capacity(MAX_ALPHANUMERIC_SEPTETS);
        // Checked above: every character is in the alphabet.
        let _ = gsm7::encode_into(&address.value, &mut septets);
        out.push((septets.len() * 7).div_ceil(4) as u8);
        out.push(TOA_ALPHANUMERIC);
        gsm7::pack_into(&septets, 0, false, out);
        return Ok(());
    }
    check_digits(&address.value)?;
    out.push(address.value.len() as u8);
    out.push(address.type_of_address());
    push_semi_octets(&address.value, out);
    Ok(())
}

/// Reads an address field (TP-OA, TP-DA, TP-RA).
pub(crate) fn read_address(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<Address, PduError> {
    let semi_octets = usize::from(reader.u8(field)?);
    let toa = reader.u8(field)?;
    let octets = reader.take(semi_octets.div_ceil(2), field)?;
    let kind = kind_of(toa);
    let mut value = String::new();
    if kind == AddressKind::Alphanumeric {
        let mut septets = Vec::with_capacity(MAX_ALPHANUMERIC_SEPTETS);
        // The count is derived from the octets read, so unpacking cannot run short.
        gsm7::unpack_into(octets, 0, semi_octets * 4 / 7, &mut septets);
        gsm7::decode_into(&septets, &mut value);
    } else {
        read_semi_octets(octets, semi_octets, &mut value);
    }
    Ok(Address { kind, value })
}

/// The kind of a type-of-address octet (its type-of-number bits 6-4).
fn kind_of(toa: u8) -> AddressKind {
    match (toa >> 4) & 0x07 {
        0b001 => AddressKind::International,
        0b010 => AddressKind::National,
        0b101 => AddressKind::Alphanumeric,
        _ => AddressKind::Unknown,
    }
}

/// Appends the SMSC information: `0x00` for the SIM's default SMSC, or length in octets, type of
/// address and digits.
pub(crate) fn write_smsc(smsc: Option<&Address>, out: &mut Vec<u8>) -> Result<(), PduError> {
    let Some(smsc) = smsc else {
        out.push(0x00);
        return Ok(());
    };
    if smsc.kind == AddressKind::Alphanumeric {
        return Err(PduError::InvalidAddress(format!(
            "the SMSC address must be a number, not {:?}",
            smsc.value
        )));
    }
    check_digits(&smsc.value)?;
    out.push(1 + smsc.value.len().div_ceil(2) as u8);
    out.push(smsc.type_of_address());
    push_semi_octets(&smsc.value, out);
    Ok(())
}

/// Reads the SMSC information; `None` when its length is 0.
pub(crate) fn read_smsc(reader: &mut Reader<'_>) -> Result<Option<Address>, PduError> {
    let len = usize::from(reader.u8("SMSC information length")?);
    if len == 0 {
        return Ok(None);
    }
    let info = reader.take(len, "SMSC information")?;
    let (toa, digits) = info.split_first().unwrap_or((&TOA_UNKNOWN, &[]));
    let mut value = String::with_capacity(digits.len() * 2);
    read_semi_octets(digits, digits.len() * 2, &mut value);
    let kind = match kind_of(*toa) {
        // An SMSC address is always a number; an alphanumeric type here is garbage.
        AddressKind::Alphanumeric => AddressKind::Unknown,
        kind => kind,
    };
    Ok(Some(Address { kind, value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(address: &Address) -> Vec<u8> {
        let mut out = Vec::new();
        write_address(address, &mut out).unwrap();
        out
    }

    fn decoded(octets: &[u8]) -> Address {
        let mut reader = Reader::new(octets);
        let address = read_address(&mut reader, "address").unwrap();
        assert_eq!(reader.remaining(), 0);
        address
    }

    #[test]
    fn parse_tells_international_unknown_and_alphanumeric_apart() {
        assert_eq!(
            Address::parse("+8613800000000").unwrap(),
            Address::international("8613800000000")
        );
        let unknown = Address::parse(" 13800000000 ").unwrap();
        assert_eq!(unknown.kind, AddressKind::Unknown);
        assert_eq!(unknown.value, "13800000000");
        assert_eq!(unknown.type_of_address(), 0x81);
        assert_eq!(Address::parse("*21#").unwrap().value, "*21#");
        assert_eq!(
            Address::parse("Jingxun").unwrap(),
            Address::alphanumeric("Jingxun")
        );
        assert_eq!("+4670".parse::<Address>().unwrap().to_string(), "+4670");
    }

    #[test]
    fn parse_rejects_bad_input_and_says_why() {
        for (input, why) in [
            ("", "empty"),
            ("  ", "empty"),
            ("+", "no digits"),
            ("138-0000", "'-'"),
            ("+86 138", "' '"),
            ("123456789012345678901", "21 digits"),
            ("ABCDEFGHIJKL", "12 septets"),
            ("ABCDEFGHIJ€", "12 septets"),
            ("警讯", "outside the GSM 7-bit alphabet"),
        ] {
            let err = Address::parse(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input:?}: {err}");
        }
        assert!(Address::parse("12345678901234567890").is_ok());
        assert!(Address::parse("ABCDEFGHIJK").is_ok());
    }

    #[test]
    fn display_adds_plus_only_to_international_numbers() {
        assert_eq!(
            Address::international("+8613800000000").to_string(),
            "+8613800000000"
        );
        assert_eq!(Address::national("13800000000").to_string(), "13800000000");
        assert_eq!(Address::alphanumeric("POLICE").to_string(), "POLICE");
    }

    #[test]
    fn odd_digit_counts_end_with_the_f_filler() {
        let bytes = encoded(&Address::international("46708251358"));
        assert_eq!(bytes, [0x0B, 0x91, 0x64, 0x07, 0x28, 0x15, 0x53, 0xF8]);
        assert_eq!(decoded(&bytes), Address::international("46708251358"));
        let bytes = encoded(&Address::national("1234"));
        assert_eq!(bytes, [0x04, 0xA1, 0x21, 0x43]);
        assert_eq!(decoded(&bytes), Address::national("1234"));
    }

    #[test]
    fn star_and_hash_are_semi_octets_a_and_b() {
        let address = Address::parse("*100#").unwrap();
        let bytes = encoded(&address);
        assert_eq!(bytes, [0x05, 0x81, 0x1A, 0x00, 0xFB]);
        assert_eq!(decoded(&bytes), address);
    }

    /// "FONIC" and "www.tim.it" from published alphanumeric-sender PDUs (odd and even lengths).
    #[test]
    fn alphanumeric_addresses_use_packed_septets() {
        let fonic = [0x09, 0xD0, 0xC6, 0xA7, 0x33, 0x39, 0x04];
        assert_eq!(decoded(&fonic), Address::alphanumeric("FONIC"));
        assert_eq!(encoded(&Address::alphanumeric("FONIC")), fonic);
        let tim = [
            0x12, 0xD0, 0xF7, 0xFB, 0xDD, 0x45, 0x4F, 0xB7, 0x5D, 0x69, 0x3A,
        ];
        assert_eq!(decoded(&tim), Address::alphanumeric("www.tim.it"));
        assert_eq!(encoded(&Address::alphanumeric("www.tim.it")), tim);
    }

    #[test]
    fn smsc_information_round_trips() {
        let mut out = Vec::new();
        write_smsc(Some(&Address::international("27381000015")), &mut out).unwrap();
        assert_eq!(out, [0x07, 0x91, 0x72, 0x83, 0x01, 0x00, 0x10, 0xF5]);
        let mut reader = Reader::new(&out);
        assert_eq!(
            read_smsc(&mut reader).unwrap(),
            Some(Address::international("27381000015"))
        );
        let mut none = Vec::new();
        write_smsc(None, &mut none).unwrap();
        assert_eq!(none, [0x00]);
        assert_eq!(read_smsc(&mut Reader::new(&none)).unwrap(), None);
    }

    #[test]
    fn truncated_address_is_an_error() {
        let err =
            read_address(&mut Reader::new(&[0x0B, 0x91, 0x64]), "originator address").unwrap_err();
        assert_eq!(
            err.to_string(),
            "PDU truncated: expected 6 more octets for the originator address, but only 1 remain"
        );
    }
}
