//! API keys of other systems (issue 5, R19): list, create (the key is shown once, never
//! stored) and revoke. Inbound keywords, numbers and webhooks stay on the command line
//! (`jingxun apikey update|webhook`). Administrators only.

use leptos::prelude::*;

use crate::app::{action, csrf_field, empty, signed_in_page};
use crate::i18n::t;
use crate::model::api_keys::{ApiKeyRow, ApiKeysPage as Data};
use crate::model::{Page, Viewer, format_time};
use crate::server::api_keys::{ApiKeyCreate, ApiKeyRevoke, get_api_keys};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("keys.list", "全部接口密钥", "All API keys"),
    (
        "keys.lead",
        "其他系统（OA、网站、出入境等）凭密钥调用 /api/v1 收发短信。入站关键字、号码和 Webhook 用命令行设置：jingxun apikey update / webhook。",
        "Other systems (OA, the website, exit-entry...) call /api/v1 with a key to send and receive SMS. Inbound keywords, numbers and webhooks are set on the command line: jingxun apikey update / webhook.",
    ),
    ("keys.none", "还没有接口密钥。", "No API keys yet."),
    ("keys.name", "名称", "Name"),
    ("keys.prefix", "密钥开头", "Key begins"),
    ("keys.scopes", "权限", "Scopes"),
    ("keys.rate", "每秒请求数", "Requests per second"),
    ("keys.service_numbers", "可用服务号码", "Service numbers"),
    ("keys.networks", "允许的来源网段", "Allowed networks"),
    ("keys.webhook", "Webhook", "Webhook"),
    ("keys.created", "创建时间", "Created"),
    ("keys.state", "状态", "State"),
    ("keys.any", "不限", "any"),
    ("keys.active", "有效", "active"),
    ("keys.revoked", "已吊销", "revoked"),
    ("keys.revoke", "吊销", "Revoke"),
    (
        "keys.revoke_confirm",
        "确认吊销（调用方将立即无法使用）",
        "Confirm (the client system loses access at once)",
    ),
    ("keys.create", "新建接口密钥", "New API key"),
    ("keys.create_submit", "创建密钥", "Create key"),
    (
        "keys.name_hint",
        "调用方系统的名称，例如 oa、news-site（记入每次调用的日志和审计）",
        "The client system's name, e.g. oa, news-site (logged and audited with every call)",
    ),
    (
        "keys.scope.send",
        "send：发送短信并查询其状态",
        "send: queue texts and read their state",
    ),
    (
        "keys.scope.receive",
        "receive：接收上行短信（长轮询或 Webhook）",
        "receive: inbound SMS (long poll or webhook)",
    ),
    (
        "keys.scope.notify",
        "notify：OA 提醒和证件办理进度通知",
        "notify: OA reminders and citizen notices",
    ),
    (
        "keys.service_numbers_hint",
        "可用的服务号码，用逗号分隔（空：不限）",
        "Service numbers it may send from, separated by commas (empty: any)",
    ),
    (
        "keys.networks_hint",
        "允许的来源网段，如 10.0.0.0/8，用逗号分隔（空：不限）",
        "Networks it may be used from, e.g. 10.0.0.0/8, separated by commas (empty: any)",
    ),
    ("keys.secret_title", "新密钥：{name}", "The new key: {name}"),
    (
        "keys.secret_lead",
        "请现在复制并交给调用方系统。密钥只显示这一次，平台只保存其摘要，无法找回；遗失后请吊销并新建。",
        "Copy it now and hand it to the client system. It is shown this once; the platform keeps only its hash and cannot show it again. If it is lost, revoke it and create another.",
    ),
];

/// The API keys page.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    signed_in_page(
        Page::ApiKeys,
        |q| get_api_keys(q.get("created")),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let created = data.created.clone().map(|key| {
        view! {
            <section class="card" id="created-key">
                <h2>{t(lang, "keys.secret_title").replace("{name}", &key.name)}</h2>
                <p>{t(lang, "keys.secret_lead")}</p>
                <pre class="secret" id="created-secret">{key.secret.clone()}</pre>
            </section>
        }
    });
    let rows = if data.keys.is_empty() {
        empty(lang, "keys.none").into_any()
    } else {
        let rows = data
            .keys
            .iter()
            .map(|key| key_row(viewer, key))
            .collect_view();
        view! {
            <div class="scroll"><table id="api-keys">
                <thead><tr>
                    <th>{t(lang, "keys.name")}</th><th>{t(lang, "keys.prefix")}</th><th>{t(lang, "keys.scopes")}</th>
                    <th>{t(lang, "keys.rate")}</th><th>{t(lang, "keys.service_numbers")}</th><th>{t(lang, "keys.networks")}</th>
                    <th>{t(lang, "keys.webhook")}</th><th>{t(lang, "keys.created")}</th><th>{t(lang, "keys.state")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        }
        .into_any()
    };
    let scopes = [
        ("send", "keys.scope.send"),
        ("receive", "keys.scope.receive"),
        ("notify", "keys.scope.notify"),
    ]
    .into_iter()
    .map(|(scope, label)| {
        view! {
            <label class="check"><input type="checkbox" name="scopes[]" value=scope/>{t(lang, label)}</label>
        }
    })
    .collect_view();
    view! {
        {created}
        <section class="card">
            <h2>{t(lang, "keys.list")}</h2>
            <p class="muted">{t(lang, "keys.lead")}</p>
            {rows}
        </section>
        <section class="card narrow">
            <h2>{t(lang, "keys.create")}</h2>
            <form method="post" action={action::<ApiKeyCreate>()} class="stack" id="api-key-create">
                {csrf_field(viewer)}
                <label for="key-name">{t(lang, "keys.name_hint")}</label>
                <input type="text" id="key-name" name="name" required maxlength="32" autocapitalize="none"/>
                <label>{t(lang, "keys.scopes")}</label>
                <div>{scopes}</div>
                <label for="key-rate">{t(lang, "keys.rate")}</label>
                <input type="number" id="key-rate" name="rate" min="1" max="100000" value="50"/>
                <label for="key-numbers">{t(lang, "keys.service_numbers_hint")}</label>
                <input type="text" id="key-numbers" name="service_numbers" maxlength="400"/>
                <label for="key-networks">{t(lang, "keys.networks_hint")}</label>
                <input type="text" id="key-networks" name="networks" maxlength="400"/>
                <button type="submit" class="primary">{t(lang, "keys.create_submit")}</button>
            </form>
        </section>
    }
}

fn key_row(viewer: &Viewer, key: &ApiKeyRow) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let listed = |values: &[String]| {
        if values.is_empty() {
            t(lang, "keys.any").to_owned()
        } else {
            values.join(", ")
        }
    };
    let state = match key.revoked_at {
        Some(at) => view! {
            <span class="off">{format!("{} {}", t(lang, "keys.revoked"), format_time(at))}</span>
        }
        .into_any(),
        None => view! {
            <span>{t(lang, "keys.active")}</span>
            <details>
                <summary class="small">{t(lang, "keys.revoke")}</summary>
                <form method="post" action={action::<ApiKeyRevoke>()} class="stack">
                    {csrf_field(viewer)}
                    <input type="hidden" name="name" value=key.name.clone()/>
                    <label class="check"><input type="checkbox" required/>{t(lang, "keys.revoke_confirm")}</label>
                    <button type="submit" class="small danger">{t(lang, "keys.revoke")}</button>
                </form>
            </details>
        }
        .into_any(),
    };
    view! {
        <tr class={if key.revoked_at.is_some() { "off" } else { "" }} data-key=key.name.clone()>
            <td>{key.name.clone()}</td>
            <td><code>{format!("{}…", key.prefix)}</code></td>
            <td>{key.scopes.join(", ")}</td>
            <td>{key.rate_per_second}</td>
            <td>{listed(&key.service_numbers)}</td>
            <td>{listed(&key.allowed_networks)}</td>
            <td>{key.webhook_url.clone().unwrap_or_default()}</td>
            <td>{format_time(key.created_at)}</td>
            <td>{state}</td>
        </tr>
    }
}
