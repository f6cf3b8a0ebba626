//! Two-step sign-in (issue 18 item 10): the sign-in's code step, the re-check before sensitive
//! actions, and one's own enrolment. The daemon's session layer lets a sign-in waiting for its
//! code post only [`SecondFactor`], and one waiting for its enrolment only [`TwoStepBegin`] and
//! [`TwoStepConfirm`]; each function checks again which session it serves.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::model::two_step::{ReauthPage, TwoStepPage};
#[cfg(feature = "ssr")]
use crate::model::{
    Page, REAUTH_PATH, Refusal, RefusalCode, SECOND_FACTOR_PATH, SignInStep, encode_component,
};

/// The sign-in's code step: a code of the authenticator or a recovery code. The full
/// session's cookie comes with the redirect to the dashboard; every refusal redirects to the
/// same message (after the delay repeated failures earn).
#[server(prefix = "/ui/fn", endpoint = "second_factor")]
pub async fn second_factor(csrf: String, code: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    let context = crate::ssr::request_context()?;
    let Some(actor) = context.pending_actor(SignInStep::Code) else {
        leptos_axum::redirect("/signin");
        return Ok(());
    };
    match backend.second_factor(&actor, code).await {
        Ok(cookies) => {
            crate::ssr::set_cookies(&cookies);
            leptos_axum::redirect("/");
        }
        Err(()) => leptos_axum::redirect(&format!(
            "{SECOND_FACTOR_PATH}?error={}",
            RefusalCode::Refused
        )),
    }
    Ok(())
}

/// What the re-check page asks for.
#[server(prefix = "/ui/fn", endpoint = "reauth", input = GetUrl)]
pub async fn get_reauth() -> Result<ReauthPage, ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::Dashboard)?;
    backend.reauth_page(&actor).await.map_err(super::refused)
}

/// The page a re-check goes back to: `next` when it is a page the user may open, else the
/// dashboard (never another site).
#[cfg(feature = "ssr")]
fn back_to(next: &str, roles: &[String]) -> &'static str {
    Page::from_path(next)
        .filter(|page| page.allows(roles))
        .unwrap_or(Page::Dashboard)
        .path()
}

/// The re-check: on success back to the page (`next`) whose sensitive form sent the user
/// here, to submit it again; on a refusal the same message whatever was wrong.
#[server(prefix = "/ui/fn", endpoint = "reauthenticate")]
pub async fn reauthenticate(
    csrf: String,
    next: String,
    secret: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Dashboard)?;
    let back = back_to(&next, &actor.roles);
    match backend.reauthenticate(&actor, secret).await {
        Ok(()) => leptos_axum::redirect(&format!("{back}?ok=reauth")),
        Err(()) => leptos_axum::redirect(&format!(
            "{REAUTH_PATH}?next={}&error={}",
            encode_component(back),
            RefusalCode::Refused
        )),
    }
    Ok(())
}

/// The user's own second factor; `codes` names recovery codes waiting to be shown once.
#[server(prefix = "/ui/fn", endpoint = "two_step", input = GetUrl)]
pub async fn get_two_step(codes: Option<String>) -> Result<TwoStepPage, ServerFnError> {
    let backend = crate::ssr::backend()?;
    let actor = own_actor()?;
    backend
        .two_step(&actor, codes.filter(|c| !c.is_empty()))
        .await
        .map_err(super::refused)
}

/// The actor of the two-step page's functions, or a 403.
#[cfg(feature = "ssr")]
fn own_actor() -> Result<crate::ssr::Actor, ServerFnError> {
    let context = crate::ssr::request_context()?;
    context.own_second_factor_actor().ok_or_else(|| {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::FORBIDDEN);
        }
        ServerFnError::new("not allowed")
    })
}

/// Begins an enrolment: a new secret, shown as a QR code and as text until confirmed.
#[server(prefix = "/ui/fn", endpoint = "two_step_begin")]
pub async fn two_step_begin(csrf: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    let actor = own_actor()?;
    let outcome = backend.two_step_begin(&actor).await;
    crate::ssr::redirect_with(Page::TwoStep.path(), &outcome, "two_step_begun");
    Ok(())
}

/// Confirms the enrolment with the authenticator's code; the recovery codes are shown on the
/// page this leads to, once.
#[server(prefix = "/ui/fn", endpoint = "two_step_confirm")]
pub async fn two_step_confirm(csrf: String, code: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let backend = crate::ssr::backend()?;
    let actor = own_actor()?;
    let outcome: Result<String, Refusal> = match backend.two_step_confirm(&actor, code).await {
        Ok((codes, cookies)) => {
            crate::ssr::set_cookies(&cookies);
            Ok(codes)
        }
        Err(refusal) => Err(refusal),
    };
    match outcome {
        Ok(codes) => leptos_axum::redirect(&format!(
            "{}?ok=two_step_on&codes={}",
            Page::TwoStep.path(),
            encode_component(&codes)
        )),
        Err(refusal) => {
            crate::ssr::redirect_with::<()>(Page::TwoStep.path(), &Err(refusal), "two_step_on")
        }
    }
    Ok(())
}

/// Turns the user's own second factor off (refused when the role requires it).
#[server(prefix = "/ui/fn", endpoint = "two_step_disable")]
pub async fn two_step_disable(csrf: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::TwoStep)?;
    let outcome = backend.two_step_disable(&actor).await;
    crate::ssr::redirect_with(Page::TwoStep.path(), &outcome, "two_step_off");
    Ok(())
}
