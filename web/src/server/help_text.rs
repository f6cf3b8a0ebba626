//! The help text (R15); administrators only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::help_text::HelpTextPage;

/// The help text, and what `phone` (if given) receives for `H`.
#[server(prefix = "/ui/fn", endpoint = "help_text", input = GetUrl)]
pub async fn get_help_text(phone: Option<String>) -> Result<HelpTextPage, ServerFnError> {
    let (backend, _) = crate::ssr::require(Page::HelpText)?;
    backend.help_text(phone).await.map_err(super::refused)
}

/// Saves the help text.
#[server(prefix = "/ui/fn", endpoint = "help_text_set")]
pub async fn help_text_set(
    csrf: String,
    text: String,
    #[server(default)] phone: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::HelpText)?;
    let outcome = backend.help_text_set(&actor, text).await;
    let path = if phone.is_empty() {
        "/help-text".to_owned()
    } else {
        format!(
            "/help-text?phone={}",
            crate::model::encode_component(&phone)
        )
    };
    crate::ssr::redirect_with(&path, &outcome, "help_text_saved");
    Ok(())
}
