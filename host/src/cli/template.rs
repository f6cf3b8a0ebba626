//! `jingxun template ...`: the administrator-edited texts of OA reminders and citizen notices
//! (issue 5; R17). Changes are checked (placeholders, length) and audited like help-text
//! changes: an audit row by `cli:<user>`, in the transaction that stores the text.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use jingxun::api::templates;
use jingxun::config::Config;
use jingxun::store::Store;

use super::phone::json_line;
use super::user::cli_actor;

/// `jingxun template` subcommands.
#[derive(Subcommand)]
pub enum TemplateAction {
    /// List the templates with their texts and placeholders.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Print one template's text and the placeholders it may use.
    Show {
        /// oa.todo, oa.read, citizen.passport, citizen.exit_entry or citizen.id_card.
        #[arg(long, value_name = "NAME")]
        key: String,
    },
    /// Replace a template's text. Placeholders are written {title}; a [[...]] segment is left
    /// out when a placeholder in it has no value; {{ and }} are literal braces.
    Set {
        /// oa.todo, oa.read, citizen.passport, citizen.exit_entry or citizen.id_card.
        #[arg(long, value_name = "NAME")]
        key: String,
        /// The new text.
        #[arg(long, required_unless_present = "file", conflicts_with = "file")]
        text: Option<String>,
        /// Read the new text from this UTF-8 file.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// Runs one `jingxun template` subcommand.
pub async fn run(config: &Config, action: TemplateAction) -> anyhow::Result<()> {
    let store = jingxun::store::open_store(config).await?;
    let result = execute(&store, action).await;
    store.close().await;
    result
}

fn placeholders(name: &str) -> String {
    templates::spec(name)
        .map(|s| {
            s.placeholders
                .iter()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

async fn execute(store: &Store, action: TemplateAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match action {
        TemplateAction::List { json } => {
            for record in templates::list(store).await? {
                if json {
                    writeln!(out, "{}", json_line(&record)?)?;
                } else {
                    let by = if record.updated_at == 0 {
                        "default".to_owned()
                    } else {
                        format!(
                            "{} by {}",
                            jingxun::clock::rfc3339(record.updated_at),
                            record.updated_by
                        )
                    };
                    writeln!(out, "{}  ({by})", record.name)?;
                    writeln!(out, "  placeholders: {}", placeholders(&record.name))?;
                    writeln!(out, "  {}", record.text)?;
                }
            }
        }
        TemplateAction::Show { key } => {
            let spec = templates::spec(&key)
                .ok_or_else(|| templates::TemplateError::UnknownTemplate(key.clone()))?;
            let record = templates::list(store)
                .await?
                .into_iter()
                .find(|r| r.name == spec.name)
                .context("the template list lacks a known template")?;
            writeln!(out, "{}", record.text)?;
            writeln!(
                out,
                "# {}: placeholders {}",
                spec.description,
                placeholders(&key)
            )?;
        }
        TemplateAction::Set { key, text, file } => {
            let text = match (text, file) {
                (Some(text), _) => text,
                (None, Some(file)) => std::fs::read_to_string(&file).with_context(|| {
                    format!(
                        "cannot read the template from {}: give a readable UTF-8 file",
                        file.display()
                    )
                })?,
                (None, None) => anyhow::bail!("give --text \"...\" or --file FILE"),
            };
            let stored = templates::set_template(store, &key, &text, &cli_actor(), "cli").await?;
            writeln!(
                out,
                "template {key} set ({} characters)",
                stored.chars().count()
            )?;
        }
    }
    Ok(())
}
