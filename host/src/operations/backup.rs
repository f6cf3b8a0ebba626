//! Backups of a SQLite store and their restore (issue 18 item 12). PostgreSQL has its own tools
//! (`pg_dump -Fc`, `pg_restore`); for it both functions answer with the command to use.
//!
//! **Backup** ([`backup`]) is taken while the daemon runs and writes, with `VACUUM INTO`: SQLite
//! copies one read transaction's snapshot of the database into a new file. Under WAL a reader
//! never blocks the writer nor waits for it, so the daemon's commits go on meanwhile, and the
//! copy holds exactly the transactions committed when it began: a message is there with its
//! audit row and its parts, or not at all. The online backup API (`sqlite3_backup_*`) was the
//! other candidate; sqlx does not expose it, and copying in steps restarts whenever another
//! connection writes, which under a steady API load may never finish; copying in one step is
//! the same read snapshot `VACUUM INTO` takes, through plain SQL. The result is also compact
//! and self-contained (no `-wal` beside it). The copy is written to a temporary file (mode
//! 0600: it holds the audit log and the texts of messages) in the destination's folder,
//! flushed to disk, then renamed to its name, so a crash never leaves a half-written file
//! that looks like a backup; an existing file is replaced only when asked (`--force`).
//!
//! **Restore** ([`restore`]) puts a backup in the configured database's place, with the daemon
//! stopped. It checks the backup before touching anything: `PRAGMA integrity_check`, that it
//! is a Jingxun database (its migrations table, messages and audit log), the schema brought up
//! to date, and the audit chain verified with the platform key (the key file is kept apart
//! from the database's backups; restore it first). The checks run on a copy in the database's
//! folder, which then replaces the database by a rename (atomic: the old database or the new
//! one, never a mix), after stale `-wal` and `-shm` files of the old database are removed (a
//! leftover write-ahead log would be replayed into the restored file). It refuses while any
//! other connection has the database open: switching it out of WAL mode needs every other
//! connection gone, and is what it tries (for a second at most) before the rename. The restore is
//! an audit row of the restored database (`backup.restore`), a backup one of the live one
//! (`backup.create`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit::{AuditComponent, AuditError, AuditEvent, AuditLog, ChangeAuthor};
use crate::config::Config;
use crate::secrets::{Secrets, SecretsError};
use crate::store::backup::{
    DatabaseInUse, check_file, file_counts, leave_wal, lock_exclusively, postgres_command,
    sqlite_file,
};
use crate::store::{Backend, OpenStoreError, Store, StoreError, redact_url};

/// Why a backup or a restore did not happen. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL: its own tools do this.
    #[error(
        "jingxun {action} handles SQLite databases only; the configured database is \
         PostgreSQL: use `{command}`"
    )]
    Postgres {
        /// `backup` or `restore`.
        action: &'static str,
        /// The PostgreSQL command to run instead (password redacted).
        command: String,
    },
    /// The URL names no database file (`sqlite::memory:`).
    #[error("the database `{url}` is not a file; there is nothing to back up or restore")]
    NotAFile {
        /// The configured URL.
        url: String,
    },
    /// The database to back up does not exist.
    #[error(
        "there is no database at {} (database.url): check the configuration given with --config",
        path.display()
    )]
    NoDatabase {
        /// The database file.
        path: PathBuf,
    },
    /// The output exists.
    #[error(
        "{} exists; choose another file, or add --force to replace it",
        path.display()
    )]
    Exists {
        /// The file named with `--out`.
        path: PathBuf,
    },
    /// `--out` names the database itself (or its write-ahead log).
    #[error(
        "{} is the database itself; write the backup to another file, best on another disk",
        path.display()
    )]
    IsTheDatabase {
        /// The file named with `--out`.
        path: PathBuf,
    },
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create the backup in`...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another connection (a running daemon, a CLI command) has the database open.
    #[error(
        "the database {} is in use (a running `jingxun serve` or another command has it open): \
         stop the daemon (systemctl stop jingxun) and run restore again; nothing was changed",
        path.display()
    )]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The file is not a (sound) Jingxun database.
    #[error("{} is not a usable Jingxun backup: {reason}; nothing was changed", path.display())]
    NotABackup {
        /// The backup file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The backup's audit chain does not verify with the platform key.
    #[error(
        "the audit chain of {} is broken at row {row}: {reason}; it was changed after it was \
         written, or secrets.key_file is not the key its log was keyed with. Nothing was \
         changed: use another backup or the right key file",
        path.display()
    )]
    AuditBroken {
        /// The backup file.
        path: PathBuf,
        /// The first row that does not check out.
        row: i64,
        /// Why, in a sentence.
        reason: &'static str,
    },
    /// The platform key could not be loaded.
    #[error("{0}; restore checks the backup's audit chain with it")]
    Secrets(#[from] SecretsError),
    /// Opening the live database with its key failed.
    #[error(transparent)]
    Open(#[from] OpenStoreError),
    /// The audit log failed (verifying, or writing the row of this backup or restore).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a backup holds, read back from the file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupSummary {
    /// The backup file.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Messages in it, inbound and outbound.
    pub messages: i64,
    /// The highest message id in it (0 when none).
    pub last_message_id: i64,
    /// Audit rows in it.
    pub audit_rows: i64,
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreSummary {
    /// The database file replaced (or created).
    pub database: PathBuf,
    /// Messages restored.
    pub messages: i64,
    /// The highest message id restored (0 when none).
    pub last_message_id: i64,
    /// Audit rows restored and verified (the restore's own row not counted).
    pub audit_rows: u64,
    /// The hash of the last verified row: compare it with an earlier `audit verify`.
    pub audit_head: Option<String>,
}

/// The database file of `config`, or the error that says why there is none.
fn database_file(config: &Config, action: &'static str) -> Result<PathBuf, BackupError> {
    let url = &config.database.url;
    if Backend::from_url(url)? == Backend::Postgres {
        return Err(BackupError::Postgres {
            action,
            command: postgres_command(action, url),
        });
    }
    sqlite_file(url).ok_or_else(|| BackupError::NotAFile {
        url: redact_url(url),
    })
}

/// The folder of `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

/// Flushes a folder's entries (a rename into it) to disk.
fn sync_folder(folder: &Path) -> Result<(), BackupError> {
    std::fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(io("flush the folder", folder))
}

/// A private temporary file (mode 0600) in `folder`, removed unless persisted.
fn private_temp(folder: &Path, prefix: &str) -> Result<tempfile::NamedTempFile, BackupError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(folder)
        .map_err(io("create a temporary file in", folder))
}

/// `jingxun backup --out FILE`: copies the configured SQLite database, while the daemon runs,
/// to `out` (mode 0600), replacing an existing file only when `force`; records the backup in
/// the live database's audit log (`backup.create` by `author`).
pub async fn backup(
    config: &Config,
    out: &Path,
    force: bool,
    author: &ChangeAuthor,
) -> Result<BackupSummary, BackupError> {
    let database = database_file(config, "backup")?;
    if !database.is_file() {
        return Err(BackupError::NoDatabase { path: database });
    }
    if is_database_file(out, &database) {
        return Err(BackupError::IsTheDatabase {
            path: out.to_path_buf(),
        });
    }
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(BackupError::Exists {
            path: out.to_path_buf(),
        });
    }
    let folder = folder_of(out);
    let store = crate::store::open_store(config).await?;
    let result = async {
        let temp = private_temp(&folder, ".jingxun-backup-")?;
        store.vacuum_into(temp.path()).await?;
        temp.as_file()
            .sync_all()
            .map_err(io("flush the backup", temp.path()))?;
        let persisted = if force {
            temp.persist(out).map_err(|e| e.error)
        } else {
            temp.persist_noclobber(out).map_err(|e| e.error)
        };
        match persisted {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists {
                    path: out.to_path_buf(),
                });
            }
            Err(e) => return Err(io("write the backup to", out)(e)),
        }
        sync_folder(&folder)?;
        let summary = summarise(out).await?;
        let entry = author
            .entry(
                AuditComponent::Backup,
                AuditEvent::BackupCreate,
                &out.display().to_string(),
            )
            .with_details(serde_json::json!({
                "bytes": summary.bytes,
                "messages": summary.messages,
                "last_message_id": summary.last_message_id,
                "audit_rows": summary.audit_rows,
            }));
        if let Err(e) = AuditLog::new(store.clone()).append(entry).await {
            // No backup without its audit row: it holds every message text.
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
        Ok(summary)
    }
    .await;
    store.close().await;
    result
}

/// Whether `out` is the database file or one of its companions (`-wal`, `-shm`,
/// `-journal`), by the folder's real path and the file name, so that `./` and linked folders
/// are recognised too.
fn is_database_file(out: &Path, database: &Path) -> bool {
    let real = |path: &Path| {
        let name = path.file_name()?.to_owned();
        let folder = std::fs::canonicalize(folder_of(path)).ok()?;
        Some((folder, name))
    };
    let (Some((out_folder, out_name)), Some((db_folder, db_name))) = (real(out), real(database))
    else {
        return false;
    };
    out_folder == db_folder
        && ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
            let mut name = db_name.clone();
            name.push(suffix);
            name == out_name
        })
}

/// Counts what the backup file at `path` holds.
async fn summarise(path: &Path) -> Result<BackupSummary, BackupError> {
    let bytes = std::fs::metadata(path).map_err(io("read", path))?.len();
    let counts = file_counts(path).await?;
    Ok(BackupSummary {
        file: path.to_path_buf(),
        bytes,
        messages: counts.messages,
        last_message_id: counts.last_message_id,
        audit_rows: counts.audit_rows,
    })
}

/// `jingxun restore --from FILE`: checks the backup `from` and puts it in the place of the
/// configured SQLite database, which no process may have open (see the module documentation).
/// The platform key (`[secrets] key_file`) must be in place: the backup's audit chain is
/// verified with it. The restore is recorded in the restored audit log (`backup.restore` by
/// `author`).
pub async fn restore(
    config: &Config,
    from: &Path,
    author: &ChangeAuthor,
) -> Result<RestoreSummary, BackupError> {
    let database = database_file(config, "restore")?;
    let secrets = Secrets::load(&crate::secrets::key_path(config))?;
    let folder = folder_of(&database);
    if !folder.is_dir() {
        return Err(io("use the database folder", &folder)(
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    // Checked on a copy beside the database, which then takes its place.
    let temp = private_temp(&folder, ".jingxun-restore-")?;
    let mut source = std::fs::File::open(from).map_err(io("read the backup", from))?;
    std::io::copy(&mut source, &mut temp.as_file())
        .map_err(io("copy the backup to", temp.path()))?;
    let copy = temp.path().to_path_buf();
    let _companions = Companions(copy.clone());
    check_backup(&copy, from).await?;
    let mut summary = verify_copy(&copy, from, &secrets, author).await?;
    temp.as_file()
        .sync_all()
        .map_err(io("flush the restored copy", &copy))?;

    // Last: take the database from under nobody, and replace it.
    let lock = lock_exclusively(&database)
        .await
        .map_err(|DatabaseInUse| BackupError::InUse {
            path: database.clone(),
        })?;
    for suffix in ["-wal", "-shm"] {
        let mut stale = database.clone().into_os_string();
        stale.push(suffix);
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("remove the stale", Path::new(&stale))(e));
            }
            _ => {}
        }
    }
    keep_owner(&database, temp.as_file())?;
    temp.persist(&database)
        .map_err(|e| io("move the restored copy to", &database)(e.error))?;
    sync_folder(&folder)?;
    if let Some(lock) = lock {
        // Its file is gone; letting it go touches nothing of the restored one.
        lock.release().await;
    }
    summary.database = database;
    Ok(summary)
}

/// Refuses a file that SQLite finds damaged or that is no Jingxun database. `shown` is the
/// name to report (the backup as the user gave it).
async fn check_backup(copy: &Path, shown: &Path) -> Result<(), BackupError> {
    match check_file(copy).await? {
        None => Ok(()),
        Some(reason) => Err(BackupError::NotABackup {
            path: shown.to_path_buf(),
            reason,
        }),
    }
}

/// Opens the copy as a store (bringing its schema up to date), verifies its audit chain,
/// counts what it holds and records the restore in it; then folds its write-ahead log back
/// into the file, so that the file alone is the database.
async fn verify_copy(
    copy: &Path,
    shown: &Path,
    secrets: &Secrets,
    author: &ChangeAuthor,
) -> Result<RestoreSummary, BackupError> {
    let url = format!("sqlite://{}", copy.display());
    let store = Store::connect(&url).await?.with_secrets(secrets);
    let result = async {
        let log = AuditLog::new(store.clone());
        let check = log.verify().await?;
        if let Some(row) = check.first_broken {
            return Err(BackupError::AuditBroken {
                path: shown.to_path_buf(),
                row,
                reason: check
                    .broken_because
                    .map_or("it does not check out", |b| b.describe()),
            });
        }
        let (messages, last_message_id) = store.message_totals().await?;
        let summary = RestoreSummary {
            database: PathBuf::new(),
            messages,
            last_message_id,
            audit_rows: check.rows,
            audit_head: check.head_hash.clone(),
        };
        let entry = author
            .entry(
                AuditComponent::Backup,
                AuditEvent::BackupRestore,
                &shown.display().to_string(),
            )
            .with_details(serde_json::json!({
                "messages": summary.messages,
                "last_message_id": summary.last_message_id,
                "audit_rows": summary.audit_rows,
                "audit_head": summary.audit_head,
            }));
        log.append(entry).await?;
        Ok(summary)
    }
    .await;
    // Every connection of the store is closed when this returns (see `Store::close`), so that
    // this one has the copy to itself: leaving WAL mode needs that, and waits for no lock.
    store.close().await;
    let summary = result?;
    leave_wal(copy).await?;
    Ok(summary)
}

/// Removes the `-wal`, `-shm` and `-journal` files beside the temporary copy when dropped,
/// whichever way the restore ends (a temporary file removes only itself).
struct Companions(PathBuf);

impl Drop for Companions {
    fn drop(&mut self) {
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Gives the restored copy the owner of the database it replaces (a restore run as root must
/// leave a file the service's user can open).
fn keep_owner(database: &Path, copy: &std::fs::File) -> Result<(), BackupError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(old) = std::fs::metadata(database) else {
        return Ok(());
    };
    let new = copy.metadata().map_err(io("read", database))?;
    if (old.uid(), old.gid()) == (new.uid(), new.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(copy, Some(old.uid()), Some(old.gid())).map_err(|e| BackupError::Io {
        action: "give the restored copy the owner of (run restore as that user)",
        path: database.to_path_buf(),
        source: e,
    })
}

#[cfg(test)]
mod tests;
