//! 18-digit citizen identity numbers (GB 11643-1999): structure, check digit and parsing.
//!
//! A number is six digits of region code, eight of birth date (`YYYYMMDD`), a three-digit
//! sequence whose last digit is odd for men and even for women, and a check character computed
//! with ISO 7064 MOD 11-2 over the first seventeen digits (`0`-`9` or `X` for ten).
//! Driving licence numbers in China are the holder's identity number, so `JZ` uses the same form.
//! Hand-written: the algorithm is ten lines and no maintained crate covers GB 11643.

use std::fmt;

/// Weights of the first seventeen digits, 2^(17-i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Why a text is not a valid identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberError {
    /// Not 17 digits followed by a digit or `X`.
    Format,
    /// Digits 7-14 are not a calendar date (or are before 1900).
    BirthDate,
    /// The last character does not match the check digit of the first seventeen.
    CheckDigit {
        /// The check character the first seventeen digits call for.
        expected: char,
    },
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdNumberError::Format => f.write_str("号码应为18位：17位数字加1位数字或X"),
            IdNumberError::BirthDate => f.write_str("号码中的出生日期无效"),
            IdNumberError::CheckDigit { .. } => f.write_str("号码校验位不正确，请核对"),
        }
    }
}

impl std::error::Error for IdNumberError {}

/// The sex encoded in the 17th digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Odd sequence digit.
    Male,
    /// Even sequence digit.
    Female,
}

impl Sex {
    /// The Chinese word used on identity cards: `男` or `女`.
    pub fn as_chinese(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A well-formed identity number with the fields it encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    /// The normalised number, 18 characters, upper-case `X`.
    pub number: String,
    /// Region code, the first six digits (e.g. `110105`).
    pub region: String,
    /// Birth date as `(year, month, day)`.
    pub birth: (u16, u8, u8),
    /// Sex from the sequence digit.
    pub sex: Sex,
}

impl IdNumber {
    /// Birth date in ISO form, `YYYY-MM-DD`.
    pub fn birth_iso(&self) -> String {
        let (y, m, d) = self.birth;
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// The check character for the first seventeen digits of an identity number.
///
/// Returns `None` when `first17` is not exactly seventeen ASCII digits.
pub fn check_digit(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Checks the shape only: 17 ASCII digits then a digit or `X`/`x`. Returns the number with an
/// upper-case `X`. Does not check the date or the check digit (see [`parse`]).
pub fn normalise_format(text: &str) -> Result<String, IdNumberError> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() != 18
        || !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x')
    {
        return Err(IdNumberError::Format);
    }
    Ok(text.to_ascii_uppercase())
}

/// Parses and fully validates an identity number: format, birth date and check digit.
pub fn parse(text: &str) -> Result<IdNumber, IdNumberError> {
    let number = normalise_format(text)?;
    let digit = |i: usize| u32::from(number.as_bytes()[i] - b'0');
    let year = (6..10).fold(0, |acc, i| acc * 10 + digit(i));
    let month = digit(10) * 10 + digit(11);
    let day = digit(12) * 10 + digit(13);
    if year < 1900 || !is_calendar_date(year, month, day) {
        return Err(IdNumberError::BirthDate);
    }
    let expected = check_digit(&number[..17]).ok_or(IdNumberError::Format)?;
    if number.as_bytes()[17] != expected as u8 {
        return Err(IdNumberError::CheckDigit { expected });
    }
    let sex = if digit(16) % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(IdNumber {
        region: number[..6].to_owned(),
        // The casts cannot truncate: year < 10000, month <= 12, day <= 31 were checked above.
        birth: (year as u16, month as u8, day as u8),
        sex,
        number,
    })
}

/// Builds a full, valid number from its parts (used by the demo-data generator and tests).
///
/// `sequence` is the three-digit sequence number (0-999); its last digit is forced odd for
/// [`Sex::Male`] and even for [`Sex::Female`]. Returns `None` if `region` is not six digits or the
/// date is not a calendar date.
pub fn compose(region: &str, birth: (u16, u8, u8), sequence: u16, sex: Sex) -> Option<String> {
    let (y, m, d) = birth;
    if region.len() != 6
        || !region.bytes().all(|b| b.is_ascii_digit())
        || !is_calendar_date(u32::from(y), u32::from(m), u32::from(d))
    {
        return None;
    }
    let sequence = sequence % 1000;
    let sequence = match (sex, sequence % 2) {
        (Sex::Male, 0) | (Sex::Female, 1) => sequence - sequence % 10 + (sequence % 10 + 1) % 10,
        _ => sequence,
    };
    let first17 = format!("{region}{y:04}{m:02}{d:02}{sequence:03}");
    let check = check_digit(&first17)?;
    Some(format!("{first17}{check}"))
}

/// Whether `year-month-day` is a date of the Gregorian calendar.
pub fn is_calendar_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of GB 11643-1999 (appendix A).
    #[test]
    fn computes_the_check_digit_of_the_standards_example() {
        assert_eq!(check_digit("11010519491231002"), Some('X'));
        assert!(parse("11010519491231002X").is_ok());
    }

    #[test]
    fn accepts_a_lower_case_x_and_normalises_it() {
        let id = parse("11010519491231002x").expect("valid");
        assert_eq!(id.number, "11010519491231002X");
        assert_eq!(id.region, "110105");
        assert_eq!(id.birth_iso(), "1949-12-31");
        assert_eq!(id.sex, Sex::Female);
    }

    #[test]
    fn rejects_a_wrong_check_digit_and_names_the_right_one() {
        assert_eq!(
            parse("110105194912310021"),
            Err(IdNumberError::CheckDigit { expected: 'X' })
        );
    }

    #[test]
    fn rejects_wrong_lengths_and_letters() {
        for bad in [
            "",
            "1101051949123100",
            "1101051949123100211",
            "11010519491231X02X",
            "京A12345",
        ] {
            assert_eq!(normalise_format(bad), Err(IdNumberError::Format), "{bad}");
        }
    }

    #[test]
    fn rejects_impossible_birth_dates() {
        // 1900-02-29 does not exist (1900 is not a leap year); check digit is irrelevant here.
        let first17 = "11010519000229001";
        let number = format!("{first17}{}", check_digit(first17).unwrap_or('0'));
        assert_eq!(parse(&number), Err(IdNumberError::BirthDate));
        let first17 = "11010520000229001";
        let number = format!("{first17}{}", check_digit(first17).unwrap_or('0'));
        assert!(parse(&number).is_ok(), "2000-02-29 exists");
    }

    #[test]
    fn composed_numbers_parse_back_with_the_requested_sex() {
        for seq in [0, 1, 9, 10, 998, 999] {
            for sex in [Sex::Male, Sex::Female] {
                let number = compose("310104", (1988, 3, 12), seq, sex).expect("composes");
                let parsed = parse(&number).expect("valid");
                assert_eq!(parsed.sex, sex);
                assert_eq!(parsed.birth, (1988, 3, 12));
            }
        }
    }

    #[test]
    fn compose_refuses_bad_regions_and_dates() {
        assert_eq!(compose("11010", (1988, 3, 12), 1, Sex::Male), None);
        assert_eq!(compose("110105", (1988, 2, 30), 1, Sex::Male), None);
    }
}
