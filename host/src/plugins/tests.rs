//! Tests of the plugin host against the test components that `cargo xtask plugins` builds from
//! `tests/fixtures/plugins/` into `target/plugins/fixtures/` (R5: sandboxed, read-only,
//! granted-only queries; issue 3 items 2 and 3).

use std::path::PathBuf;
use std::time::Duration;

use sqlx::Executor;

use super::*;
use crate::store::test_db::TestDb;

/// A fixture component's bytes; fails with what to run when it was not built.
pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/plugins/fixtures")
        .join(format!("fixture-{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run `cargo xtask plugins` first",
            path.display()
        )
    })
}

/// The author of the tests' registry changes.
fn by() -> crate::audit::ChangeAuthor {
    crate::audit::ChangeAuthor::new("cli:test", "cli")
}

/// The registry's audit rows in the database at `url`, oldest first: `event object by actor`.
async fn registry_audit(url: &str) -> Vec<String> {
    use sqlx::Row;
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT event, actor, object FROM audit_log WHERE component = 'plugins' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| {
            let (event, actor, object): (String, String, String) = (
                r.try_get("event").unwrap(),
                r.try_get("actor").unwrap(),
                r.try_get("object").unwrap(),
            );
            format!("{event} {object} by {actor}")
        })
        .collect()
}

struct Env {
    store: Store,
    host: PluginHost,
    dir: tempfile::TempDir,
}

impl Env {
    fn settings(dir: &Path) -> PluginSettings {
        Env::settings_with(dir, CallLimits::default())
    }

    fn settings_with(dir: &Path, limits: CallLimits) -> PluginSettings {
        PluginSettings {
            cache_dir: dir.join("cache"),
            limits,
            max_reply_parts: 5,
            bundled_dir: Some(dir.join("bundled")),
            policy: crate::plugins::EffectsPolicy::default(),
            events: crate::plugins::EventSettings::default(),
        }
    }

    /// A fresh SQLite store in a temporary directory, a host on it, and these fixtures installed.
    async fn new(fixtures: &[&str]) -> Env {
        Env::with_limits(fixtures, CallLimits::default()).await
    }

    /// [`Env::new`] with other limits per call.
    async fn with_limits(fixtures: &[&str], limits: CallLimits) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/jingxun.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        let host = PluginHost::start(store.clone(), Env::settings_with(dir.path(), limits))
            .await
            .unwrap();
        for name in fixtures {
            host.install(&fixture(name), &by()).await.unwrap();
        }
        Env { store, host, dir }
    }

    /// The store's URL, for a connection of the test's own.
    fn url(&self) -> String {
        format!("sqlite://{}/jingxun.db", self.dir.path().display())
    }

    /// A second host on the same store and cache, as after a restart.
    async fn restart(&self) -> PluginHost {
        PluginHost::start(self.store.clone(), Env::settings(self.dir.path()))
            .await
            .unwrap()
    }

    /// A SQLite datasource file with a table `items` of `rows` rows, registered as `name`.
    async fn datasource(&self, name: &str, rows: i64) -> String {
        let path = self.dir.path().join(format!("{name}.db"));
        let url = format!("sqlite://{}", path.display());
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        pool.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .await
            .unwrap();
        for i in 1..=rows {
            sqlx::query("INSERT INTO items (id, name) VALUES ($1, $2)")
                .bind(i)
                .bind(format!("item{i}"))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        self.store
            .datasource_add(name, &url, crate::clock::now_ms(), &by())
            .await
            .unwrap();
        url
    }
}

fn request(keyword: &str, arguments: &[&str]) -> PluginRequest {
    PluginRequest {
        id: format!("test-{keyword}"),
        sender: "+8613800000001".into(),
        user: Some(PluginUser {
            login: "li".into(),
            name: "李警官".into(),
            roles: vec!["officer".into()],
        }),
        keyword: keyword.into(),
        arguments: arguments.iter().map(|a| a.to_string()).collect(),
        text: format!("{keyword} {}", arguments.join(" ")),
        received_at: 1_767_225_600_000,
    }
}

async fn echo_works(host: &PluginHost) {
    let reply = host.handle(request("ECHO", &["ping"])).await.unwrap();
    assert!(reply.text.starts_with("ECHO ping @"), "{}", reply.text);
    assert_eq!(reply.outcome, Outcome::Answered);
    assert_eq!(reply.plugin, "echo");
}

#[tokio::test]
async fn a_good_plugin_answers_with_its_name_version_and_the_clock() {
    let env = Env::new(&["echo"]).await;
    let reply = env.host.handle(request("ECHO", &["a", "b"])).await.unwrap();
    assert!(reply.text.starts_with("ECHO a b @"), "{}", reply.text);
    assert!(reply.text.ends_with(" v1.0.0"), "{}", reply.text);
    assert_eq!(
        (reply.plugin.as_str(), reply.version.as_str()),
        ("echo", "1.0.0")
    );
    let err = env.host.handle(request("ECHO", &[])).await.unwrap_err();
    assert!(
        matches!(&err, InvocationError::BadArguments { usage, .. } if usage == "ECHO <words>"),
        "{err:?}"
    );
    let command = env.host.command("ECHO").unwrap();
    assert_eq!(command.syntax, "ECHO <words>");
    assert!(!command.police_data);
    assert_eq!(env.host.commands(), vec![command]);
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_cpu_limit_and_others_go_on() {
    let env = Env::new(&["echo", "spin"]).await;
    let err = env.host.handle(request("SPIN", &[])).await.unwrap_err();
    assert_eq!(
        err,
        InvocationError::Timeout {
            plugin: "spin".into(),
            limit_ms: 200
        }
    );
    echo_works(&env.host).await;
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_at_the_memory_limit_and_others_go_on() {
    let env = Env::new(&["echo", "membomb"]).await;
    let err = env.host.handle(request("MEM", &[])).await.unwrap_err();
    assert_eq!(
        err,
        InvocationError::OutOfMemory {
            plugin: "membomb".into(),
            limit_bytes: 32 << 20
        }
    );
    echo_works(&env.host).await;
}

#[tokio::test]
async fn a_panicking_plugin_is_reported_as_a_trap_and_others_go_on() {
    let env = Env::new(&["echo", "trap"]).await;
    let err = env.host.handle(request("TRAP", &[])).await.unwrap_err();
    assert!(
        matches!(&err, InvocationError::Trap { plugin, .. } if plugin == "trap"),
        "{err:?}"
    );
    echo_works(&env.host).await;
    // The next call to the trapping plugin starts afresh (and traps again).
    assert!(matches!(
        env.host.handle(request("TRAP", &[])).await,
        Err(InvocationError::Trap { .. })
    ));
}

/// Issue 13: a reply longer than `[plugins] max_reply_parts` SMS parts is the plugin's error
/// (the router audits it and sends the generic failure text); the next call is answered.
#[tokio::test]
async fn a_reply_longer_than_the_part_limit_is_the_plugins_error() {
    let env = Env::new(&["echo"]).await;
    let long = "京".repeat(400);
    let err = env
        .host
        .handle(request("ECHO", &[&long]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InvocationError::ReplyTooLong { plugin, parts, limit: 5 }
            if plugin == "echo" && *parts > 5),
        "{err:?}"
    );
    echo_works(&env.host).await;
}

/// Issue 13: a plugin that spends its time in host calls (which the CPU limit does not count)
/// is stopped by its budget of host calls; the others go on.
#[tokio::test]
async fn a_plugin_looping_in_host_calls_is_stopped_by_its_budget_and_others_go_on() {
    let env = Env::new(&["echo", "hostloop"]).await;
    let err = env.host.handle(request("LOOP", &[])).await.unwrap_err();
    assert_eq!(
        err,
        InvocationError::TooManyHostCalls {
            plugin: "hostloop".into(),
            limit: CallLimits::default().host_calls,
        }
    );
    echo_works(&env.host).await;
}

/// Issue 13: the same loop with a budget of host calls and a CPU limit too large to reach is
/// stopped at the call's deadline.
#[tokio::test]
async fn a_plugin_looping_in_host_calls_is_stopped_at_its_deadline() {
    let limits = CallLimits {
        cpu: Duration::from_secs(60),
        wall: Duration::from_millis(300),
        host_calls: u32::MAX,
        ..CallLimits::default()
    };
    let env = Env::with_limits(&["hostloop"], limits).await;
    let err = env.host.handle(request("LOOP", &[])).await.unwrap_err();
    assert_eq!(
        err,
        InvocationError::DeadlinePassed {
            plugin: "hostloop".into(),
            limit_ms: 300,
        }
    );
}

/// The `notifier` fixture installed beside echo, granted what it asks for, telling a contact
/// of the address book.
async fn notifier() -> Env {
    let env = Env::new(&["echo", "notifier"]).await;
    crate::address_book::Book::new(env.store.clone(), "86")
        .save_contact(None, "王五", "", None, "13800000042", "cli:test")
        .await
        .unwrap();
    for capability in ["state", "send-to-contacts", "citizen"] {
        env.store
            .plugin_grant("notifier", GrantKind::Capability, capability, 0, &by())
            .await
            .unwrap();
    }
    env.store
        .plugin_config_set("notifier", "to", "+8613800000042", 0, &by())
        .await
        .unwrap();
    env.host.refresh().await.unwrap();
    env
}

async fn outbound_count(env: &Env) -> i64 {
    let pool = sqlx::AnyPool::connect(&env.url()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE direction = 'out'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// Issue 13, hostile fixtures: a plugin that floods its outbox past the per-call limit, and
/// one that writes state past its quota, ignoring every refusal, are stopped by their budget
/// of host calls; nothing of the stopped call is kept, and others are answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_flooding_its_outbox_or_filling_its_state_is_stopped_and_keeps_nothing() {
    let env = notifier().await;
    for keyword in ["FLOOD", "FILL"] {
        let err = env.host.handle(request(keyword, &[])).await.unwrap_err();
        assert_eq!(
            err,
            InvocationError::TooManyHostCalls {
                plugin: "notifier".into(),
                limit: CallLimits::default().host_calls,
            },
            "{keyword}"
        );
        echo_works(&env.host).await;
    }
    assert_eq!(
        outbound_count(&env).await,
        0,
        "a stopped call queues nothing"
    );
    assert_eq!(
        env.store.plugin_state_usage("notifier").await.unwrap(),
        crate::store::StateUsage::default(),
        "a stopped call writes no state"
    );
}

/// Issue 13: a tick delivered to an event plugin has its effects committed with the delivery
/// finished; a worker that delivers it again without holding the lease (one that lost it to
/// another) commits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_commits_once_and_a_worker_without_the_lease_commits_nothing() {
    let env = notifier().await;
    let payload = crate::store::EventPayload::Tick {
        schedule: "evening".into(),
        due_at: 0,
    };
    env.store
        .plugin_event_schedule("notifier", "tick:evening:0", &payload, 0, 0, None)
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let event = env
        .store
        .plugin_events_claim("w1", 1, lease, 1)
        .await
        .unwrap()
        .remove(0);
    let host = env.host.clone();
    let first = event.clone();
    let sent = tokio::task::spawn_blocking(move || host.deliver_blocking(&first, "w1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(
        env.store
            .plugin_state_get("notifier", "ticks")
            .await
            .unwrap(),
        Some(b"1".to_vec())
    );
    // The same event again, as a worker that took it over would deliver it.
    let host = env.host.clone();
    let again = tokio::task::spawn_blocking(move || host.deliver_blocking(&event, "w2"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&again, InvocationError::NotCommitted { .. }),
        "the lease is gone, so nothing is committed: {again}"
    );
    assert_eq!(outbound_count(&env).await, 1);
    assert_eq!(
        env.host
            .subscribers(crate::store::EventKind::ApplicationChanged),
        ["notifier"]
    );
}

/// Issue 13: an event that needs a capability is not delivered to a plugin whose grant was
/// revoked after the event was queued for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_not_delivered_once_its_capability_is_revoked() {
    let env = notifier().await;
    let change = crate::store::EventPayload::ApplicationChanged {
        application_kind: "passport".into(),
        number: "E1".into(),
        status: "accepted".into(),
        updated_at: 0,
    };
    env.store
        .plugin_event_schedule("notifier", "application-changed:1", &change, 0, 0, None)
        .await
        .unwrap();
    env.store
        .plugin_revoke("notifier", GrantKind::Capability, "citizen", &by())
        .await
        .unwrap();
    env.host.refresh().await.unwrap();
    let event = env
        .store
        .plugin_events_claim("w", 1, Duration::from_secs(60), 1)
        .await
        .unwrap()
        .remove(0);
    let host = env.host.clone();
    let refused = tokio::task::spawn_blocking(move || host.deliver_blocking(&event, "w"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        refused,
        InvocationError::EventNotGranted {
            plugin: "notifier".into(),
            capability: "citizen".into(),
        }
    );
    assert_eq!(outbound_count(&env).await, 0);
}

/// An HTTP server on loopback that accepts and never answers: its port, a signal once it has
/// accepted a connection, and a sender that makes it close every connection it holds.
async fn silent_server() -> (
    u16,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (connected, accepted) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut held = Vec::new();
        let mut connected = Some(connected);
        let mut released = std::pin::pin!(released);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { return };
                    held.push(socket);
                    if let Some(signal) = connected.take() {
                        let _ = signal.send(());
                    }
                }
                _ = &mut released => return,
            }
        }
    });
    (port, accepted, release)
}

/// The fetch fixture installed beside echo, its `silent` URL pointing at `port`, granted.
async fn fetch_from(port: u16, limits: CallLimits) -> Env {
    let env = Env::with_limits(&["echo", "fetch"], limits).await;
    env.store
        .plugin_grant(
            "fetch",
            GrantKind::HttpHost,
            &format!("127.0.0.1:{port}"),
            0,
            &by(),
        )
        .await
        .unwrap();
    env.store
        .plugin_config_set(
            "fetch",
            "silent",
            &format!("http://127.0.0.1:{port}/"),
            0,
            &by(),
        )
        .await
        .unwrap();
    env.host.refresh().await.unwrap();
    env
}

/// Issue 13: a call waiting on the host (an HTTP server that never answers) is cut at its
/// deadline, not at the host call's own longer timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stuck_in_a_host_call_ends_at_its_deadline() {
    let (port, _accepted, _release) = silent_server().await;
    let limits = CallLimits {
        wall: Duration::from_millis(300),
        ..CallLimits::default()
    };
    let env = fetch_from(port, limits).await;
    let err = env
        .host
        .handle(request("FETCH", &["SILENT"]))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        InvocationError::DeadlinePassed {
            plugin: "fetch".into(),
            limit_ms: 300,
        }
    );
}

/// Issue 13: while one call waits on the host, another sender is answered. The order is made,
/// not timed: the other sender asks once the server holds the stuck call's connection, and the
/// server lets go only after the answer, so the stuck call ends with the connection closed
/// under it (`failed`), not with a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_senders_are_answered_while_a_call_waits_on_the_host() {
    let (port, accepted, release) = silent_server().await;
    let env = fetch_from(port, CallLimits::default()).await;
    let host = env.host.clone();
    let stuck = tokio::spawn(async move { host.handle(request("FETCH", &["SILENT"])).await });
    accepted.await.expect("the stuck call connected");
    echo_works(&env.host).await;
    release
        .send(())
        .expect("the server still holds the connection");
    let reply = stuck
        .await
        .unwrap()
        .expect("the plugin answers how the host answered");
    assert!(reply.text.starts_with("failed("), "{}", reply.text);
}

/// R5: a plugin reaches only what it was granted, and only to read.
#[tokio::test]
async fn a_plugin_gets_only_granted_datasources_and_hosts_and_only_reads() {
    let env = Env::new(&["sneaky"]).await;
    env.datasource("police", 3).await;
    env.datasource("records", 3).await;
    env.store
        .plugin_grant("sneaky", GrantKind::Datasource, "records", 0, &by())
        .await
        .unwrap();
    env.host.refresh().await.unwrap();
    let reply = env.host.handle(request("SNEAK", &[])).await.unwrap();
    assert_eq!(
        reply.text,
        "police=not-granted\ndelete=invalid-query\ntwo=invalid-query\n\
         attach=invalid-query\nselect=ok(3 rows)\nhttp=not-granted"
    );
    // Revoked: refused again, without a restart.
    env.store
        .plugin_revoke("sneaky", GrantKind::Datasource, "records", &by())
        .await
        .unwrap();
    env.host.refresh().await.unwrap();
    let reply = env.host.handle(request("SNEAK", &[])).await.unwrap();
    assert!(reply.text.contains("select=not-granted"), "{}", reply.text);
}

#[tokio::test]
async fn a_keyword_owned_by_another_enabled_plugin_is_refused() {
    let env = Env::new(&["echo"]).await;
    let err = env
        .host
        .install(&fixture("copycat"), &by())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::KeywordTaken { keyword, owner } if keyword == "ECHO" && owner == "echo"),
        "{err:?}"
    );
    echo_works(&env.host).await;
    // Once echo is disabled the keyword is free; enabling echo again is then refused.
    env.host.set_enabled("echo", false, &by()).await.unwrap();
    env.host.install(&fixture("copycat"), &by()).await.unwrap();
    assert_eq!(
        env.host.handle(request("ECHO", &["x"])).await.unwrap().text,
        "copycat"
    );
    let err = env.host.set_enabled("echo", true, &by()).await.unwrap_err();
    assert!(matches!(err, PluginError::KeywordTaken { .. }), "{err:?}");
}

#[tokio::test]
async fn an_upgrade_takes_effect_at_once_and_rolls_back() {
    let env = Env::new(&["echo"]).await;
    let v2 = env.host.install(&fixture("echo-v2"), &by()).await.unwrap();
    assert_eq!(v2.version, "2.0.0");
    assert_eq!(v2.previous_version.as_deref(), Some("1.0.0"));
    let reply = env.host.handle(request("ECHO", &["x"])).await.unwrap();
    assert_eq!(reply.version, "2.0.0");
    assert!(reply.text.ends_with(" v2.0.0"), "{}", reply.text);

    let back = env.host.rollback("echo", &by()).await.unwrap();
    assert_eq!(back.version, "1.0.0");
    assert_eq!(back.previous_version.as_deref(), Some("2.0.0"));
    let reply = env.host.handle(request("ECHO", &["x"])).await.unwrap();
    assert_eq!(reply.version, "1.0.0");
    assert!(reply.text.ends_with(" v1.0.0"), "{}", reply.text);

    // Installing the bytes that already run changes nothing.
    let again = env.host.install(&fixture("echo"), &by()).await.unwrap();
    assert_eq!(again, back);
    assert!(matches!(
        env.host.rollback("nonesuch", &by()).await,
        Err(PluginError::UnknownPlugin(_))
    ));
}

#[tokio::test]
async fn a_rollback_needs_a_previous_version() {
    let env = Env::new(&["echo"]).await;
    assert!(matches!(
        env.host.rollback("echo", &by()).await,
        Err(PluginError::NoPreviousVersion(name)) if name == "echo"
    ));
}

#[tokio::test]
async fn a_disabled_plugin_is_not_callable_until_enabled() {
    let env = Env::new(&["echo"]).await;
    env.host.set_enabled("echo", false, &by()).await.unwrap();
    assert_eq!(
        env.host.handle(request("ECHO", &["x"])).await.unwrap_err(),
        InvocationError::UnknownKeyword("ECHO".into())
    );
    assert!(env.host.command("ECHO").is_none());
    let listed = env.host.plugins().await.unwrap();
    assert!(!listed[0].enabled);
    env.host.set_enabled("echo", true, &by()).await.unwrap();
    echo_works(&env.host).await;
}

#[tokio::test]
async fn a_restart_loads_compiled_plugins_from_the_cache() {
    let env = Env::new(&["echo", "trap"]).await;
    assert_eq!(env.host.cache_stats().compiled, 2);
    let restarted = env.restart().await;
    assert_eq!(
        restarted.cache_stats(),
        CacheStats {
            compiled: 0,
            cache_hits: 2
        }
    );
    echo_works(&restarted).await;
}

#[tokio::test]
async fn configuration_values_reach_the_plugin() {
    let env = Env::new(&["echo"]).await;
    env.store
        .plugin_config_set("echo", "prefix", "【测试】", 0, &by())
        .await
        .unwrap();
    env.host.refresh().await.unwrap();
    let reply = env.host.handle(request("ECHO", &["x"])).await.unwrap();
    assert!(reply.text.starts_with("【测试】ECHO x"), "{}", reply.text);
}

/// A change written by another process (the CLI) reaches a running host through the store's
/// generation counter, without `refresh`.
#[tokio::test]
async fn a_running_host_notices_changes_made_by_another_process() {
    let env = Env::new(&["echo"]).await;
    env.store
        .plugin_set_enabled("echo", false, 0, &by())
        .await
        .unwrap();
    let mut waited = Duration::ZERO;
    while env.host.command("ECHO").is_some() {
        assert!(
            waited < Duration::from_secs(20),
            "the change was never noticed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}

#[tokio::test]
async fn bundled_plugins_are_installed_once_into_a_fresh_database_and_granted_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = dir.path().join("bundled");
    std::fs::create_dir_all(&bundled).unwrap();
    std::fs::write(bundled.join("echo.wasm"), fixture("echo")).unwrap();
    std::fs::write(bundled.join("sneaky.wasm"), fixture("sneaky")).unwrap();
    std::fs::write(bundled.join("README.txt"), "not a plugin").unwrap();
    let url = format!("sqlite://{}/jingxun.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    let host = PluginHost::start(store.clone(), Env::settings(dir.path()))
        .await
        .unwrap();
    let names: Vec<String> = host
        .plugins()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["echo", "sneaky"]);
    assert!(host.plugins().await.unwrap().iter().all(|p| p.bundled));
    echo_works(&host).await;

    // The datasource sneaky asks for appears later: it is granted at once.
    let granted = store
        .datasource_add("records", "sqlite://x.db", 0, &by())
        .await
        .unwrap();
    assert_eq!(granted, ["sneaky"]);
    let grants = store.plugin_grants().await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        (grants[0].plugin.as_str(), grants[0].target.as_str()),
        ("sneaky", "records")
    );

    // Only the first start installs: a newer bundled file does not replace what runs.
    std::fs::write(bundled.join("echo.wasm"), fixture("echo-v2")).unwrap();
    let again = PluginHost::start(store.clone(), Env::settings(dir.path()))
        .await
        .unwrap();
    assert_eq!(again.command("ECHO").unwrap().version, "1.0.0");
}

#[tokio::test]
async fn bytes_that_are_not_a_component_are_refused() {
    let env = Env::new(&[]).await;
    let err = env
        .host
        .install(b"\0asm\x01\0\0\0", &by())
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::InvalidComponent(_)), "{err}");
    let err = env.host.install(b"hello", &by()).await.unwrap_err();
    assert!(matches!(err, PluginError::InvalidComponent(_)), "{err}");
}

#[test]
fn manifests_with_bad_keywords_or_names_are_refused() {
    let good = Manifest {
        name: "vehicle".into(),
        version: "1.0.0".into(),
        description: String::new(),
        commands: vec![ManifestCommand {
            keyword: "CP".into(),
            syntax: "CP <plate>".into(),
            help: String::new(),
            police_data: true,
        }],
        datasources: vec!["police".into()],
        http_hosts: vec![],
        config_keys: vec![],
        capabilities: vec![],
        events: vec![],
        schedules: vec![],
        contract: ContractVersion::V1_0,
    };
    good.validate().unwrap();
    for keyword in ["cp", "C1", "", "ABCDEFGHI", "H", "车牌"] {
        let mut m = good.clone();
        m.commands[0].keyword = keyword.into();
        assert!(m.validate().is_err(), "keyword {keyword:?} accepted");
    }
    let mut twice = good.clone();
    twice.commands.push(twice.commands[0].clone());
    assert!(twice.validate().is_err());
    for name in ["Vehicle", "", "1x", "a b"] {
        let mut m = good.clone();
        m.name = name.into();
        assert!(m.validate().is_err(), "name {name:?} accepted");
    }
}

#[test]
fn an_event_plugin_needs_no_command_but_asks_for_what_its_events_need() {
    let mut events_only = Manifest {
        name: "notice".into(),
        version: "1.0.0".into(),
        description: String::new(),
        commands: vec![],
        datasources: vec![],
        http_hosts: vec![],
        config_keys: vec![],
        capabilities: vec![],
        events: vec![crate::store::EventKind::ApplicationChanged],
        schedules: vec![],
        contract: ContractVersion::V1_1,
    };
    let e = events_only.validate().unwrap_err().to_string();
    assert!(e.contains("needs the `citizen` capability"), "{e}");
    events_only.capabilities.push(Capability::Citizen);
    events_only.validate().unwrap();
    events_only.events.clear();
    let e = events_only.validate().unwrap_err().to_string();
    assert!(e.contains("nothing would call it"), "{e}");
    events_only.schedules = vec![
        super::events::Schedule {
            name: "evening".into(),
            daily_at: "18:00".into(),
        },
        super::events::Schedule {
            name: "evening".into(),
            daily_at: "19:00".into(),
        },
    ];
    let e = events_only.validate().unwrap_err().to_string();
    assert!(e.contains("declared twice"), "{e}");
    events_only.schedules.pop();
    events_only.validate().unwrap();
}

/// A manifest stored before contract 1.1 (no capabilities, no contract) reads as a 1.0
/// plugin's asking for nothing more.
#[test]
fn a_manifest_stored_before_1_1_reads_as_contract_1_0() {
    let stored = r#"{"name":"vehicle","version":"1.0.0","description":"","commands":[],
        "datasources":["police"],"http_hosts":[],"config_keys":[]}"#;
    let manifest = parse_manifest(stored).unwrap();
    assert_eq!(manifest.contract, ContractVersion::V1_0);
    assert!(manifest.capabilities.is_empty());
}

#[test]
fn the_cache_goes_beside_the_sqlite_file_by_default() {
    assert_eq!(
        database_dir("sqlite:///var/lib/jx/jingxun.db"),
        Some(PathBuf::from("/var/lib/jx"))
    );
    assert_eq!(
        database_dir("sqlite://jingxun.db"),
        Some(PathBuf::from("."))
    );
    assert_eq!(database_dir("sqlite::memory:"), None);
    assert_eq!(database_dir("postgres://db/jx"), None);
}

/// More calls at once than there are instance slots: the extra ones wait for a slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_concurrent_calls_than_slots_all_complete() {
    let env = Env::new(&["echo"]).await;
    let calls: Vec<_> = (0..CALL_SLOTS * 2)
        .map(|i| {
            let host = env.host.clone();
            tokio::spawn(async move { host.handle(request("ECHO", &[&i.to_string()])).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        let reply = call.await.unwrap().unwrap();
        assert!(
            reply.text.starts_with(&format!("ECHO {i} @")),
            "{}",
            reply.text
        );
    }
}

/// Security checklist, "Audit": every registry change (install, upgrade, rollback, disable,
/// enable, datasource, grant, revoke, configuration) is committed with its audit row; a call
/// that changes nothing writes none; and when the row cannot be written the change is not made.
#[tokio::test]
async fn every_registry_change_is_committed_with_its_audit_row() {
    let env = Env::new(&["echo"]).await;
    let (host, store) = (&env.host, &env.store);
    host.install(&fixture("echo"), &by()).await.unwrap(); // the same bytes: no change
    host.install(&fixture("echo-v2"), &by()).await.unwrap();
    host.rollback("echo", &by()).await.unwrap();
    host.set_enabled("echo", false, &by()).await.unwrap();
    host.set_enabled("echo", true, &by()).await.unwrap();
    env.datasource("records", 1).await;
    for _ in 0..2 {
        store
            .plugin_grant("echo", GrantKind::Datasource, "records", 1, &by())
            .await
            .unwrap();
    }
    store
        .plugin_revoke("echo", GrantKind::Datasource, "records", &by())
        .await
        .unwrap();
    store
        .plugin_config_set("echo", "token", "s3cret-value", 1, &by())
        .await
        .unwrap();
    let expected = [
        "plugin.install echo",
        "plugin.install echo",
        "plugin.rollback echo",
        "plugin.disable echo",
        "plugin.enable echo",
        "datasource.add records",
        "plugin.grant echo",
        "plugin.revoke echo",
        "plugin.config echo",
    ]
    .map(|e| format!("{e} by cli:test"));
    let url = env.url();
    assert_eq!(registry_audit(&url).await, expected);
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let details: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE component = 'plugins' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        details[1].contains("\"previous_version\":\"1.0.0\""),
        "{}",
        details[1]
    );
    assert!(
        details.iter().all(|d| !d.contains("s3cret-value")),
        "{details:?}"
    );
    // The audit log refuses rows: the change goes with it.
    let generation = store.plugins_generation().await.unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(host.set_enabled("echo", false, &by()).await.is_err());
    assert!(host.install(&fixture("echo-v2"), &by()).await.is_err());
    assert_eq!(store.plugins_generation().await.unwrap(), generation);
    echo_works(host).await;
    assert_eq!(host.plugins().await.unwrap()[0].version, "1.0.0");
}

/// The registry's SQL on PostgreSQL too, when `JINGXUN_TEST_POSTGRES_URL` is set (in a schema
/// of its own, dropped afterwards).
#[tokio::test]
async fn the_registry_works_on_postgresql() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = &db.store;
    let host = PluginHost::start(store.clone(), Env::settings(dir.path()))
        .await
        .unwrap();
    host.install(&fixture("echo"), &by()).await.unwrap();
    assert_eq!(
        host.install(&fixture("echo-v2"), &by())
            .await
            .unwrap()
            .previous_version
            .as_deref(),
        Some("1.0.0")
    );
    assert_eq!(host.rollback("echo", &by()).await.unwrap().version, "1.0.0");
    assert!(matches!(
        host.install(&fixture("copycat"), &by()).await,
        Err(PluginError::KeywordTaken { .. })
    ));
    store
        .datasource_add("records", "sqlite://x.db", 1, &by())
        .await
        .unwrap();
    assert!(
        store
            .plugin_grant("echo", GrantKind::Datasource, "records", 1, &by())
            .await
            .unwrap()
    );
    assert!(
        !store
            .plugin_grant("echo", GrantKind::Datasource, "records", 1, &by())
            .await
            .unwrap()
    );
    assert!(
        store
            .plugin_revoke("echo", GrantKind::Datasource, "records", &by())
            .await
            .unwrap()
    );
    store
        .plugin_config_set("echo", "prefix", "P:", 1, &by())
        .await
        .unwrap();
    store
        .plugin_config_set("echo", "prefix", "Q:", 2, &by())
        .await
        .unwrap();
    host.set_enabled("echo", false, &by()).await.unwrap();
    host.set_enabled("echo", true, &by()).await.unwrap();
    let reply = host.handle(request("ECHO", &["x"])).await.unwrap();
    assert!(reply.text.starts_with("Q:ECHO x"), "{}", reply.text);
    assert_eq!(
        registry_audit(&db.url).await.len(),
        10,
        "one row per change"
    );
    db.store.close().await;
}

/// On the daemon's multi-thread runtime, spinning plugins hold no worker: good calls made at the
/// same time complete, and every spinner is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_plugins_do_not_hold_up_concurrent_good_calls() {
    let env = Env::new(&["echo", "spin"]).await;
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let host = env.host.clone();
            tokio::spawn(async move { host.handle(request("SPIN", &[])).await })
        })
        .collect();
    for _ in 0..20 {
        echo_works(&env.host).await;
    }
    for spinner in spinners {
        assert!(matches!(
            spinner.await.unwrap(),
            Err(InvocationError::Timeout { .. })
        ));
    }
}

/// The bytes of a shipped plugin (`plugins/NAME`, built against the newest contract).
pub(super) fn shipped(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/plugins")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run `cargo xtask plugins` first",
            path.display()
        )
    })
}

/// The bytes of a police plugin as built against contract 1.0, before 1.1 existed.
fn built_for_1_0(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/contract-v1.0")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Issue 13: the four police plugins exactly as built against contract 1.0 load beside
/// components of 1.1, and answer every question exactly as their 1.1 builds do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_1_0_components_built_before_1_1_load_and_answer_unchanged() {
    use police_demo::*;
    let old = Env::new(&[]).await;
    let new = Env::new(&[]).await;
    for env in [&old, &new] {
        let police = env.dir.path().join("police.db");
        jingxun_demo_data::write_demo_database(&police, jingxun_demo_data::DEFAULT_SEED)
            .await
            .unwrap();
        env.store
            .datasource_add(
                "police",
                &format!("sqlite://{}", police.display()),
                0,
                &by(),
            )
            .await
            .unwrap();
    }
    for name in ["vehicle", "licence", "idcard", "wanted"] {
        let installed = old.host.install(&built_for_1_0(name), &by()).await.unwrap();
        assert_eq!(installed.contract, ContractVersion::V1_0, "{name}");
        let installed = new.host.install(&shipped(name), &by()).await.unwrap();
        assert_eq!(installed.contract, ContractVersion::V1_1, "{name}");
        for env in [&old, &new] {
            env.store
                .plugin_grant(name, GrantKind::Datasource, "police", 0, &by())
                .await
                .unwrap();
        }
    }
    // A 1.1 component with a capability beside the 1.0 ones.
    let directory = old
        .host
        .install(&shipped("directory"), &by())
        .await
        .unwrap();
    assert_eq!(directory.requested_capabilities, [Capability::Directory]);
    old.host.refresh().await.unwrap();
    new.host.refresh().await.unwrap();
    let questions = [
        ("CP", PLATE),
        ("CP", ABSENT_PLATE),
        ("JZ", LICENCE_NO),
        ("SFZ", ID_NUMBER),
        ("SFZ", ABSENT_ID_NUMBER),
        ("ZT", WANTED_TWICE),
        ("ZT", ABSENT_NAME),
    ];
    for (keyword, argument) in questions {
        let before = old
            .host
            .handle(request(keyword, &[argument]))
            .await
            .unwrap();
        let after = new
            .host
            .handle(request(keyword, &[argument]))
            .await
            .unwrap();
        assert_eq!(
            (before.text.as_str(), before.outcome),
            (after.text.as_str(), after.outcome),
            "{keyword} {argument}"
        );
    }
    let bad = old.host.handle(request("CP", &[])).await.unwrap_err();
    assert!(
        matches!(bad, InvocationError::BadArguments { .. }),
        "{bad:?}"
    );
}

/// The police datasource's fixed demo records.
mod police_demo {
    pub use police_common::schema::demo::*;
}

/// A component's contract is read from the component: each served version is recognised, and
/// a component of no Jingxun contract is refused with what this host serves.
#[tokio::test]
async fn a_component_is_taken_for_the_contract_it_imports() {
    let env = Env::new(&[]).await;
    let old = env.host.install(&fixture("echo"), &by()).await.unwrap();
    assert_eq!(old.contract, ContractVersion::V1_0);
    let new = env
        .host
        .install(&shipped("application"), &by())
        .await
        .unwrap();
    assert_eq!(new.contract, ContractVersion::V1_1);
    assert_eq!(new.requested_capabilities, [Capability::Citizen]);
    // A core module is no component at all; a component importing nothing of ours is not a
    // plugin of any contract.
    let core = b"\0asm\x01\x00\x00\x00".to_vec();
    let err = env.host.install(&core, &by()).await.unwrap_err();
    assert!(matches!(err, PluginError::InvalidComponent(_)), "{err}");
    let stranger = b"\0asm\x0d\x00\x01\x00".to_vec();
    let err = env.host.install(&stranger, &by()).await.unwrap_err();
    assert!(
        err.to_string().contains("1.0.0, 1.1.0"),
        "the refusal names the contracts served: {err}"
    );
}
