//! `jingxun backup --out FILE` and `jingxun restore --from FILE` (issue 18 item 12): a
//! consistent copy of the SQLite database taken while the daemon runs, and its restore with
//! the daemon stopped (see `jingxun::operations::backup`). On PostgreSQL both say which `pg_dump` or
//! `pg_restore` command to run instead, and fail.

use std::path::Path;

use jingxun::audit::ChangeAuthor;
use jingxun::config::Config;
use jingxun::operations::backup::{self, BackupSummary, RestoreSummary};

use super::user::cli_actor;

/// The author of the audit rows of backups and restores made on the command line.
fn author() -> ChangeAuthor {
    ChangeAuthor::new(cli_actor(), "cli")
}

/// Runs `jingxun backup --out FILE [--force] [--json]`.
pub async fn backup(config: &Config, out: &Path, force: bool, json: bool) -> anyhow::Result<()> {
    let summary = backup::backup(config, out, force, &author()).await?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_backup(&summary);
    }
    Ok(())
}

/// Runs `jingxun restore --from FILE [--json]`.
pub async fn restore(config: &Config, from: &Path, json: bool) -> anyhow::Result<()> {
    let summary = backup::restore(config, from, &author()).await?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_restore(from, &summary);
    }
    Ok(())
}

fn print_backup(summary: &BackupSummary) {
    println!(
        "backed up to {} ({} bytes, readable by this user only): {} message(s), the last id {}; \
         {} audit row(s)",
        summary.file.display(),
        summary.bytes,
        summary.messages,
        summary.last_message_id,
        summary.audit_rows
    );
    println!(
        "keep the platform key file (secrets.key_file) too, but apart from this backup: restore \
         needs it to verify the audit log"
    );
}

fn print_restore(from: &Path, summary: &RestoreSummary) {
    println!(
        "restored {} to {}: {} message(s), the last id {}; {} audit row(s) verified, head {}",
        from.display(),
        summary.database.display(),
        summary.messages,
        summary.last_message_id,
        summary.audit_rows,
        summary.audit_head.as_deref().unwrap_or("(empty)")
    );
    println!("the restore is recorded in its audit log (backup.restore); start the daemon again");
}
