//! API keys of other systems (issue 5, R19); administrators only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::api_keys::ApiKeysPage;

/// Every key; `created`: the id of a key this user just created, to show it once.
#[server(prefix = "/ui/fn", endpoint = "api_keys", input = GetUrl)]
pub async fn get_api_keys(created: Option<String>) -> Result<ApiKeysPage, ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::ApiKeys)?;
    backend
        .api_keys(&actor, created)
        .await
        .map_err(super::refused)
}

/// Creates a key; the page it leads to shows the key once.
#[server(prefix = "/ui/fn", endpoint = "api_key_create")]
pub async fn api_key_create(
    csrf: String,
    name: String,
    #[server(default)] scopes: Vec<String>,
    #[server(default)] rate: String,
    #[server(default)] service_numbers: String,
    #[server(default)] networks: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::ApiKeys)?;
    let form = crate::ssr::backend::NewApiKeyForm {
        name,
        scopes,
        rate,
        service_numbers,
        networks,
    };
    match backend.api_key_create(&actor, form).await {
        Ok(shown) => leptos_axum::redirect(&format!(
            "/api-keys?ok=api_key_created&created={}",
            crate::model::encode_component(&shown)
        )),
        Err(refusal) => crate::ssr::redirect_with("/api-keys", &Err::<(), _>(refusal), ""),
    }
    Ok(())
}

/// Revokes a key.
#[server(prefix = "/ui/fn", endpoint = "api_key_revoke")]
pub async fn api_key_revoke(csrf: String, name: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::ApiKeys)?;
    let outcome = backend.api_key_revoke(&actor, name.clone()).await;
    crate::ssr::redirect_with_detail(
        "/api-keys",
        &outcome.map(|()| Some(name)),
        "api_key_revoked",
    );
    Ok(())
}
