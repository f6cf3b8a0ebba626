//! The dashboard: modems with signal, registration and health; queue depths; today's traffic;
//! plugin commands loaded; messages per minute in and out over the last three hours. Live:
//! the page follows `/ui/events/dashboard`.

use leptos::either::Either;
use leptos::prelude::*;

use crate::app::{live, signed_in_page, state_badge};
use crate::i18n::{Lang, t};
use crate::model::dashboard::{CHART_MINUTES, Dashboard, ModemRow};
use crate::model::{Page, format_time};
use crate::server::dashboard::get_dashboard;

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("dash.modems", "短信猫（调制解调器）", "Modems"),
    (
        "dash.no_modems",
        "未配置调制解调器：待发短信将在队列中等待。",
        "No modem is configured: outbound messages wait in the queue.",
    ),
    ("dash.name", "名称", "Name"),
    ("dash.state", "状态", "State"),
    ("dash.signal", "信号", "Signal"),
    ("dash.registered", "已注册网络", "Registered"),
    ("dash.service_number", "服务号码", "Service number"),
    ("dash.limit", "限速（条/分）", "Limit (parts/min)"),
    ("dash.sent", "已发", "Sent"),
    ("dash.failed", "失败", "Failed"),
    ("dash.received", "已收", "Received"),
    ("dash.reconnects", "重连", "Reconnects"),
    ("dash.queue", "发送队列", "Outbound queue"),
    ("dash.today", "今日", "Today"),
    ("dash.today_in", "收到短信", "Received"),
    ("dash.today_out", "发出短信", "Queued to send"),
    ("dash.today_failed", "发送失败", "Failed"),
    ("dash.plugins", "已加载的查询指令", "Commands loaded"),
    (
        "dash.no_plugins",
        "没有加载任何插件。",
        "No plugin is loaded.",
    ),
    (
        "dash.chart",
        "每分钟短信量（近 3 小时）",
        "Messages per minute (last 3 hours)",
    ),
    ("dash.in", "收", "In"),
    ("dash.out", "发", "Out"),
    ("dash.updated", "更新于", "Updated"),
    ("dash.unlimited", "不限", "none"),
];

/// The dashboard.
#[component]
pub fn DashboardPage() -> impl IntoView {
    signed_in_page(
        Page::Dashboard,
        |_| get_dashboard(),
        |viewer, figures| {
            let lang = viewer.lang;
            let figures = live("/ui/events/dashboard".to_owned(), figures);
            view! { <div id="dashboard">{move || dashboard_body(lang, figures.get())}</div> }
                .into_any()
        },
    )
}

fn dashboard_body(lang: Lang, d: Dashboard) -> impl IntoView {
    let tiles = d
        .queue
        .iter()
        .map(|(state, n)| {
            let class = if matches!(state.as_str(), "failed" | "expired") && *n > 0 {
                "tile bad"
            } else {
                "tile"
            };
            view! {
                <div class=class data-state=state.clone()>
                    <div class="n">{*n}</div>
                    <div class="l">{t(lang, &format!("queue.{state}"))}</div>
                </div>
            }
        })
        .collect_view();
    let today = d.today;
    let plugins = if d.plugins.is_empty() {
        Either::Left(view! { <p class="muted">{t(lang, "dash.no_plugins")}</p> })
    } else {
        Either::Right(view! {
            <ul id="plugins">
                {d.plugins.iter().map(|p| view! {
                    <li><code>{p.keyword.clone()}</code> " " <span class="muted small">{format!("{}@{}", p.plugin, p.version)}</span></li>
                }).collect_view()}
            </ul>
        })
    };
    view! {
        <section class="card">
            <h2>{t(lang, "dash.modems")}</h2>
            {modems(lang, &d.modems)}
        </section>
        <div class="grid2">
            <section class="card">
                <h2>{t(lang, "dash.queue")}</h2>
                <div class="tiles" id="queue">{tiles}</div>
            </section>
            <section class="card">
                <h2>{t(lang, "dash.today")}</h2>
                <div class="tiles" id="today">
                    <div class="tile"><div class="n">{today.inbound}</div><div class="l">{t(lang, "dash.today_in")}</div></div>
                    <div class="tile"><div class="n">{today.outbound}</div><div class="l">{t(lang, "dash.today_out")}</div></div>
                    <div class={if today.failed > 0 { "tile bad" } else { "tile" }}><div class="n">{today.failed}</div><div class="l">{t(lang, "dash.today_failed")}</div></div>
                </div>
            </section>
        </div>
        <section class="card">
            <h2>{t(lang, "dash.chart")}</h2>
            {chart(lang, &d)}
        </section>
        <section class="card">
            <h2>{t(lang, "dash.plugins")}</h2>
            {plugins}
        </section>
        <p class="muted small">{t(lang, "dash.updated")} " " {format_time(d.at_ms)}</p>
    }
}

fn modems(lang: Lang, modems: &[ModemRow]) -> impl IntoView + use<> {
    if modems.is_empty() {
        return Either::Left(view! { <p class="muted">{t(lang, "dash.no_modems")}</p> });
    }
    let yes_no = move |b: Option<bool>| match b {
        Some(true) => t(lang, "yes"),
        Some(false) => t(lang, "no"),
        None => t(lang, "unknown"),
    };
    let rows = modems
        .iter()
        .map(|m| {
            let signal = match m.signal {
                Some(s) if s <= 31 => format!("{s}/31"),
                _ => t(lang, "unknown").to_owned(),
            };
            let limit = m
                .max_parts_per_minute
                .map_or_else(|| t(lang, "dash.unlimited").to_owned(), |l| l.to_string());
            view! {
                <tr data-modem=m.name.clone()>
                    <td>{m.name.clone()}</td>
                    <td>{state_badge(lang, &m.state)}{m.last_error.clone().map(|e| view! { <div class="muted small">{e}</div> })}</td>
                    <td>{signal}</td>
                    <td>{yes_no(m.registered)}</td>
                    <td>{m.service_number.clone().unwrap_or_default()}</td>
                    <td class="num">{limit}</td>
                    <td class="num">{m.parts_sent}</td>
                    <td class="num">{m.parts_failed}</td>
                    <td class="num">{m.parts_received}</td>
                    <td class="num">{m.reconnects}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="scroll"><table id="modems">
            <thead><tr>
                <th>{t(lang, "dash.name")}</th><th>{t(lang, "dash.state")}</th><th>{t(lang, "dash.signal")}</th>
                <th>{t(lang, "dash.registered")}</th><th>{t(lang, "dash.service_number")}</th><th class="num">{t(lang, "dash.limit")}</th>
                <th class="num">{t(lang, "dash.sent")}</th><th class="num">{t(lang, "dash.failed")}</th><th class="num">{t(lang, "dash.received")}</th><th class="num">{t(lang, "dash.reconnects")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    })
}

/// Bars per minute, inbound and outbound side by side, as SVG (no script, no styles inline).
fn chart(lang: Lang, d: &Dashboard) -> impl IntoView + use<> {
    const WIDTH: usize = CHART_MINUTES * 4;
    const HEIGHT: u64 = 150;
    let peak = d.chart_peak();
    let bar = |n: u64| (n * HEIGHT).div_ceil(peak);
    let bars = d
        .per_minute
        .iter()
        .enumerate()
        .flat_map(|(i, m)| {
            let x = i * 4;
            let (hi, ho) = (bar(m.inbound), bar(m.outbound));
            [
                (hi > 0).then(|| view! { <rect class="in" x=x.to_string() y=(HEIGHT - hi).to_string() width="2" height=hi.to_string()></rect> }),
                (ho > 0).then(|| view! { <rect class="out" x=(x + 2).to_string() y=(HEIGHT - ho).to_string() width="2" height=ho.to_string()></rect> }),
            ]
        })
        .flatten()
        .collect_view();
    let first = d
        .per_minute
        .first()
        .map(|m| format_time(m.minute_ms))
        .unwrap_or_default();
    let last = d
        .per_minute
        .last()
        .map(|m| format_time(m.minute_ms))
        .unwrap_or_default();
    let first = first.get(11..16).unwrap_or_default().to_owned();
    let last = last.get(11..16).unwrap_or_default().to_owned();
    view! {
        <div class="legend">
            <span><i class="in"></i>{t(lang, "dash.in")}</span>
            <span><i class="out"></i>{t(lang, "dash.out")}</span>
            <span class="muted">"max " {peak} "/min"</span>
        </div>
        <svg class="chart" id="chart" viewBox=format!("0 0 {WIDTH} 170") preserveAspectRatio="none" role="img" aria-label=t(lang, "dash.chart")>
            {bars}
            <line class="axis" x1="0" y1=HEIGHT.to_string() x2=WIDTH.to_string() y2=HEIGHT.to_string()></line>
            <text x="0" y="166">{first}</text>
            <text x=(WIDTH - 34).to_string() y="166">{last}</text>
        </svg>
    }
}
