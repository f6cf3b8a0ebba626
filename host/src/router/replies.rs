//! The fixed texts the router sends. They reveal nothing: a refusal reads the same whether the
//! phone is unknown, disabled or not granted the business.

/// To an unregistered phone, a disabled phone or user, or a user without the business.
pub const REFUSED: &str = "本号码无权使用该业务。如需开通，请联系系统管理员。";
/// To text that is no known command.
pub const UNKNOWN: &str = "无法识别的指令，发送 H 查看帮助。";
/// Once per minute to a phone over its command limit.
pub const RATE_LIMITED: &str = "查询过于频繁，请一分钟后再试。";
/// To a command longer than [`super::command::MAX_COMMAND_CHARS`]: nothing was looked up.
pub const TOO_LONG: &str = "指令过长，请检查后重新发送。";
/// When the data source behind a plugin does not answer.
pub const UNAVAILABLE: &str = "查询系统暂时无法访问，请稍后再试。";
/// When a plugin fails (trap, timeout, internal error) or the audit row cannot be written.
pub const FAILED: &str = "查询失败，请稍后再试。如多次失败，请联系系统管理员。";
/// Heading of the command list under the help text.
pub const COMMANDS_HEADING: &str = "可用指令：";
/// When a phone may use no command at all.
pub const NO_COMMANDS: &str = "本号码暂无可用查询指令。";
