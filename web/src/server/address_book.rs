//! The address book (R21); administrators and operators.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::model::address_book::AddressBook;
#[cfg(feature = "ssr")]
use crate::model::{Page, Refusal, RefusalCode};
#[cfg(feature = "ssr")]
use crate::ssr::backend::GroupMember;

/// The whole address book.
#[server(prefix = "/ui/fn", endpoint = "address_book", input = GetUrl)]
pub async fn get_address_book() -> Result<AddressBook, ServerFnError> {
    let (backend, _) = crate::ssr::require(Page::AddressBook)?;
    backend.address_book().await.map_err(super::refused)
}

/// Creates (no `id`) or renames and moves a department (`parent` empty: top level).
#[server(prefix = "/ui/fn", endpoint = "department_save")]
pub async fn department_save(
    csrf: String,
    #[server(default)] id: String,
    #[server(default)] parent: String,
    name: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let outcome = backend
        .department_save(
            &actor,
            super::optional_id(&id),
            super::optional_id(&parent),
            name,
        )
        .await;
    crate::ssr::redirect_with("/address-book", &outcome, "department_saved");
    Ok(())
}

/// Deletes an empty department.
#[server(prefix = "/ui/fn", endpoint = "department_delete")]
pub async fn department_delete(csrf: String, id: i64) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let outcome = backend.department_delete(&actor, id).await;
    crate::ssr::redirect_with("/address-book", &outcome, "department_deleted");
    Ok(())
}

/// Creates (no `id`) or changes a contact.
#[server(prefix = "/ui/fn", endpoint = "contact_save")]
pub async fn contact_save(
    csrf: String,
    #[server(default)] id: String,
    name: String,
    #[server(default)] title: String,
    #[server(default)] department: String,
    numbers: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let outcome = backend
        .contact_save(
            &actor,
            super::optional_id(&id),
            name,
            title,
            super::optional_id(&department),
            numbers,
        )
        .await;
    crate::ssr::redirect_with("/address-book", &outcome, "contact_saved");
    Ok(())
}

/// Deletes a contact.
#[server(prefix = "/ui/fn", endpoint = "contact_delete")]
pub async fn contact_delete(csrf: String, id: i64) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let outcome = backend.contact_delete(&actor, id).await;
    crate::ssr::redirect_with("/address-book", &outcome, "contact_deleted");
    Ok(())
}

/// Creates (no `id`) or renames a group.
#[server(prefix = "/ui/fn", endpoint = "group_save")]
pub async fn group_save(
    csrf: String,
    #[server(default)] id: String,
    name: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let outcome = backend
        .group_save(&actor, super::optional_id(&id), name)
        .await;
    crate::ssr::redirect_with("/address-book", &outcome, "group_saved");
    Ok(())
}

/// Deletes a group (its members stay in the address book).
#[server(prefix = "/ui/fn", endpoint = "group_delete")]
pub async fn group_delete(csrf: String, id: i64) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let outcome = backend.group_delete(&actor, id).await;
    crate::ssr::redirect_with("/address-book", &outcome, "group_deleted");
    Ok(())
}

/// Adds (`present` = `1`) or removes a member: `member` is `c<contact id>` or
/// `d<department id>`.
#[server(prefix = "/ui/fn", endpoint = "group_member")]
pub async fn group_set_member(
    csrf: String,
    group: i64,
    member: String,
    present: String,
) -> Result<(), ServerFnError> {
    let _ = csrf;
    let (backend, actor) = crate::ssr::require(Page::AddressBook)?;
    let parsed = match member.split_at_checked(1) {
        Some(("c", id)) => id.parse().ok().map(GroupMember::Contact),
        Some(("d", id)) => id.parse().ok().map(GroupMember::Department),
        _ => None,
    };
    let outcome = match parsed {
        Some(m) => {
            backend
                .group_set_member(&actor, group, m, present == "1")
                .await
        }
        None => Err(Refusal::new(RefusalCode::NoMember)),
    };
    crate::ssr::redirect_with("/address-book", &outcome, "group_saved");
    Ok(())
}
