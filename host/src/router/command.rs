//! Reading a command out of an SMS as phones really send it: full-width letters, digits and
//! spaces from Chinese input methods, Chinese punctuation, lower case, extra spaces, and no space
//! at all between keyword and argument (`ｃｐ　京a12345`, `cp京A12345` and `CP 京A12345` are
//! the same command).

/// Longest command the router reads, keyword and arguments joined by single spaces, in
/// characters. No command needs more (the longest, an 18-digit ID number or a name, is far
/// shorter); a longer text is refused before the sender is looked up or any plugin runs.
pub const MAX_COMMAND_CHARS: usize = 160;

/// A command read from a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    /// Upper-case ASCII keyword (`CP`).
    pub keyword: String,
    /// The arguments, half-width, ASCII letters upper-cased (`京A12345`).
    pub arguments: Vec<String>,
}

impl ParsedCommand {
    /// Whether it is longer than [`MAX_COMMAND_CHARS`].
    pub fn is_too_long(&self) -> bool {
        self.display().chars().count() > MAX_COMMAND_CHARS
    }

    /// The command as one line, e.g. `CP 京A12345`, for the audit trail.
    pub fn display(&self) -> String {
        std::iter::once(self.keyword.as_str())
            .chain(self.arguments.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Folds one character: full-width ASCII to ASCII, ideographic space and Chinese punctuation
/// that separates words to a space, ASCII letters to upper case.
fn fold(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '、' | '。' | '\t' | '\r' | '\n' => ' ',
        _ => c,
    };
    match c {
        ',' | ';' | ':' => ' ',
        _ => c.to_ascii_uppercase(),
    }
}

/// Reads the keyword and arguments from `text`; `None` when there is no keyword (empty text, or
/// text that does not start with ASCII letters).
pub fn parse(text: &str) -> Option<ParsedCommand> {
    let folded: String = text.chars().map(fold).collect();
    let trimmed =
        folded.trim_matches(|c: char| c.is_whitespace() || c == '.' || c == '!' || c == '?');
    let letters = trimmed
        .find(|c: char| !c.is_ascii_uppercase())
        .unwrap_or(trimmed.len());
    if letters == 0 {
        return None;
    }
    let (keyword, rest) = trimmed.split_at(letters);
    // The keyword ends at the first character that is not an ASCII letter (`CP京A12345`,
    // `CP 京A12345`); `CPA12345` reads as keyword `CPA`, which the router answers with the hint
    // to text H rather than guessing.
    let arguments = rest.split_whitespace().map(str::to_string).collect();
    Some(ParsedCommand {
        keyword: keyword.to_string(),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Option<(String, Vec<String>)> {
        parse(text).map(|c| (c.keyword, c.arguments))
    }

    #[test]
    fn a_command_longer_than_the_bound_is_too_long() {
        let at_bound = format!("CP {}", "京".repeat(MAX_COMMAND_CHARS - 3));
        assert!(!parse(&at_bound).unwrap().is_too_long());
        let over = format!("CP {}", "京".repeat(MAX_COMMAND_CHARS - 2));
        assert!(parse(&over).unwrap().is_too_long());
    }

    #[test]
    fn what_phones_send_reads_as_the_same_command() {
        let want = Some(("CP".to_string(), vec!["京A12345".to_string()]));
        for text in [
            "CP 京A12345",
            "ｃｐ　京a12345",
            "cp京A12345",
            "  Cp   京ａ１２３４５  ",
            "CP，京A12345。",
            "CP:京A12345",
        ] {
            assert_eq!(words(text), want, "{text:?}");
        }
    }

    #[test]
    fn help_is_a_bare_keyword() {
        assert_eq!(words("h"), Some(("H".into(), vec![])));
        assert_eq!(words(" Ｈ "), Some(("H".into(), vec![])));
    }

    #[test]
    fn chinese_names_stay_whole_and_several_arguments_split_on_spaces() {
        assert_eq!(words("zt 张伟"), Some(("ZT".into(), vec!["张伟".into()])));
        assert_eq!(
            words("DY XW1  体育"),
            Some(("DY".into(), vec!["XW1".into(), "体育".into()]))
        );
    }

    #[test]
    fn text_without_a_leading_keyword_is_not_a_command() {
        assert_eq!(words(""), None);
        assert_eq!(words("   "), None);
        assert_eq!(words("你好"), None);
        assert_eq!(words("12345"), None);
    }

    #[test]
    fn the_display_form_is_what_the_audit_shows() {
        assert_eq!(
            parse("ｓｆｚ  11010519491231002x").unwrap().display(),
            "SFZ 11010519491231002X"
        );
    }
}
