//! Users, roles and grants (R2); administrators only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::users::UsersPage;

/// The users page's data.
#[server(prefix = "/ui/fn", endpoint = "users", input = GetUrl)]
pub async fn get_users() -> Result<UsersPage, ServerFnError> {
    let (backend, _) = crate::ssr::require(Page::Users)?;
    backend.users().await.map_err(super::refused)
}

/// Creates a user, with a web password when one is given.
#[server(prefix = "/ui/fn", endpoint = "user_create")]
pub async fn user_create(
    csrf: String,
    login: String,
    name: String,
    #[server(default)] roles: Vec<String>,
    #[server(default)] password: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let user = crate::ssr::backend::NewUser {
        login,
        name,
        roles,
        password: Some(password).filter(|p| !p.is_empty()),
    };
    let outcome = backend.user_create(&actor, user).await;
    crate::ssr::redirect_with("/users", &outcome, "user_created");
    Ok(())
}

/// Disables (`active` = `0`) or enables a user; a disabled user's sessions end at once.
#[server(prefix = "/ui/fn", endpoint = "user_active")]
pub async fn user_set_active(
    csrf: String,
    login: String,
    active: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let active = active == "1";
    let outcome = backend.user_set_active(&actor, login, active).await;
    let done = if active {
        "user_enabled"
    } else {
        "user_disabled"
    };
    crate::ssr::redirect_with("/users", &outcome, done);
    Ok(())
}

/// Sets a user's roles and own business grants (the form's checkboxes).
#[server(prefix = "/ui/fn", endpoint = "user_access")]
pub async fn user_set_access(
    csrf: String,
    login: String,
    #[server(default)] roles: Vec<String>,
    #[server(default)] businesses: Vec<String>,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let mut outcome = backend.user_set_roles(&actor, login.clone(), roles).await;
    if outcome.is_ok() {
        outcome = backend.user_set_grants(&actor, login, businesses).await;
    }
    crate::ssr::redirect_with("/users", &outcome, "user_access");
    Ok(())
}

/// Sets another user's web password; the administrator's own password is asked again.
#[server(prefix = "/ui/fn", endpoint = "user_password")]
pub async fn user_reset_password(
    csrf: String,
    login: String,
    your_password: String,
    new_password: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let outcome = backend
        .user_reset_password(&actor, login, your_password, new_password)
        .await;
    crate::ssr::redirect_with("/users", &outcome, "password_reset");
    Ok(())
}

/// Removes another user's second factor (a lost phone); the user's sessions end, and the user
/// enrols again at the next sign-in if the role requires it.
#[server(prefix = "/ui/fn", endpoint = "user_totp_reset")]
pub async fn user_totp_reset(csrf: String, login: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let outcome = backend.user_totp_reset(&actor, login).await;
    crate::ssr::redirect_with("/users", &outcome, "totp_reset");
    Ok(())
}

/// Creates a role of the administrator's own (R2).
#[server(prefix = "/ui/fn", endpoint = "role_create")]
pub async fn role_create(
    csrf: String,
    name: String,
    #[server(default)] description: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let outcome = backend.role_create(&actor, name, description).await;
    crate::ssr::redirect_with("/users", &outcome, "role_created");
    Ok(())
}

/// Removes a role the administrator made.
#[server(prefix = "/ui/fn", endpoint = "role_remove")]
pub async fn role_remove(csrf: String, name: String) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let outcome = backend.role_remove(&actor, name).await;
    crate::ssr::redirect_with("/users", &outcome, "role_removed");
    Ok(())
}

/// Sets a role's businesses (the form's checkboxes).
#[server(prefix = "/ui/fn", endpoint = "role_grants")]
pub async fn role_set_grants(
    csrf: String,
    name: String,
    #[server(default)] businesses: Vec<String>,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::Users)?;
    let outcome = backend.role_set_grants(&actor, name, businesses).await;
    crate::ssr::redirect_with("/users", &outcome, "role_grants");
    Ok(())
}
