//! The news commands' words (R12, R13): which channel a command names, and every reply. The
//! texts of subscribing and unsubscribing are the customer's, exactly.

/// Subscribe: `DY XW01`.
pub const SUBSCRIBE: &str = "DY";
/// Unsubscribe: `TD XW01`.
pub const UNSUBSCRIBE: &str = "TD";
/// A news column's latest item: `XW01` (the router reads `XW` as the keyword and `01` as its
/// argument).
pub const COLUMN: &str = "XW";

/// Usage of `DY`.
pub const SUBSCRIBE_USAGE: &str = "用法：DY <栏目代码>，如 DY XW01";
/// Usage of `TD`.
pub const UNSUBSCRIBE_USAGE: &str = "用法：TD <栏目代码>，如 TD XW01";
/// Usage of `XW`.
pub const COLUMN_USAGE: &str = "用法：XW<栏目号>，如 XW01";

/// The reply to a phone that no member bound: nothing was recorded.
pub const BIND_FIRST: &str =
    "本手机尚未绑定警讯网站会员。请先登录警讯网站绑定本手机，再发送 DY <栏目代码> 订阅新闻。";
/// The reply to a phone outside a staff channel's audience.
pub const NOT_ENTITLED: &str = "本栏目仅限指定人员订阅和查询。";

/// The channel code after `DY` or `TD`: one argument, e.g. `XW01`.
pub fn channel_of(arguments: &[String], usage: &str) -> Result<String, String> {
    match arguments {
        [code] if !code.trim().is_empty() => Ok(code.trim().to_uppercase()),
        _ => Err(usage.to_owned()),
    }
}

/// The column code of `XW01` (or `XW 01`).
pub fn column_of(arguments: &[String]) -> Result<String, String> {
    match arguments {
        [number] if !number.trim().is_empty() => {
            Ok(format!("{COLUMN}{}", number.trim().to_uppercase()))
        }
        _ => Err(COLUMN_USAGE.to_owned()),
    }
}

/// After `DY`.
pub fn subscribed(column_name: &str) -> String {
    format!("你已成功订阅 新闻{column_name}")
}

/// After `TD`.
pub fn unsubscribed(column_name: &str) -> String {
    format!("你已取消订阅 新闻{column_name}")
}

/// A code no channel has.
pub fn unknown_channel(code: &str) -> String {
    format!("没有栏目 {code}，请核对栏目代码。")
}

/// A column's latest item.
pub fn item(column_name: &str, title: &str, text: &str) -> String {
    format!("【{column_name}】{title}：{text}")
}

/// A column with no item still valid.
pub fn no_item(code: &str) -> String {
    format!("栏目 {code} 暂无新闻。")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_subscription_texts_are_the_customers() {
        assert_eq!(subscribed("焦点"), "你已成功订阅 新闻焦点");
        assert_eq!(unsubscribed("焦点"), "你已取消订阅 新闻焦点");
    }

    #[test]
    fn a_command_names_one_channel_or_gets_its_usage() {
        assert_eq!(
            channel_of(&args(&["xw01"]), SUBSCRIBE_USAGE),
            Ok("XW01".into())
        );
        assert_eq!(
            channel_of(&args(&[]), SUBSCRIBE_USAGE),
            Err(SUBSCRIBE_USAGE.into())
        );
        assert_eq!(
            channel_of(&args(&["XW01", "XW02"]), UNSUBSCRIBE_USAGE),
            Err(UNSUBSCRIBE_USAGE.into())
        );
        assert_eq!(column_of(&args(&["01"])), Ok("XW01".into()));
        assert_eq!(column_of(&args(&[])), Err(COLUMN_USAGE.into()));
    }

    #[test]
    fn an_item_is_sent_with_its_column_and_title() {
        assert_eq!(
            item("焦点", "平安夜", "注意防火"),
            "【焦点】平安夜：注意防火"
        );
        assert_eq!(no_item("XW01"), "栏目 XW01 暂无新闻。");
    }
}
