//! `JZ <驾驶证号>`: a driving licence's holder, permitted classes, points, status and validity (R8).
//!
//! Licence numbers are the holder's 18-character identity number. Only the shape is checked
//! here, not the GB 11643 check digit: licences issued to foreigners and some legacy records
//! carry numbers that do not pass it, and an officer reading a licence must still get an answer.

use police_common::id_number;
use police_common::plugin::{
    Answer, CommandSpec, Datasource, Failure, ManifestSpec, POLICE_DATASOURCE, fit_lines,
    single_argument,
};
use police_common::record::{Cell, Record};

/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：JZ <驾驶证号>，如 JZ 110105198503120039";

/// What this plugin answers and needs.
pub const MANIFEST: ManifestSpec = ManifestSpec {
    name: "licence",
    version: "1.0.0",
    description: "驾驶证查询：按驾驶证号查询持证人、准驾车型、记分、状态和有效期。",
    commands: &[CommandSpec {
        keyword: "JZ",
        syntax: "JZ <驾驶证号>",
        help: "驾驶证查询：准驾车型、记分、有效期",
        police_data: true,
    }],
    datasources: &[POLICE_DATASOURCE],
};

/// Points at which a licence is suspended in a 12-month cycle.
const POINTS_LIMIT: i64 = 12;

/// The statement run for one licence; the number is bound as `$1`.
const SQL: &str = "SELECT licence_no, name, id_number, classes, points, valid_from, valid_until, \
                   status FROM licences WHERE licence_no = $1";

/// Answers `JZ <licence number>`.
pub fn handle(arguments: &[String], db: &dyn Datasource) -> Result<Answer, Failure> {
    let typed = single_argument(arguments, USAGE)?;
    let number = id_number::normalise_format(typed)
        .map_err(|why| Failure::BadArguments(format!("驾驶证{why}。{USAGE}")))?;
    let rows = db.query(SQL, &[Cell::from(number.as_str())])?;
    match rows.first() {
        None => Ok(Answer::not_found(format!("驾驶证{number}不存在。"))),
        Some(licence) => Ok(Answer::answered(format_licence(&number, licence))),
    }
}

/// The reply for one licence row.
fn format_licence(number: &str, row: &Record) -> String {
    let mut lines = vec![format!("驾驶证{number}")];
    let id = row.text("id_number");
    lines.push(if id.is_empty() {
        format!("姓名：{}", row.text("name"))
    } else {
        format!("姓名：{} 身份证：{id}", row.text("name"))
    });
    lines.push(format!("准驾车型：{}", non_empty(row.text("classes"))));
    let status = non_empty(row.text("status"));
    lines.push(match row.integer("points") {
        Some(points) => format!("状态：{status}，记分{points}/{POINTS_LIMIT}"),
        None => format!("状态：{status}"),
    });
    let (from, until) = (row.text("valid_from"), row.text("valid_until"));
    if !from.is_empty() || !until.is_empty() {
        lines.push(format!("有效期：{}至{}", non_empty(from), non_empty(until)));
    }
    fit_lines(&lines, 4)
}

/// `text`, or `未知` when the datasource had nothing.
fn non_empty(text: String) -> String {
    if text.is_empty() {
        "未知".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use police_common::plugin::{Outcome, QueryFailure};
    use police_common::testing::{FakeDatasource, row};

    fn licence() -> Record {
        row(&[
            ("licence_no", "110105198503120039".into()),
            ("name", "李明".into()),
            ("id_number", "110105198503120039".into()),
            ("classes", "C1".into()),
            ("points", Cell::Integer(3)),
            ("valid_from", "2015-06-01".into()),
            ("valid_until", "2031-06-01".into()),
            ("status", "正常".into()),
        ])
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// R8: the licence's details for a known number.
    #[test]
    fn answers_a_known_licence_with_classes_points_and_validity() {
        let db = FakeDatasource::with_rows(vec![licence()]);
        let answer = handle(&args(&["110105198503120039"]), &db).expect("answers");
        assert_eq!(answer.outcome, Outcome::Answered);
        assert_eq!(
            answer.text,
            "驾驶证110105198503120039\n姓名：李明 身份证：110105198503120039\n准驾车型：C1\n\
             状态：正常，记分3/12\n有效期：2015-06-01至2031-06-01"
        );
    }

    /// R8: the exact not-found wording, with the number as normalised (upper-case X).
    #[test]
    fn says_an_absent_licence_does_not_exist_in_the_r8_wording() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["11010519491231002x"]), &db).expect("answers");
        assert_eq!(
            answer,
            Answer::not_found("驾驶证11010519491231002X不存在。")
        );
        assert_eq!(db.calls()[0].1, vec![Cell::from("11010519491231002X")]);
    }

    #[test]
    fn looks_up_numbers_whose_check_digit_does_not_verify() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["110105198503120030"]), &db).expect("answers");
        assert_eq!(answer.text, "驾驶证110105198503120030不存在。");
    }

    #[test]
    fn refuses_missing_or_malformed_numbers_with_the_usage() {
        let db = FakeDatasource::with_rows(vec![licence()]);
        assert_eq!(
            handle(&args(&[]), &db),
            Err(Failure::BadArguments(USAGE.into()))
        );
        let Err(Failure::BadArguments(text)) = handle(&args(&["12345"]), &db) else {
            panic!("a short number is a bad argument");
        };
        assert!(
            text.starts_with("驾驶证号码应为18位") && text.ends_with(USAGE),
            "{text}"
        );
        assert!(db.calls().is_empty());
    }

    #[test]
    fn a_missing_points_column_still_answers() {
        let sparse = row(&[("name", "李明".into()), ("classes", Cell::Null)]);
        let answer = handle(
            &args(&["110105198503120039"]),
            &FakeDatasource::with_rows(vec![sparse]),
        )
        .expect("answers");
        assert_eq!(
            answer.text,
            "驾驶证110105198503120039\n姓名：李明\n准驾车型：未知\n状态：未知"
        );
    }

    #[test]
    fn a_datasource_outage_is_unavailable() {
        let db = FakeDatasource::failing(QueryFailure::NotGranted("police".into()));
        assert!(matches!(
            handle(&args(&["110105198503120039"]), &db),
            Err(Failure::Unavailable(_))
        ));
    }

    #[test]
    fn the_manifest_declares_jz_on_the_police_datasource() {
        assert_eq!(MANIFEST.name, "licence");
        assert_eq!(MANIFEST.commands[0].keyword, "JZ");
        assert_eq!(MANIFEST.datasources, &["police"]);
    }
}
