//! Motor-vehicle plate numbers (GA 36): the province abbreviation, the issuing office's letter
//! and five (six for new-energy vehicles) letters or digits, e.g. `京A12345`, `沪AD12345`.
//!
//! Officers type plates in many ways (`京a12345`, `京A·12345`, `京Ａ１２３４５`); this module turns
//! them into the one form stored in the datasource.

use std::fmt;

/// The abbreviations of the 31 mainland provinces, regions and municipalities.
pub const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Characters that may end a special plate (learner, police, trailer, Hong Kong/Macao, consular).
const SUFFIXES: &str = "学警挂港澳领使试超";

/// Why a text is not a plate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlateError {
    /// The first character is not a province abbreviation.
    Province,
    /// Wrong length or characters after the province.
    Format,
}

impl fmt::Display for PlateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlateError::Province => f.write_str("车牌应以省份简称开头"),
            PlateError::Format => f.write_str("车牌格式不正确"),
        }
    }
}

impl std::error::Error for PlateError {}

/// Normalises a typed plate: drops spaces, dots and dashes, folds full-width ASCII to half-width
/// and letters to upper case, then checks the shape. Returns e.g. `京A12345`.
pub fn normalise(text: &str) -> Result<String, PlateError> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '．' | '.' | '-' | '－' | '・'))
        .map(|c| to_half_width(c).to_ascii_uppercase())
        .collect();
    let Some((&province, rest)) = chars.split_first() else {
        return Err(PlateError::Format);
    };
    if !PROVINCES.contains(province) {
        return Err(PlateError::Province);
    }
    let Some((&office, serial)) = rest.split_first() else {
        return Err(PlateError::Format);
    };
    if !office.is_ascii_uppercase() || !(5..=6).contains(&serial.len()) {
        return Err(PlateError::Format);
    }
    let (last, body) = serial.split_last().ok_or(PlateError::Format)?;
    let body_ok = body
        .iter()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let last_ok = last.is_ascii_uppercase() || last.is_ascii_digit() || SUFFIXES.contains(*last);
    if !body_ok || !last_ok {
        return Err(PlateError::Format);
    }
    Ok(chars.into_iter().collect())
}

/// Folds a full-width ASCII character (U+FF01..U+FF5E) to its half-width form.
pub fn to_half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_well_formed_plate() {
        assert_eq!(normalise("京A12345").as_deref(), Ok("京A12345"));
        assert_eq!(
            normalise("沪AD12345").as_deref(),
            Ok("沪AD12345"),
            "new-energy plate"
        );
        assert_eq!(
            normalise("粤B1234学").as_deref(),
            Ok("粤B1234学"),
            "learner plate"
        );
    }

    #[test]
    fn folds_the_ways_phones_type_plates() {
        for typed in [
            "京a12345",
            "京A·12345",
            " 京A 12345 ",
            "京Ａ１２３４５",
            "京A-12345",
        ] {
            assert_eq!(normalise(typed).as_deref(), Ok("京A12345"), "{typed}");
        }
    }

    #[test]
    fn refuses_plates_without_a_province() {
        assert_eq!(normalise("AA12345"), Err(PlateError::Province));
        assert_eq!(normalise("中A12345"), Err(PlateError::Province));
    }

    #[test]
    fn refuses_wrong_lengths_and_characters() {
        for bad in [
            "",
            "京",
            "京A",
            "京A1234",
            "京A1234567",
            "京112345",
            "京A12学45",
            "京A12?45",
        ] {
            assert_eq!(normalise(bad), Err(PlateError::Format), "{bad}");
        }
    }
}
