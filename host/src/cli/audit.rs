//! `jingxun audit`: list the audit log (itself an audited read) and `jingxun audit verify`: walk
//! its hash chain, keyed rows with the platform key of `[secrets] key_file` ("Audit" in
//! shared/docs/security-checklist.md; issue 18 finding 7).

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};

use jingxun::audit::{
    AuditComponent, AuditEntry, AuditEvent, AuditFilter, AuditLog, AuditOutcome, AuditRecord,
    ChainCheck, DEFAULT_LIST, MAX_LIST,
};
use jingxun::config::Config;
use jingxun::phone::PhoneNumber;
use jingxun::store::Store;

use super::user::cli_actor;

/// `jingxun audit [--json] [filters]` or `jingxun audit verify`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: Option<AuditAction>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Only rows about this phone (any usual form).
    #[arg(long, value_name = "NUMBER")]
    phone: Option<String>,
    /// Only queries with this command keyword (CP, JZ, SFZ, ZT...).
    #[arg(long)]
    keyword: Option<String>,
    /// Only this event (query, phone.add, user.grant, audit.read...).
    #[arg(long)]
    event: Option<String>,
    /// Only rows at or after this time, RFC 3339 (2026-11-29T08:00:00+08:00).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// At most this many rows, newest first.
    #[arg(long, default_value_t = DEFAULT_LIST, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LIST)))]
    limit: u32,
}

/// `jingxun audit` subcommands.
#[derive(Subcommand)]
pub enum AuditAction {
    /// Walk the whole hash chain, checking keyed rows with the platform key (secrets.key_file,
    /// which must exist); fails (exit status 1) if a row was changed or removed.
    Verify,
}

/// Runs `jingxun audit ...`.
pub async fn run(config: &Config, args: AuditArgs) -> anyhow::Result<()> {
    let filter = match args.action {
        Some(AuditAction::Verify) => None,
        None => Some(filter(config, &args)?),
    };
    let store = match filter {
        Some(_) => jingxun::store::open_store(config).await?,
        None => {
            // Verification never creates a key: a missing key file is an error, not a new key
            // that could not check the log.
            let path = jingxun::secrets::key_path(config);
            let secrets = jingxun::secrets::Secrets::load(&path)?;
            Store::connect(&config.database.url)
                .await?
                .with_secrets(&secrets)
        }
    };
    let log = AuditLog::new(store.clone()).with_source("cli");
    let result = match filter {
        Some(filter) => list(&log, &filter, args.json).await,
        None => verify(&log).await,
    };
    store.close().await;
    result
}

fn filter(config: &Config, args: &AuditArgs) -> anyhow::Result<AuditFilter> {
    let phone = args
        .phone
        .as_deref()
        .map(|p| {
            PhoneNumber::parse(p, &config.sms.default_country_code)
                .map(|n| n.to_string())
                .with_context(|| format!("--phone `{p}` is not a phone number"))
        })
        .transpose()?;
    let since_ms = args
        .since
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_millis())
                .with_context(|| {
                    format!("--since `{s}` is not an RFC 3339 time; write e.g. 2026-11-29T08:00:00+08:00")
                })
        })
        .transpose()?;
    Ok(AuditFilter {
        phone,
        keyword: args.keyword.clone(),
        event: args.event.clone(),
        since_ms,
        limit: args.limit,
        ..AuditFilter::default()
    })
}

async fn list(log: &AuditLog, filter: &AuditFilter, json: bool) -> anyhow::Result<()> {
    let rows = log.list(filter, &cli_actor()).await?;
    let mut out = std::io::stdout().lock();
    for row in &rows {
        if json {
            writeln!(out, "{}", row_json(row)?)?;
        } else {
            writeln!(out, "{}", row_line(row))?;
        }
    }
    Ok(())
}

async fn verify(log: &AuditLog) -> anyhow::Result<()> {
    let check = log.verify().await?;
    // Verifying is a privileged action of its own: record who ran it and what it found. With
    // another key than the log's, the row cannot be written (the store refuses to extend the
    // chain with it); the finding is reported all the same.
    let entry = AuditEntry::new(
        AuditComponent::Cli,
        AuditEvent::AuditVerify,
        if check.is_intact() {
            AuditOutcome::Ok
        } else {
            AuditOutcome::Error
        },
    )
    .with_actor(cli_actor())
    .with_object("audit_log")
    .with_source(Some("cli"))
    .with_details(serde_json::to_value(&check)?);
    let recorded = log.append(entry).await;
    match check.first_broken {
        None => {
            recorded?;
            println!(
                "audit chain intact: {} row(s), head {}",
                check.rows,
                check.head_hash.as_deref().unwrap_or("(empty)")
            );
            println!("{}", keying_line(&check));
            Ok(())
        }
        Some(id) => {
            let reason = check
                .broken_because
                .map_or("it does not check out", |r| r.describe());
            let not_recorded = match recorded {
                Ok(_) => String::new(),
                Err(e) => format!(" (this check could not be recorded: {e})"),
            };
            anyhow::bail!(
                "audit chain broken at row {id} of {}: {reason}. {}. The row was changed, or \
                 rows removed, outside Jingxun, or secrets.key_file is not the key the log was \
                 keyed with: keep the database as it is and compare it with a backup{not_recorded}",
                check.rows,
                keying_line(&check)
            )
        }
    }
}

/// Where the keyed chain starts, in a sentence: an auditor compares it with earlier reports.
fn keying_line(check: &ChainCheck) -> String {
    match check.keyed_from {
        Some(1) => format!(
            "keyed with the platform key from row 1: {} keyed row(s)",
            check.keyed_rows
        ),
        Some(from) => format!(
            "keyed with the platform key from row {from}: {} keyed row(s); rows 1 to {} were \
             written before the key existed and carry plain SHA-256",
            check.keyed_rows,
            from - 1
        ),
        None => "no row is keyed yet: the rows were written before the platform key existed \
                 and carry plain SHA-256; the next row written is keyed"
            .to_owned(),
    }
}

/// A row as one JSON line, with `at` in RFC 3339 UTC beside `at_ms`.
fn row_json(row: &AuditRecord) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(row)?;
    value["at"] = serde_json::Value::String(jingxun::clock::rfc3339(row.at_ms));
    Ok(value.to_string())
}

fn row_line(row: &AuditRecord) -> String {
    format!(
        "{:>8}  {}  {:<14}  {:<9}  {:<16}  {:<16}  {}  {}",
        row.id,
        jingxun::clock::rfc3339(row.at_ms),
        row.event,
        row.outcome,
        row.actor.as_deref().unwrap_or("-"),
        row.phone.as_deref().unwrap_or("-"),
        row.object.as_deref().unwrap_or("-"),
        row.details
    )
}
