//! End-to-end tests of the directory and audit command line (issue 3 item 8; R2, R6, R15): the
//! real `jingxun` binary against a real database, SQLite always and PostgreSQL when
//! `JINGXUN_TEST_POSTGRES_URL` is set. No daemon is needed: the commands work on the store.

use std::path::Path;

use crate::support::{Backend, Cli, Database};

jingxun::on_both_backends!(Backend =>
    registry_changes_are_listed_and_audited_and_the_chain_verifies,
    mistakes_are_refused_with_what_to_do,
    audit_verify_checks_the_keyed_chain_with_the_key_file,
);

async fn database(backend: &Backend, dir: &Path) -> Database {
    Database::create(backend, dir).await
}

/// R2, R6, R15 and checklist "Audit": users, grants and phones made from the command line are
/// listed, every change and every read of the log is an audit row by `cli:<user>`, and the
/// chain verifies.
async fn registry_changes_are_listed_and_audited_and_the_chain_verifies(backend: Backend) {
    let scratch = tempfile::tempdir().expect("temporary folder");
    let db = database(&backend, scratch.path()).await;
    let cli = Cli::new(&db.url);

    cli.ok(&[
        "user", "add", "--login", "li.wei", "--name", "李伟", "--role", "officer",
    ]);
    cli.ok(&[
        "user",
        "add",
        "--login",
        "zhao",
        "--name",
        "赵六",
        "--role",
        "registrar",
        "--role",
        "auditor",
    ]);
    cli.ok(&["user", "grant", "--login", "li.wei", "--business", "crj"]);
    cli.ok(&["user", "grant", "--role", "registrar", "--business", "CP"]);
    let added = cli.ok(&[
        "phone",
        "add",
        "--number",
        "13800000001",
        "--name",
        "李伟",
        "--user",
        "li.wei",
    ]);
    assert!(added.contains("+8613800000001"), "{added}");
    cli.ok(&[
        "phone",
        "add",
        "--number",
        "+86 139 0000 0002",
        "--name",
        "值班室",
    ]);
    cli.ok(&["phone", "disable", "--number", "13900000002"]);
    let help = cli.path().join("help.txt");
    std::fs::write(&help, "发送 CP 车牌号 查询车辆。\n").expect("write help file");
    cli.ok(&[
        "help-text",
        "set",
        "--file",
        help.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(
        cli.ok(&["help-text", "show"]).trim(),
        "发送 CP 车牌号 查询车辆。"
    );

    let users = cli.json(&["user", "list", "--json"]);
    assert_eq!(users.len(), 2);
    let li = &users[0];
    assert_eq!(li["login"], "li.wei");
    assert_eq!(li["roles"], serde_json::json!(["officer"]));
    assert_eq!(li["grants"], serde_json::json!(["CRJ"]));
    assert_eq!(
        li["businesses"],
        serde_json::json!(["CP", "CRJ", "JZ", "SFZ", "TXL", "ZT"])
    );
    assert_eq!(li["phones"], serde_json::json!(["+8613800000001"]));
    assert_eq!(
        users[1]["businesses"],
        serde_json::json!(["CP"]),
        "through role registrar"
    );

    let phones = cli.json(&["phone", "list", "--json"]);
    assert_eq!(phones.len(), 2);
    assert_eq!(phones[0]["number"], "+8613800000001");
    assert_eq!(phones[0]["user"], "li.wei");
    assert_eq!(phones[0]["active"], true);
    assert_eq!(phones[1]["number"], "+8613900000002");
    assert_eq!(phones[1]["active"], false);
    assert!(
        phones[1]["disabled_at"].is_string(),
        "disabled_at in RFC 3339"
    );

    let rows = cli.json(&["audit", "--json", "--limit", "50"]);
    let events: Vec<&str> = rows
        .iter()
        .rev()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "user.add",
            "user.add",
            "user.grant",
            "role.grant",
            "phone.add",
            "phone.add",
            "phone.disable",
            "help_text.set"
        ],
        "newest first, and this read is not in its own result"
    );
    assert!(
        rows.iter()
            .all(|r| r["actor"] == "cli:e2e-admin" && r["source"] == "cli")
    );
    let by_phone = cli.json(&["audit", "--json", "--phone", "13900000002"]);
    assert_eq!(by_phone.len(), 2, "{by_phone:?}");
    assert_eq!(by_phone[0]["event"], "phone.disable");
    assert_eq!(by_phone[0]["phone"], "+8613900000002");

    let reads = cli.json(&["audit", "--json", "--event", "audit.read"]);
    assert_eq!(reads.len(), 2, "both earlier reads are recorded: {reads:?}");
    assert_eq!(reads[0]["actor"], "cli:e2e-admin");

    let verified = cli.ok(&["audit", "verify"]);
    assert!(
        verified.starts_with("audit chain intact: 11 row(s)"),
        "{verified}"
    );
    db.drop_database().await;
}

/// Errors say what is wrong and what to do, and change nothing.
async fn mistakes_are_refused_with_what_to_do(backend: Backend) {
    let scratch = tempfile::tempdir().expect("temporary folder");
    let db = database(&backend, scratch.path()).await;
    let cli = Cli::new(&db.url);

    let err = cli.fails(&[
        "phone",
        "add",
        "--number",
        "13800000001",
        "--name",
        "x",
        "--user",
        "ghost",
    ]);
    assert!(
        err.contains("no user `ghost`") && err.contains("jingxun user add"),
        "{err}"
    );
    let err = cli.fails(&[
        "user", "add", "--login", "li", "--name", "李伟", "--role", "sheriff",
    ]);
    assert!(
        err.contains("no role `sheriff`") && err.contains("officer"),
        "{err}"
    );
    cli.ok(&[
        "phone",
        "add",
        "--number",
        "+8613800000001",
        "--name",
        "李伟",
    ]);
    let err = cli.fails(&["phone", "add", "--number", "13800000001", "--name", "别人"]);
    assert!(err.contains("already registered"), "{err}");
    let err = cli.fails(&["phone", "remove", "--number", "13800000009"]);
    assert!(err.contains("jingxun phone list"), "{err}");
    let err = cli.fails(&["audit", "--since", "yesterday"]);
    assert!(err.contains("RFC 3339"), "{err}");
    assert_eq!(cli.json(&["phone", "list", "--json"]).len(), 1);
    assert!(cli.json(&["user", "list", "--json"]).is_empty());
    db.drop_database().await;
}

/// Issue 18 finding 7: the audit chain is keyed with the platform key of `[secrets] key_file`
/// (created 0600 at first use). A database owner who changes a row and recomputes every later
/// hash with plain SHA-256, as the unkeyed encoding does, is caught by `audit verify` at that
/// row; verification needs the key file, and another key reports a mismatch.
async fn audit_verify_checks_the_keyed_chain_with_the_key_file(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().expect("temporary folder");
    let db = database(&backend, scratch.path()).await;
    let cli = Cli::new(&db.url);
    let key_file = cli.path().join("platform.key");
    std::fs::write(
        &cli.config,
        format!(
            "[database]\nurl = \"{}\"\n[secrets]\nkey_file = \"{}\"\n",
            db.url,
            key_file.display()
        ),
    )
    .expect("write the configuration");
    for (number, name) in [("13800000001", "李伟"), ("13800000002", "王芳")] {
        cli.ok(&["phone", "add", "--number", number, "--name", name]);
    }
    let mode = std::fs::metadata(&key_file)
        .expect("the key file was created at first use")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let verified = cli.ok(&["audit", "verify"]);
    assert!(
        verified.starts_with("audit chain intact: 2 row(s)")
            && verified.contains("keyed with the platform key from row 1: 2 keyed row(s)"),
        "{verified}"
    );

    // The database owner's rewrite: triggers off, row 2 changed, rows 2.. re-hashed unkeyed.
    let pool = raw_pool(&db.url).await;
    let protection = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres(_) => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    };
    sqlx::raw_sql(protection)
        .execute(&pool)
        .await
        .expect("drop protection");
    sqlx::raw_sql("UPDATE audit_log SET object = '+8613800000009' WHERE id = 2")
        .execute(&pool)
        .await
        .expect("tamper");
    rehash_unkeyed(&pool, 2).await;
    pool.close().await;
    let err = cli.fails(&["audit", "verify"]);
    assert!(
        err.contains("audit chain broken at row 2 of 3") && err.contains("keyed-chain mismatch"),
        "{err}"
    );

    // Without the key file there is nothing to verify with; a new key is not made up.
    let kept = cli.path().join("platform.key.kept");
    std::fs::rename(&key_file, &kept).expect("move the key away");
    let err = cli.fails(&["audit", "verify"]);
    assert!(
        err.contains("secrets.key_file") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!key_file.exists(), "verify never creates a key");
    // Nor do the other commands make a new key for a keyed log.
    let err = cli.fails(&["phone", "add", "--number", "13800000003", "--name", "赵六"]);
    assert!(
        err.contains("secrets.key_file") && err.contains("keyed with it from row 1"),
        "{err}"
    );
    assert!(!key_file.exists());

    // Another key: a mismatch where keying starts, and no command extends the chain with it.
    std::fs::write(&key_file, format!("{}\n", "5a".repeat(32))).expect("write another key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = cli.fails(&["audit", "verify"]);
    assert!(
        err.contains("audit chain broken at row 1") && err.contains("keyed-chain mismatch"),
        "{err}"
    );
    let err = cli.fails(&["phone", "add", "--number", "13800000003", "--name", "赵六"]);
    assert!(
        err.contains("another platform key") && err.contains("secrets.key_file"),
        "{err}"
    );
    // A key file others may read is refused.
    std::fs::rename(&kept, &key_file).expect("restore the key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = cli.fails(&["audit", "verify"]);
    assert!(err.contains("chmod 600"), "{err}");
    db.drop_database().await;
}

/// A connection to the test database behind the binary's back.
async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.expect("connect")
}

/// Re-hashes rows `from_id`.. with the unkeyed encoding (`jingxun-audit-v1`, SHA-256; see
/// `host/src/audit/chain.rs`), re-linking each to the one before: written out here as an
/// outsider without the key would.
async fn rehash_unkeyed(pool: &sqlx::AnyPool, from_id: i64) {
    use sha2::{Digest, Sha256};
    use sqlx::Row;
    fn text(bytes: &mut Vec<u8>, value: Option<&str>) {
        match value {
            None => bytes.push(0),
            Some(s) => {
                bytes.push(1);
                bytes.extend((s.len() as u64).to_be_bytes());
                bytes.extend(s.as_bytes());
            }
        }
    }
    let rows = sqlx::query(
        "SELECT id, at, component, event, actor, phone, object, outcome, details, source, \
         request_id, hash FROM audit_log ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("read the log");
    let mut prev = "0".repeat(64);
    for row in rows {
        let id: i64 = row.get("id");
        if id < from_id {
            prev = row.get("hash");
            continue;
        }
        let mut bytes = b"jingxun-audit-v1\0".to_vec();
        text(&mut bytes, Some(&prev));
        bytes.extend(id.to_be_bytes());
        bytes.extend(row.get::<i64, _>("at").to_be_bytes());
        for column in [
            "component",
            "event",
            "actor",
            "phone",
            "object",
            "outcome",
            "details",
            "source",
            "request_id",
        ] {
            text(&mut bytes, row.get::<Option<String>, _>(column).as_deref());
        }
        let hash = hex::encode(Sha256::digest(&bytes));
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(id)
            .execute(pool)
            .await
            .expect("re-hash");
        prev = hash;
    }
}
