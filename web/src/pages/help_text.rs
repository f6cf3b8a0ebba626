//! The help text (R15) editor, with a preview of the whole answer a given phone receives for
//! `H` (the text, then the commands that phone may use). Administrators only.

use leptos::prelude::*;

use crate::app::{action, csrf_field, query, signed_in_page};
use crate::i18n::t;
use crate::model::help_text::HelpTextPage as Data;
use crate::model::send::SmsCount;
use crate::model::{Page, Viewer, format_time};
use crate::pages::send::count_line;
use crate::server::help_text::{HelpTextSet, get_help_text};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("help.edit", "帮助文本", "Help text"),
    (
        "help.lead",
        "民警发送 H 时收到这段文字，后面附上该手机可用的指令。",
        "An officer who texts H gets this text, followed by the commands that phone may use.",
    ),
    ("help.save", "保存", "Save"),
    (
        "help.updated",
        "最后修改：{at}，{by}",
        "Last changed {at} by {by}",
    ),
    (
        "help.preview",
        "预览：某部手机发送 H 收到的回复",
        "Preview: what a phone receives for H",
    ),
    ("help.phone", "手机", "Phone"),
    ("help.show", "预览", "Preview"),
    (
        "help.no_phones",
        "还没有登记手机，无法预览。",
        "No phone is registered, so there is nothing to preview.",
    ),
    (
        "help.reply",
        "回复内容（{parts} 条短信）",
        "The reply ({parts} SMS)",
    ),
    ("help.pick", "选择一部登记的手机", "Pick a registered phone"),
];

/// The help text page.
#[component]
pub fn HelpTextPage() -> impl IntoView {
    signed_in_page(
        Page::HelpText,
        |q| get_help_text(q.get("phone")),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let (text, set_text) = signal(data.text.clone());
    let count = Memo::new(move |_| SmsCount::of(&text.get()));
    let phone = query("phone")().unwrap_or_default();
    let updated = data.updated_at.map(|at| {
        t(lang, "help.updated")
            .replace("{at}", &format_time(at))
            .replace("{by}", &data.updated_by.clone().unwrap_or_default())
    });
    let phones = data
        .phones
        .iter()
        .map(|(number, owner)| {
            let selected = data.preview.as_ref().is_some_and(|p| &p.phone == number);
            view! { <option value=number.clone() selected=selected>{format!("{number} {owner}")}</option> }
        })
        .collect_view();
    let preview = if data.phones.is_empty() {
        view! { <p class="muted">{t(lang, "help.no_phones")}</p> }.into_any()
    } else {
        view! {
            <form method="get" action="/help-text" class="row">
                <label>{t(lang, "help.phone")}
                    <select name="phone"><option value="">{t(lang, "help.pick")}</option>{phones}</select>
                </label>
                <button type="submit" class="secondary">{t(lang, "help.show")}</button>
            </form>
            {data.preview.clone().map(|p| view! {
                <h3>{t(lang, "help.reply").replace("{parts}", &p.parts.to_string())}</h3>
                <pre class="reply" id="help-preview">{p.reply.clone()}</pre>
            })}
        }
        .into_any()
    };
    view! {
        <div class="grid2">
            <section class="card">
                <h2>{t(lang, "help.edit")}</h2>
                <p class="muted">{t(lang, "help.lead")}</p>
                <form method="post" action={action::<HelpTextSet>()} class="stack" id="help-form">
                    {csrf_field(viewer)}
                    <input type="hidden" name="phone" value=phone/>
                    <textarea name="text" id="help-text" rows="8" required
                        prop:value=move || text.get()
                        on:input=move |ev| set_text.set(event_target_value(&ev))>{data.text.clone()}</textarea>
                    <p class="count">{move || count_line(lang, count.get())}</p>
                    {updated.map(|u| view! { <p class="muted small">{u}</p> })}
                    <button type="submit" class="primary">{t(lang, "help.save")}</button>
                </form>
            </section>
            <section class="card">
                <h2>{t(lang, "help.preview")}</h2>
                {preview}
            </section>
        </div>
    }
}
