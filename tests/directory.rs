//! End-to-end tests of the directory and audit command line (issue 3 item 8; R2, R6, R15): the
//! real `jingxun` binary against a real database, SQLite always and PostgreSQL when
//! `JINGXUN_TEST_POSTGRES_URL` is set. No daemon is needed: the commands work on the store.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{Backend, Database, JINGXUN};

on_both_backends!(
    registry_changes_are_listed_and_audited_and_the_chain_verifies,
    mistakes_are_refused_with_what_to_do,
);

/// A configuration naming the test database, in the test's folder.
struct Cli {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Cli {
    fn new(database_url: &str) -> Cli {
        let dir = tempfile::tempdir().expect("temporary folder");
        let config = dir.path().join("jingxun.toml");
        std::fs::write(&config, format!("[database]\nurl = \"{database_url}\"\n"))
            .expect("write the configuration");
        Cli { dir, config }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(JINGXUN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "e2e-admin")
            .output()
            .expect("run jingxun")
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "jingxun {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs a command that must fail; returns its standard error.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "jingxun {args:?} should fail");
        String::from_utf8(out.stderr).expect("UTF-8 output")
    }

    /// A `--json` command's lines, parsed.
    fn json(&self, args: &[&str]) -> Vec<Value> {
        self.ok(args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

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
        serde_json::json!(["CP", "CRJ", "JZ", "SFZ", "ZT"])
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
