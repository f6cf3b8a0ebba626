//! `jingxun audit`: list the audit log (itself an audited read) and `jingxun audit verify`: walk
//! its hash chain ("Audit" in shared/docs/security-checklist.md).

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};

use jingxun::audit::{AuditEntry, AuditFilter, AuditLog, AuditRecord, DEFAULT_LIST, MAX_LIST};
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
    /// Walk the whole hash chain; fails (exit status 1) if a row was changed or removed.
    Verify,
}

/// Runs `jingxun audit ...`.
pub async fn run(config: &Config, args: AuditArgs) -> anyhow::Result<()> {
    let filter = match args.action {
        Some(AuditAction::Verify) => None,
        None => Some(filter(config, &args)?),
    };
    let store = Store::connect(&config.database.url).await?;
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
    // Verifying is a privileged action of its own: record who ran it and what it found.
    let entry = AuditEntry::new(
        "cli",
        "audit.verify",
        if check.is_intact() { "ok" } else { "error" },
    )
    .with_actor(cli_actor())
    .with_object("audit_log")
    .with_source(Some("cli"))
    .with_details(serde_json::to_value(&check)?);
    log.append(entry).await?;
    match check.first_broken {
        None => {
            println!(
                "audit chain intact: {} row(s), head {}",
                check.rows,
                check.head_hash.as_deref().unwrap_or("(empty)")
            );
            Ok(())
        }
        Some(id) => anyhow::bail!(
            "audit chain broken at row {id} of {}: that row was changed, or the row before it \
             removed, outside Jingxun; keep the database as it is and compare it with a backup",
            check.rows
        ),
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
