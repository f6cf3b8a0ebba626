//! Backup and restore of a SQLite store: private files, no overwrite unless forced, checks
//! before anything is replaced, refusal while the database is open, PostgreSQL pointed to its
//! own tools.

use std::os::unix::fs::PermissionsExt;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::*;
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::store::NewOutbound;

/// A configured SQLite database with its key file, in a folder of its own.
struct Site {
    dir: tempfile::TempDir,
    config: Config,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = site_config(dir.path(), dir.path());
        Site { dir, config }
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("jingxun.db")
    }

    /// The store as the daemon opens it (with the site's key file).
    async fn open(&self) -> Store {
        crate::store::open_store(&self.config).await.unwrap()
    }

    /// `count` messages and one audit row per message, committed.
    async fn write(&self, count: usize) {
        let store = self.open().await;
        let batch: Vec<_> = (0..count)
            .map(|i| NewOutbound::new(format!("+86138000{i:05}"), "明早八点集合"))
            .collect();
        store.enqueue(&batch).await.unwrap();
        let log = AuditLog::new(store.clone());
        for i in 0..count {
            log.append(
                AuditEntry::new(
                    AuditComponent::Cli,
                    AuditEvent::MessageSend,
                    AuditOutcome::Ok,
                )
                .with_object(format!("{i}")),
            )
            .await
            .unwrap();
        }
        store.close().await;
    }

    async fn count(&self, sql: &str) -> i64 {
        let mut conn = connect(&self.database()).await;
        let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        n
    }
}

/// A connection to the SQLite file `path`, beside the store, for what a test looks at or
/// changes behind its back.
async fn connect(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap()
}

/// A configuration with its database in `folder` and its key file in `key_folder`.
fn site_config(folder: &Path, key_folder: &Path) -> Config {
    Config::from_toml(&format!(
        "[database]\nurl = \"sqlite://{}/jingxun.db\"\n[secrets]\nkey_file = \"{}/jingxun.key\"\n",
        folder.display(),
        key_folder.display()
    ))
    .unwrap()
}

fn author() -> ChangeAuthor {
    ChangeAuthor::new("cli:test", "cli")
}

/// No `.jingxun-backup-*` or `.jingxun-restore-*` left behind in `folder`.
fn no_temporary_files(folder: &Path) {
    let left: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".jingxun-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[tokio::test]
async fn a_backup_is_private_holds_what_was_committed_and_replaces_a_file_only_when_forced() {
    let site = Site::new();
    site.write(3).await;
    let out = site.dir.path().join("backup.db");
    let summary = backup(&site.config, &out, false, &author()).await.unwrap();
    assert_eq!(summary.messages, 3);
    assert_eq!(summary.audit_rows, 3);
    assert_eq!(summary.bytes, std::fs::metadata(&out).unwrap().len());
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the backup holds the audit log and texts"
    );
    // The live log records the backup.
    let recorded = site
        .count("SELECT COUNT(*) FROM audit_log WHERE event = 'backup.create'")
        .await;
    assert_eq!(recorded, 1);

    site.write(2).await;
    let before = std::fs::read(&out).unwrap();
    let err = backup(&site.config, &out, false, &author())
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before, "left as it was");
    let summary = backup(&site.config, &out, true, &author()).await.unwrap();
    assert_eq!(summary.messages, 5);
    no_temporary_files(site.dir.path());
}

#[tokio::test]
async fn a_backup_never_overwrites_the_database_itself() {
    let site = Site::new();
    site.write(1).await;
    for name in ["jingxun.db", "jingxun.db-wal", "./jingxun.db"] {
        let out = site.dir.path().join(name);
        let err = backup(&site.config, &out, true, &author())
            .await
            .unwrap_err();
        assert!(
            matches!(err, BackupError::IsTheDatabase { .. }),
            "{name}: {err}"
        );
    }
    assert_eq!(site.count("SELECT COUNT(*) FROM messages").await, 1);
}

#[tokio::test]
async fn a_restore_puts_a_verified_backup_in_place_of_the_database() {
    let site = Site::new();
    site.write(4).await;
    let out = site.dir.path().join("backup.db");
    backup(&site.config, &out, false, &author()).await.unwrap();
    // Later changes, which the restore takes back.
    site.write(6).await;
    assert_eq!(site.count("SELECT COUNT(*) FROM messages").await, 10);

    let summary = restore(&site.config, &out, &author()).await.unwrap();

    assert_eq!(summary.messages, 4);
    assert_eq!(summary.last_message_id, 4);
    // The backup's own row (backup.create) was written to the live log after the copy.
    assert_eq!(summary.audit_rows, 4);
    assert_eq!(summary.database, site.database());
    assert_eq!(site.count("SELECT COUNT(*) FROM messages").await, 4);
    let store = site.open().await;
    let check = AuditLog::new(store.clone()).verify().await.unwrap();
    assert!(check.is_intact(), "{check:?}");
    assert_eq!(check.rows, 5, "the four rows and the restore's own");
    store.close().await;
    let mut conn = connect(&site.database()).await;
    let event: String = sqlx::query_scalar("SELECT event FROM audit_log WHERE id = 5")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(event, "backup.restore");
    let mode = std::fs::metadata(site.database())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    no_temporary_files(site.dir.path());
}

#[tokio::test]
async fn a_restore_into_a_fresh_folder_needs_only_the_key_file() {
    let site = Site::new();
    site.write(2).await;
    let out = site.dir.path().join("backup.db");
    backup(&site.config, &out, false, &author()).await.unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let config = site_config(fresh.path(), site.dir.path());
    let summary = restore(&config, &out, &author()).await.unwrap();
    assert_eq!(summary.messages, 2);
    assert!(fresh.path().join("jingxun.db").is_file());
    // Without the key file the backup's chain cannot be checked: nothing is written.
    let keyless = tempfile::tempdir().unwrap();
    let config = site_config(keyless.path(), keyless.path());
    let err = restore(&config, &out, &author()).await.unwrap_err();
    assert!(matches!(err, BackupError::Secrets(_)), "{err}");
    assert!(err.to_string().contains("secrets.key_file"), "{err}");
    assert!(!keyless.path().join("jingxun.db").exists());
}

#[tokio::test]
async fn a_restore_is_refused_while_the_database_is_open_elsewhere() {
    let site = Site::new();
    site.write(2).await;
    let out = site.dir.path().join("backup.db");
    backup(&site.config, &out, false, &author()).await.unwrap();
    site.write(1).await;
    // A daemon's pool: connections open, idle.
    let running = site.open().await;
    running
        .enqueue(&[NewOutbound::new("+8613800000009", "x")])
        .await
        .unwrap();

    let err = restore(&site.config, &out, &author()).await.unwrap_err();

    assert!(matches!(err, BackupError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("stop the daemon"), "{err}");
    let (n, _) = running.message_totals().await.unwrap();
    assert_eq!(n, 4, "the database is untouched and still usable");
    running.close().await;
    no_temporary_files(site.dir.path());
    // Once it is closed, the restore goes through.
    assert_eq!(
        restore(&site.config, &out, &author())
            .await
            .unwrap()
            .messages,
        2
    );
}

#[tokio::test]
async fn a_file_that_is_no_jingxun_database_is_refused_and_nothing_changes() {
    let site = Site::new();
    site.write(1).await;
    let garbage = site.dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let err = restore(&site.config, &garbage, &author())
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::NotABackup { .. }), "{err}");

    let other = site.dir.path().join("other.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&other)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::query("CREATE TABLE notes (text TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let err = restore(&site.config, &other, &author()).await.unwrap_err();
    assert!(matches!(err, BackupError::NotABackup { .. }), "{err}");
    assert!(err.to_string().contains("Jingxun schema"), "{err}");

    assert_eq!(site.count("SELECT COUNT(*) FROM messages").await, 1);
    no_temporary_files(site.dir.path());
}

#[tokio::test]
async fn a_backup_whose_audit_chain_was_changed_or_another_key_is_refused() {
    let site = Site::new();
    site.write(3).await;
    let out = site.dir.path().join("backup.db");
    backup(&site.config, &out, false, &author()).await.unwrap();
    // Someone with the file but not the key rewrites a row.
    let tampered = site.dir.path().join("tampered.db");
    std::fs::copy(&out, &tampered).unwrap();
    let mut conn = connect(&tampered).await;
    sqlx::raw_sql(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET object = 'nothing' WHERE id = 2",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let err = restore(&site.config, &tampered, &author())
        .await
        .unwrap_err();
    assert!(
        matches!(err, BackupError::AuditBroken { row: 2, .. }),
        "{err}"
    );
    // The right backup with another key file.
    let strangers = tempfile::tempdir().unwrap();
    Secrets::create(&strangers.path().join("jingxun.key")).unwrap();
    let config = site_config(site.dir.path(), strangers.path());
    let err = restore(&config, &out, &author()).await.unwrap_err();
    assert!(matches!(err, BackupError::AuditBroken { .. }), "{err}");
    assert_eq!(site.count("SELECT COUNT(*) FROM messages").await, 3);
    no_temporary_files(site.dir.path());
}

#[tokio::test]
async fn postgres_is_pointed_to_pg_dump_and_pg_restore_without_its_password() {
    let config =
        Config::from_toml("[database]\nurl = \"postgres://jx:s3cret@db.local:5432/jingxun\"\n")
            .unwrap();
    let err = backup(&config, Path::new("x.dump"), false, &author())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pg_dump -Fc -d 'postgres://jx:***@db.local:5432/jingxun'"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    let err = restore(&config, Path::new("x.dump"), &author())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("pg_restore"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn the_database_file_is_read_from_both_url_forms() {
    assert_eq!(
        sqlite_file("sqlite:///var/lib/jingxun/jingxun.db?mode=rwc"),
        Some(PathBuf::from("/var/lib/jingxun/jingxun.db"))
    );
    assert_eq!(
        sqlite_file("sqlite:jingxun.db"),
        Some(PathBuf::from("jingxun.db"))
    );
    assert_eq!(sqlite_file("sqlite::memory:"), None);
    assert_eq!(sqlite_file("postgres://jx@db/jx"), None);
}
