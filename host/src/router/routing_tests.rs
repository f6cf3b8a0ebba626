//! The router over a real store: who gets an answer.

use std::time::Duration;

use super::*;
use crate::plugins::PluginSettings;
use crate::store::MessageId;

const OFFICER: &str = "+8613800000001";

/// A router over a fresh SQLite store with one registered phone, [`OFFICER`], and no plugins.
struct Rig {
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
                cpu_limit: Duration::from_millis(200),
                memory_limit_bytes: 32 << 20,
                bundled_dir: None,
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
        Rig { router, _dir: dir }
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
