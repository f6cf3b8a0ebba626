//! The shape of a police query plugin without the generated bindings: its manifest, the
//! datasource it reads, and what a handler returns. [`crate::export_police_plugin!`] connects
//! these to the WIT world `jingxun:plugin/query-plugin`.

use std::fmt;

use crate::record::{Cell, Record};

/// The datasource every police plugin reads (granted by an administrator).
pub const POLICE_DATASOURCE: &str = "police";

/// The longest reply a police plugin sends, in characters: about four concatenated UCS-2 SMS.
pub const MAX_REPLY_CHARS: usize = 300;

/// One command, mirroring `jingxun:plugin/types.command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Upper-case keyword, e.g. `CP`.
    pub keyword: &'static str,
    /// Usage, e.g. `CP <车牌号>`.
    pub syntax: &'static str,
    /// One line of help in Chinese.
    pub help: &'static str,
    /// Whether the command returns police data (registered phones only, audited).
    pub police_data: bool,
}

/// A plugin's manifest, mirroring `jingxun:plugin/types.manifest` (police plugins ask for no
/// HTTP hosts and no configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestSpec {
    /// Lower-case plugin name, e.g. `vehicle`.
    pub name: &'static str,
    /// Semantic version.
    pub version: &'static str,
    /// One sentence for administrators.
    pub description: &'static str,
    /// The commands answered.
    pub commands: &'static [CommandSpec],
    /// The datasources queried.
    pub datasources: &'static [&'static str],
}

/// Why a datasource query failed, mirroring `jingxun:plugin/datasource.query-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryFailure {
    /// The plugin was not granted the datasource, or it does not exist.
    NotGranted(String),
    /// The host refused the statement or its parameters.
    InvalidQuery(String),
    /// The datasource failed or timed out.
    Unavailable(String),
    /// More rows than the host returns at once.
    TooManyRows(u32),
}

impl fmt::Display for QueryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryFailure::NotGranted(why) => write!(f, "datasource not granted: {why}"),
            QueryFailure::InvalidQuery(why) => write!(f, "query refused by the host: {why}"),
            QueryFailure::Unavailable(why) => write!(f, "datasource unavailable: {why}"),
            QueryFailure::TooManyRows(limit) => write!(f, "more than {limit} rows"),
        }
    }
}

/// Read-only access to one datasource. The plugins' logic is written against this trait so
/// that tests can answer from memory; in the component it calls the host's `datasource.query`.
pub trait Datasource {
    /// Runs one `SELECT` with `$1`, `$2`, ... bound from `params`.
    fn query(&self, sql: &str, params: &[Cell]) -> Result<Vec<Record>, QueryFailure>;
}

/// How a query went (mirrors `jingxun:plugin/types.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Data was found and returned.
    Answered,
    /// Nothing matched; the text says so in the R8 wording.
    NotFound,
}

/// The reply to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// SMS text.
    pub text: String,
    /// For the audit trail.
    pub outcome: Outcome,
}

impl Answer {
    /// A reply with data.
    pub fn answered(text: impl Into<String>) -> Self {
        Answer {
            text: text.into(),
            outcome: Outcome::Answered,
        }
    }

    /// A not-found reply.
    pub fn not_found(text: impl Into<String>) -> Self {
        Answer {
            text: text.into(),
            outcome: Outcome::NotFound,
        }
    }
}

/// Why a request could not be answered (mirrors `jingxun:plugin/types.plugin-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Wrong arguments; the text is usage help sent to the officer.
    BadArguments(String),
    /// The datasource did not answer; the officer may retry later.
    Unavailable(String),
    /// A defect or misconfiguration; logged for the administrator only.
    Internal(String),
}

impl From<QueryFailure> for Failure {
    /// Datasource outages and missing grants are `unavailable` (an administrator can fix them
    /// and the officer can retry); a refused statement is a defect of the plugin: `internal`.
    fn from(failure: QueryFailure) -> Self {
        match failure {
            QueryFailure::NotGranted(_) | QueryFailure::Unavailable(_) => {
                Failure::Unavailable(failure.to_string())
            }
            QueryFailure::InvalidQuery(_) | QueryFailure::TooManyRows(_) => {
                Failure::Internal(failure.to_string())
            }
        }
    }
}

/// The single argument of a one-argument command, or the usage text as
/// [`Failure::BadArguments`] when there is none or more than one.
pub fn single_argument<'a>(arguments: &'a [String], usage: &str) -> Result<&'a str, Failure> {
    match arguments {
        [only] if !only.trim().is_empty() => Ok(only.trim()),
        _ => Err(Failure::BadArguments(usage.to_owned())),
    }
}

/// Joins `lines` with newlines, dropping trailing optional lines (those after the first
/// `required`) while the text is longer than [`MAX_REPLY_CHARS`].
pub fn fit_lines(lines: &[String], required: usize) -> String {
    let mut kept = lines.len();
    loop {
        let text = lines[..kept].join("\n");
        if kept <= required || text.chars().count() <= MAX_REPLY_CHARS {
            return text;
        }
        kept -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_argument_returns_usage_for_none_or_several() {
        let usage = "用法：CP <车牌号>";
        assert_eq!(single_argument(&["京A12345".into()], usage), Ok("京A12345"));
        for args in [
            vec![],
            vec![" ".to_owned()],
            vec!["京A".into(), "12345".into()],
        ] {
            assert_eq!(
                single_argument(&args, usage),
                Err(Failure::BadArguments(usage.into()))
            );
        }
    }

    #[test]
    fn datasource_outages_are_unavailable_and_refused_statements_internal() {
        assert!(matches!(
            Failure::from(QueryFailure::Unavailable("timeout".into())),
            Failure::Unavailable(_)
        ));
        assert!(matches!(
            Failure::from(QueryFailure::NotGranted("police".into())),
            Failure::Unavailable(_)
        ));
        assert!(matches!(
            Failure::from(QueryFailure::InvalidQuery("not a select".into())),
            Failure::Internal(_)
        ));
    }

    #[test]
    fn fit_lines_drops_optional_lines_until_the_text_fits() {
        let long = "字".repeat(120);
        let lines = vec!["标题".to_owned(), long.clone(), long.clone(), long.clone()];
        let text = fit_lines(&lines, 1);
        assert!(text.chars().count() <= MAX_REPLY_CHARS);
        assert_eq!(text, format!("标题\n{long}\n{long}"));
    }

    #[test]
    fn fit_lines_keeps_required_lines_even_when_long() {
        let long = "字".repeat(400);
        assert_eq!(fit_lines(std::slice::from_ref(&long), 1), long);
    }
}
