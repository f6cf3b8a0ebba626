//! The simulated handset: an SMS typed in the browser goes in through the first built-in
//! simulated modem, exactly as a handset's SMS would, and the conversation is that phone's
//! messages in the store.
//!
//! The handset speaks as any number, so it is for administrators only (issue 18, finding 1),
//! and it lets an administrator do no more than their own phone would: from a registered
//! phone it takes a police command only when the administrator is granted that business
//! themselves, and the conversation withholds the queries and replies they are not granted
//! ([`police_view`](super::police_view)). Every SMS typed, sent or refused, is an audit row
//! (`handset.sms`) with the administrator as actor, written before the SMS goes in.

use jingxun_web::model::simulator::{ChatLine, SimulatorPage};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::SimulatorBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::police_view::{PoliceView, Shown, audit_reads, not_granted};
use super::{HostBackend, audit_source, directory_refusal, unavailable};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditLog, AuditOutcome};
use crate::store::{Direction, MessageFilter};

/// Messages of the conversation shown at most.
const CONVERSATION: u32 = 50;
/// Characters one typed SMS may have.
const MAX_TEXT_CHARS: usize = 500;

impl SimulatorBackend for HostBackend {
    fn simulator<'a>(
        &'a self,
        actor: &'a Actor,
        phone: Option<String>,
    ) -> BoxFuture<'a, Outcome<SimulatorPage>> {
        Box::pin(async move {
            let state = self.state();
            let available = !state.simulators.is_empty();
            let phones = state
                .directory
                .phones()
                .await
                .map_err(|e| directory_refusal("reading phones", e))?
                .into_iter()
                .map(|p| (p.number.clone(), format!("{} {}", p.number, p.owner_name)))
                .collect();
            let phone = match phone.filter(|p| !p.trim().is_empty()) {
                Some(typed) => Some(
                    state
                        .directory
                        .parse_phone(&typed)
                        .map_err(|e| directory_refusal("reading a number", e))?
                        .to_string(),
                ),
                None => None,
            };
            let conversation = match &phone {
                Some(number) if available => {
                    let mut messages = state
                        .store
                        .list_messages(&MessageFilter {
                            peer: Some(number.clone()),
                            newest_first: true,
                            limit: CONVERSATION,
                            ..MessageFilter::default()
                        })
                        .await
                        .map_err(|e| unavailable("reading a conversation", &e))?;
                    messages.reverse();
                    let view = PoliceView::of(state, actor).await?;
                    let shown = view.classify(state, &messages).await?;
                    audit_reads(state, &self.reads, actor, "simulator", &messages, &shown).await?;
                    messages
                        .into_iter()
                        .zip(shown)
                        .map(|(m, shown)| {
                            let withheld = match shown {
                                Shown::Withheld(keyword) => Some(keyword),
                                Shown::Plain | Shown::Granted(_) => None,
                            };
                            ChatLine {
                                id: m.id,
                                from_handset: m.direction == Direction::In,
                                text: if withheld.is_some() {
                                    String::new()
                                } else {
                                    m.text
                                },
                                withheld,
                                state: m.state.as_str().to_owned(),
                                at_ms: m.created_at,
                            }
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            Ok(SimulatorPage {
                available,
                phones,
                phone,
                conversation,
            })
        })
    }

    fn handset_send<'a>(
        &'a self,
        actor: &'a Actor,
        phone: String,
        text: String,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let state = self.state();
            let Some(sim) = state.simulators.first() else {
                return Err(Refusal::new(RefusalCode::NoSimulator));
            };
            let text = text.trim();
            if text.is_empty() {
                return Err(Refusal::new(RefusalCode::EmptyText));
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(Refusal::with(
                    RefusalCode::TextTooLong,
                    MAX_TEXT_CHARS.to_string(),
                ));
            }
            let number = state
                .directory
                .parse_phone(&phone)
                .map_err(|e| directory_refusal("reading a number", e))?;
            let registered = state
                .directory
                .identify(&number)
                .await
                .map_err(|e| directory_refusal("reading a phone", e))?
                .is_some();
            let view = PoliceView::of(state, actor).await?;
            let police = view.police_keyword(text);
            let refused = match &police {
                Some(keyword) if registered && !view.granted(keyword) => Some(keyword.clone()),
                _ => None,
            };
            let command = crate::router::command::parse(text).map(|c| c.display());
            let entry = AuditEntry::new(
                AuditComponent::Web,
                AuditEvent::HandsetSms,
                if refused.is_some() {
                    AuditOutcome::Refused
                } else {
                    AuditOutcome::Ok
                },
            )
            .with_actor(&actor.login)
            .with_phone(number.as_str())
            .with_source(Some(&audit_source(actor)))
            .with_details(serde_json::json!({
                "registered_phone": registered,
                "police_query": police,
                "reason": refused.as_ref().map(|_| "business_not_granted"),
                "chars": text.chars().count(),
            }));
            // The object holds a command only (the audit module keeps free text out of it).
            let entry = match command {
                Some(command) => entry.with_object(command),
                None => entry,
            };
            AuditLog::new(state.store.clone())
                .append(entry)
                .await
                .map_err(|e| unavailable("auditing a simulated SMS", &e))?;
            if let Some(keyword) = refused {
                return Err(not_granted(&keyword));
            }
            sim.receive_sms(number.as_str(), text)
                .map_err(|e| unavailable("delivering to the simulated modem", &e))?;
            tracing::info!(login = %actor.login, phone = %number, "simulated handset sent an SMS");
            Ok(())
        })
    }
}
