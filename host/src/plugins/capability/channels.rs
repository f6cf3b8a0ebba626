//! `channels` (contract 1.1, capability `channels`): the sender of a command subscribes to a
//! channel, unsubscribes, or reads its latest item (R12, R13). The host decides who may follow
//! a channel ([`crate::store::subscriptions`]) and acts only for the phone that sent the command,
//! never for another and never while the plugin reacts to an event. A subscription takes
//! effect when the host call returns (it is the sender's own request, answered by the reply),
//! not with the call's commit.

use wasmtime::component::Linker;

use super::{HostCall, HostState, OnHostCall};
use crate::channels::{ChannelError, Channels, SubscriptionChange};
use crate::clock::now_ms;
use crate::plugins::contract::v1_1::jingxun::plugin::channels::{
    self, Channel, ChannelError as Refusal, Item, Subscription,
};
use crate::plugins::manifest::Capability;

/// Links `channels`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    channels::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl HostCall<'_> {
    /// Starts a `channels` host call: the budget, the grant, the sender. The handle to act
    /// with and the sender's phone, or the refusal.
    fn channels_begin(
        &mut self,
        name: &'static str,
        code: &str,
    ) -> wasmtime::Result<Result<(Channels, String), Refusal>> {
        self.begin(name, || code.to_owned())?;
        if !self.grants().has(Capability::Channels) {
            self.refused("not granted");
            tracing::warn!(plugin = %self.grants().plugin(), request = %self.call.request_id, %name, "plugin used channels without the grant");
            return Ok(Err(Refusal::NotGranted));
        }
        let Some(sender) = self.call.sender.clone() else {
            self.refused("no sender");
            return Ok(Err(Refusal::NoSender));
        };
        Ok(Ok((
            Channels::new(self.call.services.store.clone()),
            sender,
        )))
    }

    /// The host's answer in the contract's words; a refusal noted for the trace.
    fn channels_end<T>(&mut self, result: Result<T, ChannelError>) -> Result<T, Refusal> {
        result.map_err(|e| {
            let refusal = refusal(&e);
            if let Refusal::Unavailable(_) = refusal {
                tracing::warn!(plugin = %self.grants().plugin(), error = %e, "channels look-up failed");
            } else {
                self.refused(&e.to_string());
            }
            refusal
        })
    }
}

fn refusal(e: &ChannelError) -> Refusal {
    match e {
        ChannelError::UnknownChannel(code) => Refusal::UnknownChannel(format!("no channel {code}")),
        ChannelError::InvalidCode(code) => Refusal::UnknownChannel(format!(
            "`{code}` is not a channel code (letters then digits, like XW01)"
        )),
        ChannelError::NotAMember { .. } => Refusal::NotAMember,
        ChannelError::NotEntitled { .. } => Refusal::NotEntitled,
        _ => Refusal::Unavailable("the channels cannot be read".into()),
    }
}

fn subscription(change: SubscriptionChange) -> Subscription {
    Subscription {
        channel: Channel {
            code: change.code,
            name: change.name,
        },
        changed: change.changed,
    }
}

impl channels::Host for HostCall<'_> {
    fn subscribe(&mut self, code: String) -> wasmtime::Result<Result<Subscription, Refusal>> {
        let (channels, sender) = match self.channels_begin("channels.subscribe", &code)? {
            Ok(ready) => ready,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = now_ms();
        let result = self.block_on(async move { channels.subscribe(&code, &sender, now).await })?;
        Ok(self.channels_end(result).map(subscription))
    }

    fn unsubscribe(&mut self, code: String) -> wasmtime::Result<Result<Subscription, Refusal>> {
        let (channels, sender) = match self.channels_begin("channels.unsubscribe", &code)? {
            Ok(ready) => ready,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let result = self.block_on(async move { channels.unsubscribe(&code, &sender).await })?;
        Ok(self.channels_end(result).map(subscription))
    }

    fn latest(&mut self, code: String) -> wasmtime::Result<Result<Option<Item>, Refusal>> {
        let (channels, sender) = match self.channels_begin("channels.latest", &code)? {
            Ok(ready) => ready,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = now_ms();
        let result =
            self.block_on(async move { channels.latest_for(&code, &sender, now).await })?;
        Ok(self.channels_end(result).map(|(channel, item)| {
            item.map(|i| Item {
                id: u64::try_from(i.id).unwrap_or_default(),
                channel: Channel {
                    code: channel.code,
                    name: channel.name,
                },
                title: i.title,
                text: i.body,
                published_at: i.published_at,
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::ChannelSpec;
    use crate::plugins::capability::testing::{SENDER, call_state_from, call_state_on};
    use crate::plugins::contract::v1_1::jingxun::plugin::channels::Host as _;
    use crate::plugins::grants::Grants;
    use crate::store::test_db::TestDb;

    const ADMIN: &str = "cli:test";

    async fn a_members_channel_with_an_item(db: &TestDb) {
        let members = crate::members::Members::new(db.store.clone(), "86");
        members.add("wang", "王", None, ADMIN, 0).await.unwrap();
        members.bind("wang", SENDER, ADMIN, 0).await.unwrap();
        let channels = Channels::new(db.store.clone());
        let spec = ChannelSpec {
            code: "XW01".into(),
            name: "焦点".into(),
            audience: "members".into(),
            validity: Some("7d".into()),
            digest: None,
        };
        channels.add(&spec, ADMIN, now_ms()).await.unwrap();
        channels
            .publish("XW01", "平安夜", "注意防火", None, ADMIN, now_ms())
            .await
            .unwrap();
    }

    fn granted() -> Grants {
        let mut grants = Grants::new("news", "1");
        grants.grant(Capability::Channels);
        grants
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sender_subscribes_and_reads_with_the_grant_and_only_then() {
        let db = TestDb::sqlite().await;
        a_members_channel_with_an_item(&db).await;
        let mut member = call_state_on(granted(), db.store.clone());
        let mut stranger = call_state_from(granted(), db.store.clone(), Some("+8613900000009"));
        let mut ungranted = call_state_on(Grants::new("news", "1"), db.store.clone());
        let mut event = call_state_from(granted(), db.store.clone(), None);
        let results = tokio::task::spawn_blocking(move || {
            let mut member = member.host_call();
            let first = member.subscribe("xw01".into()).unwrap();
            let again = member.subscribe("XW01".into()).unwrap();
            let latest = member.latest("XW01".into()).unwrap();
            let unknown = member.subscribe("XW09".into()).unwrap();
            let mut stranger = stranger.host_call();
            let stranger_reads = stranger.latest("XW01".into()).unwrap();
            let stranger = stranger.subscribe("XW01".into()).unwrap();
            let ungranted = ungranted.host_call().subscribe("XW01".into()).unwrap();
            let event = event.host_call().subscribe("XW01".into()).unwrap();
            let left = member.unsubscribe("XW01".into()).unwrap();
            (
                first,
                again,
                latest,
                unknown,
                stranger,
                stranger_reads,
                ungranted,
                event,
                left,
            )
        })
        .await
        .unwrap();
        let (first, again, latest, unknown, stranger, stranger_reads, ungranted, event, left) =
            results;
        let first = first.expect("the member subscribes");
        assert_eq!(
            (first.channel.code.as_str(), first.channel.name.as_str()),
            ("XW01", "焦点")
        );
        assert!(first.changed && !again.unwrap().changed);
        let latest = latest.unwrap().expect("the item");
        assert_eq!(
            (latest.title.as_str(), latest.text.as_str()),
            ("平安夜", "注意防火")
        );
        assert!(
            matches!(unknown, Err(Refusal::UnknownChannel(_))),
            "{unknown:?}"
        );
        assert!(matches!(stranger, Err(Refusal::NotAMember)), "{stranger:?}");
        assert!(
            matches!(stranger_reads, Err(Refusal::NotAMember)),
            "{stranger_reads:?}"
        );
        assert!(
            matches!(ungranted, Err(Refusal::NotGranted)),
            "{ungranted:?}"
        );
        assert!(matches!(event, Err(Refusal::NoSender)), "{event:?}");
        assert!(left.unwrap().changed);
    }
}
