//! SQLite files for backups and restores (issue 18 item 12): the consistent copy of a running
//! store (`VACUUM INTO`), and what a restore asks of a file outside the store's pool: what it
//! holds, whether it is a sound Jingxun database, switching it out of WAL mode, and holding the
//! live database exclusively while it is replaced. The backup and the restore themselves
//! (files, the platform key, their audit rows) are [`crate::operations::backup`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};

use super::{Backend, Store, StoreError, redact_url};

/// The file of a `sqlite://FILE` (or `sqlite:FILE`) URL; `None` for PostgreSQL and in-memory
/// databases.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && !path.contains(":memory:"))
        .map(PathBuf::from)
}

/// The `pg_dump` (for a backup) or `pg_restore` command for the database of `url`, password
/// and secret parameters redacted (libpq reads the password from `~/.pgpass` or `PGPASSWORD`).
pub fn postgres_command(action: &'static str, url: &str) -> String {
    let url = redact_url(url);
    match action {
        "backup" => format!("pg_dump -Fc -d '{url}' -f jingxun.dump"),
        _ => format!("pg_restore --clean --if-exists --no-owner -d '{url}' jingxun.dump"),
    }
}

/// A single connection to the SQLite file `path`, outside the store's pool and without its
/// settings; `busy` is how long it waits for a lock.
async fn open_file(path: &Path, busy: Duration) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(busy)
        .connect()
        .await
}

impl Store {
    /// Writes a consistent copy of this SQLite store into `path`, an empty or missing file,
    /// with `VACUUM INTO` (see the module documentation); beside running writers.
    pub async fn vacuum_into(&self, path: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::InvalidInput {
                field: "backend",
                reason: "VACUUM INTO copies SQLite databases only".into(),
            });
        }
        let target = path.to_str().ok_or_else(|| StoreError::InvalidInput {
            field: "path",
            reason: format!("{} is not UTF-8", path.display()),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many messages this store holds, and the highest message id (0 when none).
    pub(crate) async fn message_totals(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM messages")
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

/// What a database file holds, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileCounts {
    /// Messages, inbound and outbound.
    pub messages: i64,
    /// The highest message id (0 when none).
    pub last_message_id: i64,
    /// Audit rows.
    pub audit_rows: i64,
}

/// Counts what the database file at `path` holds.
pub(crate) async fn file_counts(path: &Path) -> Result<FileCounts, StoreError> {
    let mut conn = open_file(path, Duration::from_secs(5)).await?;
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM messages), (SELECT COALESCE(MAX(id), 0) FROM messages), \
         (SELECT COUNT(*) FROM audit_log)",
    )
    .fetch_one(&mut conn)
    .await?;
    let counts = FileCounts {
        messages: row.try_get(0)?,
        last_message_id: row.try_get(1)?,
        audit_rows: row.try_get(2)?,
    };
    conn.close().await?;
    Ok(counts)
}

/// Why the file at `copy` is no usable Jingxun database, if it is not: SQLite finds it damaged,
/// or it lacks the schema. A sound one is put in WAL mode, as the store runs it.
pub(crate) async fn check_file(copy: &Path) -> Result<Option<String>, StoreError> {
    let mut conn = match open_file(copy, Duration::from_secs(5)).await {
        Ok(conn) => conn,
        Err(e) => return Ok(Some(format!("SQLite cannot open it ({e})"))),
    };
    let problems: Vec<String> = match sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
    {
        Ok(problems) => problems,
        Err(e) => return Ok(Some(format!("it is not a SQLite database ({e})"))),
    };
    if problems != ["ok"] {
        let _ = conn.close().await;
        return Ok(Some(format!(
            "PRAGMA integrity_check found it damaged: {}",
            problems.join("; ")
        )));
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
         AND name IN ('_sqlx_migrations', 'messages', 'audit_log')",
    )
    .fetch_one(&mut conn)
    .await?;
    // A backup is in rollback-journal mode (VACUUM INTO writes it so). Entering WAL mode
    // needs the database to itself, so it is switched here, by the one connection open, rather
    // than by the first of the store's connections while others may be opening.
    if tables == 3 {
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    if tables != 3 {
        return Ok(Some(
            "it has no Jingxun schema (migrations table, messages and audit log)".into(),
        ));
    }
    Ok(None)
}

/// Takes the database file at `path` out of WAL mode, folding its write-ahead log back into
/// it, so that the file alone is the database. Needs every other connection to it closed.
pub(crate) async fn leave_wal(path: &Path) -> Result<(), StoreError> {
    let mut conn = open_file(path, Duration::from_secs(5)).await?;
    let left = sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&mut conn)
        .await;
    let closed = conn.close().await;
    left?;
    closed?;
    Ok(())
}

/// Another connection (a running daemon, a command) has the database open.
#[derive(Debug)]
pub(crate) struct DatabaseInUse;

/// A connection that holds a database file exclusively, until [`ExclusiveLock::release`].
pub(crate) struct ExclusiveLock(SqliteConnection);

impl ExclusiveLock {
    /// Lets the file go. Once the file was replaced by a rename, this touches nothing of the
    /// new one.
    pub(crate) async fn release(self) {
        let _ = self.0.close().await;
    }
}

/// When the database exists: a connection that holds it exclusively, or [`DatabaseInUse`]
/// at once if anyone else has it open. Taking it out of WAL mode (`journal_mode = DELETE`)
/// needs every other connection closed, even idle ones; the exclusive transaction then keeps
/// newcomers out until the restored file has taken its place.
pub(crate) async fn lock_exclusively(
    database: &Path,
) -> Result<Option<ExclusiveLock>, DatabaseInUse> {
    if !database.exists() {
        return Ok(None);
    }
    let mut conn = open_file(database, Duration::ZERO)
        .await
        .map_err(|_| DatabaseInUse)?;
    // A few tries a little apart, for a command that has just finished (its connections close
    // in threads of their own); a running daemon keeps its connections open all along.
    for _ in 0..10 {
        let mode: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut conn)
            .await;
        let locked = match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("delete") => sqlx::raw_sql("BEGIN EXCLUSIVE")
                .execute(&mut conn)
                .await
                .is_ok(),
            _ => false,
        };
        if locked {
            return Ok(Some(ExclusiveLock(conn)));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = conn.close().await;
    Err(DatabaseInUse)
}
