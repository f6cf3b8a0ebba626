//! `jingxun serve`: starts the store, the modems (serial or built-in simulated), the dispatcher
//! and the HTTP listener, and on SIGTERM or SIGINT drains: no new work is claimed, the messages
//! already handed to modems are sent and settled, then everything stops.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::directory::Directory;
use crate::dispatch::{self, DispatchSettings, Wake};
use crate::http::{self, AppState};
use crate::modem::driver::{self, DriverSettings};
use crate::modem::sim::{SimConfig, SimHandle, SimModem};
use crate::plugins::{PluginHost, PluginSettings};
use crate::router::{Router, RouterParts, RouterSettings};
use crate::store::{Store, redact_url};

/// How long a drain may take before the daemon stops anyway (leases then recover the rest).
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened.
    #[error("cannot open the message store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The platform key could not be loaded, or is not the one the audit log was keyed with.
    #[error("cannot open the message store with the platform key: {0}")]
    Secrets(#[from] crate::store::OpenStoreError),
    /// The plugin host could not start.
    #[error("cannot start the plugin host: {0}")]
    Plugins(#[from] crate::plugins::PluginError),
    /// A built-in simulated modem could not start.
    #[error("cannot start the simulated modem `{name}`: {source}")]
    Simulator {
        /// The modem's configured name.
        name: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The demo datasource of the embedded default start could not be created.
    #[error(
        "cannot create the demo police datasource ({DEMO_DATASOURCE_FILE} in the current folder): {0}"
    )]
    DemoData(std::io::Error),
    /// The HTTP listener could not bind.
    #[error(
        "cannot listen on {address} (http.listen): {source}; is another jingxun running? choose another port"
    )]
    Listen {
        /// The configured address.
        address: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The metrics listener could not bind.
    #[error(
        "cannot listen on {address} (metrics.listen): {source}; choose another port, or leave metrics.listen out"
    )]
    MetricsListen {
        /// The configured address.
        address: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Web accounts could not be read or the initial administrator created.
    #[error("cannot prepare the web admin's accounts: {0}")]
    Accounts(#[from] crate::auth::AuthError),
    /// The webhook dispatcher's TLS client could not be set up (webhooks.ca_file).
    #[error("cannot set up HTTPS for webhooks (webhooks.ca_file): {0}")]
    WebhookTls(#[from] crate::api::webhook_tls::WebhookTlsError),
}

/// The demo police datasource the embedded default start creates and registers.
const DEMO_DATASOURCE: &str = "police";
/// Its file, in the current folder.
const DEMO_DATASOURCE_FILE: &str = "police-demo.db";

/// Runs the daemon until SIGTERM or SIGINT. `embedded` says the configuration is the embedded
/// default (no file): then a demo police datasource is created and registered if there is none,
/// so that `CP 京A12345` answers out of the box.
pub async fn serve(config: Config, embedded: bool) -> Result<(), DaemonError> {
    let store = crate::store::open_store(&config).await?;
    if embedded {
        ensure_demo_datasource(&store).await?;
    }
    // The query plugins (issue 3): loaded before any message is read; the router answers
    // commands through this handle.
    let plugins = PluginHost::start(store.clone(), PluginSettings::from_config(&config)).await?;
    let commands: Vec<String> = plugins
        .commands()
        .iter()
        .map(|c| format!("{} ({}@{})", c.keyword, c.plugin, c.version))
        .collect();
    tracing::info!(?commands, "plugin commands ready");
    let shutdown = CancellationToken::new();
    // The modem drivers wake the router with each inbound message they store.
    let new_inbound = crate::inbox_signal::NewInbound::default();
    let settings = DriverSettings {
        default_country_code: config.sms.default_country_code.clone(),
        new_inbound: new_inbound.clone(),
    };

    let mut simulators: Vec<SimHandle> = Vec::new();
    let mut modems = Vec::new();
    let mut modem_tasks = Vec::new();
    for modem in &config.modems {
        let device = if modem.is_simulated() {
            let sim_config = SimConfig {
                status_report_delay: Some(Duration::from_millis(300)),
                ..SimConfig::default()
            };
            let sim = SimModem::start(sim_config, None).await.map_err(|source| {
                DaemonError::Simulator {
                    name: modem.name.clone(),
                    source,
                }
            })?;
            let path = sim.path().display().to_string();
            simulators.push(sim);
            path
        } else {
            modem.port.clone()
        };
        tracing::info!(modem = %modem.name, %device, baud = modem.baud, simulated = modem.is_simulated(), "starting modem");
        let (handle, task) = driver::spawn(
            modem.clone(),
            device,
            settings.clone(),
            store.clone(),
            shutdown.clone(),
        );
        modems.push(handle);
        modem_tasks.push(task);
    }
    if modems.is_empty() {
        tracing::warn!("no [[modem]] configured: outbound messages stay queued until one is");
    }

    let wake = Wake::default();
    // Wakes inbox long-polls and the webhook dispatcher when the router assigns messages to API
    // keys (issue 5).
    let inbox = crate::inbox_signal::InboxSignal::default();
    let router = Router::new(
        RouterParts {
            store: store.clone(),
            directory: Directory::new(store.clone(), &config.sms.default_country_code),
            plugins: plugins.clone(),
            wake: wake.clone(),
        },
        RouterSettings {
            router: config.router.clone(),
            status_report: config.queue.status_report,
            max_attempts: config.queue.max_attempts,
            default_country_code: config.sms.default_country_code.clone(),
            poll_interval: crate::router::INBOX_FALLBACK_POLL,
        },
    );
    let router_task = tokio::spawn(
        router
            .with_inbox_signal(inbox.clone())
            .with_new_inbound(new_inbound)
            .run(shutdown.clone()),
    );

    let owner = lease_owner();
    let dispatch_settings = DispatchSettings {
        owner: owner.clone(),
        queue: config.queue.clone(),
    };
    let dispatcher = tokio::spawn(dispatch::run(
        store.clone(),
        modems.clone(),
        dispatch_settings,
        wake.clone(),
        shutdown.clone(),
    ));

    let webhook_connector = crate::api::webhook_tls::connector(
        config.webhooks.ca_file.as_deref(),
        crate::api::webhooks::REQUEST_TIMEOUT,
    )?;
    let webhook_task = tokio::spawn(crate::api::webhooks::run(
        store.clone(),
        inbox.clone(),
        owner.clone(),
        webhook_connector,
        shutdown.clone(),
    ));

    // Events and scheduled ticks for plugins (contract 1.1), delivered at least once.
    tokio::spawn(crate::plugins::delivery::run(
        plugins.clone(),
        owner.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(checkpoint_wal(store.clone(), shutdown.clone()));
    // [retention]: old finished messages and API records go once an hour, in small batches.
    tokio::spawn(crate::operations::retention::run_periodically(
        store.clone(),
        crate::store::retention::RetentionPolicy::from_config(&config.retention),
        shutdown.clone(),
    ));

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            address: config.http.listen,
            source,
        })?;
    // Prometheus metrics on their own listener ([metrics] listen; no authentication, so never
    // on the public port).
    let metrics_server = match config.metrics.listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| DaemonError::MetricsListen { address, source })?;
            tracing::info!(listen = %address, "metrics at /metrics");
            Some(tokio::spawn(crate::metrics::serve(
                listener,
                crate::metrics::MetricsState {
                    store: store.clone(),
                    modems: modems.clone(),
                    metrics: crate::metrics::global().clone(),
                },
                shutdown.clone(),
            )))
        }
        None => None,
    };
    let api = crate::api::ApiState {
        inbox: inbox.clone(),
        ..crate::api::ApiState::new(
            store.clone(),
            wake.clone(),
            crate::api::ApiSettings::from_config(&config),
        )
    };
    // Kept to write the refused calls' audit rows still queued when the server stops.
    let api_audit = api.auth.audit.clone();
    // The web admin's accounts: its sessions, and who may see /healthz's details.
    let accounts = crate::auth::Accounts::new(
        store.clone(),
        crate::auth::AuthSettings::from_config(&config),
    );
    let app = http::router(AppState {
        store: store.clone(),
        modems: modems.clone(),
        api,
        accounts: accounts.clone(),
    });
    // The web admin (issue 4) on the same port, behind its session layer; the API keeps /api.
    if embedded {
        announce_initial_admin(&accounts, config.http.listen, &config.database.url).await?;
    }
    let app = app.merge(crate::web::router(
        crate::web::WebState {
            accounts,
            store: store.clone(),
            modems: modems.clone(),
            simulators: simulators.clone(),
            plugins: plugins.clone(),
            directory: Directory::new(store.clone(), &config.sms.default_country_code),
            default_country_code: config.sms.default_country_code.clone(),
            max_attempts: config.queue.max_attempts,
            status_report: config.queue.status_report,
            secure_cookies: config.web.secure_cookies,
            throttle: std::sync::Arc::default(),
            wake: wake.clone(),
            shutdown: shutdown.clone(),
            fresh_keys: std::sync::Arc::default(),
        },
        &crate::web::site_dir(&config),
    ));
    // Who each request came from (the peer, or the client behind a trusted reverse proxy),
    // for the API's per-source limits and audit rows and the web admin's sign-in records.
    let app = app.layer(axum::middleware::from_fn_with_state(
        crate::net::client_address::TrustedProxies::new(config.http.trusted_proxy_networks()),
        crate::net::client_address::layer,
    ));
    // Requests at once, time per request and body size, around every route (issue 18).
    let app = http::with_limits(app, http::RequestLimits::from_config(&config.http));
    // Outermost: counts every answer by status for /metrics, the limits' 408 and 413 included.
    let app = app.layer(axum::middleware::from_fn(crate::metrics::count_requests));
    let http_shutdown = shutdown.clone();
    let server = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(http_shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    tracing::info!(listen = %config.http.listen, database = %redact_url(&config.database.url), modems = modems.len(), %owner, "jingxun is running");

    wait_for_signal().await;
    tracing::info!("stopping: sending what the modems hold, claiming nothing new");
    shutdown.cancel();
    inbox.close();
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        let _ = router_task.await;
        let _ = dispatcher.await;
        let _ = webhook_task.await;
        for task in modem_tasks {
            let _ = task.await;
        }
        let _ = server.await;
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(limit = ?DRAIN_LIMIT, "drain took too long; unsent messages return to the queue when their lease ends");
    }
    // The server has stopped: no more rows come; write those still queued before closing.
    if tokio::time::timeout(DRAIN_LIMIT, api_audit.flush())
        .await
        .is_err()
    {
        tracing::error!("the API's queued audit rows could not be written before stopping");
    }
    for sim in simulators {
        sim.shutdown().await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Creates `police-demo.db` (synthetic data) in the current folder and registers it as the
/// `police` datasource, unless a datasource of that name exists.
async fn ensure_demo_datasource(store: &Store) -> Result<(), DaemonError> {
    let existing = store.datasources().await?;
    if existing.iter().any(|d| d.name == DEMO_DATASOURCE) {
        return Ok(());
    }
    let path = std::env::current_dir()
        .map_err(DaemonError::DemoData)?
        .join(DEMO_DATASOURCE_FILE);
    match jingxun_demo_data::write_demo_database(&path, jingxun_demo_data::DEFAULT_SEED).await {
        Ok(summary) => {
            tracing::info!(file = %path.display(), ?summary, "created the demo police datasource (synthetic data)")
        }
        Err(jingxun_demo_data::DemoDataError::Exists(_)) => {
            tracing::info!(file = %path.display(), "reusing the demo police datasource")
        }
        Err(e) => return Err(DaemonError::DemoData(std::io::Error::other(e.to_string()))),
    }
    let granted = store
        .datasource_add(
            DEMO_DATASOURCE,
            &format!("sqlite://{}", path.display()),
            crate::clock::now_ms(),
            &crate::audit::ChangeAuthor::daemon(),
        )
        .await
        .map_err(crate::plugins::PluginError::from)?;
    tracing::info!(
        datasource = DEMO_DATASOURCE,
        ?granted,
        "registered the demo datasource"
    );
    Ok(())
}

/// The file the initial administrator's password is written to when the daemon's output is not
/// a terminal: beside the SQLite database, or in the current folder for PostgreSQL.
pub const INITIAL_ADMIN_PASSWORD_FILE: &str = "initial-admin-password";

/// The embedded default start: when no administrator can sign in to the web admin, creates
/// user `admin` with a random password and hands it over once, never through the log (which
/// may be collected, shipped and kept): printed on the terminal when standard output or
/// standard error is one; otherwise written to [`password_file`] (mode 0600, only this user
/// may read it) and only that file's path is logged.
async fn announce_initial_admin(
    accounts: &crate::auth::Accounts,
    listen: std::net::SocketAddr,
    database_url: &str,
) -> Result<(), DaemonError> {
    use std::io::IsTerminal;
    let Some(password) = accounts.ensure_initial_admin().await? else {
        return Ok(());
    };
    let note = format!(
        "\n==> Web admin: http://{listen}/\n    first sign-in: login `admin`, password `{password}`\n    (shown only this once: sign in and change it under 修改密码 / Change password)\n"
    );
    if std::io::stdout().is_terminal() {
        println!("{note}");
        tracing::info!(
            "created the initial web administrator `admin`; its password is printed once on the terminal"
        );
        return Ok(());
    }
    if std::io::stderr().is_terminal() {
        eprintln!("{note}");
        tracing::info!(
            "created the initial web administrator `admin`; its password is printed once on the terminal"
        );
        return Ok(());
    }
    let path = password_file(database_url);
    match write_private(&path, &format!("{password}\n")) {
        Ok(()) => tracing::warn!(
            file = %path.display(),
            "created the initial web administrator `admin`; the output is not a terminal, so its password was written to this file (readable by this user only): sign in at http://{listen}/, change the password, then delete the file"
        ),
        Err(e) => tracing::error!(
            file = %path.display(),
            error = %e,
            "created the initial web administrator `admin` but cannot write its password to this file; set one with `jingxun user passwd --login admin --password-stdin`"
        ),
    }
    Ok(())
}

/// Where [`announce_initial_admin`] writes the password: [`INITIAL_ADMIN_PASSWORD_FILE`] in the
/// folder of a SQLite database file, else in the current folder.
pub fn password_file(database_url: &str) -> std::path::PathBuf {
    let folder = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && !path.contains(":memory:"))
        .and_then(|path| {
            std::path::Path::new(path)
                .parent()
                .map(std::path::Path::to_path_buf)
        })
        .unwrap_or_default();
    folder.join(INITIAL_ADMIN_PASSWORD_FILE)
}

/// Writes `text` to a new file at `path` that only this user may read or write (0600),
/// replacing an older one (removed first, so that its mode or a link planted there is not
/// reused).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// A name for this process's leases: host, process id and start time, unique per run.
fn lease_owner() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".into());
    format!("{host}/{}/{}", std::process::id(), crate::clock::now_ms())
}

async fn wait_for_signal() {
    let mut terminate = match tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::terminate(),
    ) {
        Ok(signal) => signal,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Checkpoints the SQLite WAL every [`crate::store::CHECKPOINT_INTERVAL`] until shutdown, so
/// that commits never wait for a checkpoint (see [`crate::store::Store::checkpoint`]).
async fn checkpoint_wal(store: crate::store::Store, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(crate::store::CHECKPOINT_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(e) = store.checkpoint().await {
            tracing::warn!(error = %e, "cannot checkpoint the database's write-ahead log; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_password_file_lies_beside_a_sqlite_database_else_in_the_current_folder() {
        assert_eq!(
            password_file("sqlite:///var/lib/jingxun/jingxun.db?mode=rwc"),
            std::path::Path::new("/var/lib/jingxun/initial-admin-password")
        );
        assert_eq!(
            password_file("sqlite://jingxun.db"),
            std::path::Path::new("initial-admin-password")
        );
        for elsewhere in ["postgres://jx@db/jx", "sqlite::memory:"] {
            assert_eq!(
                password_file(elsewhere),
                std::path::Path::new(INITIAL_ADMIN_PASSWORD_FILE)
            );
        }
    }

    #[test]
    fn the_password_file_is_private_and_replaces_an_older_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INITIAL_ADMIN_PASSWORD_FILE);
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, "s3cret\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
