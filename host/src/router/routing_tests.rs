//! The router over a real store: who gets an answer.

use std::time::Duration;

use super::*;
use crate::plugins::{CallLimits, PluginSettings};
use crate::store::{Direction, InboundOutcome, MessageFilter, MessageId, NewInboundPart};

const OFFICER: &str = "+8613800000001";

/// A router over a fresh SQLite store with one registered phone, [`OFFICER`], and no plugins.
struct Rig {
    store: Store,
    router: Router,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(poll_interval: Duration) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/jingxun.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        let plugins = PluginHost::admin(
            store.clone(),
            PluginSettings {
                cache_dir: dir.path().join("cache"),
                limits: CallLimits::default(),
                max_reply_parts: 5,
                bundled_dir: None,
                policy: crate::plugins::EffectsPolicy::default(),
                events: crate::plugins::EventSettings::default(),
            },
        )
        .await
        .unwrap();
        let directory = Directory::new(store.clone(), "86");
        directory
            .add_phone(OFFICER, "王警官", None, "test")
            .await
            .unwrap();
        let router = Router::new(
            RouterParts {
                store: store.clone(),
                directory,
                plugins,
                wake: Wake::default(),
            },
            RouterSettings {
                router: RouterConfig::default(),
                status_report: false,
                max_attempts: 3,
                default_country_code: "86".into(),
                poll_interval,
            },
        );
        Rig {
            store,
            router,
            _dir: dir,
        }
    }
}

fn message(id: MessageId, sender: &str, sender_kind: PeerKind, text: &str) -> InboxMessage {
    InboxMessage {
        id,
        sender: sender.into(),
        sender_kind,
        service_number: None,
        modem: Some("m1".into()),
        text: text.into(),
        state: "received".into(),
        received_at: 0,
    }
}

/// Issue 18 finding 6: a sender's name may be the digits of a registered phone.
#[tokio::test]
async fn an_alphanumeric_sender_is_never_answered_even_when_named_as_a_registered_phone() {
    let rig = Rig::new(Duration::from_secs(3600)).await;
    for name in ["13800000001", "+8613800000001", "ICBC"] {
        for text in ["H", "CP 京A12345", "hello"] {
            assert_eq!(
                rig.router
                    .route(&message(1, name, PeerKind::Alphanumeric, text))
                    .await,
                Decision::silent(),
                "{name}: {text}"
            );
        }
    }
    // The same text from the phone itself is answered.
    let from_phone = rig
        .router
        .route(&message(2, OFFICER, PeerKind::Number, "H"))
        .await;
    assert_eq!(from_phone.replies.len(), 1, "{from_phone:?}");
}

/// Issue 13: a command past the bound is refused with its own text before anything is looked
/// up; one at the bound goes on as usual.
#[tokio::test]
async fn a_command_past_the_length_bound_is_refused_before_anything_runs() {
    let rig = Rig::new(Duration::from_secs(3600)).await;
    let long = format!("CP {}", "京".repeat(command::MAX_COMMAND_CHARS));
    assert_eq!(
        rig.router
            .route(&message(1, OFFICER, PeerKind::Number, &long))
            .await,
        Decision::reply(replies::TOO_LONG)
    );
    let fits = rig
        .router
        .route(&message(2, OFFICER, PeerKind::Number, "CP 京A12345"))
        .await;
    assert_ne!(fits, Decision::reply(replies::TOO_LONG));
}

impl Rig {
    /// Stores `text` from [`OFFICER`] as a modem driver does, SCTS `sent_at_ms`.
    async fn store_from_officer(&self, text: &str, sent_at_ms: i64) {
        let part = NewInboundPart {
            modem: "m1".into(),
            sender: OFFICER.into(),
            sender_kind: PeerKind::Number,
            service_number: None,
            concat: None,
            raw_pdu: format!("{sent_at_ms:X}"),
            text: text.into(),
            encoding: crate::sms::Encoding::Gsm7,
            sent_at_ms,
            now_ms: now_ms(),
        };
        let outcome = self.store.insert_inbound_part(&part).await.unwrap();
        assert!(
            matches!(outcome, InboundOutcome::Complete(_)),
            "{outcome:?}"
        );
    }

    /// Waits until `count` replies are queued (a minute at most, so that a router that never
    /// wakes fails the test rather than hangs it).
    async fn wait_for_replies(&self, count: usize) {
        let filter = MessageFilter {
            direction: Some(Direction::Out),
            ..MessageFilter::default()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let replies = self.store.list_messages(&filter).await.unwrap();
            if replies.len() >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} replies queued: the router was not woken",
                replies.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The router looks at the inbox once an hour here: only the driver's signal can get the second
/// message answered.
#[tokio::test]
async fn a_stored_message_wakes_the_router_without_waiting_for_its_poll() {
    let rig = Rig::new(Duration::from_secs(3600)).await;
    let signal = NewInbound::default();
    let shutdown = CancellationToken::new();
    // The first message is in the inbox when the router first looks.
    rig.store_from_officer("H", 1_000).await;
    let task = tokio::spawn(
        rig.router
            .clone()
            .with_new_inbound(signal.clone())
            .run(shutdown.clone()),
    );
    rig.wait_for_replies(1).await;
    // Answered, the router waits: an hour, or for a signal.
    rig.store_from_officer("H", 2_000).await;
    signal.notify();
    rig.wait_for_replies(2).await;
    shutdown.cancel();
    task.await.unwrap();
}
