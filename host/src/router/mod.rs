//! The SMS command router (R5, R6, R8, R15): takes inbound messages from the store's inbox,
//! reads the command ([`command`]), checks the sender against the registered-phone registry and
//! the business grants before any police command, calls the plugin that owns the keyword,
//! writes the audit row, and queues the reply — marking the message routed in the same
//! transaction, so that a crash neither loses a command nor answers it twice.
//!
//! Refusals reveal nothing ([`replies`]); unknown keywords get a hint to text `H`; `H` lists the
//! administrator's help text and the commands this sender may use; each phone has a per-minute
//! command limit ([`limit`]). The audit rows of a batch of commands, their replies and their
//! routed marks are committed in one transaction: no answer with police data goes out without
//! its audit row, and one commit serves many commands.
//!
//! Inbound messages for other systems (issue 5; R16, R19): a message whose first word is an API
//! key's keyword, or that came to one of its service numbers, is not answered; it is assigned
//! to the key (inbox row, webhook delivery) in the same transaction that marks it routed. `H`
//! and every plugin command stay the router's whatever number they came to, so police commands
//! never reach another system. The keys' routes are read from the store every
//! [`INBOUND_ROUTES_TTL`], so changes made with `jingxun apikey` apply within that time.

pub mod command;
pub mod replies;
#[cfg(test)]
mod routing_tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::clock::now_ms;
use crate::config::{RouterConfig, UnauthorisedReply};
use crate::directory::{Directory, PhoneIdentity};
use crate::dispatch::Wake;
use crate::inbox_signal::{InboxSignal, NewInbound};
use crate::limit::{KeyedBuckets, Quota};
use crate::phone::PhoneNumber;
use crate::plugins::{
    CommandInfo, InvocationError, Outcome, PluginHost, PluginRequest, PluginUser,
};
use crate::store::{
    InboundRoute, InboxCompletion, InboxMessage, NewOutbound, PeerKind, RouteKind, Store,
};
use command::ParsedCommand;

/// How long a router holds an inbound message before another may take it over.
const INBOX_LEASE: Duration = Duration::from_secs(60);
/// Phones whose command rate is tracked at most (a flood of distinct senders evicts its own).
const MAX_PHONES_LIMITED: usize = 100_000;
/// The keyword of the help command (R15).
pub const HELP_KEYWORD: &str = "H";
/// How long the API keys' inbound routes are used before they are read again.
pub const INBOUND_ROUTES_TTL: Duration = Duration::from_secs(2);
/// How often the daemon's router looks at the inbox unwoken: the modem drivers wake it for each
/// message they store, so this only bounds the wait for one stored by another process.
pub const INBOX_FALLBACK_POLL: Duration = Duration::from_secs(1);

/// What the router needs from the rest of the daemon.
#[derive(Clone)]
pub struct RouterParts {
    /// Messages in and out.
    pub store: Store,
    /// Phones, users and grants.
    pub directory: Directory,
    /// The query plugins.
    pub plugins: PluginHost,
    /// Wakes the outbound dispatcher when replies are queued.
    pub wake: Wake,
}

/// Settings for replies.
#[derive(Debug, Clone)]
pub struct RouterSettings {
    /// `[router]`.
    pub router: RouterConfig,
    /// Whether replies ask for delivery reports.
    pub status_report: bool,
    /// Attempts for replies.
    pub max_attempts: u32,
    /// For reading sender numbers.
    pub default_country_code: String,
    /// How often to look at the inbox without a [`NewInbound`] signal, for messages stored by
    /// another process ([`INBOX_FALLBACK_POLL`] in the daemon).
    pub poll_interval: Duration,
}

/// The router; cheap to clone.
#[derive(Clone)]
pub struct Router {
    parts: RouterParts,
    settings: Arc<RouterSettings>,
    /// Commands per phone: `[router] max_commands_per_minute` in bursts of as many; past it one
    /// notice, then silence until the phone's bucket is full again.
    limiter: Arc<Mutex<KeyedBuckets<String>>>,
    /// The API keys' inbound routes, as last read.
    inbound: Arc<RwLock<InboundTable>>,
    /// Told when messages were assigned to API keys.
    inbox: InboxSignal,
    /// Wakes the router when an inbound message was stored.
    new_inbound: NewInbound,
}

/// Which API key receives which inbound messages: keywords (upper case) and service numbers
/// (digits) of the keys that may receive.
#[derive(Debug, Default)]
pub struct InboundTable {
    keywords: HashMap<String, String>,
    numbers: HashMap<String, String>,
    loaded: Option<Instant>,
}

impl InboundTable {
    /// The table of the active routes among `routes`.
    pub fn new(routes: &[InboundRoute]) -> InboundTable {
        let mut table = InboundTable::default();
        for route in routes.iter().filter(|r| r.active) {
            let map = match route.kind {
                RouteKind::Keyword => &mut table.keywords,
                RouteKind::Number => &mut table.numbers,
            };
            map.insert(route.value.clone(), route.api_key.clone());
        }
        table
    }

    /// The key that receives a message whose first word is `keyword` (upper case; `None` when
    /// the text has no keyword), which came to `service_number`. `router_keyword` says whether
    /// the router owns the keyword (`H`, a plugin command): then no key gets it.
    pub fn receiver(
        &self,
        keyword: Option<&str>,
        router_keyword: bool,
        service_number: Option<&str>,
    ) -> Option<&str> {
        if router_keyword {
            return None;
        }
        if let Some(key) = keyword.and_then(|k| self.keywords.get(k)) {
            return Some(key.as_str());
        }
        let digits: String = service_number?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        self.numbers.get(&digits).map(String::as_str)
    }

    fn is_empty(&self) -> bool {
        self.keywords.is_empty() && self.numbers.is_empty()
    }
}

/// The decision for one inbound message: what to send back and what to audit. Both are
/// committed together, so that no reply with police data exists without its audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Texts to send back to the sender (usually one; none when staying silent).
    pub replies: Vec<String>,
    /// Audit rows for the police queries this message made or was refused.
    pub audit: Vec<AuditEntry>,
    /// The API key that receives the message instead (no reply then).
    pub api_key: Option<String>,
}

impl Decision {
    fn reply(text: impl Into<String>) -> Self {
        Self {
            replies: vec![text.into()],
            audit: Vec::new(),
            api_key: None,
        }
    }

    fn silent() -> Self {
        Self {
            replies: Vec::new(),
            audit: Vec::new(),
            api_key: None,
        }
    }

    fn for_api_key(key: &str) -> Self {
        Self {
            api_key: Some(key.to_owned()),
            ..Self::silent()
        }
    }

    fn audited(mut self, entry: AuditEntry) -> Self {
        self.audit.push(entry);
        self
    }
}

impl Router {
    /// A router over `parts`.
    pub fn new(parts: RouterParts, settings: RouterSettings) -> Self {
        let limiter = KeyedBuckets::new(
            Quota::per_minute(settings.router.max_commands_per_minute),
            MAX_PHONES_LIMITED,
        );
        Self {
            parts,
            settings: Arc::new(settings),
            limiter: Arc::new(Mutex::new(limiter)),
            inbound: Arc::new(RwLock::new(InboundTable::default())),
            inbox: InboxSignal::default(),
            new_inbound: NewInbound::default(),
        }
    }

    /// Routes at once each inbound message that `signal` announces (the modem drivers give it
    /// the messages they store); without it, messages wait for the next look at the inbox.
    pub fn with_new_inbound(mut self, signal: NewInbound) -> Self {
        self.new_inbound = signal;
        self
    }

    /// Tells `signal` whenever messages were assigned to API keys (the inbox long-polls and the
    /// webhook dispatcher wait on it).
    pub fn with_inbox_signal(mut self, signal: InboxSignal) -> Self {
        self.inbox = signal;
        self
    }

    /// Reads the API keys' inbound routes again if they are older than [`INBOUND_ROUTES_TTL`].
    /// On a store error the routes in hand are kept (and read again next time).
    pub async fn refresh_inbound_routes(&self) {
        let stale = self
            .inbound
            .read()
            .map(|t| t.loaded.is_none_or(|at| at.elapsed() >= INBOUND_ROUTES_TTL))
            .unwrap_or(true);
        if !stale {
            return;
        }
        match self.parts.store.api_inbound_routes().await {
            Ok(routes) => {
                let mut table = InboundTable::new(&routes);
                table.loaded = Some(Instant::now());
                for keyword in table.keywords.keys() {
                    if self.parts.plugins.command(keyword).is_some() {
                        tracing::warn!(%keyword, api_key = %table.keywords[keyword], "an API key's keyword is also a plugin command now; the plugin answers it");
                    }
                }
                if let Ok(mut current) = self.inbound.write() {
                    *current = table;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the API keys' inbound routes; keeping the last ones")
            }
        }
    }

    /// Routes inbound messages until `shutdown`; finishes the batch in hand first.
    pub async fn run(self, shutdown: CancellationToken) {
        let batch = u32::try_from(self.settings.router.concurrency * 4).unwrap_or(128);
        let slots = Arc::new(tokio::sync::Semaphore::new(
            self.settings.router.concurrency,
        ));
        loop {
            let claimed = match self
                .parts
                .store
                .claim_inbox(batch, INBOX_LEASE, now_ms())
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the inbox; retrying");
                    Vec::new()
                }
            };
            let full = claimed.len() as u32 == batch;
            if !claimed.is_empty() {
                self.refresh_inbound_routes().await;
                // One task per message: a plugin call occupies its thread while it runs, so the
                // messages of a batch must not share a task.
                let mut tasks = tokio::task::JoinSet::new();
                for message in claimed {
                    let permit = slots.clone().acquire_owned().await;
                    let router = self.clone();
                    tasks.spawn(async move {
                        let decision = router.route(&message).await;
                        drop(permit);
                        router.completion(&message, decision)
                    });
                }
                let mut completions = Vec::new();
                while let Some(done) = tasks.join_next().await {
                    match done {
                        Ok(completion) => completions.push(completion),
                        Err(e) => {
                            tracing::error!(error = %e, "routing a message failed; it will be routed again")
                        }
                    }
                }
                let assigned = completions.iter().any(|c| c.api_key.is_some());
                self.commit(completions).await;
                self.parts.wake.notify();
                if assigned {
                    self.inbox.notify();
                }
            }
            if full && !shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.new_inbound.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    /// Turns a decision into what the store commits for `message`.
    fn completion(&self, message: &InboxMessage, decision: Decision) -> InboxCompletion {
        let mut replies = decision.replies;
        let mut audit = Vec::with_capacity(decision.audit.len());
        for entry in &decision.audit {
            match entry.prepare() {
                Ok(prepared) => audit.push(prepared),
                Err(e) => {
                    // Without its audit row the answer must not go out.
                    tracing::error!(message = message.id, error = %e, "invalid audit row; withholding the answer");
                    replies = vec![replies::FAILED.to_string()];
                }
            }
        }
        let replies = replies
            .into_iter()
            .map(|text| NewOutbound {
                peer: message.sender.clone(),
                text,
                service_number: message.service_number.clone(),
                priority: 1,
                status_report: self.settings.status_report,
                valid_until_ms: None,
                send_at_ms: None,
                max_attempts: self.settings.max_attempts,
                batch_id: Some(reply_batch(message.id)),
            })
            .collect();
        InboxCompletion {
            id: message.id,
            audit,
            replies,
            api_key: decision.api_key,
        }
    }

    /// Commits a batch in one transaction; if that fails, message by message, so that one bad
    /// message cannot hold the others back. What still fails stays in the inbox and is routed
    /// again when its lease ends (no reply and no data go out without the audit row).
    async fn commit(&self, completions: Vec<InboxCompletion>) {
        if completions.is_empty() {
            return;
        }
        let Err(batch_error) = self
            .parts
            .store
            .complete_inbox_batch(&completions, now_ms())
            .await
        else {
            return;
        };
        tracing::warn!(error = %batch_error, count = completions.len(), "committing the batch failed; committing one by one");
        for completion in &completions {
            if let Err(e) = self.parts.store.complete_inbox(completion, now_ms()).await {
                tracing::error!(message = completion.id, error = %e, "cannot commit the reply and audit row; the command will be routed again");
            }
        }
    }

    /// Decides the answer to one inbound message and the audit rows it needs, calling the
    /// plugin when it is a command. Writes nothing.
    pub async fn route(&self, message: &InboxMessage) -> Decision {
        let parsed = command::parse(&message.text);
        if let Some(key) = self.api_receiver(message, parsed.as_ref()) {
            return Decision::for_api_key(&key);
        }
        if message.sender_kind == PeerKind::Alphanumeric {
            // A sender's name is whatever the sender chose ("13800000001" as well): it is never
            // looked up among the registered phones nor taken for a command, and no reply can
            // be sent to a name anyway (issue 18 finding 6). Stored, marked, and left there.
            tracing::info!(
                message = message.id,
                sender = %message.sender,
                "message from an alphanumeric sender: not a command, not answered"
            );
            return Decision::silent();
        }
        let Some(command) = parsed else {
            return self.hint(message);
        };
        if command.is_too_long() {
            // Refused before the sender is looked up or any plugin runs; audited (with the
            // command cut to the audit's bound) when it names a police command.
            return self.refused_before_lookup(
                message,
                &command,
                Decision::reply(replies::TOO_LONG),
                "command_too_long",
            );
        }
        let refused = self
            .limiter
            .lock()
            .map(|mut l| l.take(message.sender.as_str(), Instant::now()).err())
            .unwrap_or(None);
        if let Some(refused) = refused {
            // One notice per flood; the rest are dropped without a word.
            let decision = if refused.first {
                Decision::reply(replies::RATE_LIMITED)
            } else {
                Decision::silent()
            };
            return self.refused_before_lookup(message, &command, decision, "rate_limited");
        }
        let identity = match self.identify(&message.sender).await {
            Ok(identity) => identity,
            Err(reason) => {
                tracing::error!(message = message.id, %reason, "cannot look the sender up");
                return Decision::reply(replies::FAILED);
            }
        };
        if command.keyword == HELP_KEYWORD && command.arguments.is_empty() {
            return self.help(identity.as_ref()).await;
        }
        let Some(info) = self.parts.plugins.command(&command.keyword) else {
            return self.hint(message);
        };
        if info.police_data && !identity.as_ref().is_some_and(|i| i.may_use(&info.keyword)) {
            let reason = refusal_reason(identity.as_ref());
            let decision = match self.settings.router.unauthorised {
                UnauthorisedReply::Reply => Decision::reply(replies::REFUSED),
                UnauthorisedReply::Silent => Decision::silent(),
            };
            return decision.audited(self.refusal_entry(
                message,
                &command,
                &info,
                identity.as_ref(),
                reason,
            ));
        }
        self.answer(message, &command, &info, identity.as_ref())
            .await
    }

    async fn answer(
        &self,
        message: &InboxMessage,
        command: &ParsedCommand,
        info: &CommandInfo,
        identity: Option<&PhoneIdentity>,
    ) -> Decision {
        let user = identity.and_then(|i| i.user.as_ref());
        let request = PluginRequest {
            id: format!("msg-{}", message.id),
            sender: message.sender.clone(),
            user: user.map(|u| PluginUser {
                login: u.login.clone(),
                name: u.name.clone(),
                roles: u.roles.clone(),
            }),
            keyword: command.keyword.clone(),
            arguments: command.arguments.clone(),
            text: message.text.clone(),
            received_at: message.received_at,
        };
        let started = Instant::now();
        let result = self.parts.plugins.handle(request).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        crate::metrics::global().record_plugin_call(
            &command.keyword,
            &info.plugin,
            &result,
            started.elapsed(),
        );
        let (outcome, text, detail) = match &result {
            Ok(reply) => (
                match reply.outcome {
                    Outcome::Answered => AuditOutcome::Answered,
                    Outcome::NotFound => AuditOutcome::NotFound,
                },
                reply.text.clone(),
                None,
            ),
            Err(InvocationError::BadArguments { usage, .. }) => {
                (AuditOutcome::BadArguments, usage.clone(), None)
            }
            Err(InvocationError::Unavailable { reason, .. }) => (
                AuditOutcome::Error,
                replies::UNAVAILABLE.to_string(),
                Some(reason.clone()),
            ),
            Err(other) => (
                AuditOutcome::Error,
                replies::FAILED.to_string(),
                Some(other.to_string()),
            ),
        };
        if let Some(detail) = &detail {
            tracing::warn!(message = message.id, keyword = %command.keyword, plugin = %info.plugin, error = %detail, "query failed");
        }
        let decision = Decision::reply(text);
        if !info.police_data {
            return decision;
        }
        decision.audited(
            self.query_entry(message, command, identity, outcome)
                .with_details(json!({
                    "plugin": info.plugin,
                    "version": info.version,
                    "latency_ms": (latency_ms * 1000.0).round() / 1000.0,
                    "error": detail,
                })),
        )
    }

    async fn help(&self, identity: Option<&PhoneIdentity>) -> Decision {
        let text = match self.parts.directory.help_text().await {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the help text");
                String::new()
            }
        };
        Decision::reply(help_reply(&text, &self.parts.plugins.commands(), identity))
    }

    /// The API key that receives `message` instead of the router, if any.
    fn api_receiver(
        &self,
        message: &InboxMessage,
        command: Option<&ParsedCommand>,
    ) -> Option<String> {
        let table = self.inbound.read().ok()?;
        if table.is_empty() {
            return None;
        }
        let keyword = command.map(|c| c.keyword.as_str());
        let router_keyword =
            keyword.is_some_and(|k| k == HELP_KEYWORD || self.parts.plugins.command(k).is_some());
        table
            .receiver(keyword, router_keyword, message.service_number.as_deref())
            .map(str::to_owned)
    }

    /// The hint for text that is no command. Short codes and alphanumeric senders (other
    /// services, auto-responders) get nothing, so that two machines never answer each other.
    fn hint(&self, message: &InboxMessage) -> Decision {
        if message.sender.starts_with('+') {
            Decision::reply(replies::UNKNOWN)
        } else {
            Decision::silent()
        }
    }

    async fn identify(&self, sender: &str) -> Result<Option<PhoneIdentity>, String> {
        let Ok(phone) = PhoneNumber::parse(sender, &self.settings.default_country_code) else {
            return Ok(None);
        };
        self.parts
            .directory
            .identify(&phone)
            .await
            .map_err(|e| e.to_string())
    }

    fn query_entry(
        &self,
        message: &InboxMessage,
        command: &ParsedCommand,
        identity: Option<&PhoneIdentity>,
        outcome: AuditOutcome,
    ) -> AuditEntry {
        let mut entry = AuditEntry::new(AuditComponent::Router, AuditEvent::Query, outcome)
            .with_phone(message.sender.clone())
            .with_object(command.display())
            .with_source(message.modem.as_deref())
            .with_request_id(format!("msg-{}", message.id));
        if let Some(user) = identity.and_then(|i| i.user.as_ref()) {
            entry = entry.with_actor(user.login.clone());
        }
        entry
    }

    /// `decision` for a command refused before the sender was looked up, with the refusal's
    /// audit row (no user: none was looked up) when it names a police command.
    fn refused_before_lookup(
        &self,
        message: &InboxMessage,
        command: &ParsedCommand,
        decision: Decision,
        reason: &str,
    ) -> Decision {
        match self
            .parts
            .plugins
            .command(&command.keyword)
            .filter(|i| i.police_data)
        {
            Some(info) => {
                decision.audited(self.refusal_entry(message, command, &info, None, reason))
            }
            None => decision,
        }
    }

    fn refusal_entry(
        &self,
        message: &InboxMessage,
        command: &ParsedCommand,
        info: &CommandInfo,
        identity: Option<&PhoneIdentity>,
        reason: &str,
    ) -> AuditEntry {
        self.query_entry(message, command, identity, AuditOutcome::Refused)
            .with_details(
                json!({ "plugin": info.plugin, "version": info.version, "reason": reason }),
            )
    }
}

/// The batch id of the router's replies to inbound message `id`: what ties a reply to the
/// command it answers (the web admin hides both from users not granted a police command).
pub fn reply_batch(id: crate::store::MessageId) -> String {
    format!("{REPLY_BATCH_PREFIX}{id}")
}

/// The inbound message a reply answers, read from the reply's batch id.
pub fn replied_message(batch_id: &str) -> Option<crate::store::MessageId> {
    batch_id.strip_prefix(REPLY_BATCH_PREFIX)?.parse().ok()
}

const REPLY_BATCH_PREFIX: &str = "reply-";

/// Why a sender may not use a police command, for the audit row (never sent to the phone).
fn refusal_reason(identity: Option<&PhoneIdentity>) -> &'static str {
    match identity {
        None => "phone_not_registered",
        Some(i) if !i.phone_active => "phone_disabled",
        Some(PhoneIdentity { user: None, .. }) => "phone_without_user",
        Some(PhoneIdentity { user: Some(u), .. }) if !u.active => "user_disabled",
        Some(_) => "business_not_granted",
    }
}

/// The answer to `H` (R15): the administrator's help text, then the commands this sender may
/// use (commands without police data for everyone; police commands only for a registered,
/// active phone of an active user granted them). The web admin's preview shows the same.
pub fn help_reply(
    help_text: &str,
    commands: &[CommandInfo],
    identity: Option<&PhoneIdentity>,
) -> String {
    let mut text = help_text.to_owned();
    let usable: Vec<&CommandInfo> = commands
        .iter()
        .filter(|c| !c.police_data || identity.is_some_and(|i| i.may_use(&c.keyword)))
        .collect();
    if !text.is_empty() {
        text.push('\n');
    }
    if usable.is_empty() {
        text.push_str(replies::NO_COMMANDS);
    } else {
        text.push_str(replies::COMMANDS_HEADING);
        for c in usable {
            text.push_str(&format!("\n{} {}", c.syntax, c.help));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(kind: RouteKind, value: &str, key: &str, active: bool) -> InboundRoute {
        InboundRoute {
            kind,
            value: value.into(),
            api_key: key.into(),
            active,
        }
    }

    #[test]
    fn a_reply_names_the_message_it_answers() {
        assert_eq!(replied_message(&reply_batch(42)), Some(42));
        assert_eq!(replied_message("web-42"), None);
        assert_eq!(replied_message("reply-x"), None);
    }

    #[test]
    fn inbound_messages_go_to_the_key_of_their_keyword_or_number_and_never_router_keywords() {
        let table = InboundTable::new(&[
            route(RouteKind::Keyword, "NEWS", "news", true),
            route(RouteKind::Number, "10690110", "oa", true),
            route(RouteKind::Keyword, "OLD", "revoked", false),
        ]);
        assert_eq!(table.receiver(Some("NEWS"), false, None), Some("news"));
        // The keyword wins over the number it came to.
        assert_eq!(
            table.receiver(Some("NEWS"), false, Some("10690110")),
            Some("news")
        );
        assert_eq!(table.receiver(None, false, Some("10690110")), Some("oa"));
        assert_eq!(
            table.receiver(Some("HELLO"), false, Some("+10690110")),
            Some("oa")
        );
        // H and plugin commands stay the router's, whatever number they came to.
        assert_eq!(table.receiver(Some("CP"), true, Some("10690110")), None);
        assert_eq!(
            table.receiver(Some("OLD"), false, None),
            None,
            "inactive key"
        );
        assert_eq!(table.receiver(Some("HELLO"), false, Some("10690111")), None);
        assert_eq!(table.receiver(None, false, None), None);
        assert!(InboundTable::default().is_empty());
    }
}
