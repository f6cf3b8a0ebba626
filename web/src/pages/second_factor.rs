//! The sign-in's second step (issue 18 item 10): after the right password, a user whose
//! two-step sign-in is on gives the authenticator's code, or one of the recovery codes. The
//! session opens nothing else until then, and a wrong code gets the same one answer as a
//! wrong password.

use leptos::either::Either;
use leptos::prelude::*;

use crate::app::{action, csrf_field, lang_switch, query, unavailable, viewer_resource};
use crate::i18n::t;
use crate::model::SECOND_FACTOR_PATH;
use crate::server::SignOut;
use crate::server::two_step::SecondFactor;

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("second_factor.title", "两步验证", "Two-step sign-in"),
    (
        "second_factor.lead",
        "请输入手机验证器应用当前显示的 6 位验证码。手机不在身边时，可输入一个恢复码。",
        "Type the 6-digit code your authenticator app shows now. Without the phone, type one of your recovery codes.",
    ),
    (
        "second_factor.code",
        "验证码或恢复码",
        "Code or recovery code",
    ),
    ("second_factor.submit", "验证", "Verify"),
    (
        "second_factor.refused",
        "验证码错误，或账号已被暂时锁定。请稍后再试或联系管理员。",
        "The code is wrong, or the account is locked for a while. Try again later or ask an administrator.",
    ),
    (
        "second_factor.other",
        "换一个账号登录",
        "Sign in as someone else",
    ),
];

/// The code step of a sign-in.
#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let error = query("error");
    let viewer = viewer_resource();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match viewer.await {
                    Err(_) => Either::Left(unavailable()),
                    Ok(v) => {
                        let lang = v.lang;
                        let message = error().map(|_| view! {
                            <p class="notice error" role="alert" id="signin-message">{t(lang, "second_factor.refused")}</p>
                        });
                        let who = v.pending.as_ref().map(|p| format!("{} ({})", p.name, p.login));
                        Either::Right(view! {
                            <div class="signin">
                                <div class="brand">{t(lang, "app.name")}</div>
                                <div class="card">
                                    <h1>{t(lang, "second_factor.title")}</h1>
                                    <p class="muted" id="who">{who}</p>
                                    <p class="muted">{t(lang, "second_factor.lead")}</p>
                                    {message}
                                    <form method="post" action={action::<SecondFactor>()} class="stack" id="second-factor-form">
                                        {csrf_field(&v)}
                                        <label for="code">{t(lang, "second_factor.code")}</label>
                                        <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" required maxlength="32"/>
                                        <button type="submit" class="primary" id="second-factor-submit">{t(lang, "second_factor.submit")}</button>
                                    </form>
                                    <form method="post" action={action::<SignOut>()} id="signout-form">
                                        {csrf_field(&v)}
                                        <button type="submit" class="link" id="signout">{t(lang, "second_factor.other")}</button>
                                    </form>
                                </div>
                                <p class="lang">{lang_switch(lang, SECOND_FACTOR_PATH)}</p>
                            </div>
                        })
                    }
                }
            })}
        </Suspense>
    }
}
