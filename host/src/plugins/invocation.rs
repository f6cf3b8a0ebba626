//! One invocation: the request a plugin answers, its reply, and why a call got no answer.

use serde::Serialize;

/// The sender's user, as the registry knows them (mirrors the WIT `user`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginUser {
    pub login: String,
    pub name: String,
    pub roles: Vec<String>,
}

/// One command to answer (mirrors the WIT `request`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginRequest {
    /// Unique id, for logs and the audit trail.
    pub id: String,
    /// The sender, normalised (`+8613800000001`).
    pub sender: String,
    pub user: Option<PluginUser>,
    /// Upper-case keyword (`CP`).
    pub keyword: String,
    /// Normalised arguments.
    pub arguments: Vec<String>,
    /// The text as received.
    pub text: String,
    /// Unix milliseconds UTC.
    pub received_at: i64,
}

/// How a query went (mirrors the WIT `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Data was found and returned.
    Answered,
    /// Nothing matched; the text says so (R8).
    NotFound,
}

/// A plugin's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReply {
    /// The SMS text to send back.
    pub text: String,
    pub outcome: Outcome,
    /// The plugin that answered, and its version (for the audit row).
    pub plugin: String,
    pub version: String,
}

/// Why a request got no answer from its plugin. The router replies politely and audits the
/// reason; only [`InvocationError::BadArguments`] carries text meant for the officer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    /// No enabled plugin answers this keyword.
    #[error("no enabled plugin answers `{0}`; text H for the list of commands")]
    UnknownKeyword(String),
    /// The plugin says the arguments are wrong; the text (usage) is for the officer.
    #[error("plugin {plugin}: bad arguments: {usage}")]
    BadArguments { plugin: String, usage: String },
    /// The plugin says a datasource or remote system did not answer.
    #[error("plugin {plugin}: unavailable: {reason}; retry later")]
    Unavailable { plugin: String, reason: String },
    /// The plugin reported an internal error.
    #[error("plugin {plugin}: internal error: {reason}")]
    Internal { plugin: String, reason: String },
    /// The plugin trapped (panic, unreachable, stack overflow...).
    #[error(
        "plugin {plugin} crashed: {message}; it is still enabled: check its logs or disable it"
    )]
    Trap { plugin: String, message: String },
    /// The plugin ran past its CPU limit and was stopped.
    #[error(
        "plugin {plugin} ran longer than {limit_ms} ms and was stopped ([plugins] cpu_limit_ms)"
    )]
    Timeout { plugin: String, limit_ms: u64 },
    /// The call passed its deadline (`[plugins] wall_limit_ms`, host calls included) and was
    /// stopped.
    #[error(
        "plugin {plugin} took longer than {limit_ms} ms in all, host calls included, and was stopped ([plugins] wall_limit_ms)"
    )]
    DeadlinePassed { plugin: String, limit_ms: u64 },
    /// The plugin made more host calls than one call may and was stopped.
    #[error(
        "plugin {plugin} made more than {limit} host calls in one call and was stopped ([plugins] max_host_calls)"
    )]
    TooManyHostCalls { plugin: String, limit: u32 },
    /// The plugin wanted more memory than it may have and was stopped.
    #[error(
        "plugin {plugin} needed more than {limit_bytes} bytes of memory and was stopped ([plugins] memory_limit_mb)"
    )]
    OutOfMemory { plugin: String, limit_bytes: usize },
    /// The plugin answered with more SMS parts than it may.
    #[error(
        "plugin {plugin} answered with {parts} SMS parts, more than {limit} ([plugins] max_reply_parts)"
    )]
    ReplyTooLong {
        plugin: String,
        parts: usize,
        limit: usize,
    },
    /// What the call did could not be committed (its state past the quota, the store
    /// unavailable, its event taken over by another worker): nothing of it was kept.
    #[error("plugin {plugin}: what the call did was not kept: {reason}")]
    NotCommitted { plugin: String, reason: String },
    /// The plugin no longer holds the capability the event needs (revoked after it was queued).
    #[error("plugin {plugin} is no longer granted `{capability}`, which this event needs")]
    EventNotGranted { plugin: String, capability: String },
    /// The plugin is not loaded (disabled or removed since the event was queued).
    #[error(
        "plugin {0} is not loaded (disabled, or not installed); enable it to deliver its events"
    )]
    NotLoaded(String),
    /// The call could not be run at all (the host is shutting down).
    #[error("plugin {plugin} could not be run: {reason}")]
    Host { plugin: String, reason: String },
}

impl InvocationError {
    /// The plugin concerned, when there is one.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            InvocationError::UnknownKeyword(_) => None,
            InvocationError::NotLoaded(plugin) => Some(plugin),
            InvocationError::BadArguments { plugin, .. }
            | InvocationError::Unavailable { plugin, .. }
            | InvocationError::Internal { plugin, .. }
            | InvocationError::Trap { plugin, .. }
            | InvocationError::Timeout { plugin, .. }
            | InvocationError::OutOfMemory { plugin, .. }
            | InvocationError::DeadlinePassed { plugin, .. }
            | InvocationError::TooManyHostCalls { plugin, .. }
            | InvocationError::ReplyTooLong { plugin, .. }
            | InvocationError::NotCommitted { plugin, .. }
            | InvocationError::EventNotGranted { plugin, .. }
            | InvocationError::Host { plugin, .. } => Some(plugin),
        }
    }
}
