//! The plugin registry (the upload is the multipart route `/ui/upload/plugin`);
//! administrators only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::model::plugins::PluginsPage;
#[cfg(feature = "ssr")]
use crate::model::{Page, Refusal, RefusalCode};
#[cfg(feature = "ssr")]
use crate::ssr::backend::PluginGrantKind;

/// The plugins page's data.
#[server(prefix = "/ui/fn", endpoint = "plugins", input = GetUrl)]
pub async fn get_plugins() -> Result<PluginsPage, ServerFnError> {
    let (backend, _) = crate::ssr::require(Page::Plugins)?;
    backend.plugins().await.map_err(super::refused)
}

/// Enables (`enabled` = `1`) or disables a plugin.
#[server(prefix = "/ui/fn", endpoint = "plugin_enabled")]
pub async fn plugin_set_enabled(
    csrf: String,
    name: String,
    enabled: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Plugins)?;
    let enabled = enabled == "1";
    let outcome = backend.plugin_set_enabled(&actor, name, enabled).await;
    let done = if enabled {
        "plugin_enabled"
    } else {
        "plugin_disabled"
    };
    crate::ssr::redirect_with("/plugins", &outcome, done);
    Ok(())
}

/// Returns a plugin to its previous version.
#[server(prefix = "/ui/fn", endpoint = "plugin_rollback")]
pub async fn plugin_rollback(csrf: String, name: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Plugins)?;
    let outcome = backend.plugin_rollback(&actor, name).await;
    crate::ssr::redirect_with("/plugins", &outcome, "plugin_rolled_back");
    Ok(())
}

/// Grants (`granted` = `1`) or revokes a datasource (`kind` = `datasource`), an HTTP host
/// (`kind` = `http-host`) or a capability (`kind` = `capability`).
#[server(prefix = "/ui/fn", endpoint = "plugin_grant")]
pub async fn plugin_grant(
    csrf: String,
    name: String,
    kind: String,
    target: String,
    granted: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Plugins)?;
    let kind = match kind.as_str() {
        "datasource" => Some(PluginGrantKind::Datasource),
        "http-host" => Some(PluginGrantKind::HttpHost),
        "capability" => Some(PluginGrantKind::Capability),
        _ => None,
    };
    let outcome = match kind {
        Some(kind) => {
            backend
                .plugin_grant(&actor, name, kind, target, granted == "1")
                .await
        }
        None => Err(Refusal::new(RefusalCode::BadGrant)),
    };
    crate::ssr::redirect_with("/plugins", &outcome, "plugin_grants");
    Ok(())
}
