//! `jingxun retention run`: deletes once what `[retention]` keeps no longer, as the daemon does
//! every hour, and prints what it deleted (see `jingxun::operations::retention`).

use clap::Subcommand;

use jingxun::audit::ChangeAuthor;
use jingxun::config::Config;
use jingxun::operations::retention;
use jingxun::store::retention::RetentionPolicy;

use super::user::cli_actor;

/// `jingxun retention` subcommands.
#[derive(Subcommand)]
pub enum RetentionAction {
    /// Delete now what [retention] keeps no longer (the daemon does it every hour) and print
    /// the counts; audit rows are never deleted.
    Run {
        /// The counts as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `jingxun retention` subcommand.
pub async fn run(config: &Config, action: RetentionAction) -> anyhow::Result<()> {
    let RetentionAction::Run { json } = action;
    let store = jingxun::store::open_store(config).await?;
    let policy = RetentionPolicy::from_config(&config.retention);
    let author = ChangeAuthor::new(cli_actor(), "cli");
    let result = retention::run_audited(&store, &policy, jingxun::clock::now_ms(), &author).await;
    store.close().await;
    let report = result?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let limit = |days: u32| match days {
        0 => "kept for ever".to_owned(),
        days => format!("older than {days} days"),
    };
    let r = &config.retention;
    println!(
        "messages ({}): {} deleted, with {} part(s) and {} received PDU(s); undecodable PDUs: {}",
        limit(r.messages_days),
        report.messages,
        report.message_parts,
        report.inbound_parts,
        report.malformed_pdus
    );
    println!(
        "API idempotency records ({}): {}",
        limit(r.idempotency_days),
        report.idempotency_records
    );
    println!(
        "webhook deliveries ({} when finished, or with their messages): {}",
        limit(r.webhook_deliveries_days),
        report.webhook_deliveries
    );
    println!(
        "plugin event deliveries ({} when finished): {}; host events fanned out: {}",
        limit(r.event_deliveries_days),
        report.event_deliveries,
        report.host_events
    );
    println!("audit rows: kept for ever (append-only), none deleted");
    Ok(())
}
