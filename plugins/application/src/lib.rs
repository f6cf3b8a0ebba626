//! The `application` plugin: answers `BZ <受理编号>` with the status of the sender's own
//! passport, exit-entry permit or ID card application (R17). Contract 1.1, capability
//! `citizen`: the host returns only an application recorded with the sending phone, so the
//! answer to any other phone is the not-found text. The reply is built in [`logic`] (tested
//! natively); this file binds it to the contract through the plugin SDK (`plugins/sdk`).

pub mod logic;

use jingxun_plugin::citizen::{self, ApplicationKind, CitizenError};
use jingxun_plugin::{Description, Plugin, PluginError, Reply, Request};

struct Application;

impl Plugin for Application {
    fn describe() -> Description {
        jingxun_plugin::describe(
            "application",
            env!("CARGO_PKG_VERSION"),
            "办证进度查询：市民按受理编号查询本人护照、通行证、身份证申请的状态。",
        )
        .command(
            logic::KEYWORD,
            "BZ <受理编号>",
            "办证进度查询（仅限申请时登记的手机）",
        )
        .capability("citizen")
        .into()
    }

    fn handle(req: Request) -> Result<Reply, PluginError> {
        let number = logic::number(&req.arguments).map_err(PluginError::BadArguments)?;
        let found = citizen::lookup(&number).map_err(|e| match e {
            CitizenError::NotGranted => {
                PluginError::Internal("the citizen capability is not granted".into())
            }
            CitizenError::NoSender => PluginError::Internal("no sender to answer".into()),
            CitizenError::Unavailable(why) => PluginError::Unavailable(why),
        })?;
        let status = found.map(|a| logic::Status {
            kind: match a.kind {
                ApplicationKind::Passport => logic::Kind::Passport,
                ApplicationKind::ExitEntry => logic::Kind::ExitEntry,
                ApplicationKind::IdCard => logic::Kind::IdCard,
            },
            status: a.status,
            note: a.note,
        });
        let text = logic::reply(&number, status.as_ref());
        Ok(if status.is_some() {
            Reply::answered(text)
        } else {
            Reply::not_found(text)
        })
    }
}

jingxun_plugin::export!(Application);
