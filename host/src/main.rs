//! The `jingxun` command line: the daemon and its administration commands. Errors end here as
//! `anyhow` reports; everything below is the `jingxun` library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use jingxun::config::{Config, LogFormat};
use jingxun::store::{Direction as StoreDirection, MessageFilter, MessageState};

mod cli;

#[derive(Parser)]
#[command(
    name = "jingxun",
    version,
    about = "Jingxun (警讯) police SMS platform"
)]
struct Cli {
    /// Configuration file [default: ./jingxun.toml if present, else the embedded defaults]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: modems, queue, HTTP. SIGTERM or Ctrl-C drains and stops.
    Serve,
    /// Queue an SMS to one or more recipients (works while `serve` runs in another process).
    Send {
        /// Recipients, separated by commas (Chinese commas, semicolons and newlines work too).
        #[arg(long, value_name = "NUMBERS")]
        to: String,
        /// The text; long texts are sent as several concatenated parts.
        #[arg(long)]
        text: String,
        /// Send from this service number (a modem configured with it).
        #[arg(long)]
        service_number: Option<String>,
        /// Higher goes first.
        #[arg(long, default_value_t = 0)]
        priority: i32,
        /// Queue the valid recipients even if some are not phone numbers.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// List messages, newest first.
    Messages {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only inbound or outbound messages.
        #[arg(long, value_enum)]
        direction: Option<Direction>,
        /// Only messages in this state (queued, sending, sent, delivered, failed, expired, received, partial).
        #[arg(long)]
        state: Option<String>,
        /// Instead: the undecodable PDUs modems delivered, kept raw with the reason.
        #[arg(long, conflicts_with_all = ["direction", "state", "peer"])]
        malformed: bool,
        /// Only messages to or from this number.
        #[arg(long)]
        peer: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Run a simulated GSM modem on a pseudo-terminal linked at PATH, driven from standard input.
    ModemSim {
        /// Where to create the symbolic link to the pseudo-terminal (point a [[modem]] port at it).
        #[arg(long, value_name = "PATH")]
        link: PathBuf,
        /// Emulate a line of this speed.
        #[arg(long)]
        baud: Option<u32>,
        /// Send a delivery report this many milliseconds after each message that asks for one.
        #[arg(long, value_name = "MS")]
        report_after_ms: Option<u64>,
    },
    /// The registry of officer phones (R6).
    Phone {
        #[command(subcommand)]
        action: cli::phone::PhoneAction,
    },
    /// Users, roles and the businesses granted to them (R2).
    User {
        #[command(subcommand)]
        action: cli::user::UserAction,
    },
    /// Roles of the administrator's own: groups of users granted businesses (R2).
    Role {
        #[command(subcommand)]
        action: cli::role::RoleAction,
    },
    /// The help text sent in answer to `H` (R15).
    HelpText {
        #[command(subcommand)]
        action: cli::help_text::HelpTextAction,
    },
    /// The texts of OA reminders and citizen notices: list, show, set (R17).
    Template {
        #[command(subcommand)]
        action: cli::template::TemplateAction,
    },
    /// List the audit log (itself recorded), or `audit verify` its hash chain.
    Audit(cli::audit::AuditArgs),
    /// The internal address book's people: add, list (the `TXL` query reads it).
    Contact {
        #[command(subcommand)]
        action: cli::contact::ContactAction,
    },
    /// Members of the website: add, bind a phone, set caps, list (R9-R12).
    Member {
        #[command(subcommand)]
        action: cli::member::MemberAction,
    },
    /// Channels (news columns): add, list (R3, R4).
    Channel {
        #[command(subcommand)]
        action: cli::channel::ChannelAction,
    },
    /// News on the channels: publish (R13).
    News {
        #[command(subcommand)]
        action: cli::channel::NewsAction,
    },
    /// SMS sent to each member per month, for billing (R12).
    Billing(cli::member::BillingArgs),
    /// Plugins: install, upgrade, enable, disable, roll back, grant, configure.
    Plugin {
        #[command(subcommand)]
        action: cli::plugin::PluginAction,
    },
    /// Keys of the client systems that use the HTTP API.
    Apikey {
        #[command(subcommand)]
        action: cli::apikey::ApiKeyAction,
    },
    /// Datasources plugins may query read-only.
    Datasource {
        #[command(subcommand)]
        action: cli::datasource::DatasourceAction,
    },
    /// Write the synthetic `police` datasource (SQLite) for demonstrations and tests.
    DemoData {
        /// The SQLite file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Generate from this seed (the same seed gives the same file).
        #[arg(long, default_value_t = jingxun_demo_data::DEFAULT_SEED)]
        seed: u64,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Copy the SQLite database, consistently, while the daemon runs (PostgreSQL: pg_dump).
    Backup {
        /// The backup file to write (mode 0600: it holds the audit log and message texts).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        /// Print what the backup holds as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Put a backup in place of the SQLite database, after checking it; the daemon must be
    /// stopped (PostgreSQL: pg_restore).
    Restore {
        /// The backup file (made by `jingxun backup`).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Print what was restored as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Delete what [retention] keeps no longer (the daemon does it every hour).
    Retention {
        #[command(subcommand)]
        action: cli::retention::RetentionAction,
    },
    /// Check the configuration, or print the documented defaults.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate the configuration and print it as the daemon would use it.
    Check,
    /// Print an example file documenting every key and its default.
    Example,
}

#[derive(Clone, Copy, ValueEnum)]
enum Direction {
    In,
    Out,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config {
        action: ConfigAction::Example,
    } = cli.command
    {
        print!("{}", include_str!("../../jingxun.example.toml"));
        return Ok(());
    }
    let (config, source) = Config::load(cli.config.as_deref())?;
    // The daemon logs at the configured level; one-shot commands only say what went wrong.
    let level = if matches!(cli.command, Command::Serve) {
        config.log.level.as_str()
    } else {
        "warn"
    };
    init_logging(&config, level);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                tracing::info!(config = %source, "starting");
                jingxun::daemon::serve(config, source == jingxun::config::Source::Embedded).await?;
            }
            Command::Send { to, text, service_number, priority, skip_invalid } => {
                cli::messages::send(&config, &to, &text, service_number, priority, skip_invalid).await?;
            }
            Command::Messages { malformed: true, json, limit, .. } => {
                cli::messages::list_malformed(&config, limit, json).await?;
            }
            Command::Messages { json, direction, state, peer, limit, .. } => {
                let state = state
                    .map(|s| s.parse::<MessageState>())
                    .transpose()
                    .map_err(|_| anyhow::anyhow!("unknown --state; use one of queued, sending, sent, delivered, failed, expired, received, partial"))?;
                let filter = MessageFilter {
                    direction: direction.map(|d| match d {
                        Direction::In => StoreDirection::In,
                        Direction::Out => StoreDirection::Out,
                    }),
                    state,
                    newest_first: true,
                    peer: peer.map(|p| {
                        jingxun::phone::PhoneNumber::parse(&p, &config.sms.default_country_code)
                            .map(|n| n.to_string())
                            .unwrap_or(p)
                    }),
                    limit,
                    ..MessageFilter::default()
                };
                cli::messages::list_messages(&config, &filter, json).await?;
            }
            Command::ModemSim { link, baud, report_after_ms } => {
                let sim = jingxun::modem::sim::SimConfig {
                    baud,
                    status_report_delay: report_after_ms.map(std::time::Duration::from_millis),
                    ..Default::default()
                };
                jingxun::modem::sim::run_console(sim, link).await?;
            }
            Command::Phone { action } => cli::phone::run(&config, action).await?,
            Command::User { action } => cli::user::run(&config, action).await?,
            Command::Role { action } => cli::role::run(&config, action).await?,
            Command::HelpText { action } => cli::help_text::run(&config, action).await?,
            Command::Template { action } => cli::template::run(&config, action).await?,
            Command::Audit(args) => cli::audit::run(&config, args).await?,
            Command::Contact { action } => cli::contact::run(&config, action).await?,
            Command::Member { action } => cli::member::run(&config, action).await?,
            Command::Channel { action } => cli::channel::run(&config, action).await?,
            Command::News { action } => cli::channel::run_news(&config, action).await?,
            Command::Billing(args) => cli::member::run_billing(&config, args).await?,
            Command::Plugin { action } => cli::plugin::run(&config, action).await?,
            Command::Datasource { action } => cli::datasource::run(&config, action).await?,
            Command::Apikey { action } => cli::apikey::run(&config, action).await?,
            Command::DemoData { out, seed, force } => cli::demo_data::run(&out, seed, force).await?,
            Command::Backup { out, force, json } => cli::backup::backup(&config, &out, force, json).await?,
            Command::Restore { from, json } => cli::backup::restore(&config, &from, json).await?,
            Command::Retention { action } => cli::retention::run(&config, action).await?,
            Command::Config { action: ConfigAction::Check } => {
                println!("# configuration from {source}: valid");
                print!("{}", toml::to_string_pretty(&config).context("cannot print the configuration")?);
            }
            Command::Config { action: ConfigAction::Example } => unreachable!("handled before loading"),
        }
        Ok(())
    })
}

fn init_logging(config: &Config, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    /// The command line's definition holds together (clap's own checks of every subcommand).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Every flag of `plugin try` reads as itself: none of them may share an id with a global
    /// flag (a `--config KEY=VALUE` there once clashed with the global `--config FILE`, which
    /// clap reports only when the arguments are read).
    #[test]
    fn every_flag_of_plugin_try_parses() {
        let parsed = super::Cli::try_parse_from([
            "jingxun",
            "--config",
            "jingxun.toml",
            "plugin",
            "try",
            "vehicle.wasm",
            "--from",
            "13800000001",
            "--datasource",
            "police=sqlite://police.db",
            "--http-host",
            "api.example.cn:80",
            "--capability",
            "directory",
            "--set",
            "key=value",
            "CP 京A12345",
        ]);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
    }

    #[test]
    fn plugin_try_takes_a_tick_instead_of_a_text_but_not_both_nor_neither() {
        let try_with = |extra: &[&str]| {
            let mut args = vec![
                "jingxun",
                "plugin",
                "try",
                "n.wasm",
                "--from",
                "13800000001",
            ];
            args.extend_from_slice(extra);
            super::Cli::try_parse_from(args)
        };
        assert!(try_with(&["--tick", "evening", "--contact", "13800000042"]).is_ok());
        assert!(try_with(&["--tick", "evening", "CP 京A12345"]).is_err());
        assert!(try_with(&[]).is_err());
    }
}
