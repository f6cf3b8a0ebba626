//! The message store: search, detail, re-send. Administrators and operators.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::messages::{MessageDetail, MessageList, MessageSearch};

/// A page of messages matching `search`, or one message's detail (`id`).
#[server(prefix = "/ui/fn", endpoint = "messages", input = GetUrl)]
pub async fn get_messages(
    search: MessageSearch,
    id: Option<i64>,
) -> Result<(MessageList, Option<MessageDetail>), ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::Messages)?;
    let detail = match id {
        Some(id) => Some(backend.message(&actor, id).await.map_err(super::refused)?),
        None => None,
    };
    let list = if detail.is_some() {
        MessageList::default()
    } else {
        backend
            .messages(&actor, search)
            .await
            .map_err(super::refused)?
    };
    Ok((list, detail))
}

/// Queues a failed or expired message again and opens the new one.
#[server(prefix = "/ui/fn", endpoint = "message_resend")]
pub async fn message_resend(csrf: String, id: i64) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Messages)?;
    match backend.message_resend(&actor, id).await {
        Ok(new_id) => leptos_axum::redirect(&format!("/messages?id={new_id}&ok=resent")),
        Err(refusal) => {
            crate::ssr::redirect_with::<()>(&format!("/messages?id={id}"), &Err(refusal), "")
        }
    }
    Ok(())
}
