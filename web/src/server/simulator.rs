//! The simulated handset (live feed `/ui/events/handset`); administrators only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::simulator::SimulatorPage;

/// The handset page, with `phone`'s conversation.
#[server(prefix = "/ui/fn", endpoint = "simulator", input = GetUrl)]
pub async fn get_simulator(phone: Option<String>) -> Result<SimulatorPage, ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::Simulator)?;
    backend
        .simulator(&actor, phone)
        .await
        .map_err(super::refused)
}

/// Types `text` on the handset `phone`: the simulated modem receives it as an SMS.
#[server(prefix = "/ui/fn", endpoint = "handset_send")]
pub async fn handset_send(csrf: String, phone: String, text: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Simulator)?;
    let outcome = backend.handset_send(&actor, phone.clone(), text).await;
    crate::ssr::redirect_with(
        &format!(
            "/simulator?phone={}",
            crate::model::encode_component(&phone)
        ),
        &outcome,
        "handset_sent",
    );
    Ok(())
}
