//! End-to-end tests of the HTTP API for other systems (issue 5; R16, R19, R20): the real
//! `jingxun` binary, a simulated modem on a pseudo-terminal, keys made with `jingxun apikey`,
//! and plain HTTP/1.1 requests. Every test runs on SQLite, and again on PostgreSQL when
//! `JINGXUN_TEST_POSTGRES_URL` is set.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use jingxun::modem::sim::{SimConfig, SimHandle, SimModem};
use serde_json::{Value, json};
use support::{Backend, Daemon, Database, ModemSpec};

const LONG_WAIT: Duration = Duration::from_secs(60);

on_both_backends!(
    a_message_posted_through_the_api_reaches_the_modem_and_its_state_is_readable,
    the_same_idempotency_key_sends_once_and_another_body_with_it_is_refused,
    requests_without_a_usable_key_or_scope_get_problem_documents,
    a_message_whose_validity_ended_is_never_sent,
    the_openapi_document_parses_and_lists_the_paths,
);

/// The daemon, its simulated modem and its database.
struct Rig {
    daemon: Daemon,
    sim: SimHandle,
    database: Database,
}

impl Rig {
    async fn start(backend: Backend) -> Rig {
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
        let daemon = Daemon::start(dir, &database.url, &[spec], "");
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
        http(&self.daemon.http, method, path, key, body)
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
    body: Value,
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), answered in full. The
/// harness needs nothing more, so no HTTP client crate is pulled in for it.
fn http(address: &str, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Reply {
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
