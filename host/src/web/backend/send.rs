//! Group send (R7): a draft resolves the typed numbers (invalid ones listed back, repeats
//! merged) and the address book picks into recipients and is stashed for its author; the
//! confirmation queues one message per recipient in the transaction that uses the draft up,
//! with the send's audit row (counts and a masked sample, never the text); the results are
//! the batch's messages.

use std::collections::{HashMap, HashSet};

use jingxun_vocabulary::BuiltinRole;
use jingxun_web::model::send::{
    Batch, Draft, InvalidEntry, MAX_RECIPIENTS, MAX_TEXT_CHARS, Recipient, RecipientResult,
    SendPage, SmsCount,
};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::{SendBackend, SendRequest};
use jingxun_web::ssr::{Actor, BoxFuture};

use super::address_book::view;
use super::{HostBackend, audit_source, random_id, unavailable};
use crate::api::call_audit::send_details;
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::phone::parse_recipients;
use crate::store::{MAX_LIST, MessageFilter, NewOutbound, StashKind, WebSendError, WebSendRecord};

/// The audit component and event of a web send.
const COMPONENT: AuditComponent = AuditComponent::Web;
const EVENT: AuditEvent = AuditEvent::MessageSend;

/// Resolves a send request against the address book: picked people first (in the order
/// departments, groups, people), then typed numbers; each number once.
fn resolve(
    request: &SendRequest,
    picked: Vec<crate::address_book::Picked>,
    names_by_number: &HashMap<String, String>,
    country_code: &str,
) -> (Vec<Recipient>, Vec<InvalidEntry>, u32) {
    let typed = parse_recipients(&request.numbers, country_code);
    let mut seen = HashSet::new();
    let mut duplicates = typed.duplicates as u32;
    let mut recipients = Vec::new();
    for p in picked {
        if seen.insert(p.number.clone()) {
            recipients.push(Recipient {
                number: p.number,
                name: Some(p.name),
            });
        } else {
            duplicates += 1;
        }
    }
    for number in typed.valid {
        let number = number.to_string();
        if seen.insert(number.clone()) {
            recipients.push(Recipient {
                name: names_by_number.get(&number).cloned(),
                number,
            });
        } else {
            duplicates += 1;
        }
    }
    let invalid = typed
        .invalid
        .into_iter()
        .map(|(input, reason)| InvalidEntry {
            input,
            reason: reason.to_string(),
        })
        .collect();
    (recipients, invalid, duplicates)
}

impl HostBackend {
    async fn draft(&self, actor: &Actor, id: &str) -> Outcome<Draft> {
        let body = self
            .state()
            .store
            .stash_get(id, &actor.login, StashKind::SendDraft)
            .await
            .map_err(|e| unavailable("reading a send draft", &e))?
            .ok_or_else(|| Refusal::new(RefusalCode::DraftGone))?;
        serde_json::from_str(&body).map_err(|e| unavailable("reading a send draft", &e))
    }
}

impl SendBackend for HostBackend {
    fn send_page<'a>(
        &'a self,
        actor: &'a Actor,
        draft: Option<String>,
        batch: Option<String>,
    ) -> BoxFuture<'a, Outcome<SendPage>> {
        Box::pin(async move {
            if let Some(id) = batch {
                let batch = self.batch(actor, id).await?;
                return Ok(SendPage {
                    batch: Some(batch),
                    ..SendPage::default()
                });
            }
            let book = self
                .book()
                .snapshot()
                .await
                .map_err(|e| unavailable("reading the address book", &e))?;
            let draft = match draft {
                Some(id) => Some(self.draft(actor, &id).await?),
                None => None,
            };
            Ok(SendPage {
                book: view(book),
                draft,
                batch: None,
            })
        })
    }

    fn send_prepare<'a>(
        &'a self,
        actor: &'a Actor,
        request: SendRequest,
    ) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            if request.text.trim().is_empty() {
                return Err(Refusal::new(RefusalCode::EmptyText));
            }
            if request.text.chars().count() > MAX_TEXT_CHARS {
                return Err(Refusal::with(
                    RefusalCode::TextTooLong,
                    MAX_TEXT_CHARS.to_string(),
                ));
            }
            let snapshot = self
                .book()
                .snapshot()
                .await
                .map_err(|e| unavailable("reading the address book", &e))?;
            let picked = snapshot.resolve(&request.departments, &request.groups, &request.contacts);
            let names: HashMap<String, String> = snapshot
                .contacts
                .iter()
                .flat_map(|c| c.numbers.iter().map(|n| (n.clone(), c.name.clone())))
                .collect();
            let (recipients, invalid, duplicates) =
                resolve(&request, picked, &names, &self.state().default_country_code);
            if recipients.is_empty() && invalid.is_empty() {
                return Err(Refusal::new(RefusalCode::NoRecipients));
            }
            if recipients.len() > MAX_RECIPIENTS {
                return Err(Refusal::with(
                    RefusalCode::TooManyRecipients,
                    recipients.len().to_string(),
                ));
            }
            let id = random_id()?;
            let draft = Draft {
                id: id.clone(),
                count: SmsCount::of(&request.text),
                text: request.text,
                numbers: request.numbers,
                departments: request.departments,
                groups: request.groups,
                contacts: request.contacts,
                recipients,
                invalid,
                duplicates,
            };
            let body =
                serde_json::to_string(&draft).map_err(|e| unavailable("keeping a draft", &e))?;
            self.state()
                .store
                .stash_put(&id, &actor.login, StashKind::SendDraft, &body)
                .await
                .map_err(|e| unavailable("keeping a draft", &e))?;
            Ok(id)
        })
    }

    fn send_confirm<'a>(
        &'a self,
        actor: &'a Actor,
        draft: String,
    ) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            let state = self.state();
            let d = self.draft(actor, &draft).await?;
            if d.recipients.is_empty() {
                return Err(Refusal::new(RefusalCode::NoRecipients));
            }
            let batch_id = format!("web-{}", random_id()?);
            let messages: Vec<(NewOutbound, Option<String>)> = d
                .recipients
                .iter()
                .map(|r| {
                    let mut m = NewOutbound::new(r.number.clone(), d.text.clone());
                    m.max_attempts = state.max_attempts.max(1);
                    m.status_report = state.status_report;
                    m.batch_id = Some(batch_id.clone());
                    (m, r.name.clone())
                })
                .collect();
            let numbers: Vec<&str> = d.recipients.iter().map(|r| r.number.as_str()).collect();
            let audit = AuditEntry::new(COMPONENT, EVENT, AuditOutcome::Ok)
                .with_actor(&actor.login)
                .with_object(&batch_id)
                .with_source(Some(&audit_source(actor)))
                .with_details(send_details(
                    &numbers,
                    d.invalid.len(),
                    d.count.parts as usize,
                    d.count.chars as usize,
                    None,
                ));
            let record = WebSendRecord {
                batch_id: batch_id.clone(),
                login: actor.login.clone(),
                text: d.text.clone(),
                recipients: d.recipients.len() as u32,
                created_at: 0,
            };
            match state
                .store
                .web_send_commit(Some(&draft), &record, &messages, audit)
                .await
            {
                Ok(ids) => {
                    tracing::info!(login = %actor.login, batch = %batch_id, messages = ids.len(), "web send queued");
                    state.wake.notify();
                    Ok(batch_id)
                }
                Err(WebSendError::DraftGone) => Err(Refusal::new(RefusalCode::DraftGone)),
                Err(e) => Err(unavailable("queueing a web send", &e)),
            }
        })
    }

    fn batch<'a>(&'a self, actor: &'a Actor, id: String) -> BoxFuture<'a, Outcome<Batch>> {
        Box::pin(async move {
            let store = &self.state().store;
            let send = store
                .web_send(&id)
                .await
                .map_err(|e| unavailable("reading a web send", &e))?
                .ok_or_else(|| Refusal::new(RefusalCode::NotFound))?;
            if send.login != actor.login && !actor.has_role(BuiltinRole::Admin) {
                // Another operator's send: not theirs to watch (and not told whether it exists).
                return Err(Refusal::new(RefusalCode::NotFound));
            }
            let names = store
                .web_send_names(&id)
                .await
                .map_err(|e| unavailable("reading a web send", &e))?;
            let messages = store
                .list_messages(&MessageFilter {
                    batch_id: Some(id.clone()),
                    limit: MAX_LIST,
                    ..MessageFilter::default()
                })
                .await
                .map_err(|e| unavailable("reading a web send", &e))?;
            Ok(Batch {
                count: SmsCount::of(&send.text),
                id: send.batch_id,
                created_by: send.login,
                created_at: send.created_at,
                text: send.text,
                results: messages
                    .into_iter()
                    .map(|m| RecipientResult {
                        message_id: m.id,
                        name: names.get(&m.id).cloned(),
                        number: m.peer,
                        state: m.state.as_str().to_owned(),
                        error: m.last_error,
                        updated_at: m.updated_at,
                    })
                    .collect(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address_book::Picked;

    #[test]
    fn picked_people_come_first_and_every_number_once() {
        let request = SendRequest {
            text: "开会".into(),
            numbers: "13800000009，13800000001, abc\n13800000009".into(),
            ..SendRequest::default()
        };
        let picked = vec![
            Picked {
                number: "+8613800000001".into(),
                name: "王伟".into(),
            },
            Picked {
                number: "+8613800000002".into(),
                name: "李娜".into(),
            },
        ];
        let names = HashMap::from([("+8613800000009".to_owned(), "赵强".to_owned())]);
        let (recipients, invalid, duplicates) = resolve(&request, picked, &names, "86");
        let got: Vec<(&str, Option<&str>)> = recipients
            .iter()
            .map(|r| (r.number.as_str(), r.name.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("+8613800000001", Some("王伟")),
                ("+8613800000002", Some("李娜")),
                ("+8613800000009", Some("赵强")),
            ]
        );
        assert_eq!(invalid.len(), 1);
        assert_eq!(invalid[0].input, "abc");
        assert_eq!(duplicates, 2, "one typed twice, one typed and picked");
    }
}
