//! The interface's words in Simplified Chinese (the default) and English: a plain dictionary,
//! since the pages are few and their words fixed. The language comes from `?lang=en|zh`
//! (remembered in a cookie) or that cookie; the server decides and the browser follows.

use serde::{Deserialize, Serialize};

/// An interface language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// Simplified Chinese.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`, as in `?lang=` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The language of a code (`zh`, `zh-CN`, `en`, `en-GB`...).
    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code.starts_with("zh") {
            Some(Lang::Zh)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// (key, Chinese, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("app.name", "警讯短信平台", "Jingxun SMS platform"),
    ("app.switch", "English", "中文"),
    ("nav.signed_in_as", "当前用户", "Signed in as"),
    ("nav.sign_out", "退出登录", "Sign out"),
    ("page.dashboard", "概览", "Dashboard"),
    ("page.send", "群发短信", "Send"),
    ("page.messages", "短信记录", "Messages"),
    ("page.users", "用户管理", "Users"),
    ("page.phones", "登记手机", "Registered phones"),
    ("page.address_book", "通讯录", "Address book"),
    ("page.plugins", "插件", "Plugins"),
    ("page.help_text", "帮助文本", "Help text"),
    ("page.audit", "审计日志", "Audit log"),
    ("page.simulator", "模拟手机", "Simulated handset"),
    ("page.password", "修改密码", "Change password"),
    ("signin.title", "登录", "Sign in"),
    (
        "signin.lead",
        "请使用管理员分配的账号登录。",
        "Sign in with the account your administrator gave you.",
    ),
    ("signin.login", "用户名", "Login"),
    ("signin.password", "密码", "Password"),
    ("signin.submit", "登录", "Sign in"),
    (
        "signin.refused",
        "用户名或密码错误，或账号已被暂时锁定。请稍后再试或联系管理员。",
        "The login or password is wrong, or the account is locked for a while. Try again later or ask an administrator.",
    ),
    (
        "signin.expired",
        "页面已过期，请重新提交。",
        "The page had expired; please submit it again.",
    ),
    (
        "signin.signed_out",
        "您已安全退出。",
        "You have signed out.",
    ),
    ("password.current", "当前密码", "Current password"),
    ("password.new", "新密码", "New password"),
    ("password.confirm", "确认新密码", "Confirm the new password"),
    (
        "password.rules",
        "8 至 128 个字符，可使用任意文字；不能使用常见密码或“police”“admin”“警察”等词。",
        "8 to 128 characters of any script; common passwords and words such as police, admin or 警察 are refused.",
    ),
    ("password.submit", "修改密码", "Change password"),
    (
        "password.done",
        "密码已修改，其他设备上的登录已失效。",
        "Your password was changed; your other sessions were ended.",
    ),
    (
        "password.wrong_current",
        "当前密码不正确。",
        "The current password is wrong.",
    ),
    (
        "password.mismatch",
        "两次输入的新密码不一致。",
        "The two new passwords differ.",
    ),
    (
        "password.too_short",
        "新密码太短：至少 8 个字符。",
        "The new password is too short: at least 8 characters.",
    ),
    (
        "password.too_long",
        "新密码太长：最多 128 个字符。",
        "The new password is too long: at most 128 characters.",
    ),
    (
        "password.common",
        "新密码太容易被猜到，请换一个。",
        "The new password is too easy to guess; choose another.",
    ),
    (
        "password.failed",
        "密码未能修改，请稍后再试。",
        "The password could not be changed; try again later.",
    ),
    ("dash.modems", "调制解调器", "Modems"),
    ("dash.queue", "发送队列", "Outbound queue"),
    (
        "dash.no_modems",
        "尚未配置调制解调器：待发短信将留在队列中。",
        "No modem is configured: outbound messages stay queued.",
    ),
    ("dash.name", "名称", "Name"),
    ("dash.state", "状态", "State"),
    ("dash.signal", "信号", "Signal"),
    ("dash.registered", "已注册网络", "Registered"),
    ("dash.sent", "已发送", "Sent"),
    ("dash.failed", "失败", "Failed"),
    ("dash.received", "已接收", "Received"),
    (
        "dash.unavailable",
        "暂时无法读取数据，请稍后刷新。",
        "The figures cannot be read just now; reload in a moment.",
    ),
    ("state.ready", "就绪", "ready"),
    ("state.connecting", "连接中", "connecting"),
    ("state.initialising", "初始化", "initialising"),
    ("state.down", "故障", "down"),
    ("state.stopped", "已停止", "stopped"),
    ("queue.queued", "排队", "queued"),
    ("queue.sending", "发送中", "sending"),
    ("queue.sent", "已发送", "sent"),
    ("queue.delivered", "已送达", "delivered"),
    ("queue.failed", "失败", "failed"),
    ("queue.expired", "已过期", "expired"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    ("unknown", "未知", "unknown"),
    (
        "coming.lead",
        "此页面正在建设中，功能将在后续版本提供。",
        "This page is being built; it comes in a later version.",
    ),
    ("error.forbidden.title", "无权访问", "Not allowed"),
    (
        "error.forbidden.lead",
        "您的角色无权打开此页面。如需访问，请联系管理员。",
        "Your role may not open this page. Ask an administrator if you need it.",
    ),
    ("error.csrf.title", "请求被拒绝", "Request refused"),
    (
        "error.csrf.lead",
        "此请求不是从本系统的页面提交的，或页面已过期。请返回后重新操作。",
        "This request did not come from a page of this system, or the page had expired. Go back and try again.",
    ),
    ("error.not_found.title", "页面不存在", "Page not found"),
    (
        "error.not_found.lead",
        "找不到此页面。",
        "There is no such page.",
    ),
    ("error.server.title", "出错了", "Something went wrong"),
    (
        "error.server.lead",
        "服务器暂时无法完成请求，请稍后再试。",
        "The server could not complete the request; try again in a moment.",
    ),
    ("error.back", "返回概览", "Back to the dashboard"),
];

/// The word for `key` in `lang`; the key itself when it is missing (a test checks none is).
pub fn t(lang: Lang, key: &str) -> &'static str {
    match WORDS.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => match lang {
            Lang::Zh => zh,
            Lang::En => en,
        },
        None => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        let mut keys: Vec<&str> = WORDS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is listed twice");
        assert!(
            WORDS
                .iter()
                .all(|(_, zh, en)| !zh.is_empty() && !en.is_empty())
        );
        assert_eq!(t(Lang::Zh, "signin.title"), "登录");
        assert_eq!(t(Lang::En, "signin.title"), "Sign in");
        assert_eq!(Lang::from_code("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
    }

    #[test]
    fn every_page_title_is_in_the_dictionary() {
        for page in crate::model::Page::ALL {
            assert_ne!(t(Lang::En, page.title_key()), "?", "{page:?}");
        }
    }
}
