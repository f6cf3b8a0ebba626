//! `ZT <姓名>`: wanted persons with that name, numbered, newest first (R8).
//!
//! Lists at most [`MAX_LISTED`] matches (fewer if the reply would exceed
//! [`MAX_REPLY_CHARS`]) and says how many more there are, so that the officer can narrow the
//! search with `SFZ`.

use police_common::name;
use police_common::plugin::{
    Answer, CommandSpec, Datasource, Failure, MAX_REPLY_CHARS, ManifestSpec, POLICE_DATASOURCE,
    single_argument,
};
use police_common::record::{Cell, Record};

/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：ZT <姓名>，如 ZT 张伟";

/// The most matches one reply lists.
pub const MAX_LISTED: usize = 5;

/// What this plugin answers and needs.
pub const MANIFEST: ManifestSpec = ManifestSpec {
    name: "wanted",
    version: "1.0.0",
    description: "在逃人员查询：按姓名查询在逃人员的身份证号、案由和通缉单位。",
    commands: &[CommandSpec {
        keyword: "ZT",
        syntax: "ZT <姓名>",
        help: "在逃人员查询：身份证号、案由、通缉单位",
        police_data: true,
    }],
    datasources: &[POLICE_DATASOURCE],
};

/// The statement run for one name; the name is bound as `$1`. `total` counts every match
/// (window functions run before `LIMIT`; SQLite 3.25+ and PostgreSQL both have them).
const SQL: &str = "SELECT name, id_number, case_summary, issuing_unit, issued_on, level, \
                   COUNT(*) OVER () AS total FROM wanted WHERE name = $1 \
                   ORDER BY issued_on DESC, id LIMIT 5";

/// Answers `ZT <name>`.
pub fn handle(arguments: &[String], db: &dyn Datasource) -> Result<Answer, Failure> {
    let typed = single_argument(arguments, USAGE)?;
    let name =
        name::normalise(typed).map_err(|why| Failure::BadArguments(format!("{why}。{USAGE}")))?;
    let rows = db.query(SQL, &[Cell::from(name.as_str())])?;
    if rows.is_empty() {
        return Ok(Answer::not_found(format!("姓名 {name}不存在。")));
    }
    let total = rows
        .first()
        .and_then(|row| row.integer("total"))
        .and_then(|total| usize::try_from(total).ok())
        .unwrap_or(rows.len())
        .max(rows.len());
    Ok(Answer::answered(format_matches(&name, &rows, total)))
}

/// The reply: a header, up to [`MAX_LISTED`] numbered matches that fit, and a line saying how
/// many were left out.
fn format_matches(name: &str, rows: &[Record], total: usize) -> String {
    let entries: Vec<String> = rows
        .iter()
        .take(MAX_LISTED)
        .enumerate()
        .map(|(i, row)| format_entry(i + 1, row))
        .collect();
    let mut listed = entries.len();
    loop {
        let mut text = format!("在逃人员“{name}”共{total}人：");
        for entry in &entries[..listed] {
            text.push('\n');
            text.push_str(entry);
        }
        if total > listed {
            text.push_str(&format!(
                "\n另有{}人未列出，请用SFZ按身份证号核查。",
                total - listed
            ));
        }
        if listed <= 1 || text.chars().count() <= MAX_REPLY_CHARS {
            return text;
        }
        listed -= 1;
    }
}

/// One numbered match: name, ID number, case, issuing unit and level (the date is left out to
/// keep five matches within one reply).
fn format_entry(number: usize, row: &Record) -> String {
    let id = row.text("id_number");
    let id = if id.is_empty() {
        "身份证号不详".to_owned()
    } else {
        id
    };
    let mut entry = [
        format!("{number}.{}", row.text("name")),
        id,
        row.text("case_summary"),
        row.text("issuing_unit"),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let level = row.text("level");
    if !level.is_empty() {
        entry.push_str(&format!("（{level}）"));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use police_common::plugin::{Outcome, QueryFailure};
    use police_common::testing::{FakeDatasource, row};

    fn wanted(name: &str, id: &str, total: i64) -> Record {
        row(&[
            ("name", name.into()),
            ("id_number", id.into()),
            ("case_summary", "涉嫌诈骗罪".into()),
            ("issuing_unit", "北京市公安局海淀分局".into()),
            ("issued_on", "2023-05-01".into()),
            ("level", "B级".into()),
            ("total", Cell::Integer(total)),
        ])
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// R8: several matches are listed, numbered.
    #[test]
    fn lists_every_match_numbered() {
        let db = FakeDatasource::with_rows(vec![
            wanted("张伟", "110108197908220016", 2),
            wanted("张伟", "320102198801300038", 2),
        ]);
        let answer = handle(&args(&["张伟"]), &db).expect("answers");
        assert_eq!(answer.outcome, Outcome::Answered);
        assert_eq!(
            answer.text,
            "在逃人员“张伟”共2人：\n\
             1.张伟 110108197908220016 涉嫌诈骗罪 北京市公安局海淀分局（B级）\n\
             2.张伟 320102198801300038 涉嫌诈骗罪 北京市公安局海淀分局（B级）"
        );
        assert_eq!(db.calls()[0].1, vec![Cell::from("张伟")]);
    }

    /// R8: the exact not-found wording, with its space.
    #[test]
    fn says_an_absent_name_does_not_exist_in_the_r8_wording() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["司马光"]), &db).expect("answers");
        assert_eq!(answer, Answer::not_found("姓名 司马光不存在。"));
    }

    #[test]
    fn lists_five_and_says_how_many_more() {
        let rows = (0..5)
            .map(|_| wanted("刘洋", "110101198001010011", 7))
            .collect();
        let answer = handle(&args(&["刘洋"]), &FakeDatasource::with_rows(rows)).expect("answers");
        assert!(
            answer.text.starts_with("在逃人员“刘洋”共7人："),
            "{}",
            answer.text
        );
        assert!(answer.text.contains("\n5.刘洋 "), "{}", answer.text);
        assert!(
            answer
                .text
                .ends_with("\n另有2人未列出，请用SFZ按身份证号核查。")
        );
        assert!(answer.text.chars().count() <= MAX_REPLY_CHARS);
    }

    #[test]
    fn lists_fewer_when_long_entries_would_exceed_the_reply_limit() {
        let mut long = wanted("刘洋", "110101198001010011", 5);
        long = Record::new(
            [
                "name",
                "id_number",
                "issuing_unit",
                "issued_on",
                "level",
                "total",
            ]
            .iter()
            .map(|c| ((*c).to_owned(), long.get(c).cloned().unwrap_or(Cell::Null)))
            .chain([("case_summary".to_owned(), Cell::Text("案情".repeat(30)))])
            .collect(),
        );
        let answer =
            handle(&args(&["刘洋"]), &FakeDatasource::with_rows(vec![long; 5])).expect("answers");
        assert!(
            answer.text.chars().count() <= MAX_REPLY_CHARS,
            "{}",
            answer.text
        );
        assert!(answer.text.contains("\n1.刘洋 "));
        assert!(answer.text.contains("人未列出"));
    }

    #[test]
    fn counts_the_rows_when_the_datasource_gives_no_total() {
        let rows = vec![row(&[
            ("name", "张伟".into()),
            ("case_summary", "涉嫌盗窃罪".into()),
        ])];
        let answer = handle(&args(&["张伟"]), &FakeDatasource::with_rows(rows)).expect("answers");
        assert_eq!(
            answer.text,
            "在逃人员“张伟”共1人：\n1.张伟 身份证号不详 涉嫌盗窃罪"
        );
    }

    #[test]
    fn refuses_missing_or_malformed_names_with_the_usage() {
        let db = FakeDatasource::with_rows(vec![]);
        assert_eq!(
            handle(&args(&[]), &db),
            Err(Failure::BadArguments(USAGE.into()))
        );
        for bad in [&["张"][..], &["Zhang"][..], &["张", "伟"][..]] {
            let Err(Failure::BadArguments(text)) = handle(&args(bad), &db) else {
                panic!("{bad:?} is a bad argument");
            };
            assert!(text.ends_with(USAGE), "{text}");
        }
        assert!(db.calls().is_empty());
    }

    #[test]
    fn a_datasource_outage_is_unavailable() {
        let db = FakeDatasource::failing(QueryFailure::Unavailable("down".into()));
        assert!(matches!(
            handle(&args(&["张伟"]), &db),
            Err(Failure::Unavailable(_))
        ));
    }

    #[test]
    fn the_manifest_declares_zt_on_the_police_datasource() {
        assert_eq!(MANIFEST.name, "wanted");
        assert_eq!(MANIFEST.commands[0].keyword, "ZT");
        assert_eq!(MANIFEST.datasources, &["police"]);
    }
}
