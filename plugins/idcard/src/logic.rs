//! `SFZ <身份证号>`: an identity card's holder, sex, birth date, address and validity (R8).
//!
//! The number must pass GB 11643 (birth date and check digit) before the datasource is asked:
//! a mistyped digit is caught on the phone instead of reading as "does not exist".

use police_common::id_number;
use police_common::plugin::{
    Answer, CommandSpec, Datasource, Failure, ManifestSpec, POLICE_DATASOURCE, fit_lines,
    single_argument,
};
use police_common::record::{Cell, Record};

/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：SFZ <身份证号>，如 SFZ 310104199207150028";

/// What this plugin answers and needs.
pub const MANIFEST: ManifestSpec = ManifestSpec {
    name: "idcard",
    version: "1.0.0",
    description: "身份证查询：按公民身份号码查询姓名、性别、出生日期、住址和有效期。",
    commands: &[CommandSpec {
        keyword: "SFZ",
        syntax: "SFZ <身份证号>",
        help: "身份证查询：姓名、性别、住址、有效期",
        police_data: true,
    }],
    datasources: &[POLICE_DATASOURCE],
};

/// The statement run for one number; the number is bound as `$1`.
const SQL: &str = "SELECT id_number, name, sex, birth_date, address, issued_by, valid_from, \
                   valid_until FROM persons WHERE id_number = $1";

/// Answers `SFZ <identity number>`.
pub fn handle(arguments: &[String], db: &dyn Datasource) -> Result<Answer, Failure> {
    let typed = single_argument(arguments, USAGE)?;
    let id = id_number::parse(typed)
        .map_err(|why| Failure::BadArguments(format!("身份证{why}。{USAGE}")))?;
    let rows = db.query(SQL, &[Cell::from(id.number.as_str())])?;
    match rows.first() {
        None => Ok(Answer::not_found(format!("身份证{}不存在。", id.number))),
        Some(person) => Ok(Answer::answered(format_person(&id, person))),
    }
}

/// The reply for one person row; sex and birth date fall back to what the number encodes.
fn format_person(id: &id_number::IdNumber, row: &Record) -> String {
    let sex = or(row.text("sex"), id.sex.as_chinese());
    let birth = or(row.text("birth_date"), &id.birth_iso());
    let mut lines = vec![
        format!("身份证{}", id.number),
        format!("姓名：{} 性别：{sex}", row.text("name")),
        format!("出生：{birth}"),
        format!("住址：{}", or(row.text("address"), "未知")),
    ];
    let (from, until) = (row.text("valid_from"), row.text("valid_until"));
    if !from.is_empty() || !until.is_empty() {
        lines.push(format!(
            "有效期：{}至{}",
            or(from, "未知"),
            or(until, "未知")
        ));
    }
    let issued_by = row.text("issued_by");
    if !issued_by.is_empty() {
        lines.push(format!("签发机关：{issued_by}"));
    }
    fit_lines(&lines, 4)
}

/// `text`, or `fallback` when it is empty.
fn or(text: String, fallback: &str) -> String {
    if text.is_empty() {
        fallback.to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use police_common::plugin::{Outcome, QueryFailure};
    use police_common::testing::{FakeDatasource, row};

    fn person() -> Record {
        row(&[
            ("id_number", "310104199207150028".into()),
            ("name", "王芳".into()),
            ("sex", "女".into()),
            ("birth_date", "1992-07-15".into()),
            ("address", "上海市徐汇区漕溪北路88号".into()),
            ("issued_by", "上海市公安局徐汇分局".into()),
            ("valid_from", "2012-08-01".into()),
            ("valid_until", "2032-08-01".into()),
        ])
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// R8: the card's details for a known number.
    #[test]
    fn answers_a_known_number_with_name_sex_birth_address_and_validity() {
        let db = FakeDatasource::with_rows(vec![person()]);
        let answer = handle(&args(&["310104199207150028"]), &db).expect("answers");
        assert_eq!(answer.outcome, Outcome::Answered);
        assert_eq!(
            answer.text,
            "身份证310104199207150028\n姓名：王芳 性别：女\n出生：1992-07-15\n\
             住址：上海市徐汇区漕溪北路88号\n有效期：2012-08-01至2032-08-01\n\
             签发机关：上海市公安局徐汇分局"
        );
    }

    /// R8: the exact not-found wording.
    #[test]
    fn says_an_absent_number_does_not_exist_in_the_r8_wording() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["11010519491231002x"]), &db).expect("answers");
        assert_eq!(
            answer,
            Answer::not_found("身份证11010519491231002X不存在。")
        );
        assert_eq!(db.calls()[0].1, vec![Cell::from("11010519491231002X")]);
    }

    #[test]
    fn refuses_a_wrong_check_digit_without_querying() {
        let db = FakeDatasource::with_rows(vec![person()]);
        let Err(Failure::BadArguments(text)) = handle(&args(&["310104199207150029"]), &db) else {
            panic!("a wrong check digit is a bad argument");
        };
        assert_eq!(text, format!("身份证号码校验位不正确，请核对。{USAGE}"));
        assert!(db.calls().is_empty());
    }

    #[test]
    fn refuses_missing_or_malformed_numbers_with_the_usage() {
        let db = FakeDatasource::with_rows(vec![]);
        assert_eq!(
            handle(&args(&[]), &db),
            Err(Failure::BadArguments(USAGE.into()))
        );
        for bad in ["3101041992071500", "31010419921315002X"] {
            let Err(Failure::BadArguments(text)) = handle(&args(&[bad]), &db) else {
                panic!("{bad} is a bad argument");
            };
            assert!(text.ends_with(USAGE), "{text}");
        }
    }

    #[test]
    fn falls_back_to_what_the_number_encodes_for_sex_and_birth() {
        let sparse = row(&[("name", "王芳".into())]);
        let answer = handle(
            &args(&["310104199207150028"]),
            &FakeDatasource::with_rows(vec![sparse]),
        )
        .expect("answers");
        assert_eq!(
            answer.text,
            "身份证310104199207150028\n姓名：王芳 性别：女\n出生：1992-07-15\n住址：未知"
        );
    }

    #[test]
    fn a_datasource_outage_is_unavailable() {
        let db = FakeDatasource::failing(QueryFailure::Unavailable("down".into()));
        assert!(matches!(
            handle(&args(&["310104199207150028"]), &db),
            Err(Failure::Unavailable(_))
        ));
    }

    #[test]
    fn the_manifest_declares_sfz_on_the_police_datasource() {
        assert_eq!(MANIFEST.name, "idcard");
        assert_eq!(MANIFEST.commands[0].keyword, "SFZ");
        assert_eq!(MANIFEST.datasources, &["police"]);
    }
}
