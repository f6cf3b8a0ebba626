//! Plugins: upload a `.wasm` component, see its manifest and the capabilities it asks for,
//! grant datasources and HTTP hosts, enable, disable, roll back; load errors shown plainly.
//! Administrators only.

use leptos::prelude::*;

use crate::app::{action, csrf_field, empty, signed_in_page};
use crate::i18n::t;
use crate::model::plugins::{PluginRow, PluginsPage as Data};
use crate::model::{Page, Viewer, format_time};
use crate::server::plugins::{PluginGrant, PluginRollback, PluginSetEnabled, get_plugins};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("plugins.upload", "上传插件", "Upload a plugin"),
    (
        "plugins.upload_help",
        "选择插件作者提供的 WebAssembly 组件（.wasm）。同名插件会升级，旧版本可回滚。",
        "Choose the WebAssembly component (.wasm) the plugin's author gave you. A plugin of the same name is upgraded; the old version can be rolled back to.",
    ),
    ("plugins.upload_submit", "上传并安装", "Upload and install"),
    ("plugins.installed", "已安装的插件", "Installed plugins"),
    (
        "plugins.none",
        "还没有安装插件。",
        "No plugin is installed.",
    ),
    ("plugins.version", "版本", "Version"),
    ("plugins.commands", "指令", "Commands"),
    (
        "plugins.police_data",
        "公安数据（仅限登记手机，记审计）",
        "police data (registered phones only, audited)",
    ),
    ("plugins.asks", "申请的权限", "Capabilities asked for"),
    ("plugins.datasources", "数据源", "Datasources"),
    ("plugins.http_hosts", "HTTP 主机", "HTTP hosts"),
    ("plugins.capabilities", "宿主能力", "Capabilities"),
    ("plugins.nothing", "无", "none"),
    ("plugins.granted", "已授权", "granted"),
    ("plugins.not_granted", "未授权", "not granted"),
    ("plugins.grant", "授权", "Grant"),
    ("plugins.revoke", "收回", "Revoke"),
    ("plugins.enable", "启用", "Enable"),
    ("plugins.disable", "停用", "Disable"),
    (
        "plugins.rollback",
        "回滚到 {version}",
        "Roll back to {version}",
    ),
    ("plugins.loaded", "运行中", "running"),
    ("plugins.not_loaded", "未加载", "not loaded"),
    ("plugins.load_error", "加载失败", "Load error"),
    ("plugins.bundled", "随平台提供", "bundled"),
    ("plugins.installed_at", "安装时间", "Installed"),
    ("plugins.config", "配置项", "Configuration"),
    (
        "plugins.unregistered_datasource",
        "（该数据源尚未登记：请用 jingxun datasource add 登记）",
        "(this datasource is not registered: register it with jingxun datasource add)",
    ),
];

/// The plugins page.
#[component]
pub fn PluginsPage() -> impl IntoView {
    signed_in_page(
        Page::Plugins,
        |_| get_plugins(),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let list = if data.plugins.is_empty() {
        empty(lang, "plugins.none").into_any()
    } else {
        data.plugins
            .iter()
            .map(|p| plugin_card(viewer, &data, p))
            .collect_view()
            .into_any()
    };
    view! {
        <section class="card narrow">
            <h2>{t(lang, "plugins.upload")}</h2>
            <form method="post" action="/ui/upload/plugin" enctype="multipart/form-data" class="stack" id="plugin-upload">
                {csrf_field(viewer)}
                <p class="muted small">{t(lang, "plugins.upload_help")}</p>
                <input type="file" name="component" id="plugin-file" accept=".wasm,application/wasm" required/>
                <button type="submit" class="primary" id="plugin-upload-submit">{t(lang, "plugins.upload_submit")}</button>
            </form>
        </section>
        <h2>{t(lang, "plugins.installed")}</h2>
        <div id="plugins">{list}</div>
    }
}

fn plugin_card(viewer: &Viewer, data: &Data, p: &PluginRow) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let (next, label) = if p.enabled {
        ("0", "plugins.disable")
    } else {
        ("1", "plugins.enable")
    };
    let state = if !p.enabled {
        "off"
    } else if p.loaded {
        "on"
    } else {
        "down"
    };
    let state_text = if p.loaded {
        "plugins.loaded"
    } else {
        "plugins.not_loaded"
    };
    let commands = p
        .commands
        .iter()
        .map(|c| {
            view! {
                <li><code>{c.syntax.clone()}</code> " " {c.help.clone()}
                    {c.police_data.then(|| view! { " " <span class="badge">{t(lang, "plugins.police_data")}</span> })}
                </li>
            }
        })
        .collect_view();
    let grants = grant_rows(viewer, data, p);
    let config = (!p.config.is_empty()).then(|| {
        view! {
            <h3>{t(lang, "plugins.config")}</h3>
            <ul>{p.config.iter().map(|(k, meaning, value)| view! {
                <li><code>{k.clone()}</code> " " {meaning.clone()} " = " <code>{value.clone().unwrap_or_default()}</code></li>
            }).collect_view()}</ul>
        }
    });
    view! {
        <section class="card" data-plugin=p.name.clone()>
            <h2>{p.name.clone()} " " <span class="muted small">{t(lang, "plugins.version")} " " {p.version.clone()}</span> " "
                <span class=format!("badge {state}")>{if p.enabled { t(lang, state_text) } else { t(lang, "state.off") }}</span>
                {p.bundled.then(|| view! { " " <span class="badge">{t(lang, "plugins.bundled")}</span> })}
            </h2>
            <p>{p.description.clone()}</p>
            {p.load_error.clone().map(|e| view! { <p class="notice error" role="alert"><b>{t(lang, "plugins.load_error")}</b> ": " {e}</p> })}
            <h3>{t(lang, "plugins.commands")}</h3>
            <ul>{commands}</ul>
            <h3>{t(lang, "plugins.asks")}</h3>
            {grants}
            {config}
            <p class="muted small">{t(lang, "plugins.installed_at")} " " {format_time(p.installed_at)} " · sha256 " <code>{p.sha256.get(..16).unwrap_or_default().to_owned()}</code></p>
            <div class="actions">
                <form method="post" action={action::<PluginSetEnabled>()} class="inline">
                    {csrf_field(viewer)}
                    <input type="hidden" name="name" value=p.name.clone()/>
                    <input type="hidden" name="enabled" value=next/>
                    <button type="submit" class="small">{t(lang, label)}</button>
                </form>
                {p.previous_version.clone().map(|v| view! {
                    <form method="post" action={action::<PluginRollback>()} class="inline">
                        {csrf_field(viewer)}
                        <input type="hidden" name="name" value=p.name.clone()/>
                        <button type="submit" class="small">{t(lang, "plugins.rollback").replace("{version}", &v)}</button>
                    </form>
                })}
            </div>
        </section>
    }
}

/// What the plugin asks for, each with its grant state and the button that changes it.
fn grant_rows(viewer: &Viewer, data: &Data, p: &PluginRow) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let rows: Vec<(&'static str, &'static str, &String, bool)> = p
        .asks_datasources
        .iter()
        .map(|d| {
            (
                "datasource",
                "plugins.datasources",
                d,
                p.granted_datasources.contains(d),
            )
        })
        .chain(p.asks_http_hosts.iter().map(|h| {
            (
                "http-host",
                "plugins.http_hosts",
                h,
                p.granted_http_hosts.contains(h),
            )
        }))
        .chain(p.asks_capabilities.iter().map(|c| {
            (
                "capability",
                "plugins.capabilities",
                c,
                p.granted_capabilities.contains(c),
            )
        }))
        .collect();
    if rows.is_empty() {
        return view! { <p class="muted">{t(lang, "plugins.nothing")}</p> }.into_any();
    }
    let rows = rows
        .into_iter()
        .map(|(kind, label, target, granted)| {
            let missing = kind == "datasource" && !data.datasources.contains(target);
            view! {
                <tr data-grant=format!("{kind}:{target}")>
                    <td>{t(lang, label)}</td>
                    <td><code>{target.clone()}</code>{missing.then(|| view! { " " <span class="muted small">{t(lang, "plugins.unregistered_datasource")}</span> })}</td>
                    <td><span class={if granted { "badge on" } else { "badge off" }}>{t(lang, if granted { "plugins.granted" } else { "plugins.not_granted" })}</span></td>
                    <td>
                        <form method="post" action={action::<PluginGrant>()} class="inline">
                            {csrf_field(viewer)}
                            <input type="hidden" name="name" value=p.name.clone()/>
                            <input type="hidden" name="kind" value=kind/>
                            <input type="hidden" name="target" value=target.clone()/>
                            <input type="hidden" name="granted" value=if granted { "0" } else { "1" }/>
                            <button type="submit" class="small">{t(lang, if granted { "plugins.revoke" } else { "plugins.grant" })}</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! { <table><tbody>{rows}</tbody></table> }.into_any()
}
