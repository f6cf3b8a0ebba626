//! Who is looking, sign-in, sign-out, own password.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::Viewer;

/// Who is looking (user, form token, language).
#[server(prefix = "/ui/fn", endpoint = "viewer", input = GetUrl)]
pub async fn get_viewer() -> Result<Viewer, ServerFnError> {
    Ok(crate::ssr::request_context()?.viewer)
}

/// Signs in; the session cookie comes with the redirect to the dashboard, or to the step
/// still to take (the second factor's code, or its enrolment). Every refusal redirects to the
/// same message (after the delay repeated failures earn).
#[server(prefix = "/ui/fn", endpoint = "sign_in")]
pub async fn sign_in(csrf: String, login: String, password: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    let source = crate::ssr::request_context()?.source;
    match backend.sign_in(login, password, source).await {
        Ok(signed) => {
            crate::ssr::set_cookies(&signed.cookies);
            leptos_axum::redirect(signed.next.map_or("/", crate::model::SignInStep::path));
        }
        Err(()) => leptos_axum::redirect("/signin?error=refused"),
    }
    Ok(())
}

/// Signs out: the session (a sign-in waiting for its second step too) ends on the server and
/// its cookie is cleared.
#[server(prefix = "/ui/fn", endpoint = "sign_out")]
pub async fn sign_out(csrf: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    let context = crate::ssr::request_context()?;
    let actor = context
        .actor_for(Page::Password)
        .or_else(|| context.pending_actor(crate::model::SignInStep::Code))
        .or_else(|| context.pending_actor(crate::model::SignInStep::Enrol));
    let cookies = backend.sign_out(actor.as_ref()).await;
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
    let (backend, actor) = crate::ssr::require(Page::Password)?;
    let outcome = if new_password != confirm {
        Err(crate::ssr::PasswordChangeError::Mismatch)
    } else {
        backend.change_password(&actor, current, new_password).await
    };
    match outcome {
        Ok(()) => leptos_axum::redirect("/password?done=1"),
        Err(e) => leptos_axum::redirect(&format!("/password?error={}", e.code())),
    }
    Ok(())
}
