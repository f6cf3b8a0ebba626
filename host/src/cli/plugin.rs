//! `jingxun plugin ...`: install, upgrade, enable, disable and roll back plugins, grant them
//! datasources, HTTP hosts and capabilities, set their configuration. Works on the store while
//! `jingxun serve` runs elsewhere: the daemon picks changes up within a few seconds.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use jingxun::audit::ChangeAuthor;
use jingxun::config::Config;
use jingxun::plugins::{Capability, PluginHost, PluginSettings, valid_datasource_name};
use jingxun::store::{GrantKind, Store};

/// `jingxun plugin` subcommands.
#[derive(Subcommand)]
pub enum PluginAction {
    /// Install a plugin component, or upgrade the installed plugin of the same name (the
    /// version it replaces is kept for `rollback`).
    Install {
        /// The component, e.g. target/plugins/vehicle.wasm (built by `cargo xtask plugins`).
        file: PathBuf,
    },
    /// List installed plugins, their commands and grants.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Let a disabled plugin answer its commands again.
    Enable { name: String },
    /// Stop a plugin answering its commands (it stays installed).
    Disable { name: String },
    /// Return a plugin to its previous version.
    Rollback { name: String },
    /// Allow a plugin a datasource or an HTTP host.
    Grant(GrantArgs),
    /// Withdraw a datasource or HTTP host from a plugin.
    Revoke(GrantArgs),
    /// A plugin's configuration values.
    Config {
        #[command(subcommand)]
        action: PluginConfigAction,
    },
    /// Have a plugin's daily schedule tick now (the running daemon delivers it within seconds).
    Tick {
        /// The plugin's name.
        name: String,
        /// The schedule's name, as the plugin declares it (`jingxun plugin list` shows them).
        schedule: String,
    },
    /// Show what a plugin keeps in its state.
    State {
        name: String,
        /// One JSON object per line (values in hex).
        #[arg(long)]
        json: bool,
    },
    /// Show the latest event deliveries, to one plugin or all: pending, done or failed.
    Events {
        /// Only this plugin's.
        name: Option<String>,
        /// How many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Run a component on one SMS command (or one tick of its schedule, `--tick`) without a
    /// daemon or an install: prints its reply, the host calls it made (and which were refused
    /// for want of a grant), what it would send or keep, and any limit it hit. Exits 0 when the
    /// plugin answered (or handled the tick).
    Try(TryArgs),
}

/// `jingxun plugin try` arguments.
#[derive(Args)]
pub struct TryArgs {
    /// The component, e.g. target/plugins/vehicle.wasm.
    file: PathBuf,
    /// The sending phone.
    #[arg(long, value_name = "PHONE")]
    from: String,
    /// A datasource granted for this run (repeatable).
    #[arg(long = "datasource", value_name = "NAME=URL")]
    datasources: Vec<String>,
    /// An HTTP host granted for this run (repeatable).
    #[arg(long = "http-host", value_name = "HOST:PORT")]
    http_hosts: Vec<String>,
    /// A capability granted for this run (repeatable): directory, citizen, state or
    /// send-to-contacts. The stores they read are empty here, and nothing is kept.
    #[arg(long = "capability", value_name = "NAME")]
    capabilities: Vec<String>,
    /// A configuration value of the plugin for this run (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// A number put in this run's address book, which is otherwise empty (repeatable): what
    /// `send-to-contacts` may reach.
    #[arg(long = "contact", value_name = "PHONE")]
    contacts: Vec<String>,
    /// Instead of a command, a tick of the plugin's daily schedule of that name, due now.
    #[arg(
        long,
        value_name = "SCHEDULE",
        conflicts_with = "text",
        required_unless_present = "text"
    )]
    tick: Option<String>,
    /// The SMS text, e.g. "CP 京A12345".
    text: Option<String>,
}

/// What to grant or revoke: exactly one datasource, HTTP host or capability.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(false)))]
pub struct GrantArgs {
    /// The plugin's name.
    #[arg(long)]
    plugin: String,
    /// A datasource name (see `jingxun datasource list`).
    #[arg(long, group = "target")]
    datasource: Option<String>,
    /// A host and port the plugin may reach over HTTP: `api.example.cn:80`. A name reaches
    /// public addresses only; an internal one (loopback, private, link-local) must be granted by
    /// address: `10.0.0.5:8080`, `[fd00::5]:80`.
    #[arg(long, value_name = "HOST:PORT", group = "target")]
    http_host: Option<String>,
    /// A host capability of contract 1.1: `directory` (the address book), `citizen` (the
    /// sender's own citizen application, and the application-changed event), `state` (values
    /// kept across calls), `send-to-contacts` (SMS to address-book numbers) or `channels` (the
    /// sender's subscriptions to channels and their latest items).
    #[arg(long, value_name = "NAME", group = "target")]
    capability: Option<String>,
}

/// `jingxun plugin config` subcommands.
#[derive(Subcommand)]
pub enum PluginConfigAction {
    /// Set one value (the plugin reads it with `config.get`).
    Set {
        #[arg(long)]
        plugin: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        value: String,
    },
}

/// Runs one `jingxun plugin` subcommand.
pub async fn run(config: &Config, action: PluginAction) -> anyhow::Result<()> {
    // A trial touches no store: it needs no database, and changes nothing.
    let action = match action {
        PluginAction::Try(args) => return try_plugin(config, args).await,
        other => other,
    };
    let store = jingxun::store::open_store(config).await?;
    let result = execute(config, &store, action).await;
    store.close().await;
    result
}

async fn execute(config: &Config, store: &Store, action: PluginAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let now = jingxun::clock::now_ms();
    // Every registry change is committed with its audit row, by the operating-system user.
    let by = ChangeAuthor::new(super::user::cli_actor(), "cli");
    match action {
        PluginAction::Install { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let host = admin_host(config, store).await?;
            let plugin = host.install(&bytes, &by).await?;
            writeln!(
                out,
                "installed {} {} (contract {}, {}), answering {}{}",
                plugin.name,
                plugin.version,
                plugin.contract,
                if plugin.enabled {
                    "enabled"
                } else {
                    "disabled"
                },
                plugin.keywords.join(", "),
                plugin
                    .previous_version
                    .map(|p| format!("; previous version {p} kept for rollback"))
                    .unwrap_or_default()
            )?;
            if !plugin.requested_datasources.is_empty() || !plugin.requested_http_hosts.is_empty() {
                writeln!(
                    out,
                    "it asks for datasources [{}] and HTTP hosts [{}]: grant them with \
                     `jingxun plugin grant --plugin {} --datasource NAME`",
                    plugin.requested_datasources.join(", "),
                    plugin.requested_http_hosts.join(", "),
                    plugin.name
                )?;
            }
            if !plugin.requested_capabilities.is_empty() {
                let names: Vec<&str> = plugin
                    .requested_capabilities
                    .iter()
                    .map(|c| c.as_str())
                    .collect();
                writeln!(
                    out,
                    "it asks for the capabilities [{}]: grant each with \
                     `jingxun plugin grant --plugin {} --capability NAME`",
                    names.join(", "),
                    plugin.name
                )?;
            }
        }
        PluginAction::List { json } => {
            let host = admin_host(config, store).await?;
            let grants = store.plugin_grants().await?;
            for plugin in host.plugins().await? {
                let mine: Vec<String> = grants
                    .iter()
                    .filter(|g| g.plugin == plugin.name)
                    .map(|g| format!("{}:{}", g.kind.as_str(), g.target))
                    .collect();
                if json {
                    let mut value = serde_json::to_value(&plugin)?;
                    value["grants"] = serde_json::json!(mine);
                    writeln!(out, "{value}")?;
                } else {
                    writeln!(
                        out,
                        "{:<12} {:<10} {:<8} {:<16} grants: {}{}",
                        plugin.name,
                        plugin.version,
                        if plugin.enabled {
                            "enabled"
                        } else {
                            "disabled"
                        },
                        plugin.keywords.join(","),
                        if mine.is_empty() {
                            "-".into()
                        } else {
                            mine.join(" ")
                        },
                        plugin
                            .previous_version
                            .map(|p| format!(" (previous {p})"))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
        PluginAction::Enable { name } => {
            admin_host(config, store)
                .await?
                .set_enabled(&name, true, &by)
                .await?;
            writeln!(out, "enabled {name}")?;
        }
        PluginAction::Disable { name } => {
            admin_host(config, store)
                .await?
                .set_enabled(&name, false, &by)
                .await?;
            writeln!(out, "disabled {name}")?;
        }
        PluginAction::Rollback { name } => {
            let plugin = admin_host(config, store)
                .await?
                .rollback(&name, &by)
                .await?;
            writeln!(out, "{name} rolled back to {}", plugin.version)?;
        }
        PluginAction::Grant(args) => {
            let (kind, target) = grant_target(&args, false)?;
            let added = store
                .plugin_grant(&args.plugin, kind, &target, now, &by)
                .await?;
            writeln!(
                out,
                "{} {} {target} to {}",
                if added { "granted" } else { "already granted:" },
                kind.as_str(),
                args.plugin
            )?;
        }
        PluginAction::Revoke(args) => {
            let (kind, target) = grant_target(&args, true)?;
            if !store
                .plugin_revoke(&args.plugin, kind, &target, &by)
                .await?
            {
                bail!("{} was not granted {} {target}", args.plugin, kind.as_str());
            }
            writeln!(
                out,
                "revoked {} {target} from {}",
                kind.as_str(),
                args.plugin
            )?;
        }
        PluginAction::Tick { name, schedule } => {
            let record = store.plugin(&name).await?;
            let manifest = jingxun::plugins::parse_manifest(&record.current.manifest_json)?;
            let Some(found) = manifest.schedules.iter().find(|s| s.name == schedule) else {
                let names: Vec<&str> = manifest.schedules.iter().map(|s| s.name.as_str()).collect();
                bail!(
                    "{name} {} has no schedule `{schedule}`; its schedules: {}",
                    record.current.version,
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                );
            };
            let key = format!("tick:{}:now-{now}", found.name);
            let payload = jingxun::store::EventPayload::Tick {
                schedule: found.name.clone(),
                due_at: now,
            };
            let audit = by
                .entry(
                    jingxun::audit::AuditComponent::Plugins,
                    jingxun::audit::AuditEvent::PluginTick,
                    &name,
                )
                .with_details(serde_json::json!({ "schedule": found.name, "event": key }));
            store
                .plugin_event_schedule(&name, &key, &payload, now, now, Some(&audit))
                .await?;
            writeln!(out, "queued {key} for {name}")?;
        }
        PluginAction::State { name, json } => {
            for entry in store.plugin_state(&name).await? {
                if json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({
                            "key": entry.key,
                            "value_hex": hex::encode(&entry.value),
                            "value": String::from_utf8(entry.value.clone()).ok(),
                            "updated_at": entry.updated_at,
                        })
                    )?;
                } else {
                    let shown = match std::str::from_utf8(&entry.value) {
                        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
                        _ => format!("0x{}", hex::encode(&entry.value)),
                    };
                    writeln!(out, "{}\t{shown}", entry.key)?;
                }
            }
            let usage = store.plugin_state_usage(&name).await?;
            if !json {
                writeln!(out, "({} keys, {} bytes)", usage.keys, usage.bytes)?;
            }
        }
        PluginAction::Events { name, limit, json } => {
            for d in store
                .plugin_events(name.as_deref(), limit.min(1000))
                .await?
            {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&d)?)?;
                } else {
                    writeln!(
                        out,
                        "{:<12} {:<36} {:<8} attempts {}{}",
                        d.plugin,
                        d.key,
                        match d.state {
                            jingxun::store::DeliveryState::Pending => "pending",
                            jingxun::store::DeliveryState::Done => "done",
                            jingxun::store::DeliveryState::Failed => "failed",
                        },
                        d.attempts,
                        d.last_error
                            .map(|e| format!("  last error: {e}"))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
        PluginAction::Try(_) => unreachable!("run handles it before opening the store"),
        PluginAction::Config {
            action: PluginConfigAction::Set { plugin, key, value },
        } => {
            if key.trim().is_empty() || key.len() > 64 {
                bail!("--key must be 1-64 characters");
            }
            store
                .plugin_config_set(&plugin, &key, &value, now, &by)
                .await?;
            writeln!(out, "set {plugin} {key}")?;
        }
    }
    Ok(())
}

async fn admin_host(config: &Config, store: &Store) -> anyhow::Result<PluginHost> {
    Ok(PluginHost::admin(store.clone(), PluginSettings::from_config(config)).await?)
}

fn grant_target(args: &GrantArgs, revoking: bool) -> anyhow::Result<(GrantKind, String)> {
    use jingxun::plugins::capability::http::grant::{HttpGrant, HttpGrantError};
    match (&args.datasource, &args.http_host, &args.capability) {
        (Some(d), None, None) => {
            if !valid_datasource_name(d) {
                bail!("--datasource must be 1-32 lower-case letters, digits, '-' or '_'");
            }
            Ok((GrantKind::Datasource, d.clone()))
        }
        (None, Some(h), None) => match HttpGrant::parse(h) {
            Ok(grant) => Ok((GrantKind::HttpHost, grant.to_string())),
            // A grant stored before ports were required can still be revoked.
            Err(HttpGrantError::MissingPort(_)) if revoking => {
                Ok((GrantKind::HttpHost, h.trim().to_ascii_lowercase()))
            }
            Err(e) => bail!("--http-host: {e}"),
        },
        (None, None, Some(c)) => match c.trim().parse::<Capability>() {
            Ok(capability) => Ok((GrantKind::Capability, capability.as_str().to_owned())),
            // A grant of a capability a newer version knows can still be revoked.
            Err(_) if revoking => Ok((GrantKind::Capability, c.trim().to_owned())),
            Err(e) => bail!("--capability: {e}"),
        },
        _ => bail!("give exactly one of --datasource, --http-host or --capability"),
    }
}

/// `jingxun plugin try`.
async fn try_plugin(config: &Config, args: TryArgs) -> anyhow::Result<()> {
    use jingxun::plugins::trial::{self, TrialGrants};
    let pair = |flag: &str, given: &str| -> anyhow::Result<(String, String)> {
        match given.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => bail!("--{flag} takes NAME=VALUE, not `{given}`"),
        }
    };
    let grants = TrialGrants {
        datasources: args
            .datasources
            .iter()
            .map(|d| pair("datasource", d))
            .collect::<anyhow::Result<_>>()?,
        http_hosts: args
            .http_hosts
            .iter()
            .map(|h| {
                jingxun::plugins::capability::http::grant::HttpGrant::parse(h)
                    .map(|g| g.to_string())
                    .map_err(|e| anyhow::anyhow!("--http-host: {e}"))
            })
            .collect::<anyhow::Result<_>>()?,
        capabilities: args
            .capabilities
            .iter()
            .map(|c| {
                c.trim()
                    .parse::<Capability>()
                    .map_err(|e| anyhow::anyhow!("--capability: {e}"))
            })
            .collect::<anyhow::Result<_>>()?,
        config: args
            .settings
            .iter()
            .map(|c| pair("set", c))
            .collect::<anyhow::Result<_>>()?,
        contacts: Vec::new(),
    };
    let country = &config.sms.default_country_code;
    let sender = jingxun::phone::PhoneNumber::parse(&args.from, country)
        .map_err(|e| anyhow::anyhow!("--from {}: {e}", args.from))?;
    let mut grants = grants;
    for number in &args.contacts {
        let canonical = jingxun::phone::PhoneNumber::parse(number, country)
            .map_err(|e| anyhow::anyhow!("--contact {number}: {e}"))?;
        grants.contacts.push(canonical.as_str().to_owned());
    }
    let input = match (&args.tick, &args.text) {
        (Some(schedule), _) => trial::TrialInput::Tick(schedule.clone()),
        (None, Some(text)) => {
            let Some(command) = jingxun::router::command::parse(text) else {
                bail!(
                    "`{text}` is no command: it must start with the keyword, e.g. \"CP 京A12345\""
                );
            };
            trial::TrialInput::Command(jingxun::plugins::PluginRequest {
                id: "try".into(),
                sender: sender.as_str().to_owned(),
                user: None,
                keyword: command.keyword,
                arguments: command.arguments,
                text: text.clone(),
                received_at: jingxun::clock::now_ms(),
            })
        }
        (None, None) => bail!("give the SMS text, or --tick SCHEDULE"),
    };
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    // Compiled into a cache of its own that goes with the run: a trial leaves nothing behind.
    let cache = tempfile::tempdir().context("cannot create a temporary compile cache")?;
    let settings = PluginSettings {
        cache_dir: cache.path().to_path_buf(),
        ..PluginSettings::from_config(config)
    };
    let report = trial::run(&wasm, &grants, input, &settings).await?;
    let mut out = std::io::stdout().lock();
    let m = &report.manifest;
    let list = |items: Vec<&str>| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    writeln!(
        out,
        "plugin {} {} (contract {}), answering {}",
        m.name,
        m.version,
        m.contract,
        list(m.commands.iter().map(|c| c.keyword.as_str()).collect())
    )?;
    writeln!(
        out,
        "asks for: datasources {}; HTTP hosts {}; capabilities {}",
        list(m.datasources.iter().map(String::as_str).collect()),
        list(m.http_hosts.iter().map(String::as_str).collect()),
        list(m.capabilities.iter().map(|c| c.as_str()).collect())
    )?;
    if !m.events.is_empty() || !m.schedules.is_empty() {
        writeln!(
            out,
            "reacts to: events {}; daily schedules {}",
            list(m.events.iter().map(|e| e.as_str()).collect()),
            list(
                m.schedules
                    .iter()
                    .map(|s| format!("{} {}", s.name, s.daily_at))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect()
            )
        )?;
    }
    writeln!(out, "host calls: {}", report.calls.len())?;
    for call in &report.calls {
        let target = if call.target.is_empty() {
            String::new()
        } else {
            format!(" {}", call.target)
        };
        match &call.refused {
            None => writeln!(out, "  {}{target}", call.function)?,
            Some(why) => writeln!(out, "  {}{target}  REFUSED: {why}", call.function)?,
        }
    }
    if !report.effects.is_empty() && report.outcome.is_ok() {
        writeln!(out, "a daemon would keep (a trial keeps nothing):")?;
        for (key, value) in &report.effects.state_writes {
            match value {
                Some(v) => writeln!(out, "  state {key} = {} bytes", v.len())?,
                None => writeln!(out, "  state {key} deleted")?,
            }
        }
        for m in &report.effects.messages {
            writeln!(out, "  SMS to {}: {}", m.peer, m.text)?;
        }
    }
    match report.outcome {
        Ok(trial::TrialAnswer::Handled) => {
            writeln!(out, "handled (on-event returned ok)")?;
            Ok(())
        }
        Ok(trial::TrialAnswer::Reply(reply)) => {
            let parts = jingxun::sms::plan(&reply.text).parts;
            writeln!(
                out,
                "reply ({}, {parts} SMS part{}):",
                match reply.outcome {
                    jingxun::plugins::Outcome::Answered => "answered",
                    jingxun::plugins::Outcome::NotFound => "not found",
                },
                if parts == 1 { "" } else { "s" }
            )?;
            writeln!(out, "{}", reply.text)?;
            Ok(())
        }
        Err(e) => {
            writeln!(out, "no reply: {e}")?;
            bail!("the plugin did not answer: {e}")
        }
    }
}
