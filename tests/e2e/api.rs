//! End-to-end tests of the HTTP API for other systems (issue 5; R16, R19, R20): the real
//! `jingxun` binary, a simulated modem on a pseudo-terminal, keys made with `jingxun apikey`,
//! and plain HTTP/1.1 requests. Every test runs on SQLite, and again on PostgreSQL when
//! `JINGXUN_TEST_POSTGRES_URL` is set.

use std::time::{Duration, Instant};

use crate::support::{Backend, Daemon, Database, ModemSpec, fixture_plugin};
use jingxun::modem::sim::{SimConfig, SimHandle, SimModem};
use serde_json::{Value, json};

const LONG_WAIT: Duration = Duration::from_secs(60);

jingxun::on_both_backends!(Backend =>
    a_message_posted_through_the_api_reaches_the_modem_and_its_state_is_readable,
    the_same_idempotency_key_sends_once_and_another_body_with_it_is_refused,
    requests_without_a_usable_key_or_scope_get_problem_documents,
    a_message_whose_validity_ended_is_never_sent,
    the_openapi_document_parses_and_lists_the_paths,
    an_inbound_sms_with_the_keys_keyword_reaches_a_waiting_long_poll_and_gets_no_reply,
    a_webhook_receiver_that_was_down_gets_every_inbound_message_signed_once_it_is_back,
    a_key_limited_to_another_network_is_refused_from_loopback,
    a_posted_message_leaves_an_audit_row_naming_the_key_and_the_source,
    a_flood_of_unknown_keys_from_one_source_ends_in_429_while_a_known_key_still_works,
    the_reference_page_is_html_and_lists_every_path,
    an_oa_reminder_addressed_by_login_reaches_the_users_phone_in_the_administrators_words,
    an_oa_reminder_to_an_unknown_login_or_a_user_without_a_phone_is_refused_and_queues_nothing,
    a_citizen_notice_is_sent_and_the_applications_latest_status_is_kept,
    notifications_need_a_key_with_the_notify_scope,
    behind_a_trusted_proxy_the_forwarded_client_is_checked_and_audited,
    bz_tells_an_applications_status_only_to_the_phone_recorded_with_it,
    an_event_plugin_hears_its_ticks_and_application_changes_and_keeps_its_state_across_a_restart,
    a_daemon_killed_in_the_middle_of_an_event_loses_and_doubles_nothing,
);

/// The daemon, its simulated modem and its database.
struct Rig {
    daemon: Daemon,
    sim: SimHandle,
    database: Database,
}

impl Rig {
    async fn start(backend: Backend) -> Rig {
        Rig::start_with(backend, "").await
    }

    /// [`Rig::start`] with `extra` TOML in the daemon's configuration.
    async fn start_with(backend: Backend, extra: &str) -> Rig {
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = Database::create(&backend, dir.path()).await;
        let link = dir.path().join("modem0");
        let sim = SimModem::start(SimConfig::default(), Some(link.clone()))
            .await
            .expect("start the simulated modem");
        let spec = ModemSpec {
            name: "m0".into(),
            port: link,
            extra: String::new(),
        };
        let daemon = Daemon::start(dir, &database.url, &[spec], extra);
        daemon.wait_ready().await;
        Rig {
            daemon,
            sim,
            database,
        }
    }

    /// Creates a key with `jingxun apikey create` and returns it.
    fn key(&self, name: &str, scopes: &str) -> String {
        let out = self
            .daemon
            .cli_ok(&["apikey", "create", "--name", name, "--scopes", scopes]);
        let key = out.trim().to_owned();
        assert!(key.starts_with("jx_"), "unexpected key output {out:?}");
        key
    }

    fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Reply {
        http(&self.daemon.http, method, path, key, body, &[])
    }

    /// [`Rig::call`] with more request headers.
    fn call_with(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        http(&self.daemon.http, method, path, key, body, headers)
    }

    /// Polls `GET /api/v1/messages/{id}` until `state`, and returns the message.
    async fn wait_for_state(&self, key: &str, id: i64, state: &str) -> Value {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            let reply = self.call("GET", &format!("/api/v1/messages/{id}"), Some(key), None);
            assert_eq!(reply.status, 200, "{reply:?}");
            if reply.body["state"] == state {
                return reply.body;
            }
            assert!(
                Instant::now() < deadline,
                "message {id} never became {state}: {reply:?}\n{}",
                self.daemon.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The webhook deliveries of the key `name`, as `jingxun apikey deliveries --json` lists them.
    fn deliveries(&self, name: &str) -> Vec<Value> {
        self.daemon
            .cli_ok(&["apikey", "deliveries", "--name", name, "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect()
    }

    /// `jingxun ARGS` (with `--json`), one JSON object per line.
    fn cli_json(&self, args: &[&str]) -> Vec<Value> {
        self.daemon
            .cli_ok(args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect()
    }

    /// The address book's 王五 (13800000042), and the `notifier` fixture installed with
    /// `grants` (`--capability NAME`, `--http-host HOST:PORT`...) and `config` set; the daemon
    /// started again, so that it has the plugin loaded once it is ready.
    async fn install_notifier(&mut self, grants: &[(&str, &str)], config: &[(&str, &str)]) {
        let cli = |args: &[&str]| self.daemon.cli_ok(args);
        cli(&[
            "contact",
            "add",
            "--name",
            "王五",
            "--number",
            "13800000042",
        ]);
        cli(&["plugin", "install", &fixture_plugin("notifier")]);
        for (flag, target) in grants {
            cli(&["plugin", "grant", "--plugin", "notifier", flag, target]);
        }
        for (key, value) in config {
            cli(&[
                "plugin", "config", "set", "--plugin", "notifier", "--key", key, "--value", value,
            ]);
        }
        self.daemon.kill9();
        self.daemon.restart();
        self.daemon.wait_ready().await;
    }

    async fn finish(mut self) {
        self.daemon.kill9();
        self.sim.shutdown().await;
        self.database.drop_database().await;
    }
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    /// `X-Request-Id`.
    request_id: Option<String>,
    body: Value,
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), answered in full. The
/// harness needs nothing more, so no HTTP client crate is pulled in for it.
fn http(
    address: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Reply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the daemon");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(key) = key {
        request.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let raw = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, payload) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let payload = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    Reply {
        status,
        content_type: header("content-type").unwrap_or_default(),
        retry_after: header("retry-after"),
        request_id: header("x-request-id"),
        body: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
    }
}

fn dechunk(mut payload: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = payload.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        payload = &rest[size + 2..];
    }
    out
}

/// Checks that `reply` is an RFC 9457 problem document with `status`.
fn assert_problem(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.content_type, "application/problem+json", "{reply:?}");
    assert_eq!(reply.body["status"], status, "{reply:?}");
    for field in ["type", "title", "detail"] {
        assert!(
            reply.body[field].is_string(),
            "problem without {field}: {reply:?}"
        );
    }
}

fn texts_submitted(sim: &SimHandle, text: &str) -> usize {
    sim.submitted()
        .iter()
        .filter(|s| s.decoded.as_ref().is_some_and(|d| d.text == text))
        .count()
}

/// R19, R20: a message posted with a key leaves through the modem, and the sender can follow it.
async fn a_message_posted_through_the_api_reaches_the_modem_and_its_state_is_readable(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    let key = rig.key("oa", "send");
    let reply = rig.call(
        "POST",
        "/api/v1/messages",
        Some(&key),
        Some(&json!({"to": ["13800000001", "not-a-number", "+8613800000001"], "text": "OA 待办: 请审批"})),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(
        reply.body["messages"].as_array().map(Vec::len),
        Some(1),
        "{reply:?}"
    );
    assert_eq!(reply.body["messages"][0]["to"], "+8613800000001");
    assert_eq!(reply.body["invalid"][0]["to"], "not-a-number");
    let id = reply.body["messages"][0]["id"].as_i64().expect("an id");
    let submitted = rig
        .sim
        .wait_for_submitted(1, LONG_WAIT)
        .await
        .expect("the modem got the message");
    assert_eq!(
        submitted[0].decoded.as_ref().map(|d| d.text.as_str()),
        Some("OA 待办: 请审批")
    );
    let message = rig.wait_for_state(&key, id, "sent").await;
    assert_eq!(message["to"], "+8613800000001");
    assert_eq!(message["parts"][0]["state"], "sent");
    assert!(
        message["parts"][0]["message_reference"].is_u64(),
        "{message}"
    );
    assert!(
        message["sent_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{message}"
    );
    // Another key cannot see it.
    let other = rig.key("news", "send");
    let hidden = rig.call("GET", &format!("/api/v1/messages/{id}"), Some(&other), None);
    assert_problem(&hidden, 404);
    rig.finish().await;
}

/// Issue 5: a retried request sends nothing twice; reusing its key for another request is refused.
async fn the_same_idempotency_key_sends_once_and_another_body_with_it_is_refused(backend: Backend) {
    let rig = Rig::start(backend).await;
    let key = rig.key("oa", "send");
    let body = json!({"to": ["13800000002"], "text": "only once", "idempotency_key": "req-1"});
    let first = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
    assert_eq!(first.status, 202, "{first:?}");
    let again = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
    assert_eq!(again.status, 202, "{again:?}");
    assert_eq!(again.body, first.body, "a retry gets the first answer");
    let changed =
        json!({"to": ["13800000002"], "text": "something else", "idempotency_key": "req-1"});
    let conflict = rig.call("POST", "/api/v1/messages", Some(&key), Some(&changed));
    assert_problem(&conflict, 409);
    let id = first.body["messages"][0]["id"].as_i64().expect("an id");
    rig.wait_for_state(&key, id, "sent").await;
    // A marker sent after the others: once it has left, anything queued twice would have too.
    let marker = rig.call(
        "POST",
        "/api/v1/messages",
        Some(&key),
        Some(&json!({"to": ["13800000002"], "text": "marker"})),
    );
    let marker_id = marker.body["messages"][0]["id"].as_i64().expect("an id");
    rig.wait_for_state(&key, marker_id, "sent").await;
    assert_eq!(texts_submitted(&rig.sim, "only once"), 1);
    assert_eq!(texts_submitted(&rig.sim, "something else"), 0);
    rig.finish().await;
}

/// Security checklist ("Police queries and the API"): no key, a wrong or revoked key, or a key
/// without the scope gets a problem document and nothing is queued.
async fn requests_without_a_usable_key_or_scope_get_problem_documents(backend: Backend) {
    let rig = Rig::start(backend).await;
    let body = json!({"to": ["13800000003"], "text": "refused"});
    assert_problem(
        &rig.call("POST", "/api/v1/messages", None, Some(&body)),
        401,
    );
    let forged = format!("jx_{}", "0".repeat(64));
    assert_problem(
        &rig.call("POST", "/api/v1/messages", Some(&forged), Some(&body)),
        401,
    );
    let receiver = rig.key("inbox-only", "receive");
    assert_problem(
        &rig.call("POST", "/api/v1/messages", Some(&receiver), Some(&body)),
        403,
    );
    let key = rig.key("oa", "send");
    assert_problem(
        &rig.call(
            "POST",
            "/api/v1/messages",
            Some(&key),
            Some(&json!({"to": ["13800000003"], "text": ""})),
        ),
        422,
    );
    assert_problem(
        &rig.call(
            "POST",
            "/api/v1/messages",
            Some(&key),
            Some(&json!({"to": "13800000003"})),
        ),
        422,
    );
    assert_problem(
        &rig.call("GET", "/api/v1/messages/abc", Some(&key), None),
        400,
    );
    assert_problem(
        &rig.call("GET", "/api/v1/messages/999999", Some(&key), None),
        404,
    );
    assert_problem(
        &rig.call("GET", "/api/v1/nothing-here", Some(&key), None),
        404,
    );
    // Errors axum answers itself are problem documents too.
    assert_problem(
        &rig.call("PUT", "/api/v1/messages", Some(&key), Some(&body)),
        405,
    );
    // Bursts beyond the key's rate get 429 with Retry-After.
    let out = rig.daemon.cli_ok(&[
        "apikey", "create", "--name", "slow", "--scopes", "send", "--rate", "1",
    ]);
    let slow_key = out.trim().to_owned();
    let limited = (0..50)
        .map(|_| rig.call("GET", "/api/v1/messages/1", Some(&slow_key), None))
        .find(|reply| reply.status == 429)
        .expect("a burst of 50 requests at 1 request/s is limited");
    assert_problem(&limited, 429);
    assert_eq!(limited.retry_after.as_deref(), Some("1"));
    rig.daemon.cli_ok(&["apikey", "revoke", "--name", "oa"]);
    // A running daemon trusts a verified key for a short while (CACHE_TTL, 2 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let reply = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
        if reply.status != 202 || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_problem(&refused, 401);
    let listed = rig.daemon.cli_ok(&["apikey", "list", "--json"]);
    assert!(!listed.contains(&key), "the key must never be shown again");
    assert!(listed.contains("\"revoked_at\":\""), "{listed}");
    let audit = rig.daemon.cli_ok(&["audit", "--json"]);
    assert!(
        audit.contains("apikey.revoke") && !audit.contains(&key),
        "{audit}"
    );
    rig.finish().await;
}

/// R4, issue 5: a message whose `valid_until` has passed is never sent; it ends `expired`.
async fn a_message_whose_validity_ended_is_never_sent(backend: Backend) {
    let rig = Rig::start(backend).await;
    let key = rig.key("oa", "send");
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let reply = rig.call(
        "POST",
        "/api/v1/messages",
        Some(&key),
        Some(&json!({"to": ["13800000004"], "text": "too late", "valid_until": past})),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    let id = reply.body["messages"][0]["id"].as_i64().expect("an id");
    let message = rig.wait_for_state(&key, id, "expired").await;
    assert!(message["last_error"].is_string(), "{message}");
    assert_eq!(texts_submitted(&rig.sim, "too late"), 0);
    rig.finish().await;
}

/// Issue 5 item 3: the OpenAPI document is served without a key and describes the routes.
async fn the_openapi_document_parses_and_lists_the_paths(backend: Backend) {
    let rig = Rig::start(backend).await;
    let reply = rig.call("GET", "/api/openapi.json", None, None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in ["/api/v1/messages", "/api/v1/messages/{id}"] {
        assert!(reply.body["paths"][path].is_object(), "{path} missing");
    }
    rig.finish().await;
}
// ---- Inbound SMS for API clients (issue 5; R16, R19, R20) ----

/// The replies the simulated modem was asked to send to `number` (canonical).
fn submitted_to(sim: &SimHandle, number: &str) -> usize {
    sim.submitted()
        .iter()
        .filter_map(|s| s.decoded.as_ref())
        .filter(|d| d.destination.to_string() == number)
        .count()
}

/// A GET on a blocking thread, so that a long-poll (up to 30 s, longer than `http` waits) can
/// run while the test goes on. Answers the status and the JSON body.
fn long_poll_in_background(
    address: &str,
    path: &str,
    key: &str,
) -> tokio::task::JoinHandle<(u16, Value)> {
    use std::io::{Read, Write};
    let (address, path, key) = (address.to_owned(), path.to_owned(), key.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect to the daemon");
        stream
            .set_read_timeout(Some(Duration::from_secs(40)))
            .expect("timeout");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             Authorization: Bearer {key}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the answer");
        let raw = String::from_utf8(raw).expect("UTF-8 answer");
        let (head, payload) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .lines()
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let payload = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(payload)
        } else {
            payload.to_owned()
        };
        (
            status,
            serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
        )
    })
}

/// R16, R19: an SMS whose first word is a key's keyword reaches a long-poll that was already
/// waiting, and the router does not answer it; a text with no key's keyword still gets the
/// router's hint. Police commands and `H` never go to a key (router unit tests).
async fn an_inbound_sms_with_the_keys_keyword_reaches_a_waiting_long_poll_and_gets_no_reply(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    let out = rig.daemon.cli_ok(&[
        "apikey",
        "create",
        "--name",
        "news",
        "--scopes",
        "receive",
        "--keyword",
        "news",
    ]);
    let key = out.trim().to_owned();
    // A keyword of the router is refused with a clear error.
    let refused = rig
        .daemon
        .cli(&["apikey", "update", "--name", "news", "--keyword", "H"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("help command"),
        "{refused:?}"
    );
    let empty = rig.call("GET", "/api/v1/inbox?wait=0", Some(&key), None);
    assert_eq!(empty.status, 200, "{empty:?}");
    assert_eq!(empty.body["messages"], json!([]));
    assert_eq!(empty.body["next_cursor"], "0");
    let poll = long_poll_in_background(&rig.daemon.http, "/api/v1/inbox?after=0&wait=30", &key);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poll.is_finished(), "the long-poll must wait for a message");
    rig.sim
        .receive_sms("13800000021", "News 今天的新闻")
        .expect("deliver to the simulated modem");
    let (status, page) = poll.await.expect("the long-poll thread");
    assert_eq!(status, 200, "{page}");
    let messages = page["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 1, "{page}");
    assert_eq!(messages[0]["text"], "News 今天的新闻");
    assert_eq!(messages[0]["from"], "+8613800000021");
    assert_eq!(messages[0]["state"], "received");
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
    assert_eq!(messages[0]["cursor"], cursor.as_str());
    // Nothing after the cursor.
    let after = rig.call(
        "GET",
        &format!("/api/v1/inbox?after={cursor}"),
        Some(&key),
        None,
    );
    assert_eq!(after.body["messages"], json!([]), "{after:?}");
    assert_eq!(after.body["next_cursor"], cursor.as_str());
    // A later text without the keyword is the router's: it gets the hint. Once that reply has
    // left, a reply to the keyword message (queued before it) would have too.
    rig.sim
        .receive_sms("13800000022", "hello")
        .expect("deliver to the simulated modem");
    let deadline = Instant::now() + LONG_WAIT;
    while submitted_to(&rig.sim, "+8613800000022") == 0 {
        assert!(
            Instant::now() < deadline,
            "no hint reply\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        submitted_to(&rig.sim, "+8613800000021"),
        0,
        "the router must not answer a message that went to an API key"
    );
    // Another key cannot read it, and a key without the receive scope is refused.
    let sender = rig.key("oa", "send");
    assert_problem(&rig.call("GET", "/api/v1/inbox", Some(&sender), None), 403);
    assert_problem(
        &rig.call("GET", "/api/v1/inbox?wait=31", Some(&key), None),
        422,
    );
    assert_problem(
        &rig.call("GET", "/api/v1/inbox?after=abc", Some(&key), None),
        400,
    );
    rig.finish().await;
}

/// One request the test's webhook receiver got.
#[derive(Debug, Clone)]
struct Hook {
    signature: String,
    delivery: String,
    body: Vec<u8>,
    /// The status it answered.
    answered: u16,
}

/// A webhook receiver on `port`: answers 500 while `failing` is set, else 204, and records
/// every request.
async fn webhook_receiver(
    port: u16,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Hook>>>,
) -> tokio::task::JoinHandle<()> {
    webhook_receiver_with(port, None, failing, seen).await
}

/// [`webhook_receiver`] speaking HTTPS with `tls` when given: a connection whose handshake
/// fails (the daemon refusing the certificate) records nothing.
async fn webhook_receiver_with(
    port: u16,
    tls: Option<tokio_rustls::TlsAcceptor>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Hook>>>,
) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the webhook receiver");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (tls, failing, seen) = (tls.clone(), failing.clone(), seen.clone());
            tokio::spawn(async move {
                match tls {
                    None => answer_hook(stream, &failing, &seen).await,
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(stream).await {
                            answer_hook(stream, &failing, &seen).await;
                        }
                    }
                }
            });
        }
    })
}

/// Reads one webhook POST from `stream`, records it and answers.
async fn answer_hook<S>(
    mut stream: S,
    failing: &std::sync::atomic::AtomicBool,
    seen: &std::sync::Mutex<Vec<Hook>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let (head, body_start) = loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&raw[..at]).into_owned(), at + 4);
        }
    };
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = raw[body_start..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let answered = if failing.load(std::sync::atomic::Ordering::SeqCst) {
        500
    } else {
        204
    };
    seen.lock().expect("lock").push(Hook {
        signature: header("x-jingxun-signature"),
        delivery: header("x-jingxun-delivery"),
        body,
        answered,
    });
    let reply = format!("HTTP/1.1 {answered} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Checks `X-Jingxun-Signature` as a client would, computing the HMAC itself.
fn signature_is_valid(secret: &str, hook: &Hook) -> bool {
    use hmac::{Hmac, Mac};
    let Some((t, v1)) = hook.signature.split_once(",v1=") else {
        return false;
    };
    let Some(t) = t.strip_prefix("t=") else {
        return false;
    };
    let now = chrono::Utc::now().timestamp();
    if t.parse::<i64>().map_or(true, |t| (now - t).abs() > 300) {
        return false;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(&hook.body);
    hex::decode(v1).is_ok_and(|v1| mac.verify_slice(&v1).is_ok())
}

/// Issue 5: a webhook receiver that is down for a while (connections refused, then 500
/// answers) still gets every inbound message once it is back, each with a valid signature.
async fn a_webhook_receiver_that_was_down_gets_every_inbound_message_signed_once_it_is_back(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    let port = crate::support::free_port();
    rig.daemon.cli_ok(&[
        "apikey",
        "create",
        "--name",
        "oa",
        "--scopes",
        "receive",
        "--keyword",
        "OA",
    ]);
    let relative = rig
        .daemon
        .cli(&["apikey", "webhook", "--name", "oa", "--url", "/sms"]);
    assert!(!relative.status.success());
    assert!(
        String::from_utf8_lossy(&relative.stderr).contains("https://"),
        "{relative:?}"
    );
    let url = format!("http://127.0.0.1:{port}/hook");
    let secret = rig
        .daemon
        .cli_ok(&["apikey", "webhook", "--name", "oa", "--url", &url])
        .trim()
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let listed = rig.daemon.cli_ok(&["apikey", "list", "--json"]);
    assert!(!listed.contains(&secret), "the secret is never listed");
    let texts = ["OA 请审批 1", "oa 请审批 2", "OA 请审批 3"];
    for (i, text) in texts.iter().enumerate() {
        rig.sim
            .receive_sms(&format!("1380000003{i}"), text)
            .expect("deliver to the simulated modem");
    }
    // Nobody listens: every delivery fails at least once (connection refused).
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        let rows = rig.deliveries("oa");
        if rows.len() == texts.len()
            && rows
                .iter()
                .all(|r| r["state"] == "pending" && r["attempts"].as_u64() >= Some(1))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not fail: {rows:?}\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Up, but failing with 500 at first.
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Hook>::new()));
    let receiver = webhook_receiver(port, failing.clone(), seen.clone()).await;
    let deadline = Instant::now() + LONG_WAIT;
    while seen.lock().expect("lock").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no retry reached the receiver\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    // Back: every message arrives, signed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let delivered = loop {
        let hooks = seen.lock().expect("lock").clone();
        let delivered: Vec<Value> = hooks
            .iter()
            .filter(|h| h.answered == 204)
            .map(|h| serde_json::from_slice(&h.body).expect("a JSON body"))
            .collect();
        if texts
            .iter()
            .all(|t| delivered.iter().any(|m| m["text"] == *t))
        {
            break delivered;
        }
        assert!(
            Instant::now() < deadline,
            "not every message was delivered: {hooks:?}\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let hooks = seen.lock().expect("lock").clone();
    for hook in &hooks {
        assert!(
            signature_is_valid(&secret, hook),
            "bad signature on {hook:?}"
        );
        assert!(hook.delivery.parse::<i64>().is_ok(), "{hook:?}");
    }
    assert!(!signature_is_valid("whsec_wrong", &hooks[0]));
    for message in &delivered {
        assert!(
            message["from"]
                .as_str()
                .is_some_and(|f| f.starts_with("+86"))
        );
        assert!(
            message["cursor"].is_string() && message["id"].is_i64(),
            "{message}"
        );
    }
    // The store agrees: all delivered, after failures.
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        let out = rig.daemon.cli_ok(&[
            "apikey",
            "deliveries",
            "--name",
            "oa",
            "--state",
            "delivered",
            "--json",
        ]);
        if out.lines().count() == texts.len() {
            break;
        }
        assert!(Instant::now() < deadline, "{out}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the inbox holds the same messages, oldest first.
    let key_out = rig.daemon.cli_ok(&["apikey", "list", "--json"]);
    assert!(key_out.contains("\"keywords\":[\"OA\"]"), "{key_out}");
    receiver.abort();
    rig.finish().await;
}

/// A test certificate authority and a `localhost` server certificate it signed, and another
/// `localhost` certificate that nobody trusts.
struct TestCertificates {
    ca_pem: String,
    trusted: tokio_rustls::TlsAcceptor,
    untrusted: tokio_rustls::TlsAcceptor,
}

impl TestCertificates {
    fn new() -> TestCertificates {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Jingxun test police CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let acceptor = |cert: rcgen::Certificate, key: KeyPair| {
            let key = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
            let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key.into())
            .expect("server TLS configuration");
            tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
        };
        let leaf_key = KeyPair::generate().expect("server key");
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .expect("server params")
            .signed_by(&leaf_key, &issuer)
            .expect("server certificate");
        let rogue = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("self-signed certificate");
        TestCertificates {
            ca_pem: ca.pem(),
            trusted: acceptor(leaf, leaf_key),
            untrusted: acceptor(rogue.cert, rogue.signing_key),
        }
    }
}

/// Issue 5, security checklist: an `https://` webhook is only delivered to a server whose
/// certificate verifies against `[webhooks] ca_file`. A server with a self-signed certificate
/// gets nothing (the attempt fails with the reason, and is retried); the same URL served with
/// the CA's certificate then gets the message, signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_is_delivered_only_to_a_certificate_the_ca_file_trusts() {
    let certificates = TestCertificates::new();
    let ca_dir = tempfile::tempdir().expect("temporary folder");
    let ca_file = ca_dir.path().join("police-ca.pem");
    std::fs::write(&ca_file, &certificates.ca_pem).expect("write the CA file");
    let rig = Rig::start_with(
        Backend::Sqlite,
        &format!("[webhooks]\nca_file = \"{}\"\n", ca_file.display()),
    )
    .await;
    let port = crate::support::free_port();
    rig.daemon.cli_ok(&[
        "apikey",
        "create",
        "--name",
        "oa",
        "--scopes",
        "receive",
        "--keyword",
        "OA",
    ]);
    let url = format!("https://localhost:{port}/hook");
    let secret = rig
        .daemon
        .cli_ok(&["apikey", "webhook", "--name", "oa", "--url", &url])
        .trim()
        .to_owned();
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Hook>::new()));
    let rogue = webhook_receiver_with(
        port,
        Some(certificates.untrusted.clone()),
        failing.clone(),
        seen.clone(),
    )
    .await;
    rig.sim
        .receive_sms("13800000040", "OA 请审批 机密")
        .expect("deliver to the simulated modem");
    let deadline = Instant::now() + LONG_WAIT;
    let refused = loop {
        let rows = rig.deliveries("oa");
        if let Some(row) = rows.iter().find(|r| r["attempts"].as_u64() >= Some(1)) {
            break row.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no attempt was made: {rows:?}\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(refused["state"], "pending", "{refused}");
    let error = refused["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("invalid peer certificate") && error.contains("[webhooks] ca_file"),
        "the reason and what to do: {refused}"
    );
    assert!(
        seen.lock().expect("lock").is_empty(),
        "the untrusted server got the message"
    );
    rogue.abort();
    let _ = rogue.await;
    let trusted = webhook_receiver_with(
        port,
        Some(certificates.trusted.clone()),
        failing,
        seen.clone(),
    )
    .await;
    let deadline = Instant::now() + LONG_WAIT;
    let hook = loop {
        if let Some(hook) = seen.lock().expect("lock").first().cloned() {
            break hook;
        }
        assert!(
            Instant::now() < deadline,
            "the trusted server got nothing\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let message: Value = serde_json::from_slice(&hook.body).expect("a JSON body");
    assert_eq!(message["text"], "OA 请审批 机密");
    assert!(
        signature_is_valid(&secret, &hook),
        "bad signature on {hook:?}"
    );
    trusted.abort();
    rig.finish().await;
}

/// Issue 5 item 1, security checklist: a key limited to other networks is refused with a 403
/// problem from 127.0.0.1; one limited to the loopback network is served.
async fn a_key_limited_to_another_network_is_refused_from_loopback(backend: Backend) {
    let rig = Rig::start(backend).await;
    let refused = rig.daemon.cli(&[
        "apikey",
        "create",
        "--name",
        "bad",
        "--scopes",
        "send",
        "--allow-network",
        "10.0.0.0/33",
    ]);
    assert!(!refused.status.success(), "{refused:?}");
    let listed = rig.daemon.cli_ok(&["apikey", "list", "--json"]);
    assert!(
        !listed.contains("\"bad\""),
        "a refused network leaves no key: {listed}"
    );
    let remote = rig
        .daemon
        .cli_ok(&[
            "apikey",
            "create",
            "--name",
            "lan",
            "--scopes",
            "send",
            "--allow-network",
            "10.0.0.0/8",
        ])
        .trim()
        .to_owned();
    let local = rig
        .daemon
        .cli_ok(&[
            "apikey",
            "create",
            "--name",
            "local",
            "--scopes",
            "send",
            "--allow-network",
            "127.0.0.0/8",
            "--allow-network",
            "10.0.0.0/8",
        ])
        .trim()
        .to_owned();
    let forbidden = rig.call("GET", "/api/v1/messages/1", Some(&remote), None);
    assert_problem(&forbidden, 403);
    assert!(
        forbidden.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("10.0.0.0/8") && d.contains("127.0.0.1")),
        "{forbidden:?}"
    );
    let body = json!({"to": ["13800000041"], "text": "from the wrong network"});
    assert_problem(
        &rig.call("POST", "/api/v1/messages", Some(&remote), Some(&body)),
        403,
    );
    // No proxy is trusted here: a client cannot claim an allowed address with the header.
    let claimed = rig.call_with(
        "POST",
        "/api/v1/messages",
        Some(&remote),
        Some(&body),
        &[("X-Forwarded-For", "10.1.2.3")],
    );
    assert_problem(&claimed, 403);
    // The other key passes the check (and then finds no such message).
    assert_problem(
        &rig.call("GET", "/api/v1/messages/1", Some(&local), None),
        404,
    );
    // Lifting the limit takes effect within the key cache's lifetime.
    rig.daemon
        .cli_ok(&["apikey", "update", "--name", "lan", "--clear-networks"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = rig.call("GET", "/api/v1/messages/1", Some(&remote), None);
        if reply.status == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "{reply:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rig.finish().await;
}

/// Deployment behind a reverse proxy (`http.trusted_proxies`, here loopback): the client is the
/// address the proxy appended to `X-Forwarded-For`, for the key's allowed networks and for the
/// audit row; what the client itself wrote in front of it is not believed.
async fn behind_a_trusted_proxy_the_forwarded_client_is_checked_and_audited(backend: Backend) {
    let rig = Rig::start_with(backend, "[http]\ntrusted_proxies = [\"127.0.0.1\"]\n").await;
    let key = rig
        .daemon
        .cli_ok(&[
            "apikey",
            "create",
            "--name",
            "oa",
            "--scopes",
            "send",
            "--allow-network",
            "203.0.113.0/24",
        ])
        .trim()
        .to_owned();
    // The proxy's own request (no header) comes from loopback: not an allowed network.
    assert_problem(
        &rig.call("GET", "/api/v1/messages/1", Some(&key), None),
        403,
    );
    // The client forged an allowed address first; the proxy appended the real one.
    let outside = rig.call_with(
        "GET",
        "/api/v1/messages/1",
        Some(&key),
        None,
        &[("X-Forwarded-For", "203.0.113.9, 198.51.100.1")],
    );
    assert_problem(&outside, 403);
    assert!(
        outside.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("198.51.100.1")),
        "{outside:?}"
    );
    let forwarded = [("X-Forwarded-For", "198.51.100.1, 203.0.113.7")];
    let sent = rig.call_with(
        "POST",
        "/api/v1/messages",
        Some(&key),
        Some(&json!({"to": ["13800000042"], "text": "through the proxy"})),
        &forwarded,
    );
    assert_eq!(sent.status, 202, "{sent:?}");
    let rows = audit_rows(&rig.daemon, "message.send");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["source"], "203.0.113.7");
    rig.finish().await;
}

/// `jingxun audit --json --event EVENT`, parsed (newest first).
fn audit_rows(daemon: &Daemon, event: &str) -> Vec<Value> {
    daemon
        .cli_ok(&["audit", "--json", "--event", event, "--limit", "1000"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect()
}

/// Polls the audit log until `event` has `count` rows (refusals are written asynchronously),
/// and returns them.
async fn wait_for_audit(daemon: &Daemon, event: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        let rows = audit_rows(daemon, event);
        if rows.len() >= count {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "{count} `{event}` audit row(s) never came: {rows:?}\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checklist "Audit" (who = API client, object, outcome, source, request id): a send through
/// the API is audited in the transaction of its messages, with the key's name (never the key),
/// the source address, the request id of the answer, counts and masked numbers (never the
/// text); a refused key is audited too; the chain still verifies.
async fn a_posted_message_leaves_an_audit_row_naming_the_key_and_the_source(backend: Backend) {
    let rig = Rig::start(backend).await;
    let key = rig.key("oa", "send");
    let text = "审计测试 secret-text-123";
    let reply = rig.call(
        "POST",
        "/api/v1/messages",
        Some(&key),
        Some(&json!({"to": ["13800000005", "13800000006", "bad"], "text": text})),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    let request_id = reply.request_id.clone().expect("an X-Request-Id");
    // The row is committed with the messages: it is there as soon as the answer is.
    let rows = audit_rows(&rig.daemon, "message.send");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["component"], "api");
    assert_eq!(row["outcome"], "ok");
    assert_eq!(row["actor"], "api:oa");
    assert_eq!(row["source"], "127.0.0.1");
    assert_eq!(row["request_id"], request_id.as_str());
    assert!(
        row["object"]
            .as_str()
            .is_some_and(|o| o.starts_with("api:oa:")),
        "the batch of the messages: {row}"
    );
    assert_eq!(row["details"]["recipients"], 2);
    assert_eq!(row["details"]["invalid"], 1);
    assert_eq!(
        row["details"]["recipients_sample"],
        json!(["+86138****0005", "+86138****0006"])
    );
    assert_eq!(row["details"]["first_id"], reply.body["messages"][0]["id"]);
    let dump = rig.daemon.cli_ok(&["audit", "--json", "--limit", "1000"]);
    assert!(!dump.contains("secret-text-123"), "the text is not audited");
    assert!(!dump.contains(&key), "the key is never audited");
    assert!(!dump.contains("+8613800000005"), "numbers are masked");
    // A refused key is audited too (asynchronously), with its source and request id.
    let forged = format!("jx_{}", "f".repeat(64));
    let refused = rig.call(
        "POST",
        "/api/v1/messages",
        Some(&forged),
        Some(&json!({"to": ["13800000005"], "text": "x"})),
    );
    assert_problem(&refused, 401);
    let refused_id = refused.request_id.clone().expect("an X-Request-Id");
    assert_eq!(refused.body["request_id"], refused_id.as_str());
    let rows = wait_for_audit(&rig.daemon, "auth", 1).await;
    assert_eq!(rows[0]["outcome"], "refused");
    assert_eq!(rows[0]["details"]["reason"], "unknown_key");
    assert_eq!(rows[0]["source"], "127.0.0.1");
    assert_eq!(rows[0]["request_id"], refused_id.as_str());
    assert_eq!(rows[0]["object"], "POST /api/v1/messages");
    // An idempotent replay changes nothing and says so.
    let body = json!({"to": ["13800000007"], "text": "once", "idempotency_key": "k1"});
    let first = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
    assert_eq!(first.status, 202, "{first:?}");
    let again = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
    assert_eq!(again.status, 202, "{again:?}");
    let calls = wait_for_audit(&rig.daemon, "call", 1).await;
    assert_eq!(calls[0]["outcome"], "replayed");
    assert_eq!(audit_rows(&rig.daemon, "message.send").len(), 2);
    let verified = rig.daemon.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    rig.finish().await;
}

/// Checklist "bursts get 429, memory stays bounded": one source presenting made-up keys is
/// limited (429 with Retry-After, before any look-up) after its budget of failures, while a key
/// that worked before from the same address keeps working; refusals by 429 are not audited one
/// by one.
async fn a_flood_of_unknown_keys_from_one_source_ends_in_429_while_a_known_key_still_works(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    let key = rig.key("oa", "send");
    let body = json!({"to": ["13800000008"], "text": "still works"});
    let first = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
    assert_eq!(first.status, 202, "{first:?}");
    let limited = (0..200)
        .map(|n| {
            let forged = format!("jx_{n:064x}");
            rig.call("POST", "/api/v1/messages", Some(&forged), Some(&body))
        })
        .find(|reply| reply.status != 401)
        .expect("a flood of 200 unknown keys is limited");
    assert_problem(&limited, 429);
    assert!(
        limited
            .retry_after
            .as_deref()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s >= 1),
        "{limited:?}"
    );
    // No key at all from the same source is limited too (looped: on a slow machine a token
    // may have refilled since).
    let keyless = (0..200)
        .map(|_| rig.call("POST", "/api/v1/messages", None, Some(&body)))
        .find(|reply| reply.status != 401)
        .expect("keyless requests are limited too");
    assert_problem(&keyless, 429);
    let ok = rig.call("POST", "/api/v1/messages", Some(&key), Some(&body));
    assert_eq!(ok.status, 202, "the known key is not limited: {ok:?}");
    let blocked = wait_for_audit(&rig.daemon, "auth.blocked", 1).await;
    assert_eq!(blocked[0]["source"], "127.0.0.1");
    let refused = audit_rows(&rig.daemon, "auth");
    assert!(
        refused.len() < 200,
        "requests refused with 429 are not audited one by one: {} rows",
        refused.len()
    );
    rig.finish().await;
}

/// Issue 5 item 3: the reference page is served without a key, as HTML with every path of the
/// OpenAPI document and no script.
async fn the_reference_page_is_html_and_lists_every_path(backend: Backend) {
    let rig = Rig::start(backend).await;
    let reply = rig.call("GET", "/api/docs", None, None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.content_type.starts_with("text/html"), "{reply:?}");
    let page = reply.body.as_str().expect("an HTML page").to_owned();
    let document = rig.call("GET", "/api/openapi.json", None, None);
    let paths = document.body["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/api/v1/messages"));
    for path in paths.keys() {
        let escaped = path
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(page.contains(&escaped), "{path} missing from the page");
    }
    assert!(page.contains("/api/openapi.json"));
    assert!(!page.to_ascii_lowercase().contains("<script"));
    rig.finish().await;
}

/// The texts `sim` was asked to send to `number` (canonical), in order.
fn texts_to(sim: &SimHandle, number: &str) -> Vec<String> {
    sim.submitted()
        .iter()
        .filter_map(|s| s.decoded.as_ref())
        .filter(|d| d.destination.to_string() == number)
        .map(|d| d.text.clone())
        .collect()
}

/// R17 (issue 13): `BZ <受理编号>` from the phone an office recorded with the application
/// answers its latest status (the bundled `application` plugin on contract 1.1, granted the
/// `citizen` capability); from any other phone the answer is exactly the text for a number
/// that does not exist. Every look-up is audited.
async fn bz_tells_an_applications_status_only_to_the_phone_recorded_with_it(backend: Backend) {
    let rig = Rig::start(backend).await;
    let key = rig.key("crj", "notify");
    let notice = rig.call(
        "POST",
        "/api/v1/notifications/citizen",
        Some(&key),
        Some(&json!({
            "application_number": "E440300202612070001",
            "kind": "passport",
            "status": "ready_for_collection",
            "phone": "13900000021",
            "note": "请携带身份证到窗口领取。",
        })),
    );
    assert_eq!(notice.status, 202, "{notice:?}");
    rig.sim
        .wait_for_submitted(1, LONG_WAIT)
        .await
        .expect("the notice went out");
    let asks = [
        ("13900000021", "BZ e440300202612070001"),
        ("13900000099", "BZ E440300202612070001"),
        ("13900000099", "BZ E440300202612079999"),
    ];
    for (n, (phone, text)) in asks.iter().enumerate() {
        rig.sim.receive_sms(phone, text).expect("deliver the query");
        rig.sim
            .wait_for_submitted(n + 2, LONG_WAIT)
            .await
            .expect("the reply went out");
    }
    assert_eq!(
        texts_to(&rig.sim, "+8613900000021")
            .last()
            .map(String::as_str),
        Some("受理编号E440300202612070001的护照申请当前状态：可领取。请携带身份证到窗口领取。")
    );
    assert_eq!(
        texts_to(&rig.sim, "+8613900000099"),
        [
            "受理编号E440300202612070001的申请不存在。",
            "受理编号E440300202612079999的申请不存在。",
        ]
    );
    let lookups = |phone: &str| -> Vec<String> {
        rig.daemon
            .cli_ok(&["audit", "--json", "--phone", phone])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
            .filter(|r| r["event"] == "citizen.lookup")
            .map(|r| {
                format!(
                    "{} {}",
                    r["object"].as_str().unwrap_or(""),
                    r["outcome"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(lookups("+8613900000021"), ["E440300202612070001 answered"]);
    let mut stranger = lookups("+8613900000099");
    stranger.sort();
    assert_eq!(
        stranger,
        [
            "E440300202612070001 not_found",
            "E440300202612079999 not_found"
        ]
    );
    rig.finish().await;
}

/// R19, issue 5: an OA reminder addressed by login reaches the user's active registered phone
/// (not a disabled one), in the words of the template the administrator set (audited).
async fn an_oa_reminder_addressed_by_login_reaches_the_users_phone_in_the_administrators_words(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    let cli = &rig.daemon;
    cli.cli_ok(&["user", "add", "--login", "zhangsan", "--name", "张三"]);
    cli.cli_ok(&[
        "phone",
        "add",
        "--number",
        "13800000011",
        "--name",
        "张三",
        "--user",
        "zhangsan",
    ]);
    cli.cli_ok(&[
        "phone",
        "add",
        "--number",
        "13800000012",
        "--name",
        "张三",
        "--user",
        "zhangsan",
    ]);
    cli.cli_ok(&["phone", "disable", "--number", "13800000012"]);
    let refused = cli.cli(&[
        "template",
        "set",
        "--key",
        "oa.todo",
        "--text",
        "{title} {phone}",
    ]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(
        error.contains("{phone}") && error.contains("{title}"),
        "{error}"
    );
    cli.cli_ok(&[
        "template",
        "set",
        "--key",
        "oa.todo",
        "--text",
        "待办提醒：{name}，请办理“{title}”[[（{from}）]][[，截止{due}]]。",
    ]);
    assert!(
        cli.cli_ok(&["template", "show", "--key", "oa.todo"])
            .contains("待办提醒")
    );
    let key = rig.key("oa", "notify");
    let reply = rig.call(
        "POST",
        "/api/v1/notifications/oa",
        Some(&key),
        Some(
            &json!({"login": "ZhangSan", "kind": "todo", "title": "审批请假单", "from": "办公室"}),
        ),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    let reply_id = reply.body["messages"][0]["id"].clone();
    let expected = "待办提醒：张三，请办理“审批请假单”（办公室）。";
    assert_eq!(reply.body["text"], expected, "{reply:?}");
    assert_eq!(
        reply.body["messages"],
        json!([{"to": "+86138****0011", "id": reply.body["messages"][0]["id"]}]),
        "one message, to the active phone, whose number is not revealed"
    );
    rig.sim
        .wait_for_submitted(1, LONG_WAIT)
        .await
        .expect("the modem got the reminder");
    assert_eq!(
        texts_to(&rig.sim, "+8613800000011"),
        vec![expected.to_owned()]
    );
    // A document to read, with the default template.
    let reply = rig.call(
        "POST",
        "/api/v1/notifications/oa",
        Some(&key),
        Some(&json!({"login": "zhangsan", "kind": "read", "title": "年度总结", "due": "12月1日"})),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    rig.sim
        .wait_for_submitted(2, LONG_WAIT)
        .await
        .expect("the modem got the second reminder");
    let texts = texts_to(&rig.sim, "+8613800000011");
    assert!(
        texts[1].contains("年度总结")
            && texts[1].contains("请于12月1日前")
            && texts[1].contains("张三"),
        "{texts:?}"
    );
    assert!(
        texts_to(&rig.sim, "+8613800000012").is_empty(),
        "a disabled phone gets nothing"
    );
    let audit = cli.cli_ok(&["audit", "--json"]);
    assert!(
        audit.contains("template.set") && audit.contains("待办提醒"),
        "{audit}"
    );
    // Each reminder's audit row was committed with its message: by the key, naming the login
    // and the template, the phone masked, the title and text kept out.
    let rows = audit_rows(cli, "notification.oa");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let todo = &rows[1];
    assert_eq!(todo["actor"], "api:oa");
    assert_eq!(todo["outcome"], "ok");
    assert_eq!(todo["details"]["login"], "zhangsan");
    assert_eq!(todo["details"]["template"], "oa.todo");
    assert_eq!(todo["details"]["recipients"], 1);
    assert_eq!(
        todo["details"]["recipients_sample"],
        json!(["+86138****0011"])
    );
    assert_eq!(todo["details"]["first_id"], reply_id);
    let dump = cli.cli_ok(&["audit", "--json", "--event", "notification.oa"]);
    assert!(
        !dump.contains("审批请假单") && !dump.contains("+8613800000011"),
        "{dump}"
    );
    // The key that queued the reminder can follow it (it has no `send` scope).
    let followed = rig.call(
        "GET",
        &format!("/api/v1/messages/{reply_id}"),
        Some(&key),
        None,
    );
    assert_eq!(followed.status, 200, "{followed:?}");
    assert_eq!(followed.body["id"], reply_id);
    rig.finish().await;
}

/// Issue 5: a reminder that cannot reach anyone is refused with a problem document that says
/// what is wrong and what to do, and nothing is queued.
async fn an_oa_reminder_to_an_unknown_login_or_a_user_without_a_phone_is_refused_and_queues_nothing(
    backend: Backend,
) {
    let rig = Rig::start(backend).await;
    let cli = &rig.daemon;
    cli.cli_ok(&["user", "add", "--login", "lisi", "--name", "李四"]);
    cli.cli_ok(&["user", "add", "--login", "wangwu", "--name", "王五"]);
    cli.cli_ok(&[
        "phone",
        "add",
        "--number",
        "13800000013",
        "--name",
        "王五",
        "--user",
        "wangwu",
    ]);
    cli.cli_ok(&["user", "disable", "--login", "wangwu"]);
    let key = rig.key("oa", "notify");
    let post = |login: &str| {
        rig.call(
            "POST",
            "/api/v1/notifications/oa",
            Some(&key),
            Some(&json!({"login": login, "kind": "todo", "title": "审批"})),
        )
    };
    for (login, hint) in [
        ("nobody", "jingxun user add"),
        ("lisi", "jingxun phone add"),
        ("wangwu", "jingxun user enable"),
    ] {
        let reply = post(login);
        assert_problem(&reply, 422);
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(login) && detail.contains(hint), "{reply:?}");
    }
    let too_long = rig.call(
        "POST",
        "/api/v1/notifications/oa",
        Some(&key),
        Some(&json!({"login": "lisi", "kind": "todo", "title": ""})),
    );
    assert_problem(&too_long, 422);
    assert!(
        rig.daemon.messages("out").is_empty(),
        "nothing may be queued"
    );
    rig.finish().await;
}

/// R17: an office's progress notice reaches the citizen, and the application's latest status
/// is kept (replaced by the next notice) for the citizen's SMS query.
async fn a_citizen_notice_is_sent_and_the_applications_latest_status_is_kept(backend: Backend) {
    let rig = Rig::start(backend).await;
    let key = rig.key("crj", "notify");
    let notice = |status: &str, note: Option<&str>| {
        let mut body = json!({
            "application_number": "e440300202612010001",
            "kind": "passport",
            "status": status,
            "phone": "13900000021",
            "name": "李四",
        });
        if let Some(note) = note {
            body["note"] = json!(note);
        }
        rig.call(
            "POST",
            "/api/v1/notifications/citizen",
            Some(&key),
            Some(&body),
        )
    };
    let first = notice("accepted", None);
    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!(first.body["messages"][0]["to"], "+8613900000021");
    let second = notice("ready_for_collection", Some("请携带身份证到窗口领取。"));
    assert_eq!(second.status, 202, "{second:?}");
    rig.sim
        .wait_for_submitted(2, LONG_WAIT)
        .await
        .expect("the modem got both notices");
    let texts = texts_to(&rig.sim, "+8613900000021");
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("E440300202612010001")
            && texts[0].contains("已受理")
            && texts[0].contains("李四"),
        "{texts:?}"
    );
    assert!(
        texts[1].contains("可领取") && texts[1].ends_with("请携带身份证到窗口领取。"),
        "{texts:?}"
    );
    let store = jingxun::store::Store::connect(&rig.database.url)
        .await
        .expect("open the daemon's store");
    let latest = store
        .citizen_application_status("passport", "E440300202612010001")
        .await
        .expect("read the status")
        .expect("the application is known");
    assert_eq!(latest.status, "ready_for_collection");
    assert_eq!(latest.phone, "+8613900000021");
    assert_eq!(latest.api_key, "crj");
    assert_eq!(latest.message_id, second.body["messages"][0]["id"].as_i64());
    assert!(latest.updated_at >= latest.created_at);
    assert_eq!(
        store
            .citizen_application_status("id_card", "E440300202612010001")
            .await
            .expect("read"),
        None
    );
    store.close().await;
    // Each notice is audited with its application and status, not its text or name.
    let rows = audit_rows(&rig.daemon, "notification.citizen");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["actor"], "api:crj");
    assert_eq!(rows[0]["details"]["status"], "ready_for_collection");
    assert_eq!(
        rows[0]["details"]["application_number"],
        "E440300202612010001"
    );
    assert_eq!(rows[0]["details"]["kind"], "passport");
    assert_eq!(
        rows[0]["details"]["first_id"],
        second.body["messages"][0]["id"]
    );
    let dump = rig
        .daemon
        .cli_ok(&["audit", "--json", "--event", "notification.citizen"]);
    assert!(
        !dump.contains("李四") && !dump.contains("请携带身份证"),
        "{dump}"
    );
    // An idempotent retry of a notice queues nothing, changes no status and adds no row.
    let once = json!({
        "application_number": "E2", "kind": "id_card", "status": "accepted",
        "phone": "13900000021", "idempotency_key": "crj-E2-accepted",
    });
    for _ in 0..2 {
        let reply = rig.call(
            "POST",
            "/api/v1/notifications/citizen",
            Some(&key),
            Some(&once),
        );
        assert_eq!(reply.status, 202, "{reply:?}");
    }
    assert_eq!(audit_rows(&rig.daemon, "notification.citizen").len(), 3);
    assert_eq!(
        rig.daemon.messages("out").len(),
        3,
        "the retry queued nothing"
    );
    rig.sim
        .wait_for_submitted(3, LONG_WAIT)
        .await
        .expect("the modem got the third notice");
    let bad = rig.call(
        "POST",
        "/api/v1/notifications/citizen",
        Some(&key),
        Some(&json!({"application_number": "E1", "kind": "passport", "status": "lost", "phone": "13900000021"})),
    );
    assert_problem(&bad, 422);
    rig.finish().await;
}

/// Security checklist ("Police queries and the API"): the notification endpoints need the
/// `notify` scope, and a notify key cannot send arbitrary texts.
async fn notifications_need_a_key_with_the_notify_scope(backend: Backend) {
    let rig = Rig::start(backend).await;
    let sender = rig.key("sender", "send");
    let oa = json!({"login": "zhangsan", "kind": "todo", "title": "审批"});
    let citizen = json!({"application_number": "E1", "kind": "id_card", "status": "accepted", "phone": "13900000022"});
    for (path, body) in [
        ("/api/v1/notifications/oa", &oa),
        ("/api/v1/notifications/citizen", &citizen),
    ] {
        let reply = rig.call("POST", path, Some(&sender), Some(body));
        assert_problem(&reply, 403);
        assert!(
            reply.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("notify")),
            "{reply:?}"
        );
        assert_problem(&rig.call("POST", path, None, Some(body)), 401);
    }
    let notifier = rig.key("office", "notify");
    assert_problem(
        &rig.call(
            "POST",
            "/api/v1/messages",
            Some(&notifier),
            Some(&json!({"to": ["13900000022"], "text": "anything"})),
        ),
        403,
    );
    assert!(
        rig.daemon.messages("out").is_empty(),
        "nothing may be queued"
    );
    rig.finish().await;
}

/// A raw HTTP/1.1 exchange: status, head (status line and headers) and body, for the web admin's
/// sign-in form.
fn raw_http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the daemon");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// The value of the cookie `name` that a response head sets.
fn cookie_set(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| {
            let (k, value) = v.trim().split(';').next()?.split_once('=')?;
            (k == name && !value.is_empty()).then(|| value.to_owned())
        })
}

/// Signs in to the web admin over plain HTTP; the `Cookie` header of the session, or `None`
/// when the sign-in was refused. (`[web] secure_cookies` is on by default: `__Host-` names.)
fn web_sign_in(address: &str, login: &str, password: &str) -> Option<String> {
    let (_, head, page) = raw_http(address, "GET", "/signin", &[], "");
    let pre = cookie_set(&head, "__Host-jx_pre").expect("a pre-sign-in cookie");
    let token = page
        .split("name=\"csrf\"")
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in form's token")
        .to_owned();
    let form = format!(
        "csrf={token}&login={login}&password={}",
        password
            .replace('%', "%25")
            .replace('+', "%2B")
            .replace(' ', "+")
            .replace('&', "%26")
    );
    let cookie = format!("__Host-jx_pre={pre}");
    let origin = format!("http://{address}");
    let (status, head, _) = raw_http(
        address,
        "POST",
        "/ui/fn/sign_in",
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", origin.as_str()),
            ("Accept", "text/html"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form,
    );
    assert_eq!(status, 302, "a sign-in is answered with a redirect: {head}");
    cookie_set(&head, "__Host-jx_session").map(|s| format!("__Host-jx_session={s}"))
}

/// Issue 18 finding 8: `/healthz` tells anyone only whether the platform is up; the modems and
/// queue depths go to an API key or a signed-in web user; a bad key is refused as on /api/v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_says_only_up_unless_the_caller_has_an_api_key_or_a_web_session() {
    let rig = Rig::start(Backend::Sqlite).await;
    let (status, head, body) = raw_http(&rig.daemon.http, "GET", "/healthz", &[], "");
    assert_eq!(status, 200, "{head}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "up"}),
        "nothing but up or down without credentials"
    );

    let key = rig.key("monitor", "send");
    let detailed = rig.call("GET", "/healthz", Some(&key), None);
    assert_eq!(detailed.status, 200, "{detailed:?}");
    assert_eq!(detailed.body["modems"][0]["name"], "m0", "{detailed:?}");
    assert!(detailed.body["queue"].is_object(), "{detailed:?}");
    let forged = rig.call(
        "GET",
        "/healthz",
        Some(&format!("jx_{}", "0".repeat(64))),
        None,
    );
    assert_problem(&forged, 401);

    let password = "correct horse battery";
    let out = rig.daemon.cli_with_stdin(
        &[
            "user",
            "add",
            "--login",
            "ops",
            "--name",
            "值班员",
            "--role",
            "operator",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    // An operator: an administrator's password alone opens only a second factor's enrolment.
    let session = web_sign_in(&rig.daemon.http, "ops", password).expect("ops signs in");
    let (status, _, body) = raw_http(
        &rig.daemon.http,
        "GET",
        "/healthz",
        &[("Cookie", session.as_str())],
        "",
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, &body["modems"][0]["name"]),
        (200, &json!("m0")),
        "{body}"
    );
    // A made-up session is nobody.
    let (_, _, body) = raw_http(
        &rig.daemon.http,
        "GET",
        "/healthz",
        &[("Cookie", &format!("__Host-jx_session={}", "a".repeat(64)))],
        "",
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "up"})
    );
    rig.finish().await;
}

/// Issue 18 finding 8: on the embedded default start with its output captured (not a
/// terminal), the first administrator's password never appears in the output or the log; it
/// is in a file only its user may read, beside the database, and it signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_administrators_password_goes_to_a_private_file_when_the_output_is_not_a_terminal()
 {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", crate::support::free_port());
    let output = std::fs::File::create(dir.path().join("output.log")).unwrap();
    let mut serve = std::process::Command::new(crate::support::JINGXUN)
        .arg("serve")
        .current_dir(dir.path())
        .env("JINGXUN_HTTP__LISTEN", &address)
        .env_remove("JINGXUN_DATABASE__URL")
        .stdin(std::process::Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output)
        .spawn()
        .expect("start jingxun serve");
    let file = dir.path().join("initial-admin-password");
    let deadline = Instant::now() + LONG_WAIT;
    while crate::support::http_get(&address, "/healthz").is_none() || !file.exists() {
        assert!(
            Instant::now() < deadline,
            "the daemon did not start or wrote no password file: {}",
            std::fs::read_to_string(dir.path().join("output.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    let output = std::fs::read_to_string(dir.path().join("output.log")).unwrap();
    let session = web_sign_in(&address, "admin", &password);
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(password.len() >= 12, "{password:?}");
    assert_eq!(mode, 0o600, "only the daemon's user may read the file");
    assert!(
        !output.contains(&password),
        "the password is not in the output: {output}"
    );
    assert!(
        output.contains("initial-admin-password"),
        "the output says where the password is: {output}"
    );
    assert!(session.is_some(), "the password in the file signs in");
}

/// One sample's value in a Prometheus text exposition: the line that starts with `series`
/// (the name and, when given, the whole label set) and a space.
fn metric_sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Issue 18 item 12: with `[metrics] listen`, a port of its own serves Prometheus's text format:
/// the API's requests by status, the queue, the modem's state and counters and a police
/// command's latency read back after they happened, and no number, text or key among them. The
/// HTTP port does not serve it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_counts_requests_messages_and_commands_without_personal_data() {
    const OFFICER: &str = "13700000009";
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = Database::create(&Backend::Sqlite, dir.path()).await;
    let link = dir.path().join("modem0");
    let sim = SimModem::start(SimConfig::default(), Some(link.clone()))
        .await
        .expect("start the simulated modem");
    let metrics = format!("127.0.0.1:{}", crate::support::free_port());
    let spec = ModemSpec {
        name: "m0".into(),
        port: link,
        extra: String::new(),
    };
    let mut daemon = Daemon::configure(
        dir,
        &database.url,
        &[spec],
        &format!("[metrics]\nlisten = \"{metrics}\"\n"),
    );
    let police = daemon.dir.path().join("police.db");
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
    daemon.restart();
    daemon.wait_ready().await;
    let rig = Rig {
        daemon,
        sim,
        database,
    };

    let key = rig.key("oa", "send");
    let reply = rig.call(
        "POST",
        "/api/v1/messages",
        Some(&key),
        Some(&json!({"to": ["13800000001"], "text": "值班提醒"})),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    let refused = rig.call(
        "POST",
        "/api/v1/messages",
        Some("jx_notakey"),
        Some(&json!({"to": ["13800000001"], "text": "值班提醒"})),
    );
    assert_problem(&refused, 401);
    let id = reply.body["messages"][0]["id"].as_i64().expect("an id");
    rig.wait_for_state(&key, id, "sent").await;
    rig.sim
        .receive_sms(OFFICER, "CP 京A12345")
        .expect("deliver to the simulated modem");
    rig.sim
        .wait_for_submitted(2, LONG_WAIT)
        .await
        .expect("the officer's answer left through the modem");

    let command = "jingxun_command_duration_seconds_count{keyword=\"CP\",";
    let messages_out = |text: &str| {
        ["sent", "delivered"]
            .iter()
            .filter_map(|state| {
                metric_sample(
                    text,
                    &format!("jingxun_queue_messages{{state=\"{state}\"}}"),
                )
            })
            .sum::<f64>()
    };
    let deadline = Instant::now() + LONG_WAIT;
    let (head, text) = loop {
        let (status, head, body) = raw_http(&metrics, "GET", "/metrics", &[], "");
        assert_eq!(status, 200, "{head}\n{body}");
        // The answer's state is committed shortly after the modem took it.
        if body.contains(command) && messages_out(&body) >= 2.0 {
            break (head, body);
        }
        assert!(
            Instant::now() < deadline,
            "no command latency, or not both messages out, in /metrics:\n{body}\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let at_least = |series: &str, n: f64| {
        let value = metric_sample(&text, series);
        assert!(
            value.is_some_and(|v| v >= n),
            "{series} is {value:?}, expected at least {n}:\n{text}"
        );
    };
    at_least(
        "jingxun_http_requests_total{surface=\"api\",status=\"202\"}",
        1.0,
    );
    at_least(
        "jingxun_http_requests_total{surface=\"api\",status=\"401\"}",
        1.0,
    );
    at_least("jingxun_modem_ready{modem=\"m0\"}", 1.0);
    at_least("jingxun_modem_state{modem=\"m0\",state=\"ready\"}", 1.0);
    at_least("jingxun_modem_parts_sent_total{modem=\"m0\"}", 2.0);
    at_least("jingxun_modem_parts_received_total{modem=\"m0\"}", 1.0);
    at_least("jingxun_store_up", 1.0);
    let answered = text
        .lines()
        .find(|l| l.starts_with(command))
        .expect("the command's series");
    assert!(
        answered.contains("outcome=\"answered\"") && answered.ends_with(" 1"),
        "{answered}"
    );
    for private in [
        "13800000001",
        OFFICER,
        "值班提醒",
        "京A12345",
        key.as_str(),
        "jx_notakey",
        "/api/v1",
    ] {
        assert!(!text.contains(private), "`{private}` in /metrics:\n{text}");
    }
    let (status, _, _) = raw_http(&metrics, "GET", "/healthz", &[], "");
    assert_eq!(status, 404, "the metrics listener serves /metrics only");
    let (_, _, main) = raw_http(&rig.daemon.http, "GET", "/metrics", &[], "");
    assert!(
        !main.contains("jingxun_http_requests_total"),
        "the HTTP port does not serve metrics: {main}"
    );
    rig.finish().await;
}

/// Polls the simulated modem until a message to `number` (canonical) says `text`.
async fn wait_for_text(rig: &Rig, number: &str, text: &str) {
    let deadline = Instant::now() + LONG_WAIT;
    while !texts_to(&rig.sim, number).iter().any(|t| t == text) {
        assert!(
            Instant::now() < deadline,
            "{number} never got {text:?}; it got {:?}\n{}",
            texts_to(&rig.sim, number),
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 13 (contract 1.1): an event plugin (the `notifier` fixture) receives a tick of its
/// schedule and a citizen application's change, and tells an address-book contact through its
/// outbox; its send to a number outside the address book is refused and the plugin sees the
/// refusal; both sends are audited; its state (a count of ticks) survives a kill -9 and a
/// restart, and every delivery ends done.
async fn an_event_plugin_hears_its_ticks_and_application_changes_and_keeps_its_state_across_a_restart(
    backend: Backend,
) {
    const CONTACT: &str = "+8613800000042";
    const STRANGER: &str = "+8613900000077";
    let mut rig = Rig::start(backend).await;
    rig.install_notifier(
        &[
            ("--capability", "state"),
            ("--capability", "send-to-contacts"),
            ("--capability", "citizen"),
        ],
        &[("to", CONTACT), ("stranger", STRANGER)],
    )
    .await;
    let cli = |args: &[&str]| rig.daemon.cli_ok(args);
    let unknown = rig.daemon.cli(&["plugin", "tick", "notifier", "morning"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("its schedules: evening"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    cli(&["plugin", "tick", "notifier", "evening"]);
    wait_for_text(&rig, CONTACT, "第1次晚间提醒").await;
    let state = rig.cli_json(&["plugin", "state", "notifier", "--json"]);
    let value = |key: &str| {
        state
            .iter()
            .find(|e| e["key"] == key)
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(value("ticks").as_deref(), Some("1"));
    let refusal = value("last-refusal").unwrap_or_default();
    assert!(
        refusal.contains("UnknownRecipient")
            && refusal.contains("not a number of the address book"),
        "{refusal}"
    );
    assert!(
        texts_to(&rig.sim, STRANGER).is_empty(),
        "nothing reached the stranger"
    );

    let key = rig.key("crj", "notify");
    let notice = rig.call(
        "POST",
        "/api/v1/notifications/citizen",
        Some(&key),
        Some(&json!({
            "application_number": "E440300202612080001",
            "kind": "passport",
            "status": "ready_for_collection",
            "phone": "13900000021",
        })),
    );
    assert_eq!(notice.status, 202, "{notice:?}");
    wait_for_text(&rig, CONTACT, "申请E440300202612080001状态：可领取").await;

    let sends: Vec<(String, String)> = rig
        .cli_json(&["audit", "--json", "--event", "plugin.send"])
        .iter()
        .map(|r| {
            (
                r["phone"].as_str().unwrap_or("").to_owned(),
                r["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for expected in [(CONTACT, "ok"), (STRANGER, "refused")] {
        assert!(
            sends
                .iter()
                .any(|(p, o)| (p.as_str(), o.as_str()) == expected),
            "{expected:?} not in {sends:?}"
        );
    }

    rig.daemon.kill9();
    rig.daemon.restart();
    rig.daemon.wait_ready().await;
    rig.daemon
        .cli_ok(&["plugin", "tick", "notifier", "evening"]);
    wait_for_text(&rig, CONTACT, "第2次晚间提醒").await;
    let deliveries = rig.cli_json(&["plugin", "events", "notifier", "--json"]);
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d["state"] == "done"),
        "{deliveries:?}"
    );
    rig.finish().await;
}

/// Issue 13: kill -9 while an event plugin waits in a host call, after it queued an SMS and
/// wrote its state: nothing of the call was kept. Started again, the daemon delivers the event
/// once more when the dead one's lease ends, and the contact gets the message exactly once.
async fn a_daemon_killed_in_the_middle_of_an_event_loses_and_doubles_nothing(backend: Backend) {
    const CONTACT: &str = "+8613800000042";
    // A server that accepts and never answers: the plugin's `hold`.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let (accepted, waiting) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming().flatten() {
            held.push(socket);
            let _ = accepted.send(());
        }
    });
    let mut rig = Rig::start_with(backend, "[plugins]\nwall_limit_ms = 2000\n").await;
    let host = format!("127.0.0.1:{port}");
    let hold = format!("http://{host}/");
    rig.install_notifier(
        &[
            ("--capability", "state"),
            ("--capability", "send-to-contacts"),
            ("--http-host", host.as_str()),
        ],
        &[("to", CONTACT), ("hold", hold.as_str())],
    )
    .await;
    rig.daemon
        .cli_ok(&["plugin", "tick", "notifier", "evening"]);
    if waiting.recv_timeout(LONG_WAIT).is_err() {
        panic!(
            "the plugin never reached its hold\n{}",
            rig.daemon.log_tail()
        );
    }
    rig.daemon.kill9();
    let to_contact = |rig: &Rig| -> Vec<String> {
        rig.daemon
            .messages("out")
            .iter()
            .filter(|m| m["peer"] == CONTACT)
            .map(|m| m["text"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert!(
        to_contact(&rig).is_empty(),
        "the killed call queued nothing"
    );
    assert_eq!(
        rig.daemon.cli_ok(&["plugin", "state", "notifier"]).trim(),
        "(0 keys, 0 bytes)",
        "the killed call wrote no state"
    );

    rig.daemon.cli_ok(&[
        "plugin", "config", "set", "--plugin", "notifier", "--key", "hold", "--value", "",
    ]);
    rig.daemon.restart();
    rig.daemon.wait_ready().await;
    wait_for_text(&rig, CONTACT, "第1次晚间提醒").await;
    let deliveries = rig.cli_json(&["plugin", "events", "notifier", "--json"]);
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(
        (&deliveries[0]["state"], &deliveries[0]["attempts"]),
        (&json!("done"), &json!(2)),
        "delivered again after the kill, and done"
    );
    assert_eq!(to_contact(&rig), ["第1次晚间提醒"], "sent exactly once");
    rig.finish().await;
}
