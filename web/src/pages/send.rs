//! Group send (R7), exactly the brief's steps: write the text (with a live count of
//! characters and SMS parts), give recipients (typed numbers and/or picked from the address
//! book's departments, groups and people), confirm (recipient count and parts shown, invalid
//! entries listed back, duplicates sent once), then follow each recipient's result live.
//! Administrators and operators.

use leptos::prelude::*;

use crate::app::{action, csrf_field, live, query, signed_in_page, state_badge};
use crate::i18n::{Lang, t};
use crate::model::address_book::AddressBook;
use crate::model::send::{Batch, Draft, MAX_TEXT_CHARS, SendPage as Data, SmsCount};
use crate::model::{Page, Viewer, encode_component, format_time};
use crate::server::send::{SendConfirm, SendPrepare, get_send_page};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "send.step1",
        "第一步：短信内容与接收人",
        "Step 1: text and recipients",
    ),
    ("send.text", "短信内容", "Text"),
    (
        "send.count",
        "已输入 {chars} 字 · {encoding} · 每人 {parts} 条短信（每条最多 {per_part} {unit}）",
        "{chars} characters · {encoding} · {parts} SMS per recipient (up to {per_part} {unit} each)",
    ),
    ("send.units_chars", "字", "characters"),
    ("send.units_septets", "个字符位", "septets"),
    (
        "send.numbers",
        "手机号码（用逗号、空格或换行分隔，中文逗号也可以）",
        "Numbers (separated by commas, spaces or new lines; Chinese commas too)",
    ),
    ("send.pick", "从通讯录选择", "Pick from the address book"),
    ("send.pick_groups", "群组", "Groups"),
    (
        "send.pick_tree",
        "单位与人员（选择单位即包括其下属单位的所有人员）",
        "Departments and people (a department includes everyone in its sub-departments)",
    ),
    (
        "send.book_empty",
        "通讯录是空的。",
        "The address book is empty.",
    ),
    ("send.next", "下一步：确认", "Next: confirm"),
    ("send.step2", "第二步：确认发送", "Step 2: confirm"),
    (
        "send.summary",
        "将向 {recipients} 个号码发送，每人 {parts} 条，共 {total} 条短信。",
        "{recipients} recipients, {parts} SMS each, {total} SMS in all.",
    ),
    ("send.recipients", "接收人", "Recipients"),
    (
        "send.invalid",
        "以下输入不是有效的手机号码，不会发送",
        "These entries are not phone numbers and will not be sent to",
    ),
    (
        "send.duplicates",
        "重复的号码已合并：{n} 个",
        "Duplicate numbers merged: {n}",
    ),
    ("send.confirm", "确认发送", "Send now"),
    ("send.edit", "返回修改", "Back to edit"),
    (
        "send.no_recipients",
        "没有可发送的号码，请返回修改。",
        "There is no number to send to; go back and edit.",
    ),
    ("send.step3", "第三步：发送结果", "Step 3: results"),
    (
        "send.batch_lead",
        "{by} 于 {at} 发送",
        "Sent by {by} at {at}",
    ),
    ("send.number", "号码", "Number"),
    ("send.name", "姓名", "Name"),
    ("send.state", "状态", "State"),
    ("send.reason", "原因", "Reason"),
    ("send.updated", "更新时间", "Updated"),
    (
        "send.live",
        "结果会自动更新。",
        "The results update by themselves.",
    ),
    ("send.settled", "全部完成。", "All done."),
    ("send.another", "再发一条", "Send another"),
    ("send.detail", "详情", "Detail"),
];

/// A dictionary text with `{name}` placeholders filled.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    values.iter().fold(template.to_owned(), |s, (k, v)| {
        s.replace(&format!("{{{k}}}"), v)
    })
}

/// The live count line of a text.
pub fn count_line(lang: Lang, count: SmsCount) -> String {
    let (encoding, unit) = if count.ucs2 {
        ("UCS2", t(lang, "send.units_chars"))
    } else {
        ("GSM 7-bit", t(lang, "send.units_septets"))
    };
    fill(
        t(lang, "send.count"),
        &[
            ("chars", count.chars.to_string()),
            ("encoding", encoding.to_owned()),
            ("parts", count.parts.to_string()),
            ("per_part", count.per_part.to_string()),
            ("unit", unit.to_owned()),
        ],
    )
}

/// The send page.
#[component]
pub fn SendPage() -> impl IntoView {
    signed_in_page(
        Page::Send,
        |q| get_send_page(q.get("draft"), q.get("batch")),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data) -> AnyView {
    let editing = query("edit")().is_some();
    match (data.batch, data.draft) {
        (Some(batch), _) => batch_view(viewer.lang, batch).into_any(),
        (None, Some(draft)) if !editing => confirm_view(viewer, draft).into_any(),
        (None, draft) => form_view(viewer, &data.book, draft).into_any(),
    }
}

fn form_view(viewer: &Viewer, book: &AddressBook, draft: Option<Draft>) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let draft = draft.unwrap_or_default();
    let (text, set_text) = signal(draft.text.clone());
    let count = Memo::new(move |_| SmsCount::of(&text.get()));
    let picked = |ids: &[i64], id: i64| ids.contains(&id);
    let groups = book
        .groups
        .iter()
        .map(|g| {
            let checked = picked(&draft.groups, g.id);
            view! { <label class="check"><input type="checkbox" name="groups[]" value=g.id.to_string() checked=checked/>{g.name.clone()}</label> }
        })
        .collect_view();
    let tree = if book.departments.is_empty() && book.contacts.is_empty() {
        view! { <p class="muted">{t(lang, "send.book_empty")}</p> }.into_any()
    } else {
        view! { <ul class="tree top">{picker_nodes(book, None, &draft, 0)}{loose_contacts(book, &draft)}</ul> }.into_any()
    };
    view! {
        <section class="card">
            <h2>{t(lang, "send.step1")}</h2>
            <form method="post" action={action::<SendPrepare>()} class="stack" id="send-form">
                {csrf_field(viewer)}
                <label for="send-text">{t(lang, "send.text")}</label>
                <textarea id="send-text" name="text" required maxlength=MAX_TEXT_CHARS.to_string()
                    prop:value=move || text.get()
                    on:input=move |ev| set_text.set(event_target_value(&ev))>{draft.text.clone()}</textarea>
                <p class="count" id="send-count" aria-live="polite">{move || count_line(lang, count.get())}</p>
                <label for="send-numbers">{t(lang, "send.numbers")}</label>
                <textarea id="send-numbers" name="numbers" rows="3">{draft.numbers.clone()}</textarea>
                <label>{t(lang, "send.pick")}</label>
                <div class="picker" id="send-picker">
                    {(!book.groups.is_empty()).then(|| view! { <h3>{t(lang, "send.pick_groups")}</h3><div>{groups}</div> })}
                    <h3>{t(lang, "send.pick_tree")}</h3>
                    {tree}
                </div>
                <button type="submit" class="primary" id="send-next">{t(lang, "send.next")}</button>
            </form>
        </section>
    }
}

fn picker_nodes(book: &AddressBook, parent: Option<i64>, draft: &Draft, depth: usize) -> AnyView {
    if depth > book.departments.len() {
        return ().into_any();
    }
    book.children(parent)
        .map(|d| {
            let checked = draft.departments.contains(&d.id);
            let contacts = book
                .contacts_in(Some(d.id))
                .map(|c| contact_box(c, draft))
                .collect_view();
            view! {
                <li>
                    <label class="check"><input type="checkbox" name="departments[]" value=d.id.to_string() checked=checked data-department=d.name.clone()/><b>{d.name.clone()}</b></label>
                    <ul class="tree">{contacts}{picker_nodes(book, Some(d.id), draft, depth + 1)}</ul>
                </li>
            }
        })
        .collect_view()
        .into_any()
}

fn loose_contacts(book: &AddressBook, draft: &Draft) -> impl IntoView + use<> {
    book.contacts_in(None)
        .map(|c| contact_box(c, draft))
        .collect_view()
}

fn contact_box(c: &crate::model::address_book::Contact, draft: &Draft) -> impl IntoView + use<> {
    let checked = draft.contacts.contains(&c.id);
    let number = c.numbers.first().cloned().unwrap_or_default();
    view! {
        <li><label class="check"><input type="checkbox" name="contacts[]" value=c.id.to_string() checked=checked/>{c.name.clone()} " " <span class="muted small">{number}</span></label></li>
    }
}

fn confirm_view(viewer: &Viewer, draft: Draft) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let n = draft.recipients.len();
    let summary = fill(
        t(lang, "send.summary"),
        &[
            ("recipients", n.to_string()),
            ("parts", draft.count.parts.to_string()),
            (
                "total",
                (n as u64 * u64::from(draft.count.parts)).to_string(),
            ),
        ],
    );
    let invalid = (!draft.invalid.is_empty()).then(|| {
        view! {
            <div class="notice error" id="send-invalid">
                <b>{t(lang, "send.invalid")}</b>
                <ul>{draft.invalid.iter().map(|i| view! { <li><code>{i.input.clone()}</code> " " <span class="small">{i.reason.clone()}</span></li> }).collect_view()}</ul>
            </div>
        }
    });
    let duplicates = (draft.duplicates > 0).then(|| {
        view! { <p class="muted">{fill(t(lang, "send.duplicates"), &[("n", draft.duplicates.to_string())])}</p> }
    });
    let recipients = draft
        .recipients
        .iter()
        .map(|r| view! { <tr><td>{r.number.clone()}</td><td>{r.name.clone().unwrap_or_default()}</td></tr> })
        .collect_view();
    let edit = format!("/send?draft={}&edit=1", encode_component(&draft.id));
    view! {
        <section class="card">
            <h2>{t(lang, "send.step2")}</h2>
            <p class="notice info" id="send-summary" data-recipients=n.to_string() data-parts=draft.count.parts.to_string()>{summary}</p>
            <pre class="reply">{draft.text.clone()}</pre>
            <p class="count">{count_line(lang, draft.count)}</p>
            {invalid}
            {duplicates}
            {if n == 0 {
                view! { <p class="notice error">{t(lang, "send.no_recipients")}</p> }.into_any()
            } else {
                view! {
                    <h3>{t(lang, "send.recipients")} " (" {n} ")"</h3>
                    <div class="picker"><table id="send-recipients"><tbody>{recipients}</tbody></table></div>
                }.into_any()
            }}
            <div class="actions">
                {(n > 0).then(|| view! {
                    <form method="post" action={action::<SendConfirm>()} id="send-confirm-form">
                        {csrf_field(viewer)}
                        <input type="hidden" name="draft" value=draft.id.clone()/>
                        <button type="submit" class="primary" id="send-confirm">{t(lang, "send.confirm")}</button>
                    </form>
                })}
                <a href=edit rel="external"><button type="button" class="secondary">{t(lang, "send.edit")}</button></a>
            </div>
        </section>
    }
}

fn batch_view(lang: Lang, batch: Batch) -> impl IntoView {
    let url = format!("/ui/events/batch?id={}", encode_component(&batch.id));
    let batch = live(url, batch);
    view! {
        <section class="card" id="batch">
            <h2>{t(lang, "send.step3")}</h2>
            {move || {
                let b = batch.get();
                let tally = b
                    .tally()
                    .into_iter()
                    .map(|(state, n)| view! { <span class="tile" data-state=state><span class="n">{n}</span> " " {state_badge(lang, state)}</span> })
                    .collect_view();
                let rows = b
                    .results
                    .iter()
                    .map(|r| view! {
                        <tr data-number=r.number.clone() data-state=r.state.clone()>
                            <td>{r.number.clone()}</td>
                            <td>{r.name.clone().unwrap_or_default()}</td>
                            <td>{state_badge(lang, &r.state)}</td>
                            <td class="small">{r.error.clone().unwrap_or_default()}</td>
                            <td class="small">{format_time(r.updated_at)}</td>
                            <td><a href=format!("/messages?id={}", r.message_id) rel="external" class="small">{t(lang, "send.detail")}</a></td>
                        </tr>
                    })
                    .collect_view();
                let lead = fill(
                    t(lang, "send.batch_lead"),
                    &[("by", b.created_by.clone()), ("at", format_time(b.created_at))],
                );
                let status = if b.settled() { t(lang, "send.settled") } else { t(lang, "send.live") };
                view! {
                    <p class="muted">{lead}</p>
                    <pre class="reply">{b.text.clone()}</pre>
                    <div class="tiles" id="batch-tally">{tally}</div>
                    <p class="muted small" id="batch-status">{status}</p>
                    <div class="scroll"><table id="batch-results">
                        <thead><tr>
                            <th>{t(lang, "send.number")}</th><th>{t(lang, "send.name")}</th><th>{t(lang, "send.state")}</th>
                            <th>{t(lang, "send.reason")}</th><th>{t(lang, "send.updated")}</th><th></th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table></div>
                }
            }}
            <p><a href="/send" rel="external">{t(lang, "send.another")}</a></p>
        </section>
    }
}
