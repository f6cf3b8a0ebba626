//! Group send (R7): prepare a draft, confirm it, follow the results (live feed
//! `/ui/events/batch`). Administrators and operators.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::send::SendPage;

/// The send page: the form, a draft (`draft`) or a batch (`batch`).
#[server(prefix = "/ui/fn", endpoint = "send_page", input = GetUrl)]
pub async fn get_send_page(
    draft: Option<String>,
    batch: Option<String>,
) -> Result<SendPage, ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::Send)?;
    backend
        .send_page(&actor, draft, batch)
        .await
        .map_err(super::refused)
}

/// Step 1: resolves the recipients and shows the confirmation.
#[server(prefix = "/ui/fn", endpoint = "send_prepare")]
pub async fn send_prepare(
    csrf: String,
    text: String,
    #[server(default)] numbers: String,
    #[server(default)] departments: Vec<i64>,
    #[server(default)] groups: Vec<i64>,
    #[server(default)] contacts: Vec<i64>,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Send)?;
    let request = crate::ssr::backend::SendRequest {
        text,
        numbers,
        departments,
        groups,
        contacts,
    };
    match backend.send_prepare(&actor, request).await {
        Ok(id) => leptos_axum::redirect(&format!("/send?draft={id}")),
        Err(refusal) => crate::ssr::redirect_with::<()>("/send", &Err(refusal), ""),
    }
    Ok(())
}

/// Step 2: sends the confirmed draft and shows its results.
#[server(prefix = "/ui/fn", endpoint = "send_confirm")]
pub async fn send_confirm(csrf: String, draft: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Send)?;
    match backend.send_confirm(&actor, draft.clone()).await {
        Ok(batch) => leptos_axum::redirect(&format!("/send?batch={batch}")),
        Err(refusal) => crate::ssr::redirect_with::<()>(
            &format!("/send?draft={}", crate::model::encode_component(&draft)),
            &Err(refusal),
            "",
        ),
    }
    Ok(())
}
