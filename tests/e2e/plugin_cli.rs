//! End-to-end tests of the plugin administration command line (issue 3 items 2, 3 and 8; R5):
//! the real `jingxun` binary installs, upgrades, rolls back, disables and grants plugins in the
//! store while a daemon runs, and the daemon picks each change up without a restart.
//! Uses the test components built by `cargo xtask plugins` (target/plugins/fixtures/).

use std::time::Duration;

use crate::support::{Daemon, fixture_plugin, shipped_plugin};
use serde_json::Value;

/// Waits until the daemon's log shows `needle` (the daemon polls the store every 2 s).
async fn wait_for_log(daemon: &Daemon, needle: &str) {
    for _ in 0..150 {
        if daemon.log_tail().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the daemon never logged {needle:?}:\n{}", daemon.log_tail());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_changes_made_with_the_cli_reach_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/jingxun.db", dir.path().display());
    let bundled = dir.path().join("no-bundled-plugins");
    let extra = format!(
        "[plugins]\nbundled_dir = \"{}\"\ncache_dir = \"{}\"\n",
        bundled.display(),
        dir.path().join("cache").display()
    );
    let daemon = Daemon::start(dir, &db, &[], &extra);
    wait_for_log(&daemon, "plugin commands ready").await;

    let out = daemon.cli_ok(&["plugin", "install", &fixture_plugin("echo")]);
    assert!(
        out.contains("installed echo 1.0.0 (contract 1.0.0, enabled), answering ECHO"),
        "{out}"
    );
    wait_for_log(&daemon, "echo@1.0.0").await;

    let out = daemon.cli_ok(&["plugin", "install", &fixture_plugin("echo-v2")]);
    assert!(
        out.contains("previous version 1.0.0 kept for rollback"),
        "{out}"
    );
    wait_for_log(&daemon, "echo@2.0.0").await;

    // Another plugin may not take ECHO while echo is enabled.
    let refused = daemon.cli(&["plugin", "install", &fixture_plugin("copycat")]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("keyword ECHO is already answered by the enabled plugin `echo`"),
        "{stderr}"
    );

    let out = daemon.cli_ok(&["plugin", "rollback", "echo"]);
    assert!(out.contains("echo rolled back to 1.0.0"), "{out}");

    daemon.cli_ok(&["plugin", "install", &fixture_plugin("sneaky")]);
    let records = daemon.dir.path().join("records.db");
    std::fs::write(&records, b"").unwrap();
    let out = daemon.cli_ok(&[
        "datasource",
        "add",
        "--name",
        "records",
        "--url",
        &format!("sqlite://{}", records.display()),
    ]);
    assert!(out.starts_with("added datasource records"), "{out}");
    daemon.cli_ok(&[
        "plugin",
        "grant",
        "--plugin",
        "sneaky",
        "--datasource",
        "records",
    ]);
    daemon.cli_ok(&[
        "plugin",
        "grant",
        "--plugin",
        "sneaky",
        "--http-host",
        "api.example.cn:80",
    ]);
    daemon.cli_ok(&[
        "plugin",
        "revoke",
        "--plugin",
        "sneaky",
        "--http-host",
        "api.example.cn:80",
    ]);
    // A plugin of contract 1.1 says which capabilities it asks for; each is granted by name,
    // and a name the host does not know is refused with the ones it does.
    let out = daemon.cli_ok(&["plugin", "install", &shipped_plugin("application")]);
    assert!(
        out.contains("installed application 1.0.0 (contract 1.1.0, enabled), answering BZ")
            && out.contains("capabilities [citizen]")
            && out.contains("--capability NAME"),
        "{out}"
    );
    daemon.cli_ok(&[
        "plugin",
        "grant",
        "--plugin",
        "application",
        "--capability",
        "citizen",
    ]);
    let refused = daemon.cli(&[
        "plugin",
        "grant",
        "--plugin",
        "application",
        "--capability",
        "teleport",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("directory, citizen"), "{stderr}");
    daemon.cli_ok(&["plugin", "disable", "echo"]);
    daemon.cli_ok(&[
        "plugin", "config", "set", "--plugin", "echo", "--key", "prefix", "--value", "X",
    ]);

    let listed: Vec<Value> = daemon
        .cli_ok(&["plugin", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["name"], "application");
    assert_eq!(listed[0]["contract"], "1.1.0");
    assert_eq!(
        listed[0]["grants"],
        serde_json::json!(["capability:citizen"])
    );
    assert_eq!(listed[1]["name"], "echo");
    assert_eq!(listed[1]["contract"], "1.0.0");
    assert_eq!(listed[1]["version"], "1.0.0");
    assert_eq!(listed[1]["previous_version"], "2.0.0");
    assert_eq!(listed[1]["enabled"], false);
    assert_eq!(listed[2]["name"], "sneaky");
    assert_eq!(
        listed[2]["grants"],
        serde_json::json!(["datasource:records"])
    );

    // Each of those changes has its audit row, by the operating-system user on the CLI
    // (security checklist, "Audit"); the configuration value itself is not recorded.
    let rows: Vec<Value> = daemon
        .cli_ok(&["audit", "--json", "--limit", "100"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| {
            r["component"] == "plugins"
                && r["source"] == "cli"
                && r["actor"].as_str().is_some_and(|a| a.starts_with("cli:"))
        })
        .collect();
    let mut events: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["event"].as_str().unwrap(),
                r["object"].as_str().unwrap()
            )
        })
        .collect();
    events.reverse();
    for expected in [
        "plugin.install echo",
        "plugin.rollback echo",
        "plugin.install sneaky",
        "datasource.add records",
        "plugin.grant sneaky",
        "plugin.revoke sneaky",
        "plugin.disable echo",
        "plugin.config echo",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} by the CLI missing: {events:?}"
        );
    }
    assert!(
        rows.iter()
            .all(|r| !r["details"].to_string().contains("\"X\"")),
        "{rows:?}"
    );

    // The daemon now serves application and sneaky.
    wait_for_log(&daemon, "[\"application@1.0.0 (").await;

    let mistakes = [
        (vec!["plugin", "rollback", "sneaky"], "no previous version"),
        (
            vec!["plugin", "enable", "nonesuch"],
            "no plugin named `nonesuch`",
        ),
        (
            vec![
                "plugin",
                "grant",
                "--plugin",
                "sneaky",
                "--datasource",
                "police",
            ],
            "no datasource named `police`",
        ),
        (
            vec![
                "datasource",
                "add",
                "--name",
                "police",
                "--url",
                "sqlite:///nonexistent/p.db",
            ],
            "is not a file",
        ),
    ];
    for (args, why) in mistakes {
        let out = daemon.cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(why),
            "{args:?}: {stderr}"
        );
    }
}

/// Issue 18 finding 9: `jingxun datasource add` refuses a PostgreSQL datasource whose role is a
/// superuser or may write, saying how to create a SELECT-only role, and accepts such a role.
/// Runs when `JINGXUN_TEST_POSTGRES_URL` names a test server (which trusts local logins).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_datasource_must_log_in_as_a_role_that_can_only_select() {
    use sqlx::Connection;
    let Some(backend) = crate::support::Backend::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let police = crate::support::Database::create(&backend, dir.path()).await;
    let role = format!("jx_cli_reader_{}", std::process::id());
    let run = |url: String, sql: String| async move {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    };
    run(
        police.url.clone(),
        format!(
            "CREATE TABLE vehicles (plate text PRIMARY KEY); CREATE ROLE {role} LOGIN; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
        ),
    )
    .await;
    let store = format!("sqlite://{}/jingxun.db", dir.path().display());
    let daemon = Daemon::configure(dir, &store, &[], "");

    let refused = daemon.cli(&[
        "datasource",
        "add",
        "--name",
        "police",
        "--url",
        &police.url,
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && stderr.contains("is a superuser")
            && stderr.contains("GRANT SELECT ON ALL TABLES IN SCHEMA public TO jingxun_reader"),
        "{stderr}"
    );
    let (scheme, rest) = police.url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    let reader = format!("{scheme}://{role}@{host}");
    let out = daemon.cli_ok(&["datasource", "add", "--name", "police", "--url", &reader]);
    assert!(out.starts_with("added datasource police"), "{out}");

    let admin = match &backend {
        crate::support::Backend::Postgres(url) => url.clone(),
        crate::support::Backend::Sqlite => unreachable!(),
    };
    police.drop_database().await;
    run(admin, format!("DROP ROLE IF EXISTS {role}")).await;
}

/// Issue 13 (the plugin author's kit): `jingxun plugin try` runs a component on one command
/// with only the grants given, without a daemon or an install: it prints the reply and every
/// host call, a refused one marked, and exits 0 only when the plugin answered.
#[test]
fn plugin_try_runs_a_component_on_one_command_and_shows_its_host_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/jingxun.db", dir.path().display());
    let daemon = Daemon::configure(dir, &store, &[], "");
    let police = daemon.dir.path().join("police.db");
    daemon.cli_ok(&["demo-data", "--out", police.to_str().unwrap()]);
    let vehicle = shipped_plugin("vehicle");
    let granted = format!("police=sqlite://{}", police.display());
    let out = daemon.cli_ok(&[
        "plugin",
        "try",
        &vehicle,
        "--from",
        "13800000001",
        "--datasource",
        &granted,
        "cp 京a12345",
    ]);
    assert!(
        out.starts_with("plugin vehicle 1.0.0 (contract 1.1.0), answering CP\n"),
        "{out}"
    );
    assert!(out.contains("\n  datasource.query police\n"), "{out}");
    assert!(out.contains("reply (answered, "), "{out}");
    assert!(out.contains("京A12345"), "{out}");

    let refused = daemon.cli(&[
        "plugin",
        "try",
        &vehicle,
        "--from",
        "13800000001",
        "CP 京A12345",
    ]);
    assert!(!refused.status.success());
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(
        stdout.contains("  datasource.query police  REFUSED: not granted")
            && stdout.contains("no reply: "),
        "{stdout}"
    );
    // Nothing was installed or compiled into the configured store's folder.
    assert!(!daemon.dir.path().join("jingxun.db").exists());
    assert!(!daemon.dir.path().join("plugin-cache").exists());
}
