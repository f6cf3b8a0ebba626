//! `outbox.send` (contract 1.1): SMS to others than the sender, within the host's policy, never
//! the plugin's. Each kind of recipient needs its capability (a contact: `send-to-contacts`,
//! and the number must be in the address book); the text must fit `[plugins] max_reply_parts`;
//! one call queues at most `[plugins] max_sends_per_call`. Accepted sends are kept here
//! ([`PendingSends`]) with an audit row each, refused ones with theirs, and reach the store
//! together when the call returns `ok` ([`crate::store::Store::plugin_commit`]).

use serde_json::json;
use wasmtime::component::{HasData, Linker};

use super::{HostCall, HostState};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::plugins::contract::v1_1::jingxun::plugin::outbox::{
    self, Queued, Recipient, SendRefusal,
};
use crate::plugins::manifest::Capability;
use crate::store::NewOutbound;

/// What a call queued so far, and the audit rows of its sends.
#[derive(Debug, Default)]
pub struct PendingSends {
    pub messages: Vec<NewOutbound>,
    pub audit: Vec<AuditEntry>,
}

/// The view `outbox` works on: the call, and its pending sends.
pub struct OutboxCall<'a> {
    host: HostCall<'a>,
    pending: &'a mut PendingSends,
}

struct OnOutbox;

impl HasData for OnOutbox {
    type Data<'a> = OutboxCall<'a>;
}

impl HostState {
    fn outbox_call(&mut self) -> OutboxCall<'_> {
        OutboxCall {
            host: HostCall {
                call: &self.call,
                budget: &mut self.budget,
            },
            pending: &mut self.outbox,
        }
    }
}

/// Links `outbox`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    outbox::add_to_linker::<HostState, OnOutbox>(linker, HostState::outbox_call)
}

impl OutboxCall<'_> {
    /// The audit row of a send to `phone` that ended `outcome`.
    fn audit(&self, phone: &str, outcome: AuditOutcome, details: serde_json::Value) -> AuditEntry {
        let grants = self.host.grants();
        AuditEntry::new(AuditComponent::Plugins, AuditEvent::PluginSend, outcome)
            .with_actor(format!("plugin:{}", grants.plugin()))
            .with_phone(phone.to_owned())
            .with_object(self.host.call.request_id.clone())
            .with_request_id(self.host.call.request_id.clone())
            .with_details(details)
    }

    /// Refuses the send to `phone`: noted for the trace, audited with the call.
    fn refuse(&mut self, phone: &str, refusal: SendRefusal) -> Result<Queued, SendRefusal> {
        let why = match &refusal {
            SendRefusal::NotGranted => "not granted".to_owned(),
            SendRefusal::UnknownRecipient(why)
            | SendRefusal::InvalidText(why)
            | SendRefusal::Unavailable(why) => why.clone(),
            SendRefusal::TooManySends(limit) => format!("more than {limit} sends in one call"),
        };
        self.host.refused(&why);
        let entry = self.audit(
            phone,
            AuditOutcome::Refused,
            json!({ "plugin": self.host.grants().plugin(), "reason": why }),
        );
        self.pending.audit.push(entry);
        Err(refusal)
    }
}

impl outbox::Host for OutboxCall<'_> {
    fn send(
        &mut self,
        to: Recipient,
        text: String,
    ) -> wasmtime::Result<Result<Queued, SendRefusal>> {
        let Recipient::Contact(number) = &to;
        self.host
            .begin("outbox.send", || format!("contact {number}"))?;
        let number = number.trim().to_owned();
        let policy = self.host.call.services.policy;
        if !self.host.grants().has(Capability::SendToContacts) {
            tracing::warn!(plugin = %self.host.grants().plugin(), request = %self.host.call.request_id, "plugin sent to a contact without the grant");
            return Ok(self.refuse(&number, SendRefusal::NotGranted));
        }
        let sent = self.pending.messages.len();
        if sent >= policy.max_sends_per_call as usize {
            return Ok(self.refuse(
                &number,
                SendRefusal::TooManySends(policy.max_sends_per_call),
            ));
        }
        if text.trim().is_empty() {
            return Ok(self.refuse(
                &number,
                SendRefusal::InvalidText("the text is empty".into()),
            ));
        }
        let parts = jingxun_sms::plan(&text).parts;
        if parts > policy.max_message_parts {
            return Ok(self.refuse(
                &number,
                SendRefusal::InvalidText(format!(
                    "the text takes {parts} SMS parts, more than the {} allowed",
                    policy.max_message_parts
                )),
            ));
        }
        let store = self.host.call.services.store.clone();
        let contact = match self
            .host
            .block_on(store.address_book_name_of_number(&number))?
        {
            Ok(Some(name)) => name,
            Ok(None) => {
                return Ok(self.refuse(
                    &number,
                    SendRefusal::UnknownRecipient(format!(
                        "{number} is not a number of the address book"
                    )),
                ));
            }
            Err(e) => {
                tracing::warn!(plugin = %self.host.grants().plugin(), error = %e, "address book look-up failed");
                return Ok(self.refuse(
                    &number,
                    SendRefusal::Unavailable("the address book cannot be read".into()),
                ));
            }
        };
        let entry = self.audit(
            &number,
            AuditOutcome::Ok,
            json!({
                "plugin": self.host.grants().plugin(),
                "recipient": "contact",
                "contact": contact,
                "parts": parts,
            }),
        );
        self.pending.audit.push(entry);
        self.pending.messages.push(NewOutbound::new(number, text));
        Ok(Ok(Queued {
            messages: 1,
            parts: u32::try_from(parts).unwrap_or(u32::MAX),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address_book::Book;
    use crate::plugins::capability::testing::call_state_on;
    use crate::plugins::contract::v1_1::jingxun::plugin::outbox::Host as _;
    use crate::plugins::grants::Grants;
    use crate::store::test_db::TestDb;

    const CONTACT: &str = "+8613800000042";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_contacts_are_reached_with_the_grant_and_within_the_per_call_limit() {
        let db = TestDb::sqlite().await;
        Book::new(db.store.clone(), "86")
            .save_contact(None, "王五", "", None, "13800000042", "cli:test")
            .await
            .unwrap();
        let mut refused = call_state_on(Grants::new("p", "1"), db.store.clone());
        let mut grants = Grants::new("p", "1");
        grants.grant(Capability::SendToContacts);
        let mut call = call_state_on(grants, db.store.clone());
        let contact = || Recipient::Contact(CONTACT.into());
        let (not_granted, results, call) = tokio::task::spawn_blocking(move || {
            let not_granted = refused.outbox_call().send(contact(), "hi".into()).unwrap();
            let mut outbox = call.outbox_call();
            let results = vec![
                outbox
                    .send(Recipient::Contact("+8613900000000".into()), "hi".into())
                    .unwrap(),
                outbox.send(contact(), "  ".into()).unwrap(),
                outbox.send(contact(), "x".repeat(1000)).unwrap(),
                outbox.send(contact(), "1".into()).unwrap(),
                outbox.send(contact(), "2".into()).unwrap(),
                outbox.send(contact(), "3".into()).unwrap(),
                // The test services allow 3 sends a call.
                outbox.send(contact(), "4".into()).unwrap(),
            ];
            (not_granted, results, call)
        })
        .await
        .unwrap();
        assert!(
            matches!(not_granted, Err(SendRefusal::NotGranted)),
            "{not_granted:?}"
        );
        assert!(
            matches!(&results[0], Err(SendRefusal::UnknownRecipient(_))),
            "{:?}",
            results[0]
        );
        assert!(
            matches!(&results[1], Err(SendRefusal::InvalidText(_))),
            "{:?}",
            results[1]
        );
        assert!(
            matches!(&results[2], Err(SendRefusal::InvalidText(_))),
            "{:?}",
            results[2]
        );
        for sent in &results[3..6] {
            assert_eq!(sent.as_ref().unwrap().messages, 1);
        }
        assert!(
            matches!(results[6], Err(SendRefusal::TooManySends(3))),
            "{:?}",
            results[6]
        );
        let texts: Vec<&str> = call
            .outbox
            .messages
            .iter()
            .map(|m| m.text.as_str())
            .collect();
        assert_eq!(texts, ["1", "2", "3"]);
        assert!(call.outbox.messages.iter().all(|m| m.peer == CONTACT));
        let outcomes: Vec<AuditOutcome> = call.outbox.audit.iter().map(|a| a.outcome).collect();
        use AuditOutcome::{Ok as Sent, Refused};
        assert_eq!(
            outcomes,
            [Refused, Refused, Refused, Sent, Sent, Sent, Refused]
        );
    }
}
