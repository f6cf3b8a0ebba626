//! `jingxun help-text ...`: the administrator's text sent in answer to `H` (R15), followed by
//! the commands the sender may use.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use jingxun::config::Config;

use super::user::{cli_actor, open_directory};

/// `jingxun help-text` subcommands.
#[derive(Subcommand)]
pub enum HelpTextAction {
    /// Replace the help text.
    Set {
        /// The new text.
        #[arg(long, required_unless_present = "file", conflicts_with = "file")]
        text: Option<String>,
        /// Read the new text from this UTF-8 file.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Print the help text (the default one if none was set).
    Show,
}

/// Runs one `jingxun help-text` subcommand.
pub async fn run(config: &Config, action: HelpTextAction) -> anyhow::Result<()> {
    let text = match &action {
        HelpTextAction::Set {
            text: Some(text), ..
        } => Some(text.clone()),
        HelpTextAction::Set {
            file: Some(file), ..
        } => Some(std::fs::read_to_string(file).with_context(|| {
            format!(
                "cannot read the help text from {}: give a readable UTF-8 file",
                file.display()
            )
        })?),
        HelpTextAction::Set { .. } => anyhow::bail!("give --text \"...\" or --file FILE"),
        HelpTextAction::Show => None,
    };
    let (store, directory) = open_directory(config).await?;
    let result = async {
        let mut out = std::io::stdout().lock();
        match text {
            Some(text) => {
                directory.set_help_text(&text, &cli_actor()).await?;
                writeln!(
                    out,
                    "help text set ({} characters)",
                    text.trim().chars().count()
                )?;
            }
            None => writeln!(out, "{}", directory.help_text().await?)?,
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
