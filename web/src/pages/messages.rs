//! Messages: inbound and outbound, searched by number, text and time, filtered by state; a
//! message's detail with its parts and delivery reports; re-send of a failed message.
//! Administrators and operators.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

use crate::app::{action, csrf_field, empty, signed_in_page, state_badge};
use crate::i18n::{Lang, t};
use crate::model::messages::{MessageDetail, MessageList, MessageRow, MessageSearch};
use crate::model::{Page, Viewer, encode_component, format_time};
use crate::server::messages::{MessageResend, get_messages};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("msg.q", "号码或内容", "Number or text"),
    ("msg.direction", "方向", "Direction"),
    ("msg.any", "全部", "all"),
    ("msg.in", "收到", "received"),
    ("msg.out", "发出", "sent"),
    ("msg.state", "状态", "State"),
    ("msg.from", "从", "From"),
    ("msg.to", "到", "To"),
    ("msg.search", "查询", "Search"),
    ("msg.none", "没有符合条件的短信。", "No message matches."),
    ("msg.time", "时间", "Time"),
    ("msg.peer", "对方号码", "Number"),
    (
        "msg.alphanumeric",
        "字母名称，非号码，不可回复",
        "alphanumeric name, not a number; cannot be answered",
    ),
    ("msg.text", "内容", "Text"),
    (
        "msg.withheld",
        "警务查询，内容已隐藏（你未获此业务授权）：",
        "Police query, text withheld (you are not granted it): ",
    ),
    ("msg.parts", "条数", "Parts"),
    ("msg.more", "更早的短信", "Older messages"),
    ("msg.back", "返回列表", "Back to the list"),
    ("msg.detail", "短信详情", "Message"),
    ("msg.error", "最后错误", "Last error"),
    ("msg.attempts", "尝试次数", "Attempts"),
    ("msg.next_attempt", "下次尝试", "Next attempt"),
    ("msg.modem", "调制解调器", "Modem"),
    ("msg.service_number", "服务号码", "Service number"),
    ("msg.encoding", "编码", "Encoding"),
    ("msg.report", "要求状态报告", "Status report asked"),
    ("msg.valid_until", "有效期至", "Valid until"),
    ("msg.sent_at", "发出时间", "Sent"),
    ("msg.delivered_at", "送达时间", "Delivered"),
    ("msg.batch", "所属群发", "Send batch"),
    ("msg.origin", "来源", "Origin"),
    (
        "msg.part_list",
        "分段与状态报告",
        "Parts and delivery reports",
    ),
    ("msg.seq", "段", "Part"),
    ("msg.reference", "参考号", "Reference"),
    ("msg.status", "报告状态", "Report status"),
    ("msg.reported_at", "报告时间", "Reported"),
    ("msg.resend", "重新发送", "Send again"),
    ("msg.no_parts", "没有分段记录。", "No parts recorded."),
];

/// The messages page.
#[component]
pub fn MessagesPage() -> impl IntoView {
    signed_in_page(
        Page::Messages,
        |q| get_messages(search_of(&q), q.get("id").and_then(|i| i.parse().ok())),
        |viewer, (list, detail)| body(viewer, list, detail).into_any(),
    )
}

fn search_of(q: &ParamsMap) -> MessageSearch {
    let get = |k: &str| q.get(k).unwrap_or_default();
    MessageSearch {
        q: get("q"),
        direction: get("direction"),
        state: get("state"),
        from: get("from"),
        to: get("to"),
        before: q.get("before").and_then(|b| b.parse().ok()),
    }
}

fn body(
    viewer: &Viewer,
    list: MessageList,
    detail: Option<MessageDetail>,
) -> impl IntoView + use<> {
    match detail {
        Some(d) => detail_view(viewer, d).into_any(),
        None => list_view(viewer.lang, list).into_any(),
    }
}

const STATES: [&str; 8] = [
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "expired",
    "received",
    "partial",
];

/// The text of a message, or what the page says instead when it is withheld.
pub(crate) fn shown_text(lang: Lang, m: &MessageRow) -> String {
    withheld_or(lang, m.withheld.as_deref(), &m.text)
}

/// The other party, with a note when it is an alphanumeric sender's name rather than a number
/// (anyone can send under the name "13800000001"; issue 18 finding 6).
fn peer_view(lang: Lang, m: &MessageRow) -> impl IntoView + use<> {
    let note = m.alphanumeric.then(|| {
        view! { <div class="muted small peer-kind" data-peer-kind="alphanumeric">{t(lang, "msg.alphanumeric")}</div> }
    });
    view! { {m.peer.clone()}{note} }
}

/// `text`, or the withheld notice naming `withheld`'s keyword.
pub(crate) fn withheld_or(lang: Lang, withheld: Option<&str>, text: &str) -> String {
    match withheld {
        Some(keyword) => format!("{}{keyword}", t(lang, "msg.withheld")),
        None => text.to_owned(),
    }
}

fn list_view(lang: Lang, list: MessageList) -> impl IntoView {
    let search = search_of(&leptos_router::hooks::use_query_map().get_untracked());
    let option = |value: &str, label: String, current: &str| {
        let selected = value == current;
        view! { <option value=value.to_owned() selected=selected>{label}</option> }
    };
    let directions = [("", "msg.any"), ("in", "msg.in"), ("out", "msg.out")]
        .into_iter()
        .map(|(v, k)| option(v, t(lang, k).to_owned(), &search.direction))
        .collect_view();
    let states = std::iter::once(option("", t(lang, "msg.any").to_owned(), &search.state))
        .chain(
            STATES
                .iter()
                .map(|s| option(s, t(lang, &format!("state.{s}")).to_owned(), &search.state)),
        )
        .collect_view();
    let rows = list
        .rows
        .iter()
        .map(|m| {
            let href = format!("/messages?id={}", m.id);
            let dir = if m.direction == "in" { "msg.in" } else { "msg.out" };
            view! {
                <tr data-id=m.id.to_string()>
                    <td class="small">{format_time(m.created_at)}</td>
                    <td>{t(lang, dir)}</td>
                    <td>{peer_view(lang, m)}</td>
                    <td class="text"><a href=href rel="external">{shown_text(lang, m)}</a></td>
                    <td>{state_badge(lang, &m.state)}{m.last_error.clone().map(|e| view! { <div class="muted small">{e}</div> })}</td>
                    <td class="num">{m.parts.map(|p| p.to_string()).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let more = list.next_before.map(|before| {
        let mut q = vec![format!("before={before}")];
        for (k, v) in [
            ("q", &search.q),
            ("direction", &search.direction),
            ("state", &search.state),
            ("from", &search.from),
            ("to", &search.to),
        ] {
            if !v.is_empty() {
                q.push(format!("{k}={}", encode_component(v)));
            }
        }
        view! { <p><a href=format!("/messages?{}", q.join("&")) rel="external">{t(lang, "msg.more")}</a></p> }
    });
    view! {
        <form method="get" action="/messages" class="row card" id="message-search">
            <label>{t(lang, "msg.q")}<input type="search" name="q" value=search.q.clone()/></label>
            <label>{t(lang, "msg.direction")}<select name="direction">{directions}</select></label>
            <label>{t(lang, "msg.state")}<select name="state">{states}</select></label>
            <label>{t(lang, "msg.from")}<input type="datetime-local" name="from" value=search.from.clone()/></label>
            <label>{t(lang, "msg.to")}<input type="datetime-local" name="to" value=search.to.clone()/></label>
            <button type="submit" class="secondary">{t(lang, "msg.search")}</button>
        </form>
        <section class="card">
            {if list.rows.is_empty() {
                empty(lang, "msg.none").into_any()
            } else {
                view! {
                    <div class="scroll"><table id="messages">
                        <thead><tr>
                            <th>{t(lang, "msg.time")}</th><th>{t(lang, "msg.direction")}</th><th>{t(lang, "msg.peer")}</th>
                            <th>{t(lang, "msg.text")}</th><th>{t(lang, "msg.state")}</th><th class="num">{t(lang, "msg.parts")}</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table></div>
                }.into_any()
            }}
            {more}
        </section>
    }
}

fn detail_view(viewer: &Viewer, d: MessageDetail) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let time = |ms: Option<i64>| ms.map(format_time).unwrap_or_default();
    let field = |key: &'static str, value: String| {
        (!value.is_empty()).then(|| view! { <tr><th>{t(lang, key)}</th><td>{value}</td></tr> })
    };
    let dir = if d.row.direction == "in" {
        "msg.in"
    } else {
        "msg.out"
    };
    let parts = if d.parts.is_empty() {
        empty(lang, "msg.no_parts").into_any()
    } else {
        view! {
            <table id="parts">
                <thead><tr>
                    <th>{t(lang, "msg.seq")}</th><th>{t(lang, "msg.state")}</th><th>{t(lang, "msg.modem")}</th>
                    <th>{t(lang, "msg.reference")}</th><th>{t(lang, "msg.status")}</th><th>{t(lang, "msg.sent_at")}</th><th>{t(lang, "msg.reported_at")}</th>
                </tr></thead>
                <tbody>{d.parts.iter().map(|p| view! {
                    <tr>
                        <td class="num">{p.seq}</td>
                        <td>{state_badge(lang, &p.state)}</td>
                        <td>{p.modem.clone().unwrap_or_default()}</td>
                        <td class="num">{p.reference.map(|r| r.to_string()).unwrap_or_default()}</td>
                        <td class="num">{p.status.map(|s| s.to_string()).unwrap_or_default()}</td>
                        <td class="small">{time(p.sent_at)}</td>
                        <td class="small">{time(p.reported_at)}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
        }
        .into_any()
    };
    let resendable = d.resendable();
    view! {
        <p><a href="/messages" rel="external">{t(lang, "msg.back")}</a></p>
        <section class="card" id="message" data-state=d.row.state.clone()>
            <h2>{t(lang, "msg.detail")} " #" {d.row.id}</h2>
            <pre class="reply">{shown_text(lang, &d.row)}</pre>
            <table>
                <tbody>
                    <tr><th>{t(lang, "msg.state")}</th><td>{state_badge(lang, &d.row.state)}</td></tr>
                    <tr><th>{t(lang, "msg.direction")}</th><td>{t(lang, dir)}</td></tr>
                    <tr><th>{t(lang, "msg.peer")}</th><td>{peer_view(lang, &d.row)}</td></tr>
                    <tr><th>{t(lang, "msg.time")}</th><td>{format_time(d.row.created_at)}</td></tr>
                    {field("msg.error", d.row.last_error.clone().unwrap_or_default())}
                    {field("msg.attempts", if d.row.direction == "out" { format!("{} / {}", d.attempts, d.max_attempts) } else { String::new() })}
                    {field("msg.next_attempt", time(d.next_attempt_at))}
                    {field("msg.modem", d.modem.clone().unwrap_or_default())}
                    {field("msg.service_number", d.service_number.clone().unwrap_or_default())}
                    {field("msg.encoding", d.encoding.clone().unwrap_or_default())}
                    {field("msg.parts", d.row.parts.map(|p| p.to_string()).unwrap_or_default())}
                    {field("msg.report", if d.status_report { t(lang, "yes").to_owned() } else { String::new() })}
                    {field("msg.valid_until", time(d.valid_until))}
                    {field("msg.sent_at", time(d.sent_at))}
                    {field("msg.delivered_at", time(d.delivered_at))}
                    {field("msg.batch", d.batch_id.clone().unwrap_or_default())}
                    {field("msg.origin", d.origin.clone().unwrap_or_default())}
                </tbody>
            </table>
            {resendable.then(|| view! {
                <form method="post" action={action::<MessageResend>()} id="resend-form">
                    {csrf_field(viewer)}
                    <input type="hidden" name="id" value=d.row.id.to_string()/>
                    <button type="submit" class="primary" id="resend">{t(lang, "msg.resend")}</button>
                </form>
            })}
        </section>
        <section class="card">
            <h2>{t(lang, "msg.part_list")}</h2>
            {parts}
        </section>
    }
}
