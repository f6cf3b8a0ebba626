//! Shared logic of Jingxun's four police query plugins (`CP`, `JZ`, `SFZ`, `ZT`), free of the
//! generated WIT bindings so that it compiles and is tested natively:
//! - [`id_number`]: 18-digit identity numbers (GB 11643 check digit, birth date, sex);
//! - [`plate`]: vehicle plate normalisation;
//! - [`name`]: personal names as typed for `ZT`;
//! - [`record`]: result rows as plain values;
//! - [`plugin`]: manifest, datasource trait, answers and failures, reply length;
//! - [`schema`]: the `police` datasource's tables and the demo database's fixed records;
//! - [`testing`]: an in-memory datasource for the plugins' unit tests;
//! - [`export_police_plugin!`]: the glue from a plugin's logic to the WIT world.
//!
//! The host's demo-data generator links this crate too, for the schema and the check digit.

pub mod id_number;
pub mod name;
pub mod plate;
pub mod plugin;
pub mod record;
pub mod schema;
pub mod testing;

/// Implements [`jingxun_plugin::Plugin`] (contract 1.1) for a police plugin and exports it.
/// The plugin crate depends on `jingxun-plugin` (`plugins/sdk`), whose bindings the expansion
/// names; this crate itself stays free of them.
///
/// Invoke it at the root of a plugin crate:
///
/// ```ignore
/// police_common::export_police_plugin!(manifest: logic::MANIFEST, handle: logic::handle);
/// ```
///
/// `manifest` is a [`plugin::ManifestSpec`]; `handle` is a function
/// `fn(&[String], &dyn plugin::Datasource) -> Result<plugin::Answer, plugin::Failure>` given the
/// request's arguments and the host's datasource. Failures other than bad arguments are logged
/// through the host's `log` import (their text never holds personal data: it comes from the host's
/// query error, not from the officer's arguments).
#[macro_export]
macro_rules! export_police_plugin {
    (manifest: $manifest:expr, handle: $handle:path $(,)?) => {
        /// The component: connects the generated bindings to the plugin's logic.
        struct PolicePlugin;

        /// The host's `datasource.query` on the `police` datasource.
        struct HostDatasource;

        impl $crate::plugin::Datasource for HostDatasource {
            fn query(
                &self,
                sql: &str,
                params: &[$crate::record::Cell],
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::record::Record>,
                $crate::plugin::QueryFailure,
            > {
                use ::jingxun_plugin::jingxun::plugin::datasource::{self, QueryError};
                use ::jingxun_plugin::jingxun::plugin::types::Value;
                use $crate::plugin::QueryFailure;
                use $crate::record::Cell;
                let params: ::std::vec::Vec<Value> = params
                    .iter()
                    .map(|cell| match cell {
                        Cell::Null => Value::Null,
                        Cell::Integer(n) => Value::Integer(*n),
                        Cell::Real(x) => Value::Real(*x),
                        Cell::Text(text) => Value::Text(text.clone()),
                        Cell::Blob(bytes) => Value::Blob(bytes.clone()),
                    })
                    .collect();
                match datasource::query($crate::plugin::POLICE_DATASOURCE, sql, &params) {
                    Ok(result) => {
                        let rows = result
                            .rows
                            .into_iter()
                            .map(|row| {
                                row.into_iter()
                                    .map(|value| match value {
                                        Value::Null => Cell::Null,
                                        Value::Integer(n) => Cell::Integer(n),
                                        Value::Real(x) => Cell::Real(x),
                                        Value::Text(text) => Cell::Text(text),
                                        Value::Blob(bytes) => Cell::Blob(bytes),
                                    })
                                    .collect()
                            })
                            .collect();
                        Ok($crate::record::Record::from_rows(&result.columns, rows))
                    }
                    Err(QueryError::NotGranted(why)) => Err(QueryFailure::NotGranted(why)),
                    Err(QueryError::InvalidQuery(why)) => Err(QueryFailure::InvalidQuery(why)),
                    Err(QueryError::Unavailable(why)) => Err(QueryFailure::Unavailable(why)),
                    Err(QueryError::TooManyRows(limit)) => Err(QueryFailure::TooManyRows(limit)),
                }
            }
        }

        impl ::jingxun_plugin::Plugin for PolicePlugin {
            fn describe() -> ::jingxun_plugin::jingxun::plugin::capabilities::Description {
                use ::jingxun_plugin::jingxun::plugin::capabilities::Description;
                use ::jingxun_plugin::jingxun::plugin::types::{Command, Manifest};
                let spec: $crate::plugin::ManifestSpec = $manifest;
                let manifest = Manifest {
                    name: spec.name.into(),
                    version: spec.version.into(),
                    description: spec.description.into(),
                    commands: spec
                        .commands
                        .iter()
                        .map(|command| Command {
                            keyword: command.keyword.into(),
                            syntax: command.syntax.into(),
                            help: command.help.into(),
                            police_data: command.police_data,
                        })
                        .collect(),
                    datasources: spec.datasources.iter().map(|name| (*name).into()).collect(),
                    http_hosts: ::std::vec::Vec::new(),
                    config_keys: ::std::vec::Vec::new(),
                };
                Description {
                    manifest,
                    capabilities: ::std::vec::Vec::new(),
                    events: ::std::vec::Vec::new(),
                    schedules: ::std::vec::Vec::new(),
                }
            }

            fn handle(
                req: ::jingxun_plugin::jingxun::plugin::types::Request,
            ) -> ::core::result::Result<
                ::jingxun_plugin::jingxun::plugin::types::Reply,
                ::jingxun_plugin::jingxun::plugin::types::PluginError,
            > {
                use ::jingxun_plugin::jingxun::plugin::log::{Level, log};
                use ::jingxun_plugin::jingxun::plugin::types::{Outcome, PluginError, Reply};
                use $crate::plugin::{Failure, Outcome as AnswerOutcome};
                match $handle(&req.arguments, &HostDatasource) {
                    Ok(answer) => Ok(Reply {
                        text: answer.text,
                        outcome: match answer.outcome {
                            AnswerOutcome::Answered => Outcome::Answered,
                            AnswerOutcome::NotFound => Outcome::NotFound,
                        },
                    }),
                    Err(Failure::BadArguments(usage)) => Err(PluginError::BadArguments(usage)),
                    Err(Failure::Unavailable(why)) => {
                        log(Level::Warn, &why);
                        Err(PluginError::Unavailable(why))
                    }
                    Err(Failure::Internal(why)) => {
                        log(Level::Error, &why);
                        Err(PluginError::Internal(why))
                    }
                }
            }
        }

        ::jingxun_plugin::export!(PolicePlugin);
    };
}
