//! The phone registry (R6); administrators and registrars.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::phones::{ImportReport, PhonesPage};

/// The phones page's data, with an import's report when `import` names one.
#[server(prefix = "/ui/fn", endpoint = "phones", input = GetUrl)]
pub async fn get_phones(
    import: Option<String>,
) -> Result<(PhonesPage, Option<ImportReport>), ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::Phones)?;
    let page = backend.phones().await.map_err(super::refused)?;
    let report = match import {
        Some(id) => Some(
            backend
                .phone_import_report(&actor, id)
                .await
                .map_err(super::refused)?,
        ),
        None => None,
    };
    Ok((page, report))
}

/// Registers a phone.
#[server(prefix = "/ui/fn", endpoint = "phone_add")]
pub async fn phone_add(
    csrf: String,
    number: String,
    owner_name: String,
    #[server(default)] user: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Phones)?;
    let user = Some(user).filter(|u| !u.trim().is_empty());
    let outcome = backend.phone_add(&actor, number, owner_name, user).await;
    crate::ssr::redirect_with_detail("/phones", &outcome.map(Some), "phone_added");
    Ok(())
}

/// Disables (`active` = `0`) or enables a phone.
#[server(prefix = "/ui/fn", endpoint = "phone_active")]
pub async fn phone_set_active(
    csrf: String,
    number: String,
    active: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Phones)?;
    let active = active == "1";
    let outcome = backend.phone_set_active(&actor, number, active).await;
    let done = if active {
        "phone_enabled"
    } else {
        "phone_disabled"
    };
    crate::ssr::redirect_with("/phones", &outcome, done);
    Ok(())
}

/// Removes a phone from the registry.
#[server(prefix = "/ui/fn", endpoint = "phone_remove")]
pub async fn phone_remove(csrf: String, number: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Phones)?;
    let outcome = backend.phone_remove(&actor, number).await;
    crate::ssr::redirect_with("/phones", &outcome, "phone_removed");
    Ok(())
}

/// Registers the rows of a pasted CSV text and shows the per-row report.
#[server(prefix = "/ui/fn", endpoint = "phone_import")]
pub async fn phone_import(csrf: String, csv: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Phones)?;
    match backend.phone_import(&actor, csv).await {
        Ok(id) => leptos_axum::redirect(&format!("/phones?import={id}#import-report")),
        Err(refusal) => crate::ssr::redirect_with::<()>("/phones", &Err(refusal), ""),
    }
    Ok(())
}
