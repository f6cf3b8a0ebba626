//! `CP <车牌号>`: a vehicle's owner, model, colour, annual inspection and unpaid fines (R8).

use police_common::plate;
use police_common::plugin::{
    Answer, CommandSpec, Datasource, Failure, ManifestSpec, POLICE_DATASOURCE, fit_lines,
    single_argument,
};
use police_common::record::{Cell, Record};

/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：CP <车牌号>，如 CP 京A12345";

/// What this plugin answers and needs.
pub const MANIFEST: ManifestSpec = ManifestSpec {
    name: "vehicle",
    version: "1.0.0",
    description: "机动车信息查询：按车牌号查询车主、车型、颜色、年检和未处理违法。",
    commands: &[CommandSpec {
        keyword: "CP",
        syntax: "CP <车牌号>",
        help: "机动车查询：车主、车型、年检、违法",
        police_data: true,
    }],
    datasources: &[POLICE_DATASOURCE],
};

/// The statement run for one plate; the plate is bound as `$1`.
const SQL: &str = "SELECT plate, owner_name, owner_id, model, colour, registered_on, \
                   inspection_due, inspection_status, unpaid_fines, violations \
                   FROM vehicles WHERE plate = $1";

/// Answers `CP <plate>`.
pub fn handle(arguments: &[String], db: &dyn Datasource) -> Result<Answer, Failure> {
    let typed = single_argument(arguments, USAGE)?;
    let plate =
        plate::normalise(typed).map_err(|why| Failure::BadArguments(format!("{why}。{USAGE}")))?;
    let rows = db.query(SQL, &[Cell::from(plate.as_str())])?;
    match rows.first() {
        None => Ok(Answer::not_found(format!("车牌{plate}不存在。"))),
        Some(vehicle) => Ok(Answer::answered(format_vehicle(&plate, vehicle))),
    }
}

/// The reply for one vehicle row.
fn format_vehicle(plate: &str, row: &Record) -> String {
    let owner_id = row.text("owner_id");
    let owner = if owner_id.is_empty() {
        row.text("owner_name")
    } else {
        format!("{}（{owner_id}）", row.text("owner_name"))
    };
    let mut lines = vec![
        format!("车牌{plate}"),
        format!("车主：{owner}"),
        format!("车型：{} {}", row.text("model"), row.text("colour"))
            .trim_end()
            .to_owned(),
    ];
    let status = row.text("inspection_status");
    let due = row.text("inspection_due");
    lines.push(match (status.is_empty(), due.is_empty()) {
        (false, false) => format!("年检：{status}，有效期至{due}"),
        (false, true) => format!("年检：{status}"),
        (true, false) => format!("年检：有效期至{due}"),
        (true, true) => "年检：无记录".to_owned(),
    });
    let violations = row.integer("violations").unwrap_or(0);
    let fines = row.integer("unpaid_fines").unwrap_or(0);
    lines.push(if violations == 0 && fines == 0 {
        "无未处理违法".to_owned()
    } else {
        format!("未处理违法{violations}起，未缴罚款{fines}元")
    });
    let registered = row.text("registered_on");
    if !registered.is_empty() {
        lines.push(format!("注册登记：{registered}"));
    }
    fit_lines(&lines, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use police_common::plugin::{Outcome, QueryFailure};
    use police_common::testing::{FakeDatasource, row};

    fn passat() -> Record {
        row(&[
            ("plate", "京A12345".into()),
            ("owner_name", "李明".into()),
            ("owner_id", "110105198503120039".into()),
            ("model", "大众帕萨特".into()),
            ("colour", "黑".into()),
            ("registered_on", "2018-04-20".into()),
            ("inspection_due", "2026-04-30".into()),
            ("inspection_status", "正常".into()),
            ("unpaid_fines", Cell::Integer(200)),
            ("violations", Cell::Integer(1)),
        ])
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// R8: the vehicle's details for a known plate.
    #[test]
    fn answers_a_known_plate_with_owner_model_inspection_and_fines() {
        let db = FakeDatasource::with_rows(vec![passat()]);
        let answer = handle(&args(&["京A12345"]), &db).expect("answers");
        assert_eq!(answer.outcome, Outcome::Answered);
        assert_eq!(
            answer.text,
            "车牌京A12345\n车主：李明（110105198503120039）\n车型：大众帕萨特 黑\n\
             年检：正常，有效期至2026-04-30\n未处理违法1起，未缴罚款200元\n注册登记：2018-04-20"
        );
    }

    /// R8: the exact not-found wording.
    #[test]
    fn says_an_absent_plate_does_not_exist_in_the_r8_wording() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["京Z99999"]), &db).expect("answers");
        assert_eq!(answer, Answer::not_found("车牌京Z99999不存在。"));
    }

    #[test]
    fn binds_the_normalised_plate_as_a_parameter() {
        let db = FakeDatasource::with_rows(vec![]);
        let answer = handle(&args(&["京a·12345"]), &db).expect("answers");
        assert_eq!(answer.text, "车牌京A12345不存在。");
        let calls = db.calls();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].0.contains("WHERE plate = $1"));
        assert_eq!(calls[0].1, vec![Cell::from("京A12345")]);
    }

    #[test]
    fn refuses_missing_extra_or_malformed_plates_with_the_usage() {
        let db = FakeDatasource::with_rows(vec![passat()]);
        for words in [&[][..], &["京A", "12345"][..]] {
            assert_eq!(
                handle(&args(words), &db),
                Err(Failure::BadArguments(USAGE.into()))
            );
        }
        let Err(Failure::BadArguments(text)) = handle(&args(&["ABC"]), &db) else {
            panic!("a malformed plate is a bad argument");
        };
        assert!(text.ends_with(USAGE), "{text}");
        assert!(
            db.calls().is_empty(),
            "nothing is queried for bad arguments"
        );
    }

    #[test]
    fn a_clean_record_says_there_is_nothing_outstanding() {
        let mut clean = passat();
        clean = Record::new(
            [
                "plate",
                "owner_name",
                "model",
                "colour",
                "inspection_due",
                "inspection_status",
            ]
            .iter()
            .map(|c| ((*c).to_owned(), clean.get(c).cloned().unwrap_or(Cell::Null)))
            .chain([
                ("unpaid_fines".to_owned(), Cell::Integer(0)),
                ("violations".to_owned(), Cell::Integer(0)),
            ])
            .collect(),
        );
        let answer = handle(
            &args(&["京A12345"]),
            &FakeDatasource::with_rows(vec![clean]),
        )
        .expect("answers");
        assert!(answer.text.contains("车主：李明\n"), "{}", answer.text);
        assert!(answer.text.ends_with("无未处理违法"), "{}", answer.text);
    }

    #[test]
    fn a_datasource_outage_is_unavailable() {
        let db = FakeDatasource::failing(QueryFailure::Unavailable("timed out".into()));
        assert!(matches!(
            handle(&args(&["京A12345"]), &db),
            Err(Failure::Unavailable(_))
        ));
    }

    #[test]
    fn the_manifest_asks_for_the_police_datasource_and_nothing_else() {
        assert_eq!(MANIFEST.datasources, &["police"]);
        assert_eq!(MANIFEST.commands.len(), 1);
        assert_eq!(MANIFEST.commands[0].keyword, "CP");
        assert!(MANIFEST.commands[0].police_data);
    }
}
