//! The `application` plugin: answers `BZ <受理编号>` with the status of the sender's own
//! passport, exit-entry permit or ID card application (R17). Contract 1.1, capability
//! `citizen`: the host returns only an application recorded with the sending phone, so the
//! answer to any other phone is the not-found text. The reply is built in [`logic`] (tested
//! natively); this file binds it to the WIT world.

wit_bindgen::generate!({ path: "../../wit/v1.1", world: "plugin" });

pub mod logic;

use jingxun::plugin::citizen::{self, ApplicationKind, CitizenError};
use jingxun::plugin::types::{Command, Manifest, Outcome};

struct Application;

impl Guest for Application {
    fn describe() -> Description {
        Description {
            manifest: Manifest {
                name: "application".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                description: "办证进度查询：市民按受理编号查询本人护照、通行证、身份证申请的状态。"
                    .into(),
                commands: vec![Command {
                    keyword: logic::KEYWORD.into(),
                    syntax: "BZ <受理编号>".into(),
                    help: "办证进度查询（仅限申请时登记的手机）".into(),
                    police_data: false,
                }],
                datasources: vec![],
                http_hosts: vec![],
                config_keys: vec![],
            },
            capabilities: vec!["citizen".into()],
        }
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
        let answered = status.is_some();
        Ok(Reply {
            text: logic::reply(&number, status.as_ref()),
            outcome: if answered {
                Outcome::Answered
            } else {
                Outcome::NotFound
            },
        })
    }
}

export!(Application);
