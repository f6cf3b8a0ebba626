//! The `directory` plugin: answers `TXL <姓名>` with the matching people of the internal address
//! book, their department and numbers (R16, R21). Contract 1.1, capability `directory`; the
//! reply is built in [`logic`] (tested natively), this file binds it to the contract through
//! the plugin SDK (`plugins/sdk`).

pub mod logic;

use jingxun_plugin::directory::{self, DirectoryError};
use jingxun_plugin::{Description, Plugin, PluginError, Reply, Request};

struct Directory;

impl Plugin for Directory {
    fn describe() -> Description {
        jingxun_plugin::describe(
            "directory",
            env!("CARGO_PKG_VERSION"),
            "内部通讯录查询：按姓名查询人员的部门和电话。",
        )
        .police_command(logic::KEYWORD, "TXL <姓名>", "通讯录查询：姓名、部门、电话")
        .capability("directory")
        .into()
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
        Ok(if answered {
            Reply::answered(text)
        } else {
            Reply::not_found(text)
        })
    }
}

jingxun_plugin::export!(Directory);
