//! The message store for the messages page: search, one message's detail with its parts and
//! delivery reports, and re-sending a failed or expired message as a new one-recipient web
//! send (audited like any send). Officers' police queries and the router's replies to them are
//! withheld from users not granted the business, and reading them is audited
//! ([`police_view`](super::police_view)).

use jingxun_web::model::messages::{
    MessageDetail, MessageList, MessageRow, MessageSearch, PAGE_ROWS, PartRow,
};
use jingxun_web::model::{Outcome, Refusal, RefusalCode, parse_time};
use jingxun_web::ssr::backend::MessagesBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::police_view::{PoliceView, Shown, audit_reads, not_granted};
use super::{HostBackend, audit_source, random_id, unavailable};
use crate::api::call_audit::send_details;
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::store::{
    Direction, MessageFilter, MessageRecord, MessageState, NewOutbound, PeerKind, WebSendRecord,
};

fn row(m: &MessageRecord, shown: &Shown) -> MessageRow {
    let withheld = match shown {
        Shown::Withheld(keyword) => Some(keyword.clone()),
        Shown::Plain | Shown::Granted(_) => None,
    };
    MessageRow {
        id: m.id,
        direction: m.direction.as_str().to_owned(),
        peer: m.peer.clone(),
        alphanumeric: m.peer_kind == PeerKind::Alphanumeric,
        text: if withheld.is_some() {
            String::new()
        } else {
            m.text.clone()
        },
        withheld,
        state: m.state.as_str().to_owned(),
        parts: m.parts_total.map(u32::from),
        last_error: m.last_error.clone(),
        created_at: m.created_at,
    }
}

/// The store filter of a search; `Err` names the field that is not understood.
fn filter_of(search: &MessageSearch) -> Outcome<MessageFilter> {
    let time = |text: &str| -> Outcome<Option<i64>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        parse_time(text)
            .map(Some)
            .ok_or_else(|| Refusal::with(RefusalCode::InvalidTime, text.to_owned()))
    };
    let q = search.q.trim();
    // Digits (with the usual separators) may be a number or part of one: search both the
    // numbers and the texts; anything else is searched in the texts.
    let numeric = !q.is_empty() && q.chars().all(|c| c.is_ascii_digit() || " +-".contains(c));
    let peer_contains = numeric.then(|| {
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        // A national mobile number is stored with the country code: `138...` matches
        // `+86138...` as a part anyway, `0086...` is searched without its prefix.
        digits
            .strip_prefix("00")
            .map(str::to_owned)
            .unwrap_or(digits)
    });
    Ok(MessageFilter {
        direction: match search.direction.as_str() {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        },
        state: search.state.parse::<MessageState>().ok(),
        peer_contains,
        text_contains: (!q.is_empty()).then(|| q.to_owned()),
        since_ms: time(&search.from)?,
        until_ms: time(&search.to)?,
        before_id: search.before,
        newest_first: true,
        limit: PAGE_ROWS + 1,
        ..MessageFilter::default()
    })
}

impl MessagesBackend for HostBackend {
    fn messages<'a>(
        &'a self,
        actor: &'a Actor,
        search: MessageSearch,
    ) -> BoxFuture<'a, Outcome<MessageList>> {
        Box::pin(async move {
            let state = self.state();
            let filter = filter_of(&search)?;
            let mut found = state
                .store
                .list_messages(&filter)
                .await
                .map_err(|e| unavailable("searching messages", &e))?;
            let more = found.len() > PAGE_ROWS as usize;
            found.truncate(PAGE_ROWS as usize);
            let next_before = more.then(|| found.last().map(|m| m.id)).flatten();
            let view = PoliceView::of(state, actor).await?;
            let shown = view.classify(state, &found).await?;
            // A withheld message that matched the search only by its text is left out: that it
            // matched would tell what it says.
            let (found, shown): (Vec<MessageRecord>, Vec<Shown>) = found
                .into_iter()
                .zip(shown)
                .filter(|(m, s)| !matches!(s, Shown::Withheld(_)) || matched_by_number(&filter, m))
                .unzip();
            audit_reads(state, &self.reads, actor, "messages", &found, &shown).await?;
            Ok(MessageList {
                next_before,
                rows: found.iter().zip(&shown).map(|(m, s)| row(m, s)).collect(),
            })
        })
    }

    fn message<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<MessageDetail>> {
        Box::pin(async move {
            let state = self.state();
            let store = &state.store;
            let (m, parts) = store
                .message(id)
                .await
                .map_err(|e| unavailable("reading a message", &e))?
                .ok_or_else(|| Refusal::new(RefusalCode::NotFound))?;
            let view = PoliceView::of(state, actor).await?;
            let shown = view.classify(state, std::slice::from_ref(&m)).await?;
            audit_reads(
                state,
                &self.reads,
                actor,
                "message",
                std::slice::from_ref(&m),
                &shown,
            )
            .await?;
            let shown = shown.into_iter().next().unwrap_or(Shown::Plain);
            let origin = match &m.batch_id {
                Some(batch) => store
                    .web_send(batch)
                    .await
                    .map_err(|e| unavailable("reading a message", &e))?
                    .map(|s| format!("web:{}", s.login)),
                None => None,
            };
            Ok(MessageDetail {
                row: row(&m, &shown),
                service_number: m.service_number.clone(),
                encoding: m.encoding.map(|e| e.as_str().to_owned()),
                attempts: m.attempts,
                max_attempts: m.max_attempts,
                next_attempt_at: m.next_attempt_at,
                modem: m.modem.clone(),
                status_report: m.status_report,
                valid_until: m.valid_until,
                sent_at: m.sent_at,
                delivered_at: m.delivered_at,
                batch_id: m.batch_id.clone(),
                origin,
                parts: parts
                    .into_iter()
                    .map(|p| PartRow {
                        seq: u32::from(p.seq),
                        state: p.state.as_str().to_owned(),
                        modem: p.modem,
                        reference: p.message_reference,
                        status: p.status,
                        sent_at: p.sent_at,
                        reported_at: p.reported_at,
                    })
                    .collect(),
            })
        })
    }

    fn message_resend<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<i64>> {
        Box::pin(async move {
            let state = self.state();
            let (m, _) = state
                .store
                .message(id)
                .await
                .map_err(|e| unavailable("reading a message", &e))?
                .ok_or_else(|| Refusal::new(RefusalCode::NotFound))?;
            if m.direction != Direction::Out
                || !matches!(m.state, MessageState::Failed | MessageState::Expired)
            {
                return Err(Refusal::new(RefusalCode::NotResendable));
            }
            // A police reply sent again as a web send would lose its tie to the query and be
            // shown to everyone: the officer asks again instead.
            let view = PoliceView::of(state, actor).await?;
            match view
                .classify(state, std::slice::from_ref(&m))
                .await?
                .first()
            {
                Some(Shown::Withheld(keyword)) => return Err(not_granted(keyword)),
                Some(Shown::Granted(_)) => return Err(Refusal::new(RefusalCode::NotResendable)),
                _ => {}
            }
            let batch_id = format!("web-{}", random_id()?);
            let mut again = NewOutbound::new(m.peer.clone(), m.text.clone());
            again.service_number = m.service_number.clone();
            again.priority = m.priority;
            again.status_report = m.status_report;
            again.max_attempts = state.max_attempts.max(1);
            again.batch_id = Some(batch_id.clone());
            let parts = crate::sms::plan(&m.text).parts;
            let mut details =
                send_details(&[m.peer.as_str()], 0, parts, m.text.chars().count(), None);
            details["resend_of"] = serde_json::json!(id);
            let audit = AuditEntry::new(
                AuditComponent::Web,
                AuditEvent::MessageSend,
                AuditOutcome::Ok,
            )
            .with_actor(&actor.login)
            .with_object(&batch_id)
            .with_source(Some(&audit_source(actor)))
            .with_details(details);
            let record = WebSendRecord {
                batch_id,
                login: actor.login.clone(),
                text: m.text.clone(),
                recipients: 1,
                created_at: 0,
            };
            let ids = state
                .store
                .web_send_commit(None, &record, &[(again, None)], audit)
                .await
                .map_err(|e| unavailable("queueing a message again", &e))?;
            state.wake.notify();
            ids.first()
                .copied()
                .ok_or_else(|| unavailable("queueing a message again", &"no id came back"))
        })
    }
}

/// Whether `m` matched `filter` by its number (a search by digits looks at numbers and texts).
fn matched_by_number(filter: &MessageFilter, m: &MessageRecord) -> bool {
    filter.text_contains.is_none()
        || filter
            .peer_contains
            .as_deref()
            .is_some_and(|digits| m.peer.contains(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_becomes_a_store_filter() {
        let f = filter_of(&MessageSearch {
            q: "138 0000".into(),
            direction: "out".into(),
            state: "failed".into(),
            from: "2026-12-01".into(),
            ..MessageSearch::default()
        })
        .unwrap();
        assert_eq!(f.peer_contains.as_deref(), Some("1380000"));
        assert_eq!(f.text_contains.as_deref(), Some("138 0000"));
        assert_eq!(f.direction, Some(Direction::Out));
        assert_eq!(f.state, Some(MessageState::Failed));
        assert_eq!(f.since_ms, parse_time("2026-12-01"));
        let words = filter_of(&MessageSearch {
            q: "开会".into(),
            ..MessageSearch::default()
        })
        .unwrap();
        assert_eq!(
            (words.peer_contains, words.text_contains.as_deref()),
            (None, Some("开会"))
        );
        assert!(
            filter_of(&MessageSearch {
                to: "tomorrow".into(),
                ..MessageSearch::default()
            })
            .is_err()
        );
    }
}
