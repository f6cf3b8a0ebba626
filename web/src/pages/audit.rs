//! The audit log, read-only for everyone: filter by user, phone, keyword, event and time;
//! export the filtered rows as CSV. Administrators and auditors.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

use crate::app::{empty, signed_in_page};
use crate::i18n::{Lang, t};
use crate::model::audit::{AuditList, AuditSearch};
use crate::model::{Page, format_time};
use crate::server::audit::get_audit;

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("audit.actor", "操作人", "Who"),
    ("audit.phone", "手机", "Phone"),
    ("audit.keyword", "指令", "Command"),
    ("audit.event", "事件", "Event"),
    ("audit.from", "从", "From"),
    ("audit.to", "到", "To"),
    ("audit.filter", "筛选", "Filter"),
    ("audit.export", "导出 CSV", "Export CSV"),
    (
        "audit.none",
        "没有符合条件的审计记录。",
        "No audit row matches.",
    ),
    ("audit.time", "时间（北京时间）", "Time (Beijing)"),
    ("audit.object", "对象", "Object"),
    ("audit.outcome", "结果", "Outcome"),
    ("audit.source", "来源", "Source"),
    ("audit.details", "详情", "Details"),
    ("audit.more", "更早的记录", "Older rows"),
    (
        "audit.read_only",
        "审计日志只能查看，不能修改或删除；每次查看和导出本身也会记入审计。",
        "The audit log can be read, never changed or deleted; every read and export is itself audited.",
    ),
];

/// The audit page.
#[component]
pub fn AuditPage() -> impl IntoView {
    signed_in_page(
        Page::Audit,
        |q| get_audit(search_of(&q)),
        |viewer, list| body(viewer.lang, list).into_any(),
    )
}

fn search_of(q: &ParamsMap) -> AuditSearch {
    let get = |k: &str| q.get(k).unwrap_or_default();
    AuditSearch {
        actor: get("actor"),
        phone: get("phone"),
        keyword: get("keyword"),
        event: get("event"),
        from: get("from"),
        to: get("to"),
        before: q.get("before").and_then(|b| b.parse().ok()),
    }
}

fn body(lang: Lang, list: AuditList) -> impl IntoView {
    let search = search_of(&leptos_router::hooks::use_query_map().get_untracked());
    let query = search.query_string();
    let export = if query.is_empty() {
        "/ui/export/audit.csv".to_owned()
    } else {
        format!("/ui/export/audit.csv?{query}")
    };
    let more = list.next_before.map(|before| {
        let href = if query.is_empty() {
            format!("/audit?before={before}")
        } else {
            format!("/audit?{query}&before={before}")
        };
        view! { <p><a href=href rel="external">{t(lang, "audit.more")}</a></p> }
    });
    let rows = list
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr data-event=r.event.clone() data-outcome=r.outcome.clone()>
                    <td class="small">{format_time(r.at_ms)}</td>
                    <td>{r.component.clone()} "/" {r.event.clone()}</td>
                    <td>{r.actor.clone().unwrap_or_default()}</td>
                    <td>{r.phone.clone().unwrap_or_default()}</td>
                    <td class="text">{r.object.clone().unwrap_or_default()}</td>
                    <td><span class=format!("badge {}", r.outcome)>{r.outcome.clone()}</span></td>
                    <td class="small">{r.source.clone().unwrap_or_default()}</td>
                    <td class="text small"><code>{r.details.clone()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="muted">{t(lang, "audit.read_only")}</p>
        <form method="get" action="/audit" class="row card" id="audit-filter">
            <label>{t(lang, "audit.actor")}<input type="text" name="actor" value=search.actor.clone() size="10"/></label>
            <label>{t(lang, "audit.phone")}<input type="text" name="phone" value=search.phone.clone() size="13"/></label>
            <label>{t(lang, "audit.keyword")}<input type="text" name="keyword" value=search.keyword.clone() size="5"/></label>
            <label>{t(lang, "audit.event")}<input type="text" name="event" value=search.event.clone() size="10"/></label>
            <label>{t(lang, "audit.from")}<input type="datetime-local" name="from" value=search.from.clone()/></label>
            <label>{t(lang, "audit.to")}<input type="datetime-local" name="to" value=search.to.clone()/></label>
            <button type="submit" class="secondary">{t(lang, "audit.filter")}</button>
            <a href=export rel="external" id="audit-export" download="jingxun-audit.csv">{t(lang, "audit.export")}</a>
        </form>
        <section class="card">
            {if list.rows.is_empty() {
                empty(lang, "audit.none").into_any()
            } else {
                view! {
                    <div class="scroll"><table id="audit">
                        <thead><tr>
                            <th>{t(lang, "audit.time")}</th><th>{t(lang, "audit.event")}</th><th>{t(lang, "audit.actor")}</th>
                            <th>{t(lang, "audit.phone")}</th><th>{t(lang, "audit.object")}</th><th>{t(lang, "audit.outcome")}</th>
                            <th>{t(lang, "audit.source")}</th><th>{t(lang, "audit.details")}</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table></div>
                }.into_any()
            }}
            {more}
        </section>
    }
}
