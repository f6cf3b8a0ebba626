//! Change one's own password.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::app::{Frame, action, csrf_field, query, unavailable, viewer_resource};
use crate::i18n::t;
use crate::model::Page;
use crate::server::ChangePassword;

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("password.current", "当前密码", "Current password"),
    ("password.new", "新密码", "New password"),
    ("password.confirm", "确认新密码", "Confirm the new password"),
    (
        "password.rules",
        "8 至 128 个字符，可使用任意文字；不能使用常见密码或“police”“admin”“警察”等词。",
        "8 to 128 characters of any script; common passwords and words such as police, admin or 警察 are refused.",
    ),
    ("password.submit", "修改密码", "Change password"),
    (
        "password.done",
        "密码已修改，其他设备上的登录已失效。",
        "Your password was changed; your other sessions were ended.",
    ),
    (
        "password.wrong_current",
        "当前密码不正确。",
        "The current password is wrong.",
    ),
    (
        "password.mismatch",
        "两次输入的新密码不一致。",
        "The two new passwords differ.",
    ),
    (
        "password.too_short",
        "新密码太短：至少 8 个字符。",
        "The new password is too short: at least 8 characters.",
    ),
    (
        "password.too_long",
        "新密码太长：最多 128 个字符。",
        "The new password is too long: at most 128 characters.",
    ),
    (
        "password.common",
        "新密码太容易被猜到，请换一个。",
        "The new password is too easy to guess; choose another.",
    ),
    (
        "password.failed",
        "密码未能修改，请稍后再试。",
        "The password could not be changed; try again later.",
    ),
];

/// Change password.
#[component]
pub fn PasswordPage() -> impl IntoView {
    let viewer = viewer_resource();
    let error = query("error");
    let done = query("done");
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let Ok(v) = viewer.await else { return Either::Left(unavailable()) };
                let lang = v.lang;
                let message = match (error(), done()) {
                    (Some(code), _) => {
                        let key = match code.as_str() {
                            "wrong_current" => "password.wrong_current",
                            "mismatch" => "password.mismatch",
                            "too_short" => "password.too_short",
                            "too_long" => "password.too_long",
                            "common" => "password.common",
                            _ => "password.failed",
                        };
                        EitherOf3::A(view! { <p class="notice error" role="alert">{t(lang, key)}</p> })
                    }
                    (None, Some(_)) => EitherOf3::B(view! { <p class="notice ok" role="status">{t(lang, "password.done")}</p> }),
                    (None, None) => EitherOf3::C(()),
                };
                let csrf = csrf_field(&v);
                Either::Right(view! {
                    <Frame viewer=v page=Page::Password>
                        <div class="card narrow">
                            {message}
                            <form method="post" action={action::<ChangePassword>()} class="stack" id="password-form">
                                {csrf}
                                <label for="current">{t(lang, "password.current")}</label>
                                <input type="password" id="current" name="current" autocomplete="current-password" required maxlength="128"/>
                                <label for="new_password">{t(lang, "password.new")}</label>
                                <input type="password" id="new_password" name="new_password" autocomplete="new-password" required minlength="8" maxlength="128"/>
                                <label for="confirm">{t(lang, "password.confirm")}</label>
                                <input type="password" id="confirm" name="confirm" autocomplete="new-password" required minlength="8" maxlength="128"/>
                                <p class="muted">{t(lang, "password.rules")}</p>
                                <button type="submit" class="primary">{t(lang, "password.submit")}</button>
                            </form>
                        </div>
                    </Frame>
                })
            })}
        </Suspense>
    }
}
