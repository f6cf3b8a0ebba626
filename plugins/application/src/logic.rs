//! `BZ <受理编号>`: the reply from the sender's application, if the host found one.

/// The command's keyword.
pub const KEYWORD: &str = "BZ";
/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：BZ <受理编号>，如 BZ E20261201001";

/// What the application is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Passport,
    ExitEntry,
    IdCard,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Passport => "护照",
            Kind::ExitEntry => "出入境通行证",
            Kind::IdCard => "居民身份证",
        }
    }
}

/// The sender's application as the host returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub kind: Kind,
    /// The status word (可领取, 审核中...).
    pub status: String,
    pub note: Option<String>,
}

/// The one application number after `BZ`, or the usage.
pub fn number(arguments: &[String]) -> Result<String, String> {
    match arguments {
        [only] if !only.trim().is_empty() => Ok(only.trim().to_owned()),
        _ => Err(USAGE.to_owned()),
    }
}

/// The reply: the status when the host found the sender's application, else the not-found
/// text, which is the same whether no such application exists or it is another phone's.
pub fn reply(number: &str, status: Option<&Status>) -> String {
    match status {
        None => not_found(number),
        Some(s) => {
            let note = s
                .note
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map_or_else(String::new, |n| n.trim().to_owned());
            format!(
                "受理编号{number}的{}申请当前状态：{}。{note}",
                s.kind.label(),
                s.status
            )
        }
    }
}

/// The text for an application that the sender cannot see.
pub fn not_found(number: &str) -> String {
    format!("受理编号{number}的申请不存在。")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_application_gives_its_kind_status_and_note() {
        let status = Status {
            kind: Kind::Passport,
            status: "可领取".into(),
            note: Some("请携带身份证到出入境大厅领取。".into()),
        };
        assert_eq!(
            reply("E123", Some(&status)),
            "受理编号E123的护照申请当前状态：可领取。请携带身份证到出入境大厅领取。"
        );
    }

    #[test]
    fn without_a_note_the_reply_ends_with_the_status() {
        let status = Status {
            kind: Kind::IdCard,
            status: "审核中".into(),
            note: Some(" ".into()),
        };
        assert_eq!(
            reply("S9", Some(&status)),
            "受理编号S9的居民身份证申请当前状态：审核中。"
        );
    }

    #[test]
    fn nothing_found_is_the_not_found_text_of_that_number() {
        assert_eq!(reply("E404", None), "受理编号E404的申请不存在。");
    }

    #[test]
    fn exactly_one_number_is_required() {
        assert_eq!(number(&["E1".into()]), Ok("E1".into()));
        assert_eq!(number(&[]), Err(USAGE.to_owned()));
        assert_eq!(number(&["E1".into(), "E2".into()]), Err(USAGE.to_owned()));
    }
}
