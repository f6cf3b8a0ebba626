//! Personal names as officers type them for `ZT`: Chinese characters, with the middle dot of
//! transliterated names (`买买提·艾力`) in any of the forms phones produce.

use std::fmt;

/// The longest name accepted, in characters (long transliterated names included).
pub const MAX_NAME_CHARS: usize = 20;

/// Why a text is not a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Fewer than two or more than [`MAX_NAME_CHARS`] characters.
    Length,
    /// Something other than Chinese characters and the middle dot.
    Characters,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Length => write!(f, "姓名应为2至{MAX_NAME_CHARS}个汉字"),
            NameError::Characters => f.write_str("姓名只能包含汉字和间隔号"),
        }
    }
}

impl std::error::Error for NameError {}

/// Trims the name, turns the dot variants (`•`, `・`, `.`, `．`) into `·` and checks it is
/// two to twenty Chinese characters, dots not first, last or doubled.
pub fn normalise(text: &str) -> Result<String, NameError> {
    let name: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '•' | '・' | '.' | '．' | '‧' => '·',
            other => other,
        })
        .collect();
    let count = name.chars().count();
    if !(2..=MAX_NAME_CHARS).contains(&count) {
        return Err(NameError::Length);
    }
    let all_allowed = name.chars().all(|c| is_han(c) || c == '·');
    let dots_ok = !name.starts_with('·') && !name.ends_with('·') && !name.contains("··");
    if !all_allowed || !dots_ok {
        return Err(NameError::Characters);
    }
    Ok(name)
}

/// Whether `c` is a CJK unified ideograph (basic block or extension A/B).
fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2A6DF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ordinary_and_transliterated_names() {
        assert_eq!(normalise("张伟").as_deref(), Ok("张伟"));
        assert_eq!(normalise(" 欧阳娜娜 ").as_deref(), Ok("欧阳娜娜"));
        assert_eq!(normalise("买买提•艾力").as_deref(), Ok("买买提·艾力"));
    }

    #[test]
    fn refuses_too_short_or_too_long_names() {
        assert_eq!(normalise("张"), Err(NameError::Length));
        assert_eq!(normalise(&"张".repeat(21)), Err(NameError::Length));
    }

    #[test]
    fn refuses_latin_digits_and_stray_dots() {
        for bad in ["Zhang", "张3", "·张伟", "张伟·", "买买提··艾力", "张 伟"] {
            assert_eq!(normalise(bad), Err(NameError::Characters), "{bad}");
        }
    }
}
