//! `CRJ <身份证号>`: a person's border crossings (exit and entry records), newest first (R8
//! style: the exact not-found text when there is none).
//!
//! The number must pass GB 11643 before the datasource is asked, as for `SFZ`.

use police_common::id_number;
use police_common::plugin::{
    Answer, CommandSpec, Datasource, Failure, ManifestSpec, POLICE_DATASOURCE, single_argument,
};
use police_common::record::{Cell, Record};

/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：CRJ <身份证号>，如 CRJ 110105198503120039";

/// Most crossings listed in one reply.
pub const LISTED: usize = 5;

/// What this plugin answers and needs.
pub const MANIFEST: ManifestSpec = ManifestSpec {
    name: "exitentry",
    version: "1.0.0",
    description: "出入境记录查询：按公民身份号码查询出境、入境的日期、口岸、前往地和证件。",
    commands: &[CommandSpec {
        keyword: "CRJ",
        syntax: "CRJ <身份证号>",
        help: "出入境记录查询：日期、口岸、前往地",
        police_data: true,
    }],
    datasources: &[POLICE_DATASOURCE],
};

/// The statement run for one number, newest first; the number is bound as `$1`. `total`
/// counts every crossing, listed or not.
const SQL: &str = "SELECT name, direction, crossed_on, port, place, document, \
                   COUNT(*) OVER () AS total FROM exit_entry WHERE id_number = $1 \
                   ORDER BY crossed_on DESC, id DESC LIMIT 5";

/// Answers `CRJ <identity number>`.
pub fn handle(arguments: &[String], db: &dyn Datasource) -> Result<Answer, Failure> {
    let typed = single_argument(arguments, USAGE)?;
    let id = id_number::parse(typed)
        .map_err(|why| Failure::BadArguments(format!("身份证{why}。{USAGE}")))?;
    let rows = db.query(SQL, &[Cell::from(id.number.as_str())])?;
    let Some(first) = rows.first() else {
        return Ok(Answer::not_found(format!(
            "出入境记录{}不存在。",
            id.number
        )));
    };
    let total = first
        .integer("total")
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or(rows.len());
    let mut lines = vec![format!(
        "{}（{}）出入境记录{total}条：",
        first.text("name"),
        id.number
    )];
    lines.extend(rows.iter().take(LISTED).map(crossing));
    if total > LISTED {
        lines.push(format!("另有{}条未列出。", total - LISTED));
    }
    Ok(Answer::answered(lines.join("\n")))
}

/// One crossing: `2026-07-17 入境 深圳湾口岸 自香港 往来港澳通行证`.
fn crossing(row: &Record) -> String {
    let direction = row.text("direction");
    let towards = if direction == "入境" { "自" } else { "往" };
    format!(
        "{} {direction} {} {towards}{} {}",
        row.text("crossed_on"),
        row.text("port"),
        row.text("place"),
        row.text("document")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use police_common::plugin::{Outcome, QueryFailure};
    use police_common::testing::{FakeDatasource, row};

    fn crossing_row(direction: &str, on: &str, place: &str, total: i64) -> Record {
        row(&[
            ("name", "李明".into()),
            ("direction", direction.into()),
            ("crossed_on", on.into()),
            ("port", "深圳湾口岸".into()),
            ("place", place.into()),
            ("document", "往来港澳通行证".into()),
            ("total", Cell::Integer(total)),
        ])
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn lists_the_crossings_newest_first_with_the_count() {
        let db = FakeDatasource::with_rows(vec![
            crossing_row("入境", "2026-07-17", "香港", 2),
            crossing_row("出境", "2026-07-15", "香港", 2),
        ]);
        let answer = handle(&args(&["110105198503120039"]), &db).expect("answers");
        assert_eq!(answer.outcome, Outcome::Answered);
        assert_eq!(
            answer.text,
            "李明（110105198503120039）出入境记录2条：\n\
             2026-07-17 入境 深圳湾口岸 自香港 往来港澳通行证\n\
             2026-07-15 出境 深圳湾口岸 往香港 往来港澳通行证"
        );
        assert_eq!(db.calls()[0].1, vec![Cell::from("110105198503120039")]);
    }

    #[test]
    fn says_how_many_more_were_not_listed() {
        let rows = (0..5)
            .map(|i| crossing_row("出境", &format!("2026-0{}-01", i + 1), "澳门", 8))
            .collect();
        let answer = handle(
            &args(&["110105198503120039"]),
            &FakeDatasource::with_rows(rows),
        )
        .expect("answers");
        assert!(
            answer.text.ends_with("\n另有3条未列出。"),
            "{}",
            answer.text
        );
    }

    /// The exact not-found wording.
    #[test]
    fn says_a_number_without_records_has_none_in_the_exact_words() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["310104199207150028"]), &db).expect("answers");
        assert_eq!(
            answer,
            Answer::not_found("出入境记录310104199207150028不存在。")
        );
    }

    #[test]
    fn refuses_a_wrong_check_digit_or_no_number_without_querying() {
        let db = FakeDatasource::with_rows(vec![]);
        assert!(matches!(
            handle(&args(&["310104199207150029"]), &db),
            Err(Failure::BadArguments(text)) if text.ends_with(USAGE)
        ));
        assert_eq!(
            handle(&args(&[]), &db),
            Err(Failure::BadArguments(USAGE.into()))
        );
        assert!(db.calls().is_empty());
    }

    #[test]
    fn a_datasource_outage_is_unavailable() {
        let db = FakeDatasource::failing(QueryFailure::Unavailable("down".into()));
        assert!(matches!(
            handle(&args(&["110105198503120039"]), &db),
            Err(Failure::Unavailable(_))
        ));
    }

    #[test]
    fn the_manifest_declares_crj_on_the_police_datasource() {
        assert_eq!(MANIFEST.name, "exitentry");
        assert_eq!(MANIFEST.commands[0].keyword, "CRJ");
        assert!(MANIFEST.commands[0].police_data);
        assert_eq!(MANIFEST.datasources, &["police"]);
    }
}
