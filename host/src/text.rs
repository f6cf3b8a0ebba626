//! The one check of a short text an administrator or a member types (a name, a title, a news
//! item's text): trimmed, not empty, not too long, no control characters. Each domain module
//! wraps the reason in its own error, which names the field.

/// Whether line breaks may stand in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: a name, a title.
    One,
    /// Several lines: a news item's text.
    Several,
}

/// The text trimmed, or why it cannot be used (a sentence for the user).
pub fn checked(value: &str, max_chars: usize, lines: Lines) -> Result<String, String> {
    let v = value.trim();
    let control = |c: char| c.is_control() && !(lines == Lines::Several && c == '\n');
    if v.is_empty() {
        Err("it is empty".to_owned())
    } else if v.chars().count() > max_chars {
        Err(format!("it is longer than {max_chars} characters"))
    } else if v.chars().any(control) {
        Err(match lines {
            Lines::One => "it contains control characters (line breaks, tabs)",
            Lines::Several => "it contains control characters (tabs and the like)",
        }
        .to_owned())
    } else {
        Ok(v.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_trimmed_or_refused_with_the_reason() {
        assert_eq!(checked("  王芳 ", 10, Lines::One).unwrap(), "王芳");
        assert_eq!(checked("", 10, Lines::One).unwrap_err(), "it is empty");
        assert!(
            checked("一二三", 2, Lines::One)
                .unwrap_err()
                .contains("longer than 2")
        );
        assert!(
            checked("a\nb", 10, Lines::One)
                .unwrap_err()
                .contains("line breaks")
        );
        assert_eq!(checked("a\nb", 10, Lines::Several).unwrap(), "a\nb");
        assert!(checked("a\tb", 10, Lines::Several).is_err());
    }
}
