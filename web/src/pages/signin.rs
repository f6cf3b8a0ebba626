//! The sign-in page.

use leptos::either::Either;
use leptos::prelude::*;

use crate::app::{action, csrf_field, lang_switch, query, unavailable, viewer_resource};
use crate::i18n::t;
use crate::server::SignIn;

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("signin.title", "登录", "Sign in"),
    (
        "signin.lead",
        "请使用管理员分配的账号登录。",
        "Sign in with the account your administrator gave you.",
    ),
    ("signin.login", "用户名", "Login"),
    ("signin.password", "密码", "Password"),
    ("signin.submit", "登录", "Sign in"),
    (
        "signin.refused",
        "用户名或密码错误，或账号已被暂时锁定。请稍后再试或联系管理员。",
        "The login or password is wrong, or the account is locked for a while. Try again later or ask an administrator.",
    ),
    (
        "signin.expired",
        "页面已过期，请重新提交。",
        "The page had expired; please submit it again.",
    ),
    (
        "signin.signed_out",
        "您已安全退出。",
        "You have signed out.",
    ),
];

/// The sign-in page.
#[component]
pub fn SignInPage() -> impl IntoView {
    let error = query("error");
    let signed_out = query("signed_out");
    let viewer = viewer_resource();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match viewer.await {
                    Err(_) => Either::Left(unavailable()),
                    Ok(v) => {
                        let lang = v.lang;
                        let message = match error().as_deref() {
                            Some("expired") => Some(("error", "signin.expired")),
                            Some(_) => Some(("error", "signin.refused")),
                            None => signed_out().map(|_| ("ok", "signin.signed_out")),
                        };
                        Either::Right(view! {
                            <div class="signin">
                                <div class="brand">{t(lang, "app.name")}</div>
                                <div class="card">
                                    <h1>{t(lang, "signin.title")}</h1>
                                    <p class="muted">{t(lang, "signin.lead")}</p>
                                    {message.map(|(kind, key)| view! {
                                        <p class=format!("notice {kind}") role="alert" id="signin-message">{t(lang, key)}</p>
                                    })}
                                    <form method="post" action={action::<SignIn>()} class="stack" id="signin-form">
                                        {csrf_field(&v)}
                                        <label for="login">{t(lang, "signin.login")}</label>
                                        <input type="text" id="login" name="login" autocomplete="username" autocapitalize="none" required maxlength="64"/>
                                        <label for="password">{t(lang, "signin.password")}</label>
                                        <input type="password" id="password" name="password" autocomplete="current-password" required maxlength="128"/>
                                        <button type="submit" class="primary" id="signin-submit">{t(lang, "signin.submit")}</button>
                                    </form>
                                </div>
                                <p class="lang">{lang_switch(lang, "/signin")}</p>
                            </div>
                        })
                    }
                }
            })}
        </Suspense>
    }
}
