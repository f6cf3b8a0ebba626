//! `jingxun contact ...`: people of the internal address book (R21) from the command line:
//! the same book the web admin edits and the `TXL` query reads.

use std::io::Write;

use clap::Subcommand;

use super::user::cli_actor;
use jingxun::address_book::Book;
use jingxun::config::Config;

/// `jingxun contact` subcommands.
#[derive(Subcommand)]
pub enum ContactAction {
    /// Add a person.
    Add {
        /// Full name.
        #[arg(long)]
        name: String,
        /// Phone number(s), the preferred first; repeat or separate with commas.
        #[arg(long = "number", required = true, value_name = "PHONE")]
        numbers: Vec<String>,
        /// The department as a path from the top, `市局/刑侦支队`; missing departments are
        /// created.
        #[arg(long, value_name = "PATH")]
        department: Option<String>,
        /// Job title.
        #[arg(long, default_value = "")]
        title: String,
    },
    /// List people with their department and numbers.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `jingxun contact` subcommand.
pub async fn run(config: &Config, action: ContactAction) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let book = Book::new(store.clone(), &config.sms.default_country_code);
    let actor = cli_actor();
    let result = async {
        let mut out = std::io::stdout().lock();
        match action {
            ContactAction::Add {
                name,
                numbers,
                department,
                title,
            } => {
                let department = match department.as_deref() {
                    Some(path) => book.department_at_path(path, &actor).await?,
                    None => None,
                };
                let id = book
                    .save_contact(None, &name, &title, department, &numbers.join(","), &actor)
                    .await?;
                writeln!(out, "contact {id} added: {}", name.trim())?;
            }
            ContactAction::List { json } => {
                let snapshot = book.snapshot().await?;
                for c in &snapshot.contacts {
                    let department = snapshot.department_path(c.department).join("/");
                    if json {
                        let value = serde_json::json!({
                            "id": c.id,
                            "name": c.name,
                            "title": c.title,
                            "department": department,
                            "numbers": c.numbers,
                        });
                        writeln!(out, "{value}")?;
                    } else {
                        writeln!(
                            out,
                            "{:<6} {:<12} {:<24} {}",
                            c.id,
                            c.name,
                            department,
                            c.numbers.join(",")
                        )?;
                    }
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
