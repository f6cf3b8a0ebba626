//! Server functions, under `/ui/fn/` (the HTTP API owns `/api`). Reads are GET; every POST
//! changes state and passes the daemon's CSRF layer first (same-origin `Origin` /
//! `Sec-Fetch-Site` and the form's `csrf` token), so the `csrf` arguments below are already
//! checked when a function runs. Each function checks the caller's role itself: hiding a link
//! is never the protection.
//!
//! The forms' results are redirects, so that a plain form post (before the bundle loads) and a
//! hydrated call end on the same page with the same message.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::{Dashboard, Viewer};

/// Who is looking (user, form token, language).
#[server(prefix = "/ui/fn", endpoint = "viewer", input = GetUrl)]
pub async fn get_viewer() -> Result<Viewer, ServerFnError> {
    Ok(crate::ssr::request_context()?.viewer)
}

/// The dashboard's figures; any web role.
#[server(prefix = "/ui/fn", endpoint = "dashboard", input = GetUrl)]
pub async fn get_dashboard() -> Result<Dashboard, ServerFnError> {
    let (backend, _) = crate::ssr::require(Page::Dashboard)?;
    backend
        .dashboard()
        .await
        .map_err(|_| ServerFnError::new("the figures cannot be read just now"))
}

/// Signs in; the session cookie comes with the redirect to the dashboard. Every refusal
/// redirects to the same message.
#[server(prefix = "/ui/fn", endpoint = "sign_in")]
pub async fn sign_in(csrf: String, login: String, password: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    match backend.sign_in(login, password).await {
        Ok(cookies) => {
            crate::ssr::set_cookies(&cookies);
            leptos_axum::redirect("/");
        }
        Err(()) => leptos_axum::redirect("/signin?error=refused"),
    }
    Ok(())
}

/// Signs out: the session ends on the server and its cookie is cleared.
#[server(prefix = "/ui/fn", endpoint = "sign_out")]
pub async fn sign_out(csrf: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    let context = crate::ssr::request_context()?;
    let cookies = backend.sign_out(context.session.as_ref()).await;
    crate::ssr::set_cookies(&cookies);
    leptos_axum::redirect("/signin?signed_out=1");
    Ok(())
}

/// Changes the signed-in user's password; the user's other sessions end.
#[server(prefix = "/ui/fn", endpoint = "change_password")]
pub async fn change_password(
    csrf: String,
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, context) = crate::ssr::require(Page::Password)?;
    let Some(session) = context.session.as_ref() else {
        leptos_axum::redirect("/signin");
        return Ok(());
    };
    let outcome = if new_password != confirm {
        Err(crate::ssr::PasswordChangeError::Mismatch)
    } else {
        backend
            .change_password(session, current, new_password)
            .await
    };
    match outcome {
        Ok(()) => leptos_axum::redirect("/password?done=1"),
        Err(e) => leptos_axum::redirect(&format!("/password?error={}", e.code())),
    }
    Ok(())
}
