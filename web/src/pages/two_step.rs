//! Two-step sign-in (两步验证, issue 18 item 10): one's own second factor. Turned on by
//! scanning a QR code (or typing the secret) into an authenticator app and confirming with its
//! code; ten recovery codes are then shown once. A user whose role requires it lands here
//! after the password and may do nothing else until it is on.

use leptos::prelude::*;

use crate::app::{action, csrf_field, signed_in_page};
use crate::i18n::t;
use crate::model::two_step::{TwoStepPage as Data, TwoStepState};
use crate::model::{Page, Viewer, format_time};
use crate::server::two_step::{TwoStepBegin, TwoStepConfirm, TwoStepDisable, get_two_step};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "two_step.lead",
        "开启后，登录时除密码外还需输入手机验证器应用（如 FreeOTP、Google 身份验证器、Microsoft Authenticator）显示的 6 位动态验证码。",
        "Once on, signing in asks, after the password, for the 6-digit code an authenticator app on your phone shows (FreeOTP, Google Authenticator, Microsoft Authenticator...).",
    ),
    (
        "two_step.required",
        "您的角色要求使用两步验证：设置完成前不能使用其他功能。",
        "Your role requires two-step sign-in: nothing else can be used until it is set up.",
    ),
    (
        "two_step.off",
        "两步验证未开启。",
        "Two-step sign-in is off.",
    ),
    ("two_step.begin", "开始设置", "Set it up"),
    (
        "two_step.scan",
        "1. 用验证器应用扫描二维码；无法扫描时，手动输入下面的密钥（基于时间）。",
        "1. Scan the QR code with the authenticator app; if you cannot, type the key below into it (time-based).",
    ),
    ("two_step.secret", "密钥", "Key"),
    (
        "two_step.confirm_lead",
        "2. 输入应用当前显示的 6 位验证码，完成设置。",
        "2. Type the 6-digit code the app shows now to finish.",
    ),
    ("two_step.code", "验证码", "Code"),
    ("two_step.confirm", "确认开启", "Turn it on"),
    (
        "two_step.on",
        "两步验证已开启，开启时间：",
        "Two-step sign-in is on, since",
    ),
    (
        "two_step.codes_left",
        "剩余可用恢复码：",
        "Recovery codes left:",
    ),
    ("two_step.codes_title", "恢复码", "Recovery codes"),
    (
        "two_step.codes_lead",
        "手机丢失或无法使用时，可用一个恢复码代替验证码登录，每个只能用一次。请现在抄下或打印并妥善保管：它们只显示这一次。",
        "If the phone is lost or cannot be used, a recovery code signs in instead of a code, each once. Write them down or print them now and keep them safe: they are shown this once.",
    ),
    (
        "two_step.disable",
        "关闭两步验证",
        "Turn two-step sign-in off",
    ),
    (
        "two_step.disable_confirm",
        "确认关闭（登录时将只需要密码）",
        "Confirm (signing in will need the password only)",
    ),
    (
        "two_step.cannot_disable",
        "您的角色要求使用两步验证，不能关闭；更换手机时请联系管理员重置。",
        "Your role requires two-step sign-in, so it cannot be turned off; for a new phone ask an administrator to reset it.",
    ),
    (
        "done.two_step_begun",
        "请用验证器应用扫描二维码。",
        "Scan the QR code with the authenticator app.",
    ),
    (
        "done.two_step_on",
        "两步验证已开启。",
        "Two-step sign-in is on.",
    ),
    (
        "done.two_step_off",
        "两步验证已关闭。",
        "Two-step sign-in is off.",
    ),
    (
        "refusal.wrong_code",
        "验证码不对：请确认手机时间准确，并输入应用当前显示的验证码。",
        "That is not the code: check that the phone's clock is right and type the code the app shows now.",
    ),
    (
        "refusal.no_enrolment",
        "设置已过期或已被替换，请重新开始。",
        "The setup has expired or was replaced; begin again.",
    ),
    (
        "refusal.totp_enabled",
        "两步验证已开启。",
        "Two-step sign-in is on already.",
    ),
    (
        "refusal.totp_required",
        "您的角色要求使用两步验证，不能关闭。",
        "Your role requires two-step sign-in; it cannot be turned off.",
    ),
    (
        "refusal.totp_not_enabled",
        "该用户没有开启两步验证。",
        "That user has no two-step sign-in.",
    ),
];

/// The two-step sign-in page.
#[component]
pub fn TwoStepPage() -> impl IntoView {
    signed_in_page(
        Page::TwoStep,
        |q| get_two_step(q.get("codes")),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let required = data
        .required
        .then(|| view! { <p class="notice info" id="two-step-required">{t(lang, "two_step.required")}</p> });
    let codes = data.recovery_codes.map(|codes| {
        let items = codes
            .into_iter()
            .map(|c| view! { <li><code>{c}</code></li> })
            .collect_view();
        view! {
            <section class="card narrow" id="recovery-codes">
                <h2>{t(lang, "two_step.codes_title")}</h2>
                <p>{t(lang, "two_step.codes_lead")}</p>
                <ul class="secret">{items}</ul>
            </section>
        }
    });
    let state = match data.state {
        TwoStepState::Off => view! {
            <p id="two-step-state" data-state="off">{t(lang, "two_step.off")}</p>
            <form method="post" action={action::<TwoStepBegin>()} id="two-step-begin">
                {csrf_field(viewer)}
                <button type="submit" class="primary" id="two-step-begin-submit">{t(lang, "two_step.begin")}</button>
            </form>
        }
        .into_any(),
        TwoStepState::Waiting { secret, qr_svg } => view! {
            <div id="two-step-state" data-state="waiting">
                <p>{t(lang, "two_step.scan")}</p>
                <div class="qr" id="two-step-qr" inner_html=qr_svg></div>
                <p>{t(lang, "two_step.secret")} ": " <code id="two-step-secret">{secret}</code></p>
                <p>{t(lang, "two_step.confirm_lead")}</p>
                <form method="post" action={action::<TwoStepConfirm>()} class="stack" id="two-step-confirm">
                    {csrf_field(viewer)}
                    <label for="two-step-code">{t(lang, "two_step.code")}</label>
                    <input type="text" id="two-step-code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="16"/>
                    <button type="submit" class="primary" id="two-step-confirm-submit">{t(lang, "two_step.confirm")}</button>
                </form>
            </div>
        }
        .into_any(),
        TwoStepState::On {
            since,
            recovery_codes_left,
        } => {
            let off = if data.required {
                view! { <p class="muted">{t(lang, "two_step.cannot_disable")}</p> }.into_any()
            } else {
                view! {
                    <details>
                        <summary>{t(lang, "two_step.disable")}</summary>
                        <form method="post" action={action::<TwoStepDisable>()} class="stack" id="two-step-disable">
                            {csrf_field(viewer)}
                            <label class="check"><input type="checkbox" required/>{t(lang, "two_step.disable_confirm")}</label>
                            <button type="submit" class="danger" id="two-step-disable-submit">{t(lang, "two_step.disable")}</button>
                        </form>
                    </details>
                }
                .into_any()
            };
            view! {
                <p id="two-step-state" data-state="on">{t(lang, "two_step.on")} " " {format_time(since)}</p>
                <p>{t(lang, "two_step.codes_left")} " " <b id="recovery-codes-left">{recovery_codes_left}</b></p>
                {off}
            }
            .into_any()
        }
    };
    view! {
        {codes}
        <section class="card narrow">
            {required}
            <p class="muted">{t(lang, "two_step.lead")}</p>
            {state}
        </section>
    }
}
