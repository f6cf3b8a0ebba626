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
    /// Every interface language.
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

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

/// (key, Chinese, English): the words every page shares. Each page's own words are in its
/// module (`pages::*::WORDS`).
const COMMON: &[(&str, &str, &str)] = &[
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
    ("page.api_keys", "接口密钥", "API keys"),
    ("page.help_text", "帮助文本", "Help text"),
    ("page.audit", "审计日志", "Audit log"),
    ("page.simulator", "模拟手机", "Simulated handset"),
    ("page.password", "修改密码", "Change password"),
    ("page.two_step", "两步验证", "Two-step sign-in"),
    (
        "page.unavailable",
        "暂时无法读取此页的数据，请稍后刷新。",
        "This page's data cannot be read just now; reload in a moment.",
    ),
    ("state.ready", "就绪", "ready"),
    ("state.connecting", "连接中", "connecting"),
    ("state.initialising", "初始化", "initialising"),
    ("state.down", "故障", "down"),
    ("state.stopped", "已停止", "stopped"),
    ("state.queued", "排队", "queued"),
    ("state.sending", "发送中", "sending"),
    ("state.sent", "已发送", "sent"),
    ("state.delivered", "已送达", "delivered"),
    ("state.failed", "失败", "failed"),
    ("state.expired", "已过期", "expired"),
    ("state.received", "已接收", "received"),
    ("state.partial", "不完整", "partial"),
    ("state.pending", "待发", "pending"),
    ("state.on", "启用", "active"),
    ("state.off", "停用", "disabled"),
    ("queue.queued", "排队", "queued"),
    ("queue.sending", "发送中", "sending"),
    ("queue.sent", "已发送", "sent"),
    ("queue.delivered", "已送达", "delivered"),
    ("queue.failed", "失败", "failed"),
    ("queue.expired", "已过期", "expired"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    ("unknown", "未知", "unknown"),
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
    // Why an action was refused (`?error=<code>`; crate::model::Refusal).
    (
        "refusal.unknown",
        "操作未完成。",
        "The action was not done.",
    ),
    (
        "refusal.unavailable",
        "暂时无法完成，请稍后再试（原因已记入日志）。",
        "It could not be done just now; try again in a moment (the cause is in the log).",
    ),
    (
        "refusal.not_found",
        "找不到该记录，可能已被删除。",
        "There is no such record; it may have been deleted.",
    ),
    (
        "refusal.invalid_phone",
        "不是有效的手机号码",
        "Not a phone number",
    ),
    (
        "refusal.invalid_login",
        "用户名只能使用 1-64 个字母、数字或 . _ - @，并以字母或数字开头",
        "A login is 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit",
    ),
    (
        "refusal.invalid_name",
        "姓名或名称不能为空，最多 64 个字，不能含控制字符",
        "A name must not be empty, at most 64 characters, without control characters",
    ),
    (
        "refusal.invalid_keyword",
        "业务指令只能是 1-16 个字母或数字",
        "A business keyword is 1 to 16 letters or digits",
    ),
    ("refusal.unknown_user", "没有这个用户", "No such user"),
    ("refusal.unknown_role", "没有这个角色", "No such role"),
    (
        "refusal.unknown_phone",
        "这部手机没有登记",
        "This phone is not registered",
    ),
    (
        "refusal.role_exists",
        "该角色已存在",
        "This role exists already",
    ),
    (
        "refusal.builtin_role",
        "内置角色不能删除",
        "A built-in role cannot be removed",
    ),
    (
        "refusal.user_exists",
        "该用户名已存在",
        "This login exists already",
    ),
    (
        "refusal.phone_exists",
        "这部手机已经登记过",
        "This phone is registered already",
    ),
    (
        "refusal.own_account",
        "不能停用自己的账号或取消自己的管理员角色",
        "You cannot disable your own account or take away your own administrator role",
    ),
    (
        "refusal.wrong_password",
        "您自己的密码不正确",
        "Your own password is wrong",
    ),
    (
        "refusal.password_too_short",
        "密码太短：至少 8 个字符",
        "The password is too short: at least 8 characters",
    ),
    (
        "refusal.password_too_long",
        "密码太长：最多 128 个字符",
        "The password is too long: at most 128 characters",
    ),
    (
        "refusal.password_common",
        "密码太容易被猜到，请换一个",
        "The password is too easy to guess; choose another",
    ),
    (
        "refusal.no_rows",
        "没有可导入的行",
        "There are no rows to import",
    ),
    (
        "refusal.too_many_rows",
        "一次最多导入 5000 行",
        "At most 5,000 rows at a time",
    ),
    (
        "refusal.missing_owner",
        "缺少机主姓名",
        "The owner's name is missing",
    ),
    (
        "refusal.duplicate_row",
        "与前面的行号码重复",
        "The same number came on an earlier row",
    ),
    (
        "refusal.department_not_empty",
        "单位下还有人员或下级单位，不能删除",
        "The department still holds people or sub-departments",
    ),
    (
        "refusal.department_cycle",
        "不能把单位移到它自己或它的下级单位下面",
        "A department cannot move under itself or one of its sub-departments",
    ),
    (
        "refusal.department_exists",
        "同一上级下已有同名单位",
        "The parent already has a department of that name",
    ),
    (
        "refusal.group_exists",
        "已有同名群组",
        "A group of that name exists",
    ),
    (
        "refusal.no_numbers",
        "请至少填一个号码",
        "Give at least one number",
    ),
    (
        "refusal.too_many_numbers",
        "一个人最多 5 个号码",
        "At most 5 numbers per person",
    ),
    (
        "refusal.no_member",
        "请选择要添加的成员",
        "Choose a member to add",
    ),
    (
        "refusal.empty_text",
        "短信内容不能为空",
        "The text is empty",
    ),
    (
        "refusal.text_too_long",
        "短信内容太长",
        "The text is too long",
    ),
    (
        "refusal.no_recipients",
        "请填写号码或从通讯录选择接收人",
        "Type numbers or pick recipients from the address book",
    ),
    (
        "refusal.too_many_recipients",
        "接收人太多：一次最多 10000 个",
        "Too many recipients: at most 10,000 at a time",
    ),
    (
        "refusal.draft_gone",
        "这份草稿已发送或已过期，请重新填写",
        "This draft was sent already or has expired; fill in the form again",
    ),
    (
        "refusal.not_resendable",
        "只有发送失败或过期的短信可以重新发送",
        "Only failed or expired messages can be sent again",
    ),
    (
        "refusal.upload_failed",
        "文件上传失败，请重试",
        "The upload failed; try again",
    ),
    (
        "refusal.no_file",
        "请选择一个 .wasm 文件",
        "Choose a .wasm file",
    ),
    (
        "refusal.plugin_invalid",
        "插件无法安装",
        "The plugin cannot be installed",
    ),
    (
        "refusal.keyword_taken",
        "插件的指令已被其他插件占用",
        "Another plugin owns one of its commands",
    ),
    (
        "refusal.no_previous",
        "没有可回滚的旧版本",
        "There is no earlier version to roll back to",
    ),
    ("refusal.unknown_plugin", "没有这个插件", "No such plugin"),
    (
        "refusal.unknown_datasource",
        "没有登记这个数据源",
        "No such datasource is registered",
    ),
    (
        "refusal.not_asked",
        "插件没有申请这项权限",
        "The plugin did not ask for this",
    ),
    ("refusal.bad_grant", "无效的授权", "Not a valid grant"),
    (
        "refusal.invalid_help_text",
        "帮助文本不可用",
        "The help text cannot be used",
    ),
    (
        "refusal.binding_needs_admin",
        "只有系统管理员可以把手机绑定到用户或重新启用已绑定的手机",
        "Only an administrator may bind a phone to a user or re-enable a bound phone",
    ),
    (
        "refusal.query_not_granted",
        "你未获此警务查询业务授权，不能查看或代发",
        "You are not granted this police query, so you cannot see or send it",
    ),
    (
        "refusal.no_simulator",
        "没有内置模拟短信猫",
        "There is no built-in simulated modem",
    ),
    ("refusal.invalid_time", "时间格式不对", "Not a valid time"),
    (
        "refusal.invalid_key_name",
        "密钥名称只能用小写字母、数字、- 或 _，以字母或数字开头",
        "A key name is lower-case letters, digits, '-' or '_', starting with a letter or digit",
    ),
    (
        "refusal.key_exists",
        "已有同名密钥（吊销的密钥也保留名称），请换一个名称",
        "A key of that name exists (revoked keys keep their names); choose another name",
    ),
    (
        "refusal.no_scope",
        "请至少选择一项权限",
        "Choose at least one scope",
    ),
    (
        "refusal.invalid_rate",
        "速率须为 1 到 100000 之间的整数（每秒请求数）",
        "The rate is a whole number of requests per second, 1 to 100000",
    ),
    (
        "refusal.invalid_service_number",
        "服务号码不是有效号码",
        "Not a valid service number",
    ),
    (
        "refusal.invalid_network",
        "不是有效的网段（例如 10.0.0.0/8 或一个地址）",
        "Not a network (e.g. 10.0.0.0/8, or one address)",
    ),
    ("refusal.unknown_key", "没有这个密钥", "No such key"),
    (
        "refusal.bad_filter",
        "筛选条件不对",
        "The filter is not valid",
    ),
    // What was done (`?ok=<code>`).
    ("done.saved", "已保存。", "Saved."),
    (
        "done.api_key_created",
        "密钥已创建。",
        "The key was created.",
    ),
    (
        "done.api_key_revoked",
        "密钥已吊销，数秒内失效：",
        "The key was revoked; it stops working within seconds:",
    ),
    ("done.user_created", "用户已创建。", "The user was created."),
    ("done.user_enabled", "用户已启用。", "The user was enabled."),
    (
        "done.user_disabled",
        "用户已停用，其网页登录已全部失效。",
        "The user was disabled; all of the user's web sessions ended.",
    ),
    (
        "done.user_access",
        "角色与业务已保存。",
        "Roles and businesses were saved.",
    ),
    ("done.role_created", "角色已创建。", "The role was created."),
    (
        "done.role_removed",
        "角色已删除，其成员不再拥有该角色的业务。",
        "The role was removed; its members no longer have its businesses.",
    ),
    (
        "done.role_grants",
        "角色的业务已保存。",
        "The role's businesses were saved.",
    ),
    (
        "done.password_reset",
        "密码已重设，该用户的网页登录已全部失效。",
        "The password was reset; all of that user's web sessions ended.",
    ),
    ("done.phone_added", "手机已登记：", "Phone registered:"),
    (
        "done.phone_enabled",
        "手机已启用。",
        "The phone was enabled.",
    ),
    (
        "done.phone_disabled",
        "手机已停用：它发来的查询将被拒绝。",
        "The phone was disabled: its queries will be refused.",
    ),
    (
        "done.phone_removed",
        "手机已删除。",
        "The phone was removed.",
    ),
    (
        "done.department_saved",
        "单位已保存。",
        "The department was saved.",
    ),
    (
        "done.department_deleted",
        "单位已删除。",
        "The department was deleted.",
    ),
    (
        "done.contact_saved",
        "人员已保存。",
        "The person was saved.",
    ),
    (
        "done.contact_deleted",
        "人员已删除。",
        "The person was deleted.",
    ),
    ("done.group_saved", "群组已保存。", "The group was saved."),
    (
        "done.group_deleted",
        "群组已删除。",
        "The group was deleted.",
    ),
    ("done.resent", "已重新排队发送。", "Queued again."),
    ("done.installed", "插件已安装：", "Plugin installed:"),
    (
        "done.plugin_enabled",
        "插件已启用。",
        "The plugin was enabled.",
    ),
    (
        "done.plugin_disabled",
        "插件已停用。",
        "The plugin was disabled.",
    ),
    (
        "done.plugin_rolled_back",
        "插件已回滚。",
        "The plugin was rolled back.",
    ),
    (
        "done.plugin_grants",
        "授权已更改。",
        "The grants were changed.",
    ),
    (
        "done.help_text_saved",
        "帮助文本已保存。",
        "The help text was saved.",
    ),
    ("done.handset_sent", "已发送。", "Sent."),
];

/// Every table, searched in order.
const TABLES: &[&[(&str, &str, &str)]] = &[
    COMMON,
    crate::pages::signin::WORDS,
    crate::pages::password::WORDS,
    crate::pages::dashboard::WORDS,
    crate::pages::users::WORDS,
    crate::pages::phones::WORDS,
    crate::pages::address_book::WORDS,
    crate::pages::send::WORDS,
    crate::pages::messages::WORDS,
    crate::pages::plugins::WORDS,
    crate::pages::api_keys::WORDS,
    crate::pages::help_text::WORDS,
    crate::pages::audit::WORDS,
    crate::pages::simulator::WORDS,
    crate::pages::two_step::WORDS,
    crate::pages::second_factor::WORDS,
    crate::pages::reauth::WORDS,
];

/// The word for `key` in `lang`; `?` when it is missing (tests check that none the pages
/// name is).
pub fn t(lang: Lang, key: &str) -> &'static str {
    match TABLES
        .iter()
        .flat_map(|table| table.iter())
        .find(|(k, _, _)| *k == key)
    {
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
        let words = || TABLES.iter().flat_map(|table| table.iter());
        let mut keys: Vec<&str> = words().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is listed twice");
        assert!(words().all(|(_, zh, en)| !zh.is_empty() && !en.is_empty()));
        assert_eq!(t(Lang::Zh, "signin.title"), "登录");
        assert_eq!(t(Lang::En, "signin.title"), "Sign in");
        assert_eq!(Lang::from_code("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
    }

    #[test]
    fn every_word_the_sources_name_is_in_the_dictionary() {
        // Every literal key given to `t(lang, "...")` in this crate's sources.
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.join("app.rs")];
        for dir in ["pages", "ssr"] {
            for entry in std::fs::read_dir(src.join(dir)).expect("read the sources") {
                files.push(entry.expect("a source file").path());
            }
        }
        let mut missing = Vec::new();
        let mut checked = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            for (i, _) in text.match_indices("t(lang, \"") {
                let rest = &text[i + 9..];
                let key = &rest[..rest.find('"').unwrap_or(0)];
                checked += 1;
                if !key.is_empty() && !key.contains('{') && t(Lang::En, key) == "?" {
                    missing.push(format!("{}: {key}", file.display()));
                }
            }
        }
        assert!(
            checked > 200,
            "only {checked} keys found: has the pattern changed?"
        );
        assert!(
            missing.is_empty(),
            "words missing from the dictionary: {missing:#?}"
        );
    }

    #[test]
    fn every_refusal_code_is_in_the_dictionary_in_every_language() {
        let mut missing = Vec::new();
        for &code in crate::model::RefusalCode::ALL {
            for lang in Lang::ALL {
                let text = t(lang, code.i18n_key());
                if text == "?" || text.is_empty() {
                    missing.push(format!("{} ({})", code.i18n_key(), lang.code()));
                }
            }
        }
        assert!(missing.is_empty(), "refusals without words: {missing:#?}");
        assert_ne!(t(Lang::En, "refusal.unknown"), "?", "the fallback");
    }

    #[test]
    fn every_refusal_in_the_dictionary_is_a_refusal_code() {
        let words = TABLES.iter().flat_map(|table| table.iter());
        let unused: Vec<&str> = words
            .filter_map(|(key, _, _)| key.strip_prefix("refusal."))
            .filter(|code| {
                *code != "unknown" && crate::model::RefusalCode::from_code(code).is_none()
            })
            .collect();
        assert!(unused.is_empty(), "words no refusal uses: {unused:?}");
    }

    #[test]
    fn every_page_title_is_in_the_dictionary() {
        for page in crate::model::Page::ALL {
            assert_ne!(t(Lang::En, page.title_key()), "?", "{page:?}");
        }
    }
}
