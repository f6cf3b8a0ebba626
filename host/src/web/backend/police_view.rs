//! What a web user may read of the officers' police queries (issue 18, findings 1 and 2).
//!
//! An inbound SMS whose command is a police business (`CP 京A12345`) and the router's reply to
//! it (vehicle owner, ID card, wanted person...) are police data. On the messages page and the
//! simulated handset they are shown only to a user granted that business, exactly as the
//! router would answer that user's own phone; anyone else sees that a query of that kind took
//! place (its keyword, the phone and the time), never its text. Every page that shows one in
//! full writes an audit row (`message.read`) naming the messages, so that reading a query in
//! the web admin leaves the same trace as making it.
//!
//! A keyword counts as police data when its loaded command says so, and, to be safe, when no
//! loaded command answers it but an installed plugin (disabled, or in its previous version)
//! names it: disabling a plugin must not make its past answers readable.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::Actor;
use serde_json::json;

use super::{WebState, audit_source, unavailable};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditLog, AuditOutcome};
use crate::router::{command, replied_message};
use crate::store::{Direction, MessageId, MessageRecord};

/// The police keywords of the platform and the businesses one web user holds.
#[derive(Debug, Clone, Default)]
pub(super) struct PoliceView {
    /// Keywords whose queries and replies are police data.
    police: HashSet<String>,
    /// Businesses the viewer may use (own grants and roles'); empty for a disabled user.
    granted: BTreeSet<String>,
}

/// How one message may be shown to the viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shown {
    /// Not a police query or reply: shown as it is.
    Plain,
    /// A police query or reply of this keyword that the viewer is granted: shown, and audited.
    Granted(String),
    /// A police query or reply of this keyword that the viewer is not granted: text withheld.
    Withheld(String),
}

impl PoliceView {
    /// The view of `actor`: the platform's police keywords now and the actor's grants.
    pub(super) async fn of(state: &WebState, actor: &Actor) -> Outcome<PoliceView> {
        let mut police = HashSet::new();
        let installed = state
            .store
            .plugins()
            .await
            .map_err(|e| unavailable("reading the plugins", &e))?;
        for record in &installed {
            let keywords = record
                .current
                .keywords
                .iter()
                .chain(record.previous.iter().flat_map(|p| p.keywords.iter()));
            for keyword in keywords {
                let keyword = keyword.to_uppercase();
                let is_police = state
                    .plugins
                    .command(&keyword)
                    .is_none_or(|info| info.police_data);
                if is_police {
                    police.insert(keyword);
                }
            }
        }
        for info in state.plugins.commands() {
            if info.police_data {
                police.insert(info.keyword);
            }
        }
        let granted = state
            .directory
            .user_identity(&actor.login)
            .await
            .map_err(|e| unavailable("reading the user's grants", &e))?
            .filter(|u| u.active)
            .map(|u| u.businesses)
            .unwrap_or_default();
        Ok(PoliceView { police, granted })
    }

    /// The police keyword of an SMS text's command, when it is one.
    pub(super) fn police_keyword(&self, text: &str) -> Option<String> {
        command::parse(text)
            .map(|c| c.keyword)
            .filter(|k| self.police.contains(k))
    }

    /// Whether the viewer holds the business `keyword`.
    pub(super) fn granted(&self, keyword: &str) -> bool {
        self.granted.contains(keyword)
    }

    /// How each of `messages` may be shown (same order). Replies are told by their batch id;
    /// the texts of the commands they answer are read from the store in one query.
    pub(super) async fn classify(
        &self,
        state: &WebState,
        messages: &[MessageRecord],
    ) -> Outcome<Vec<Shown>> {
        let answered: Vec<MessageId> = messages
            .iter()
            .filter(|m| m.direction == Direction::Out)
            .filter_map(|m| m.batch_id.as_deref().and_then(replied_message))
            .collect();
        let commands: HashMap<MessageId, String> = if answered.is_empty() {
            HashMap::new()
        } else {
            state
                .store
                .inbound_texts(&answered)
                .await
                .map_err(|e| unavailable("reading the commands replied to", &e))?
        };
        Ok(messages
            .iter()
            .map(|m| {
                let command = match m.direction {
                    Direction::In => Some(m.text.as_str()),
                    Direction::Out => m
                        .batch_id
                        .as_deref()
                        .and_then(replied_message)
                        .and_then(|id| commands.get(&id))
                        .map(String::as_str),
                };
                match command.and_then(|text| self.police_keyword(text)) {
                    None => Shown::Plain,
                    Some(k) if self.granted(&k) => Shown::Granted(k),
                    Some(k) => Shown::Withheld(k),
                }
            })
            .collect())
    }
}

/// Which police messages each session has been shown already, so that a live page that
/// re-reads the same conversation every second writes one `message.read` row per message and
/// session, not one per second. Bounded: when full it forgets everything, and the next
/// showing is audited again (more rows, never fewer).
#[derive(Debug, Default)]
pub(super) struct ReadLedger {
    seen: Mutex<HashSet<(String, MessageId)>>,
}

/// Pairs of (session, message) the ledger remembers at most.
const LEDGER_CAPACITY: usize = 100_000;

impl ReadLedger {
    /// Of `ids`, those not shown to `session` before; remembers them.
    fn first_reads(&self, session: &str, ids: &[MessageId]) -> Vec<MessageId> {
        let Ok(mut seen) = self.seen.lock() else {
            return ids.to_vec();
        };
        if seen.len() + ids.len() > LEDGER_CAPACITY {
            seen.clear();
        }
        ids.iter()
            .copied()
            .filter(|id| seen.insert((session.to_owned(), *id)))
            .collect()
    }

    /// Forgets `ids` for `session` (their audit row could not be written).
    fn forget(&self, session: &str, ids: &[MessageId]) {
        if let Ok(mut seen) = self.seen.lock() {
            for id in ids {
                seen.remove(&(session.to_owned(), *id));
            }
        }
    }
}

/// Writes the `message.read` audit row for the police messages a page shows `actor` in full
/// for the first time in this session (none: no row). The page is not shown if the row cannot
/// be written.
pub(super) async fn audit_reads(
    state: &WebState,
    ledger: &ReadLedger,
    actor: &Actor,
    page: &str,
    messages: &[MessageRecord],
    shown: &[Shown],
) -> Outcome<()> {
    let granted: Vec<MessageId> = messages
        .iter()
        .zip(shown)
        .filter(|(_, s)| matches!(s, Shown::Granted(_)))
        .map(|(m, _)| m.id)
        .collect();
    let ids = ledger.first_reads(&actor.session_key, &granted);
    if ids.is_empty() {
        return Ok(());
    }
    let mut keywords = BTreeSet::new();
    let mut phones = BTreeSet::new();
    for (m, s) in messages.iter().zip(shown) {
        if let Shown::Granted(k) = s
            && ids.contains(&m.id)
        {
            keywords.insert(k.clone());
            phones.insert(m.peer.clone());
        }
    }
    let mut entry = AuditEntry::new(
        AuditComponent::Web,
        AuditEvent::MessageRead,
        AuditOutcome::Ok,
    )
    .with_actor(&actor.login)
    .with_object(keywords.iter().cloned().collect::<Vec<_>>().join(" "))
    .with_source(Some(&audit_source(actor)))
    .with_details(json!({ "page": page, "messages": ids, "phones": phones }));
    if let (1, Some(phone)) = (phones.len(), phones.first()) {
        entry = entry.with_phone(phone.clone());
    }
    if let Err(e) = AuditLog::new(state.store.clone()).append(entry).await {
        ledger.forget(&actor.session_key, &ids);
        return Err(unavailable("auditing a read of police queries", &e));
    }
    Ok(())
}

/// Refused: the viewer is not granted the business `keyword`.
pub(super) fn not_granted(keyword: &str) -> Refusal {
    Refusal::with(RefusalCode::QueryNotGranted, keyword)
}
