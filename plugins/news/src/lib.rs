//! The `news` plugin (R12, R13): `DY <栏目>` subscribes the sender to a news column, `TD <栏目>`
//! ends it, `XW<栏目号>` answers the column's latest item still valid. Contract 1.1, capability
//! `channels`: who may follow a column is the host's rule (a member's bound phone for members'
//! columns, the role's or group's phones for staff ones), and the host acts only for the phone
//! that sent the command. The texts are in [`logic`] (tested natively); this file binds them to
//! the contract through the plugin SDK (`plugins/sdk`).

pub mod logic;

use jingxun_plugin::channels::{self, ChannelError};
use jingxun_plugin::{Description, Plugin, PluginError, Reply, Request};

struct News;

impl Plugin for News {
    fn describe() -> Description {
        jingxun_plugin::describe(
            "news",
            env!("CARGO_PKG_VERSION"),
            "新闻栏目：会员和民警用短信订阅、取消订阅新闻栏目，查询栏目最新新闻。",
        )
        .command(
            logic::SUBSCRIBE,
            "DY <栏目代码>",
            "订阅新闻栏目，如 DY XW01",
        )
        .command(
            logic::UNSUBSCRIBE,
            "TD <栏目代码>",
            "取消订阅新闻栏目，如 TD XW01",
        )
        .command(logic::COLUMN, "XW<栏目号>", "查询栏目最新新闻，如 XW01")
        .capability("channels")
        .into()
    }

    fn handle(req: Request) -> Result<Reply, PluginError> {
        let keyword = req.keyword.as_str();
        if keyword == logic::COLUMN {
            let code = logic::column_of(&req.arguments).map_err(PluginError::BadArguments)?;
            return match channels::latest(&code) {
                Ok(Some(item)) => Ok(Reply::answered(logic::item(
                    &item.channel.name,
                    &item.title,
                    &item.text,
                ))),
                Ok(None) => Ok(Reply::not_found(logic::no_item(&code))),
                Err(e) => refusal(&code, e),
            };
        }
        let (usage, subscribe) = if keyword == logic::SUBSCRIBE {
            (logic::SUBSCRIBE_USAGE, true)
        } else {
            (logic::UNSUBSCRIBE_USAGE, false)
        };
        let code = logic::channel_of(&req.arguments, usage).map_err(PluginError::BadArguments)?;
        let changed = if subscribe {
            channels::subscribe(&code)
        } else {
            channels::unsubscribe(&code)
        };
        match changed {
            Ok(s) if subscribe => Ok(Reply::answered(logic::subscribed(&s.channel.name))),
            Ok(s) => Ok(Reply::answered(logic::unsubscribed(&s.channel.name))),
            Err(e) => refusal(&code, e),
        }
    }
}

/// The host's refusal as the sender's reply; a failure of the platform as an error.
fn refusal(code: &str, e: ChannelError) -> Result<Reply, PluginError> {
    match e {
        ChannelError::NotAMember => Ok(Reply::not_found(logic::BIND_FIRST.to_owned())),
        ChannelError::NotEntitled => Ok(Reply::not_found(logic::NOT_ENTITLED.to_owned())),
        ChannelError::UnknownChannel(_) => Ok(Reply::not_found(logic::unknown_channel(code))),
        ChannelError::NotGranted => Err(PluginError::Internal(
            "the channels capability is not granted".into(),
        )),
        ChannelError::NoSender => Err(PluginError::Internal("no sender to act for".into())),
        ChannelError::Unavailable(why) => Err(PluginError::Unavailable(why)),
    }
}

jingxun_plugin::export!(News);
