//! `TXL <姓名>`: the reply from the people the address book found.

/// The command's keyword.
pub const KEYWORD: &str = "TXL";
/// Usage help, sent back on bad arguments.
pub const USAGE: &str = "用法：TXL <姓名>，如 TXL 张三";
/// Most people listed in one reply.
pub const SHOWN: u32 = 5;

/// One person found (the WIT `person`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub title: String,
    pub department: Vec<String>,
    pub numbers: Vec<String>,
}

/// The name typed after `TXL` (several words are one name: `TXL 欧阳 娜娜`), or the usage.
pub fn name(arguments: &[String]) -> Result<String, String> {
    let name = arguments.join("");
    if name.is_empty() {
        Err(USAGE.to_owned())
    } else {
        Ok(name)
    }
}

/// The reply to `TXL name` for `people` found out of `total` matches, and whether anyone was
/// found. One line per person: `张三（市局/刑侦支队，科长）13800000001，13900000002`.
pub fn reply(name: &str, people: &[Person], total: u32) -> (String, bool) {
    if people.is_empty() {
        return (format!("通讯录中没有{name}。"), false);
    }
    let mut lines: Vec<String> = people.iter().map(line).collect();
    let shown = u32::try_from(people.len()).unwrap_or(u32::MAX);
    if total > shown {
        lines.push(format!(
            "共{total}人，只列出{shown}人，请输入更完整的姓名。"
        ));
    }
    (lines.join("\n"), true)
}

fn line(person: &Person) -> String {
    let about: Vec<String> = [person.department.join("/"), person.title.clone()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let about = if about.is_empty() {
        String::new()
    } else {
        format!("（{}）", about.join("，"))
    };
    let numbers: Vec<&str> = person.numbers.iter().map(|n| national(n)).collect();
    format!("{}{about}{}", person.name, numbers.join("，"))
}

/// A Chinese number without its country code (`+8613800000001` → `13800000001`); others as
/// they are.
fn national(number: &str) -> &str {
    number.strip_prefix("+86").unwrap_or(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, department: &[&str], title: &str, numbers: &[&str]) -> Person {
        Person {
            name: name.into(),
            title: title.into(),
            department: department.iter().map(|s| (*s).to_owned()).collect(),
            numbers: numbers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn one_person_is_listed_with_department_title_and_numbers() {
        let found = [person(
            "张三",
            &["市局", "刑侦支队"],
            "科长",
            &["+8613800000001", "+85291234567"],
        )];
        assert_eq!(
            reply("张三", &found, 1),
            (
                "张三（市局/刑侦支队，科长）13800000001，+85291234567".to_owned(),
                true
            )
        );
    }

    #[test]
    fn more_matches_than_shown_say_how_many_and_what_to_do() {
        let found = [
            person("张三", &[], "", &["+8613800000001"]),
            person("张三丰", &["市局"], "", &["+8613800000002"]),
        ];
        let (text, answered) = reply("张三", &found, 7);
        assert!(answered);
        assert_eq!(
            text,
            "张三13800000001\n张三丰（市局）13800000002\n共7人，只列出2人，请输入更完整的姓名。"
        );
    }

    #[test]
    fn nobody_found_is_not_found_with_the_name() {
        assert_eq!(
            reply("王五", &[], 0),
            ("通讯录中没有王五。".to_owned(), false)
        );
    }

    #[test]
    fn the_name_is_every_argument_joined_and_required() {
        assert_eq!(name(&["欧阳".into(), "娜娜".into()]), Ok("欧阳娜娜".into()));
        assert_eq!(name(&[]), Err(USAGE.to_owned()));
    }
}
