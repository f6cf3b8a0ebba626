//! End-to-end tests of SMS queries (R5, R6, R8, R15; issue "plugin platform"): an officer's phone
//! texts the simulated modem, the real daemon routes the command to a real WebAssembly plugin
//! built from plugins/, which queries the synthetic police datasource, and the reply goes back
//! out through the modem. Runs on SQLite, and on PostgreSQL when JINGXUN_TEST_POSTGRES_URL is set.

use std::time::{Duration, Instant};

use crate::support::{Backend, Daemon, Database, ModemSpec};
use jingxun::modem::sim::{SimConfig, SimHandle, SimModem};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const OFFICER: &str = "13800000001";
const TRAFFIC_WARDEN: &str = "13800000002";
const STRANGER: &str = "13900000009";
const MEMBER: &str = "13800000021";

jingxun::on_both_backends!(Backend =>
    a_registered_officer_gets_the_vehicle_behind_a_plate,
    an_absent_plate_gets_the_exact_not_found_text,
    an_unregistered_phone_is_refused_and_audited,
    a_user_without_zt_is_refused_zt_but_answered_cp,
    help_lists_only_what_the_sender_may_use,
    a_hostile_plugin_is_contained_and_the_next_query_is_answered,
    a_new_plugin_version_answers_without_a_restart_and_loses_nothing,
    in_silent_mode_a_refused_phone_gets_no_answer_but_is_audited,
    txl_lists_the_people_of_the_address_book_to_an_officer_only,
    crj_lists_border_crossings_only_to_an_officer_granted_it,
    members_follow_news_columns_by_sms_and_a_stranger_is_told_to_bind_the_phone,
);

/// A daemon with the demo datasource, the bundled plugins, an officer and a traffic warden.
struct Rig {
    daemon: Daemon,
    sim: SimHandle,
    database: Database,
}

impl Rig {
    async fn start(backend: Backend) -> Rig {
        Rig::start_with(backend, "").await
    }

    /// Like [`Rig::start`], with extra `[router]` keys.
    async fn start_with(backend: Backend, router: &str) -> Rig {
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = Database::create(&backend, dir.path()).await;
        let link = dir.path().join("modem0");
        let sim = SimModem::start(SimConfig::default(), Some(link.clone()))
            .await
            .expect("simulated modem");
        let police = dir.path().join("police.db");
        let modems = [ModemSpec {
            name: "m0".into(),
            port: link,
            extra: String::new(),
        }];
        let mut daemon = Daemon::configure(
            dir,
            &database.url,
            &modems,
            &format!(
                "[plugins]\ncpu_limit_ms = 200\n[router]\nmax_commands_per_minute = 1000\n{router}\n"
            ),
        );
        daemon.cli_ok(&["demo-data", "--out", police.to_str().unwrap()]);
        daemon.cli_ok(&[
            "datasource",
            "add",
            "--name",
            "police",
            "--url",
            &format!("sqlite://{}", police.display()),
        ]);
        daemon.add_officer(OFFICER);
        daemon.cli_ok(&[
            "user",
            "add",
            "--login",
            "li",
            "--name",
            "李协警",
            "--role",
            "registrar",
        ]);
        daemon.cli_ok(&["user", "grant", "--login", "li", "--business", "CP"]);
        daemon.cli_ok(&[
            "phone",
            "add",
            "--number",
            TRAFFIC_WARDEN,
            "--name",
            "李协警",
            "--user",
            "li",
        ]);
        daemon.cli_ok(&["help-text", "set", "--text", "警讯平台短信查询服务"]);
        daemon.restart();
        daemon.wait_ready().await;
        Rig {
            daemon,
            sim,
            database,
        }
    }

    /// Texts `text` from `phone` and waits for the reply sent back to it.
    async fn ask(&self, phone: &str, text: &str) -> String {
        let before = self.replies_to(phone).len();
        self.sim
            .receive_sms(phone, text)
            .expect("deliver to the simulated modem");
        let deadline = Instant::now() + WAIT;
        loop {
            let replies = self.replies_to(phone);
            if replies.len() > before {
                return replies[before].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no reply to {text:?} from {phone}\n{}",
                self.daemon.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The replies sent to `phone`, oldest first, from the store.
    fn replies_to(&self, phone: &str) -> Vec<String> {
        let peer = format!("+86{phone}");
        let mut out: Vec<Value> = self
            .daemon
            .messages("out")
            .into_iter()
            .filter(|m| m["peer"] == peer.as_str())
            .collect();
        out.sort_by_key(|m| m["id"].as_i64());
        out.iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn audit(&self, phone: &str) -> Vec<Value> {
        let out = self.daemon.cli_ok(&["audit", "--json", "--phone", phone]);
        out.lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    async fn finish(mut self) {
        self.daemon.kill9();
        self.sim.shutdown().await;
        self.database.drop_database().await;
    }
}

async fn a_registered_officer_gets_the_vehicle_behind_a_plate(backend: Backend) {
    let rig = Rig::start(backend).await;
    let reply = rig.ask(OFFICER, "ｃｐ　京a12345").await;
    assert!(reply.contains("京A12345"), "{reply}");
    assert!(!reply.contains("不存在"), "{reply}");
    let audit = rig.audit("+8613800000001");
    let row = audit
        .iter()
        .find(|r| r["event"] == "query")
        .expect("the query is audited");
    assert_eq!(row["outcome"], "answered");
    assert_eq!(row["object"], "CP 京A12345");
    assert_eq!(row["actor"], "wang");
    rig.finish().await;
}

async fn an_absent_plate_gets_the_exact_not_found_text(backend: Backend) {
    let rig = Rig::start(backend).await;
    assert_eq!(
        rig.ask(OFFICER, "CP 京Z99999").await,
        "车牌京Z99999不存在。"
    );
    assert_eq!(
        rig.ask(OFFICER, "SFZ 110101199003078515").await,
        "身份证110101199003078515不存在。"
    );
    rig.finish().await;
}

async fn an_unregistered_phone_is_refused_and_audited(backend: Backend) {
    let rig = Rig::start(backend).await;
    let reply = rig.ask(STRANGER, "CP 京A12345").await;
    assert!(
        !reply.contains("京A12345"),
        "a refusal reveals nothing: {reply}"
    );
    assert!(reply.contains("无权"), "{reply}");
    let audit = rig.audit("+8613900000009");
    let row = audit
        .iter()
        .find(|r| r["event"] == "query")
        .expect("the refusal is audited");
    assert_eq!(row["outcome"], "refused");
    assert_eq!(row["details"]["reason"], "phone_not_registered");
    rig.finish().await;
}

async fn a_user_without_zt_is_refused_zt_but_answered_cp(backend: Backend) {
    let rig = Rig::start(backend).await;
    let refused = rig.ask(TRAFFIC_WARDEN, "ZT 张伟").await;
    assert!(
        refused.contains("无权") && !refused.contains("张伟"),
        "{refused}"
    );
    let answered = rig.ask(TRAFFIC_WARDEN, "CP 京A12345").await;
    assert!(answered.contains("京A12345"), "{answered}");
    let outcomes: Vec<String> = rig
        .audit("+8613800000002")
        .iter()
        .filter(|r| r["event"] == "query")
        .map(|r| r["outcome"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        outcomes.contains(&"refused".to_string()) && outcomes.contains(&"answered".to_string()),
        "{outcomes:?}"
    );
    rig.finish().await;
}

async fn help_lists_only_what_the_sender_may_use(backend: Backend) {
    let rig = Rig::start(backend).await;
    let officer = rig.ask(OFFICER, "H").await;
    assert!(officer.starts_with("警讯平台短信查询服务"), "{officer}");
    for keyword in ["CP", "JZ", "SFZ", "ZT"] {
        assert!(
            officer.contains(&format!("{keyword} ")),
            "{keyword} missing: {officer}"
        );
    }
    let warden = rig.ask(TRAFFIC_WARDEN, "h").await;
    assert!(
        warden.contains("CP ") && !warden.contains("ZT ") && !warden.contains("SFZ "),
        "{warden}"
    );
    let stranger = rig.ask(STRANGER, "H").await;
    assert!(!stranger.contains("CP "), "{stranger}");
    rig.finish().await;
}

async fn a_hostile_plugin_is_contained_and_the_next_query_is_answered(backend: Backend) {
    let rig = Rig::start(backend).await;
    for hostile in ["spin", "membomb", "trap"] {
        rig.daemon.cli_ok(&[
            "plugin",
            "install",
            &crate::support::fixture_plugin(hostile),
        ]);
    }
    rig.daemon
        .cli_ok(&["user", "grant", "--login", "wang", "--business", "SPIN"]);
    rig.daemon
        .cli_ok(&["user", "grant", "--login", "wang", "--business", "MEM"]);
    rig.daemon
        .cli_ok(&["user", "grant", "--login", "wang", "--business", "TRAP"]);
    // The daemon picks up plugins installed by the CLI within a few seconds. Each try is a
    // different text: the same text twice in one second is taken for a network resend.
    let deadline = Instant::now() + WAIT;
    for attempt in 0.. {
        let reply = rig.ask(OFFICER, &format!("SPIN {attempt}")).await;
        if !reply.contains("无法识别") {
            assert!(reply.contains("失败"), "{reply}");
            break;
        }
        assert!(Instant::now() < deadline, "SPIN never became known");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(rig.ask(OFFICER, "MEM").await.contains("失败"));
    assert!(rig.ask(OFFICER, "TRAP").await.contains("失败"));
    let reply = rig.ask(OFFICER, "CP 京A12345").await;
    assert!(
        reply.contains("京A12345") && !reply.contains("失败"),
        "{reply}"
    );
    rig.finish().await;
}

async fn a_new_plugin_version_answers_without_a_restart_and_loses_nothing(backend: Backend) {
    let rig = Rig::start(backend).await;
    rig.daemon
        .cli_ok(&["plugin", "install", &crate::support::fixture_plugin("echo")]);
    rig.daemon
        .cli_ok(&["user", "grant", "--login", "wang", "--business", "ECHO"]);
    let deadline = Instant::now() + WAIT;
    let mut attempt = 0;
    while rig
        .ask(OFFICER, &format!("ECHO {attempt}"))
        .await
        .contains("无法识别")
    {
        attempt += 1;
        assert!(Instant::now() < deadline, "ECHO never became known");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Messages keep flowing while the plugin is upgraded to version 2 and rolled back.
    for i in 0..10 {
        rig.sim
            .receive_sms(OFFICER, &format!("ECHO flow{i}"))
            .unwrap();
    }
    rig.daemon.cli_ok(&[
        "plugin",
        "install",
        &crate::support::fixture_plugin("echo-v2"),
    ]);
    for i in 10..20 {
        rig.sim
            .receive_sms(OFFICER, &format!("ECHO flow{i}"))
            .unwrap();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let replies = rig.replies_to(OFFICER);
        let flow: Vec<&String> = replies.iter().filter(|r| r.contains("FLOW")).collect();
        if flow.len() >= 20 {
            for i in 0..20 {
                assert!(
                    flow.iter().any(|r| r.contains(&format!("FLOW{i} "))),
                    "reply to ECHO flow{i} lost: {flow:?}"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of 20 replies: {flow:?}",
            flow.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + WAIT;
    let mut attempt = 0;
    while !rig
        .ask(OFFICER, &format!("ECHO v{attempt}"))
        .await
        .contains("v2.")
    {
        attempt += 1;
        assert!(Instant::now() < deadline, "version 2 never answered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    rig.daemon.cli_ok(&["plugin", "rollback", "echo"]);
    let deadline = Instant::now() + WAIT;
    while rig
        .ask(OFFICER, &format!("ECHO r{attempt}"))
        .await
        .contains("v2.")
    {
        attempt += 1;
        assert!(Instant::now() < deadline, "the rollback never took effect");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    rig.finish().await;
}

async fn in_silent_mode_a_refused_phone_gets_no_answer_but_is_audited(backend: Backend) {
    let rig = Rig::start_with(backend, "unauthorised = \"silent\"").await;
    rig.sim.receive_sms(STRANGER, "CP 京A12345").unwrap();
    // Commands are routed in the order they arrive, so once the answer to H is there, the
    // refused query before it has been handled: in silence.
    let help = rig.ask(STRANGER, "H").await;
    assert!(!help.contains("CP "), "{help}");
    assert_eq!(
        rig.replies_to(STRANGER),
        [help],
        "the refused query got no answer"
    );
    let audit = rig.audit("+8613900000009");
    let row = audit
        .iter()
        .find(|r| r["event"] == "query")
        .expect("the refusal is audited");
    assert_eq!(
        (row["outcome"].as_str(), row["object"].as_str()),
        (Some("refused"), Some("CP 京A12345"))
    );
    rig.finish().await;
}

/// An HTTP server on loopback that answers every request with `hello`; returns its port.
/// R16, R21 (issue 13): `TXL <姓名>` answers an officer with the address book's people, their
/// department and numbers (the bundled `directory` plugin on contract 1.1, granted the
/// `directory` capability), says exactly when nobody matches, and is refused to a phone whose
/// user does not hold the business.
async fn txl_lists_the_people_of_the_address_book_to_an_officer_only(backend: Backend) {
    let rig = Rig::start(backend).await;
    rig.daemon.cli_ok(&[
        "contact",
        "add",
        "--name",
        "张三",
        "--number",
        "13800000101",
        "--department",
        "市局/刑侦支队",
        "--title",
        "科长",
    ]);
    rig.daemon.cli_ok(&[
        "contact",
        "add",
        "--name",
        "张三丰",
        "--number",
        "13800000102",
    ]);
    assert_eq!(
        rig.ask(OFFICER, "TXL 张三").await,
        "张三（市局/刑侦支队，科长）13800000101\n张三丰13800000102"
    );
    assert_eq!(rig.ask(OFFICER, "TXL 王五").await, "通讯录中没有王五。");
    let refused = rig.ask(TRAFFIC_WARDEN, "TXL 张三").await;
    assert!(
        refused.contains("无权") && !refused.contains("138"),
        "{refused}"
    );
    let audit = rig.audit("+8613800000001");
    let row = audit
        .iter()
        .find(|r| r["event"] == "query" && r["object"] == "TXL 张三")
        .expect("the look-up is audited");
    assert_eq!(row["outcome"], "answered");
    rig.finish().await;
}

/// Issue 13: `CRJ <身份证号>` (the bundled `exitentry` plugin on contract 1.1) lists a
/// person's border crossings, newest first, to an officer granted the business; the officer
/// role does not hold it until an administrator grants it. The not-found text is exact.
async fn crj_lists_border_crossings_only_to_an_officer_granted_it(backend: Backend) {
    let rig = Rig::start(backend).await;
    let refused = rig.ask(OFFICER, "CRJ 110105198503120039").await;
    assert!(
        refused.contains("无权") && !refused.contains("深圳湾"),
        "{refused}"
    );
    rig.daemon
        .cli_ok(&["user", "grant", "--login", "wang", "--business", "CRJ"]);
    // Not the same text again: the modem's store takes a repeated PDU for a re-delivery.
    let reply = rig.ask(OFFICER, "crj 110105198503120039").await;
    assert!(
        reply.starts_with(
            "李明（110105198503120039）出入境记录4条：\n\
             2026-07-17 入境 深圳湾口岸 自香港 往来港澳通行证\n"
        ),
        "{reply}"
    );
    assert_eq!(
        rig.ask(OFFICER, "CRJ 310104199207150028").await,
        "出入境记录310104199207150028不存在。"
    );
    rig.finish().await;
}

async fn hello_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                    )
                    .await;
            });
        }
    });
    port
}

/// Issue 18 finding 9: a plugin granted a host by name reaches public addresses only, so a
/// name that resolves to loopback (`localhost`) is refused after resolution, while the same
/// kind of server granted by address (`127.0.0.1:PORT`) answers; and a plugin may not set the
/// `Host` header. Uses the `fetch` test plugin, which GETs a configured URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_reaches_a_loopback_server_only_when_it_is_granted_by_address() {
    let rig = Rig::start(Backend::Sqlite).await;
    let (by_name, by_address) = (hello_server().await, hello_server().await);
    let cli = |args: &[&str]| rig.daemon.cli_ok(args);
    cli(&[
        "plugin",
        "install",
        &crate::support::fixture_plugin("fetch"),
    ]);
    cli(&["user", "grant", "--login", "wang", "--business", "FETCH"]);
    for (key, url) in [
        ("byname", format!("http://localhost:{by_name}/x")),
        ("byaddress", format!("http://127.0.0.1:{by_address}/x")),
    ] {
        cli(&[
            "plugin", "config", "set", "--plugin", "fetch", "--key", key, "--value", &url,
        ]);
    }
    // A grant must name its port.
    let refused = rig.daemon.cli(&[
        "plugin",
        "grant",
        "--plugin",
        "fetch",
        "--http-host",
        "localhost",
    ]);
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("names no port"),
        "{refused:?}"
    );
    for host in [
        format!("localhost:{by_name}"),
        format!("127.0.0.1:{by_address}"),
    ] {
        cli(&["plugin", "grant", "--plugin", "fetch", "--http-host", &host]);
    }

    // The daemon picks up the plugin within a few seconds; each try is a different text.
    let deadline = Instant::now() + WAIT;
    let mut attempt = 0;
    let reached = loop {
        let reply = rig
            .ask(OFFICER, &format!("FETCH BYADDRESS {attempt}"))
            .await;
        if !reply.contains("无法识别") {
            break reply;
        }
        attempt += 1;
        assert!(Instant::now() < deadline, "FETCH never became known");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(reached, "ok(200 hello)");
    let refused = rig.ask(OFFICER, "FETCH BYNAME").await;
    assert!(
        refused.starts_with("not-granted(") && refused.contains("internal"),
        "{refused}"
    );

    // A Host header of the plugin's own is refused before anything is sent.
    cli(&[
        "plugin",
        "config",
        "set",
        "--plugin",
        "fetch",
        "--key",
        "header",
        "--value",
        "Host: intranet.example",
    ]);
    loop {
        attempt += 1;
        let reply = rig
            .ask(OFFICER, &format!("FETCH BYADDRESS {attempt}"))
            .await;
        if reply.starts_with("invalid-request(") {
            assert!(reply.contains("`Host`"), "{reply}");
            break;
        }
        assert_eq!(reply, "ok(200 hello)");
        assert!(
            Instant::now() < deadline,
            "the header configuration never took effect"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    rig.finish().await;
}

/// R12, R13: a member with a bound phone subscribes with `DY XW01` (the customer's reply,
/// exactly), reads the column's latest item with `XW01`, and leaves with `TD XW01`; a phone no
/// member bound is told to bind it on the website, and nothing is recorded for it.
async fn members_follow_news_columns_by_sms_and_a_stranger_is_told_to_bind_the_phone(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    rig.daemon
        .cli_ok(&["member", "add", "--login", "wang", "--name", "王芳"]);
    rig.daemon
        .cli_ok(&["member", "bind", "--login", "wang", "--phone", MEMBER]);
    rig.daemon.cli_ok(&[
        "channel",
        "add",
        "--code",
        "XW01",
        "--name",
        "焦点",
        "--audience",
        "members",
        "--validity",
        "24h",
    ]);
    assert_eq!(rig.ask(MEMBER, "DY XW01").await, "你已成功订阅 新闻焦点");
    assert_eq!(rig.ask(MEMBER, "XW01").await, "栏目 XW01 暂无新闻。");
    rig.daemon.cli_ok(&[
        "news",
        "publish",
        "--channel",
        "XW01",
        "--title",
        "平安夜",
        "--text",
        "注意防火",
    ]);
    assert_eq!(rig.ask(MEMBER, "ｘｗ01").await, "【焦点】平安夜：注意防火");
    let stranger = rig.ask(STRANGER, "DY XW01").await;
    assert!(stranger.contains("绑定"), "{stranger}");
    assert_eq!(
        rig.ask(STRANGER, "XW01").await,
        stranger,
        "nor may a stranger read it"
    );
    let subscribers = |rig: &Rig| {
        let listed = rig.daemon.cli_ok(&["channel", "list", "--json"]);
        let channel: Value = serde_json::from_str(listed.trim()).expect("one channel");
        channel["subscribers"].as_i64()
    };
    assert_eq!(subscribers(&rig), Some(1), "only the member is subscribed");
    assert_eq!(rig.ask(MEMBER, "TD XW01").await, "你已取消订阅 新闻焦点");
    assert_eq!(subscribers(&rig), Some(0));
    rig.finish().await;
}
