//! The `directory` plugin: answers `TXL <姓名>` with the matching people of the internal address
//! book, their department and numbers (R16, R21). Contract 1.1, capability `directory`; the
//! reply is built in [`logic`] (tested natively), this file binds it to the WIT world.

wit_bindgen::generate!({ path: "../../wit/v1.1", world: "plugin" });

pub mod logic;

use jingxun::plugin::directory::{self, DirectoryError};
use jingxun::plugin::types::{Command, Manifest, Outcome};

struct Directory;

impl Guest for Directory {
    fn describe() -> Description {
        Description {
            manifest: Manifest {
                name: "directory".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                description: "内部通讯录查询：按姓名查询人员的部门和电话。".into(),
                commands: vec![Command {
                    keyword: logic::KEYWORD.into(),
                    syntax: "TXL <姓名>".into(),
                    help: "通讯录查询：姓名、部门、电话".into(),
                    police_data: true,
                }],
                datasources: vec![],
                http_hosts: vec![],
                config_keys: vec![],
            },
            capabilities: vec!["directory".into()],
        }
    }

    fn handle(req: Request) -> Result<Reply, PluginError> {
        let name = logic::name(&req.arguments).map_err(PluginError::BadArguments)?;
        let found = directory::find(&name, logic::SHOWN).map_err(|e| match e {
            DirectoryError::NotGranted => {
                PluginError::Internal("the directory capability is not granted".into())
            }
            DirectoryError::Unavailable(why) => PluginError::Unavailable(why),
        })?;
        let people: Vec<logic::Person> = found
            .people
            .into_iter()
            .map(|p| logic::Person {
                name: p.name,
                title: p.title,
                department: p.department,
                numbers: p.numbers,
            })
            .collect();
        let (text, answered) = logic::reply(&name, &people, found.total);
        Ok(Reply {
            text,
            outcome: if answered {
                Outcome::Answered
            } else {
                Outcome::NotFound
            },
        })
    }
}

export!(Directory);
