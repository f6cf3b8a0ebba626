//! The guest side of Jingxun's plugin contract 1.1 (`wit/v1.1/plugin.wit`), so that a plugin
//! crate holds only its own logic:
//! - the contract's bindings, generated once here (the interfaces under [`jingxun::plugin`],
//!   re-exported at the top: [`datasource`], [`http`], [`config`], [`log`], [`clock`],
//!   [`directory`], [`citizen`], [`channels`], [`state`], [`outbox`], [`events`]);
//! - the [`Plugin`] trait: `describe` to write, `handle` and `on_event` with defaults (a query
//!   plugin reacts to no event; an event plugin answers no command);
//! - [`describe`], a builder of the [`Description`];
//! - [`export!`], which makes a type implementing [`Plugin`] the component's exports.
//!
//! A query plugin:
//!
//! ```ignore
//! use jingxun_plugin::{Description, Plugin, PluginError, Reply, Request};
//!
//! struct Echo;
//!
//! impl Plugin for Echo {
//!     fn describe() -> Description {
//!         jingxun_plugin::describe("echo", env!("CARGO_PKG_VERSION"), "回声测试")
//!             .command("HS", "HS <内容>", "回声")
//!             .into()
//!     }
//!
//!     fn handle(req: Request) -> Result<Reply, PluginError> {
//!         Ok(Reply::answered(req.arguments.join(" ")))
//!     }
//! }
//!
//! jingxun_plugin::export!(Echo);
//! ```

/// The generated bindings, in a module of their own: the export macro they define is exported
/// from the crate's root, where a second definition of its helper macros would clash.
#[doc(hidden)]
// The generated glue of `on-event` takes the event's fields flattened, one parameter each.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v1.1",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "jingxun_plugin::bindings",
    });
}

pub use bindings::{Description, Event, Guest, PluginError, Reply, Request, jingxun};
pub use jingxun::plugin::events::{Payload, Schedule};
pub use jingxun::plugin::types::{Command, Manifest, Outcome, User, Value};
pub use jingxun::plugin::{
    channels, citizen, clock, config, datasource, directory, events, http, log, outbox, state,
    types,
};

/// What a plugin implements; [`export!`] makes it the component's exports.
pub trait Plugin {
    /// What the plugin is, answers, asks for and reacts to ([`describe`] builds one). Called at
    /// install and load time; it must not call the host.
    fn describe() -> Description;

    /// Answers one command. The default, for a plugin that declares none, is never called.
    fn handle(req: Request) -> Result<Reply, PluginError> {
        Err(PluginError::Internal(format!(
            "this plugin answers no command, yet was asked {}",
            req.keyword
        )))
    }

    /// Reacts to one event it asked for. The default, for a plugin that asks for none, does
    /// nothing.
    fn on_event(event: Event) -> Result<(), PluginError> {
        let _ = event;
        Ok(())
    }
}

impl<T: Plugin> Guest for T {
    fn describe() -> Description {
        <T as Plugin>::describe()
    }

    fn handle(req: Request) -> Result<Reply, PluginError> {
        <T as Plugin>::handle(req)
    }

    fn on_event(event: Event) -> Result<(), PluginError> {
        <T as Plugin>::on_event(event)
    }
}

/// Makes `$plugin` (a type implementing [`Plugin`]) the component's exports. Invoke it once, at
/// the root of the plugin crate.
#[macro_export]
macro_rules! export {
    ($plugin:ident) => {
        $crate::bindings::export_bindings!($plugin);
    };
}

impl Reply {
    /// A reply with data found.
    pub fn answered(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            outcome: Outcome::Answered,
        }
    }

    /// A reply saying nothing matched (R8: "车牌京Z99999不存在。").
    pub fn not_found(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            outcome: Outcome::NotFound,
        }
    }
}

/// Starts the description of plugin `name` (lower case, unique) at `version`, with one
/// sentence for administrators; add its commands, grants and events, then `.into()`.
pub fn describe(name: &str, version: &str, description: &str) -> Describe {
    Describe(Description {
        manifest: Manifest {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            commands: Vec::new(),
            datasources: Vec::new(),
            http_hosts: Vec::new(),
            config_keys: Vec::new(),
        },
        capabilities: Vec::new(),
        events: Vec::new(),
        schedules: Vec::new(),
    })
}

/// A [`Description`] being built (see [`describe`]).
#[derive(Debug, Clone)]
pub struct Describe(Description);

impl Describe {
    fn command_of(mut self, keyword: &str, syntax: &str, help: &str, police_data: bool) -> Self {
        self.0.manifest.commands.push(Command {
            keyword: keyword.into(),
            syntax: syntax.into(),
            help: help.into(),
            police_data,
        });
        self
    }

    /// A command any phone may use: its keyword (`BZ`), syntax (`BZ <受理编号>`) and the line
    /// `H` shows.
    pub fn command(self, keyword: &str, syntax: &str, help: &str) -> Self {
        self.command_of(keyword, syntax, help, false)
    }

    /// A command returning police data: registered phones whose user holds the keyword only,
    /// every call audited.
    pub fn police_command(self, keyword: &str, syntax: &str, help: &str) -> Self {
        self.command_of(keyword, syntax, help, true)
    }

    /// A datasource it queries (granted by an administrator).
    pub fn datasource(mut self, name: &str) -> Self {
        self.0.manifest.datasources.push(name.into());
        self
    }

    /// A `HOST:PORT` it reaches over HTTP (granted by an administrator).
    pub fn http_host(mut self, host: &str) -> Self {
        self.0.manifest.http_hosts.push(host.into());
        self
    }

    /// A configuration key it reads, with what it means.
    pub fn config_key(mut self, key: &str, meaning: &str) -> Self {
        self.0
            .manifest
            .config_keys
            .push((key.into(), meaning.into()));
        self
    }

    /// A capability beyond 1.0's: `directory`, `citizen`, `state`, `send-to-contacts`,
    /// `channels`.
    pub fn capability(mut self, name: &str) -> Self {
        self.0.capabilities.push(name.into());
        self
    }

    /// A host event it reacts to: `application-changed`.
    pub fn event(mut self, name: &str) -> Self {
        self.0.events.push(name.into());
        self
    }

    /// A daily tick named `name` at `hh_mm` ("18:00") in the platform's time zone.
    pub fn daily(mut self, name: &str, hh_mm: &str) -> Self {
        self.0.schedules.push(Schedule {
            name: name.into(),
            daily_at: hh_mm.into(),
        });
        self
    }
}

impl From<Describe> for Description {
    fn from(d: Describe) -> Description {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_describes_what_it_was_told() {
        let d: Description = describe("notice", "1.0.0", "通知")
            .police_command("CP", "CP <车牌号>", "车辆")
            .command("BZ", "BZ <受理编号>", "办证")
            .datasource("police")
            .config_key("to", "who")
            .capability("state")
            .event("application-changed")
            .daily("evening", "18:00")
            .into();
        assert_eq!(d.manifest.name, "notice");
        let police: Vec<bool> = d.manifest.commands.iter().map(|c| c.police_data).collect();
        assert_eq!(police, [true, false]);
        assert_eq!(d.manifest.datasources, ["police"]);
        assert_eq!(d.capabilities, ["state"]);
        assert_eq!(d.events, ["application-changed"]);
        assert_eq!(d.schedules[0].daily_at, "18:00");
    }

    #[test]
    fn replies_say_whether_anything_was_found() {
        assert_eq!(Reply::answered("a").outcome, Outcome::Answered);
        assert_eq!(Reply::not_found("b").outcome, Outcome::NotFound);
    }
}
