//! The simulated handset (embedded default and demo only): pick a registered phone, type an
//! SMS, and see the conversation with the platform's replies, live. The SMS goes in through
//! the built-in simulated modem, exactly as a real one would. Administrators only; a
//! registered officer phone takes only the police commands the administrator is granted, and
//! every SMS typed is audited with the administrator as actor.

use leptos::prelude::*;

use crate::app::{action, csrf_field, live, signed_in_page};
use crate::i18n::t;
use crate::model::simulator::SimulatorPage as Data;
use crate::model::{Page, Viewer, encode_component, format_time};
use crate::server::simulator::{HandsetSend, get_simulator};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "sim.unavailable",
        "模拟手机只在使用内置模拟短信猫时可用（默认嵌入式启动或演示配置）。",
        "The simulated handset works only with a built-in simulated modem (the embedded default start, or a demo configuration).",
    ),
    ("sim.phone", "手机号码", "Phone"),
    (
        "sim.pick",
        "选择登记的手机，或输入任意号码",
        "Pick a registered phone, or type any number",
    ),
    ("sim.use", "使用这部手机", "Use this phone"),
    (
        "sim.lead",
        "像在手机上一样输入短信，例如 CP 京A12345 或 H。",
        "Type an SMS as on a phone, e.g. CP 京A12345 or H.",
    ),
    (
        "sim.what",
        "模拟手机把你输入的短信当作这个号码发来的短信交给平台，平台照常回复。每条短信都记入审计日志，操作人是你。登记的警员手机只能发送你本人获授权的警务查询；你未获授权的查询及其回复不显示。",
        "The simulated handset hands what you type to the platform as an SMS from this number, and the platform answers as usual. Every SMS is written to the audit log with you as the actor. From a registered officer phone you can send only the police queries you are granted yourself; queries and replies you are not granted are not shown.",
    ),
    ("sim.text", "短信", "Message"),
    ("sim.send", "发送", "Send"),
    ("sim.empty", "还没有消息。", "No messages yet."),
    ("sim.to_platform", "发往平台", "to the platform"),
];

/// The handset page.
#[component]
pub fn SimulatorPage() -> impl IntoView {
    signed_in_page(
        Page::Simulator,
        |q| get_simulator(q.get("phone")),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data) -> impl IntoView + use<> {
    let lang = viewer.lang;
    if !data.available {
        return view! { <p class="notice info">{t(lang, "sim.unavailable")}</p> }.into_any();
    }
    let current = data.phone.clone().unwrap_or_default();
    let options = data
        .phones
        .iter()
        .map(|(n, owner)| view! { <option value=n.clone()>{owner.clone()}</option> })
        .collect_view();
    let chat = data.phone.clone().map(|phone| {
        let url = format!("/ui/events/handset?phone={}", encode_component(&phone));
        let page = live(url, data.clone());
        view! {
            <section class="card narrow">
                <h2>{phone.clone()}</h2>
                <p class="muted small">{t(lang, "sim.lead")}</p>
                <div class="chat" id="chat">
                    {move || {
                        let lines = page.get().conversation;
                        if lines.is_empty() {
                            view! { <p class="muted">{t(lang, "sim.empty")}</p> }.into_any()
                        } else {
                            lines.into_iter().map(|l| {
                                let class = if l.from_handset { "bubble me" } else { "bubble them" };
                                view! {
                                    <div class=class data-id=l.id.to_string() data-state=l.state.clone()>
                                        {crate::pages::messages::withheld_or(lang, l.withheld.as_deref(), &l.text)}
                                        <span class="meta">{format_time(l.at_ms)}</span>
                                    </div>
                                }
                            }).collect_view().into_any()
                        }
                    }}
                </div>
                <form method="post" action={action::<HandsetSend>()} class="stack" id="handset-form">
                    {csrf_field(viewer)}
                    <input type="hidden" name="phone" value=phone.clone()/>
                    <label for="handset-text">{t(lang, "sim.text")}</label>
                    <input type="text" id="handset-text" name="text" required maxlength="500" autocomplete="off"/>
                    <button type="submit" class="primary" id="handset-send">{t(lang, "sim.send")}</button>
                </form>
            </section>
        }
    });
    view! {
        <p class="notice info" id="handset-what">{t(lang, "sim.what")}</p>
        <form method="get" action="/simulator" class="row card" id="handset-pick">
            <label>{t(lang, "sim.phone")}
                <input type="text" name="phone" list="handset-phones" value=current placeholder=t(lang, "sim.pick") inputmode="tel"/>
            </label>
            <datalist id="handset-phones">{options}</datalist>
            <button type="submit" class="secondary" id="handset-use">{t(lang, "sim.use")}</button>
        </form>
        {chat}
    }
    .into_any()
}
