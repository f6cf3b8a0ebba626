//! End-to-end tests of operations (issue 18 item 12): `jingxun backup` taken while the daemon
//! runs under load and `jingxun restore` into a fresh place, the restore refused while a daemon
//! has the database open, PostgreSQL pointed to pg_dump, and `jingxun retention run`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Backend, Daemon, Database, JINGXUN, ModemSpec};
use jingxun::modem::sim::{SimConfig, SimModem};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

jingxun::on_both_backends!(Backend => retention_run_deletes_old_finished_messages_and_leaves_an_audit_trail);

/// Recipients of every send of the load: one send is one transaction of five messages and
/// their audit row.
const RECIPIENTS: usize = 5;
/// Long enough for two SMS parts (UCS2, more than 70 characters).
const TEXT: &str = "今晚八点在三楼会议室召开全体民警会议，请各单位负责人提前十分钟到场签到，\
                    会议内容涉及下月勤务安排和节假日值班表，请准时参加，不得缺席。";

/// One send of the load: the ids the API answered with, and when the answer came.
struct Sent {
    ids: Vec<i64>,
    answered: Instant,
}

/// `POST /api/v1/messages` with a key; the status and the JSON answer.
fn post(address: &str, key: &str, body: &Value) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the daemon");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let body = body.to_string();
    write!(
        stream,
        "POST /api/v1/messages HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the answer");
    let (head, payload) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

/// Runs `jingxun --config CONFIG ARGS` in the configuration's folder.
fn jingxun(config: &Path, args: &[&str]) -> Output {
    Command::new(JINGXUN)
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(config.parent().expect("a folder"))
        .output()
        .expect("run jingxun")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_to_a_database_that_verifies_and_has_every_committed_message()
 {
    let dir = tempfile::tempdir().expect("temporary folder");
    let folder = dir.path().to_path_buf();
    let database = Database::create(&Backend::Sqlite, dir.path()).await;
    let link = dir.path().join("modem0");
    let sim = SimModem::start(SimConfig::default(), Some(link.clone()))
        .await
        .expect("start the simulated modem");
    let spec = ModemSpec {
        name: "m0".into(),
        port: link,
        extra: String::new(),
    };
    let mut daemon = Daemon::start(dir, &database.url, &[spec], "");
    daemon.wait_ready().await;
    let key = daemon
        .cli_ok(&[
            "apikey", "create", "--name", "load", "--scopes", "send", "--rate", "1000",
        ])
        .trim()
        .to_owned();

    // The load: sends one after another until told to stop, each answered 202 only once
    // committed; the modem sends them meanwhile (parts, states, reports being written too).
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let load = {
        let (stop, sent, address, key) = (stop.clone(), sent.clone(), daemon.http.clone(), key);
        std::thread::spawn(move || {
            let mut n = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let to: Vec<String> = (0..RECIPIENTS as u64)
                    .map(|r| format!("1390000{:04}", (n * RECIPIENTS as u64 + r) % 10_000))
                    .collect();
                let (status, answer) = post(&address, &key, &json!({ "to": to, "text": TEXT }));
                assert_eq!(status, 202, "{answer}");
                let ids = answer["messages"]
                    .as_array()
                    .expect("the queued messages")
                    .iter()
                    .map(|m| m["id"].as_i64().expect("an id"))
                    .collect();
                sent.lock().unwrap().push(Sent {
                    ids,
                    answered: Instant::now(),
                });
                n += 1;
            }
        })
    };
    let count = || sent.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() < 20 {
        assert!(Instant::now() < deadline, "the load does not get through");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let backup_file = folder.join("backup.db");
    let began = Instant::now();
    let summary = daemon.cli_ok(&["backup", "--out", backup_file.to_str().unwrap(), "--json"]);
    let ended = Instant::now();
    // Sends answered after the backup, so that it was taken under load.
    let after = count();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() < after + 10 {
        assert!(
            Instant::now() < deadline,
            "the load stopped during the backup"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    load.join().expect("the load ran without failing");
    assert!(daemon.terminate(), "the daemon stops cleanly");
    sim.shutdown().await;

    let summary: Value = serde_json::from_str(summary.trim()).expect("backup --json");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backup_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the backup is readable by its owner only"
    );
    // An existing backup is never replaced without --force.
    let again = daemon.cli(&["backup", "--out", backup_file.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{again:?}"
    );

    // Restore into a fresh folder, with the platform key kept apart from the backup.
    let elsewhere = tempfile::tempdir().expect("temporary folder");
    let config = elsewhere.path().join("jingxun.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}/jingxun.db\"\n[secrets]\nkey_file = \"{}\"\n",
            elsewhere.path().display(),
            folder.join("jingxun.key").display()
        ),
    )
    .unwrap();
    let restored = ok(
        &jingxun(
            &config,
            &["restore", "--from", backup_file.to_str().unwrap(), "--json"],
        ),
        "restore",
    );
    let restored: Value = serde_json::from_str(restored.trim()).expect("restore --json");
    assert_eq!(
        restored["messages"], summary["messages"],
        "{restored} {summary}"
    );
    assert_eq!(restored["last_message_id"], summary["last_message_id"]);

    // (a) The restored audit log verifies with the platform key.
    let verified = ok(&jingxun(&config, &["audit", "verify"]), "audit verify");
    assert!(verified.contains("audit chain intact"), "{verified}");

    let mut db = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}/jingxun.db",
        elsewhere.path().display()
    ))
    .await
    .expect("open the restored database");
    let present: HashMap<i64, (String, String, Option<i64>, Option<String>)> =
        sqlx::query("SELECT id, text, state, parts_total, batch_id FROM messages")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<i64, _>(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
            .collect();
    assert_eq!(
        present.len() as i64,
        summary["messages"].as_i64().unwrap(),
        "the backup holds what it says"
    );

    // (b) Every send in the backup is whole: its audit row and all its messages, each with
    // every part of its split.
    let audited: Vec<(String, i64)> =
        sqlx::query("SELECT object, details FROM audit_log WHERE event = 'message.send'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let details: Value = serde_json::from_str(&r.get::<String, _>(1)).unwrap();
                (r.get(0), details["recipients"].as_i64().unwrap())
            })
            .collect();
    let mut batches: HashMap<&str, usize> = HashMap::new();
    for (_, _, _, batch) in present.values() {
        let batch = batch
            .as_deref()
            .expect("every message came through the API");
        *batches.entry(batch).or_default() += 1;
    }
    assert_eq!(audited.len(), batches.len(), "one audit row per send");
    for (batch, recipients) in &audited {
        assert_eq!(*recipients, RECIPIENTS as i64);
        assert_eq!(
            batches.get(batch.as_str()).copied(),
            Some(RECIPIENTS),
            "send {batch} is whole"
        );
    }
    let parts: HashMap<i64, (i64, i64)> = sqlx::query(
        "SELECT message_id, COUNT(*), SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) \
         FROM message_parts GROUP BY message_id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), (r.get(1), r.get(2))))
    .collect();
    for (id, (text, state, total, _)) in &present {
        assert_eq!(text, TEXT, "message {id} keeps its text");
        if let Some((count, pending)) = parts.get(id) {
            assert_eq!(Some(*count), *total, "message {id} has every part row");
            if state == "sent" || state == "delivered" {
                assert_eq!(*pending, 0, "message {id} is {state} with a part unsent");
            }
        } else {
            // Parts are written when the first one is sent.
            assert!(
                state == "queued" || state == "sending",
                "message {id} is {state} without parts"
            );
        }
    }
    db.close().await.unwrap();

    // (c) Every send answered before the backup began is there; some answered after it ended
    // are not (the copy is the snapshot of one moment, and the load went on).
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let committed_before: Vec<i64> = sent
        .iter()
        .filter(|s| s.answered < began)
        .flat_map(|s| s.ids.clone())
        .collect();
    assert!(committed_before.len() >= 20 * RECIPIENTS);
    let missing: Vec<_> = committed_before
        .iter()
        .filter(|id| !present.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "committed before the backup, missing: {missing:?}"
    );
    let later: HashSet<i64> = sent
        .iter()
        .filter(|s| s.answered > ended)
        .flat_map(|s| s.ids.clone())
        .collect();
    assert!(
        later.iter().any(|id| !present.contains_key(id)),
        "sends answered after the backup are not in it"
    );
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_is_refused_while_the_daemon_runs_and_goes_through_once_it_is_gone() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let folder = dir.path().to_path_buf();
    let database = Database::create(&Backend::Sqlite, dir.path()).await;
    let mut daemon = Daemon::start(dir, &database.url, &[], "");
    daemon.public_health().await;
    daemon.send("13800000001", "备份之前");
    let backup_file = folder.join("backup.db");
    let out = daemon.cli_ok(&["backup", "--out", backup_file.to_str().unwrap()]);
    assert!(out.contains("1 message(s)"), "{out}");
    daemon.send("13800000002", "备份之后");

    let refused = daemon.cli(&["restore", "--from", backup_file.to_str().unwrap()]);
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("in use") && said.contains("stop the daemon"),
        "{said}"
    );
    assert_eq!(daemon.messages("out").len(), 2, "nothing was changed");

    // Killed rather than stopped: a daemon that died leaves its -wal and -shm behind, which
    // the restore must not let near the restored file.
    daemon.kill9();
    assert!(folder.join("jingxun.db-wal").exists());
    let out = daemon.cli_ok(&["restore", "--from", backup_file.to_str().unwrap()]);
    assert!(out.contains("1 message(s)"), "{out}");
    let messages = daemon.messages("out");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["text"], "备份之前");
    let verified = daemon.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("audit chain intact"), "{verified}");
    let restores = daemon.cli_ok(&["audit", "--event", "backup.restore", "--json"]);
    assert_eq!(restores.lines().count(), 1, "{restores}");
    // The daemon starts again on the restored database.
    daemon.restart();
    assert_eq!(daemon.public_health().await["status"], "up");
    database.drop_database().await;
}

#[tokio::test]
async fn backup_and_restore_on_postgresql_name_pg_dump_and_pg_restore_and_fail() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let daemon = Daemon::configure(dir, "postgres://jx:s3cret@127.0.0.1:1/jingxun", &[], "");
    let out = daemon.cli(&["backup", "--out", "jingxun.dump"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("pg_dump -Fc -d 'postgres://jx:***@127.0.0.1:1/jingxun'"),
        "{said}"
    );
    assert!(!said.contains("s3cret"), "{said}");
    let out = daemon.cli(&["restore", "--from", "jingxun.dump"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("pg_restore"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
}

async fn retention_run_deletes_old_finished_messages_and_leaves_an_audit_trail(backend: Backend) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = Database::create(&backend, dir.path()).await;
    let daemon = Daemon::configure(dir, &database.url, &[], "");
    // Creates the schema and the key; this one is young and queued: it stays.
    daemon.send("13800000001", "still to send");
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&database.url)
        .await
        .expect("connect");
    let two_years_ago = jingxun::clock::now_ms() - 2 * 365 * 86_400_000;
    sqlx::query(
        "INSERT INTO messages (direction, peer, text, state, created_at, updated_at) \
         VALUES ('out', '+8613800000002', 'long done', 'delivered', $1, $1)",
    )
    .bind(two_years_ago)
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let report: Value =
        serde_json::from_str(daemon.cli_ok(&["retention", "run", "--json"]).trim()).unwrap();
    assert_eq!(report["messages"], 1, "{report}");
    let left = daemon.messages("out");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["text"], "still to send");
    let text = daemon.cli_ok(&["retention", "run"]);
    assert!(text.contains("older than 365 days): 0 deleted"), "{text}");
    assert!(text.contains("audit rows: kept for ever"), "{text}");
    let rows = daemon.cli_ok(&["audit", "--event", "retention.run", "--json"]);
    assert_eq!(
        rows.lines().count(),
        1,
        "only the run that deleted is audited: {rows}"
    );
    assert!(
        daemon
            .cli_ok(&["audit", "verify"])
            .contains("audit chain intact")
    );
    database.drop_database().await;
}
