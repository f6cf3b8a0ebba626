//! `jingxun datasource ...`: the databases plugins may query read-only, by name (R5).
//! Adding one grants it at once to the bundled plugins that ask for it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;

use jingxun::audit::ChangeAuthor;
use jingxun::config::Config;
use jingxun::plugins::valid_datasource_name;
use jingxun::store::Store;

/// `jingxun datasource` subcommands.
#[derive(Subcommand)]
pub enum DatasourceAction {
    /// Register a datasource.
    Add {
        /// The name plugins use, e.g. police.
        #[arg(long)]
        name: String,
        /// sqlite://FILE (opened read-only) or postgres://USER@HOST:PORT/DB (queried inside
        /// read-only transactions; USER must be a role that may only SELECT: a superuser or a
        /// role that owns or may change a table is refused, with the SQL to create one).
        #[arg(long)]
        url: String,
    },
    /// List datasources (passwords hidden).
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `jingxun datasource` subcommand.
pub async fn run(config: &Config, action: DatasourceAction) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let result = execute(&store, action).await;
    store.close().await;
    result
}

async fn execute(store: &Store, action: DatasourceAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match action {
        DatasourceAction::Add { name, url } => {
            if !valid_datasource_name(&name) {
                bail!("--name must be 1-32 lower-case letters, digits, '-' or '_'");
            }
            let url = normalise_url(&url)?;
            if !url.starts_with("sqlite:") {
                // PostgreSQL: the role must be able to SELECT only (checked again on every
                // connection the daemon opens).
                use jingxun::plugins::capability::datasource::role::{RoleError, check_url};
                match check_url(&url).await {
                    Ok(()) => {}
                    Err(RoleError::Unreachable(why)) => eprintln!(
                        "warning: {why}; the daemon checks the role when it connects and refuses \
                         one that can write"
                    ),
                    Err(refused) => bail!("{refused}"),
                }
            }
            let granted = store
                .datasource_add(
                    &name,
                    &url,
                    jingxun::clock::now_ms(),
                    &ChangeAuthor::new(super::user::cli_actor(), "cli"),
                )
                .await?;
            writeln!(
                out,
                "added datasource {name} ({}){}",
                jingxun::store::redact_url(&url),
                if granted.is_empty() {
                    String::new()
                } else {
                    format!("; granted to {}", granted.join(", "))
                }
            )?;
        }
        DatasourceAction::List { json } => {
            for mut d in store.datasources().await? {
                d.url = jingxun::store::redact_url(&d.url);
                if json {
                    writeln!(out, "{}", serde_json::to_string(&d)?)?;
                } else {
                    writeln!(out, "{:<16} {}", d.name, d.url)?;
                }
            }
        }
    }
    Ok(())
}

/// Checks the scheme; makes a SQLite file path absolute (the daemon may run in another
/// folder) and checks that the file exists.
fn normalise_url(url: &str) -> anyhow::Result<String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(url.to_owned());
    }
    let Some(rest) = url.strip_prefix("sqlite://") else {
        bail!("--url must be sqlite://FILE or postgres://USER@HOST:PORT/DB");
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = Path::new(path);
    if !path.is_file() {
        bail!(
            "{} is not a file; create it first (e.g. `jingxun demo-data --out {}`)",
            path.display(),
            path.display()
        );
    }
    let absolute = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    Ok(match query {
        Some(q) => format!("sqlite://{}?{q}", absolute.display()),
        None => format!("sqlite://{}", absolute.display()),
    })
}
