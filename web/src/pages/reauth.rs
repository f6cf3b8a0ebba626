//! The re-check before a sensitive action (issue 18 item 10; checklist "Sign-in and
//! sessions": re-ask before changing a second factor or API keys): creating users, changing
//! roles and grants, creating API keys, uploading plugins and turning the second factor off
//! send a user who last proved who they are more than `[web] reauth_minutes` ago here first.
//! A code (or a recovery code) when the user's second factor is on, else the password; then
//! back to the page, to submit the form again.

use leptos::prelude::*;

use crate::app::{action, csrf_field, signed_in_page};
use crate::i18n::t;
use crate::model::two_step::ReauthPage as Data;
use crate::model::{Page, Viewer};
use crate::server::two_step::{Reauthenticate, get_reauth};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("reauth.title", "确认身份", "Confirm it is you"),
    (
        "reauth.lead",
        "这项操作需要重新确认身份。确认后请再次提交刚才的表单。",
        "This action needs you to prove who you are again. Then submit the form once more.",
    ),
    ("reauth.code", "验证码或恢复码", "Code or recovery code"),
    ("reauth.password", "您的密码", "Your password"),
    ("reauth.submit", "确认", "Confirm"),
    (
        "refusal.refused",
        "验证未通过，或账号已被暂时锁定。",
        "That did not prove it, or the account is locked for a while.",
    ),
    (
        "done.reauth",
        "身份已确认，请再次提交刚才的表单。",
        "Confirmed: submit the form again.",
    ),
];

/// The re-check page, in the frame of the page it goes back to.
#[component]
pub fn ReauthPage() -> impl IntoView {
    let next = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("next")
        .unwrap_or_default();
    let page = Page::from_path(&next).unwrap_or(Page::Dashboard);
    signed_in_page(
        page,
        |_| get_reauth(),
        move |viewer, data| body(viewer, data, next.clone()).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data, next: String) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let field = if data.with_code {
        view! {
            <label for="reauth-secret">{t(lang, "reauth.code")}</label>
            <input type="text" id="reauth-secret" name="secret" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" required maxlength="32"/>
        }
        .into_any()
    } else {
        view! {
            <label for="reauth-secret">{t(lang, "reauth.password")}</label>
            <input type="password" id="reauth-secret" name="secret" autocomplete="current-password" required maxlength="128"/>
        }
        .into_any()
    };
    view! {
        <section class="card narrow" id="reauth">
            <h2>{t(lang, "reauth.title")}</h2>
            <p class="muted">{t(lang, "reauth.lead")}</p>
            <form method="post" action={action::<Reauthenticate>()} class="stack" id="reauth-form">
                {csrf_field(viewer)}
                <input type="hidden" name="next" value=next/>
                {field}
                <button type="submit" class="primary" id="reauth-submit">{t(lang, "reauth.submit")}</button>
            </form>
        </section>
    }
}
