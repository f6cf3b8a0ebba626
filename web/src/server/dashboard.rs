//! The dashboard's figures (the live feed is `/ui/events/dashboard`).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::model::Dashboard;
#[cfg(feature = "ssr")]
use crate::model::Page;

/// The dashboard's figures; any web role.
#[server(prefix = "/ui/fn", endpoint = "dashboard", input = GetUrl)]
pub async fn get_dashboard() -> Result<Dashboard, ServerFnError> {
    let (backend, _) = crate::ssr::require(Page::Dashboard)?;
    backend
        .dashboard()
        .await
        .map_err(|_| ServerFnError::new("the figures cannot be read just now"))
}
