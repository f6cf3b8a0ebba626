//! The registry of officer phones (R6): add, disable and enable, remove, owner user, and a
//! bulk import from CSV with a per-row report of what was refused and why. Administrators and
//! phone registrars.

use jingxun_vocabulary::BuiltinRole;
use leptos::prelude::*;

use crate::app::{action, csrf_field, empty, signed_in_page, state_badge};
use crate::i18n::{Lang, t};
use crate::model::phones::{ImportReport, PhoneRow, PhonesPage as Data};
use crate::model::{Page, Viewer, format_time};
use crate::server::phones::{PhoneAdd, PhoneImport, PhoneRemove, PhoneSetActive, get_phones};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("phones.list", "登记的手机", "Registered phones"),
    (
        "phones.none",
        "还没有登记任何手机。民警的手机登记后才能发送查询指令。",
        "No phone is registered yet. Officers' phones must be registered before they can send police commands.",
    ),
    ("phones.number", "手机号码", "Number"),
    ("phones.owner", "机主姓名", "Owner"),
    ("phones.user", "所属用户", "User"),
    ("phones.no_user", "（不绑定用户）", "(no user)"),
    (
        "phones.bind_admin_only",
        "绑定用户（手机据此使用该用户的业务授权）只能由系统管理员操作。",
        "Only an administrator binds a phone to a user (the phone then uses that user's businesses).",
    ),
    ("phones.state", "状态", "State"),
    ("phones.since", "登记时间", "Registered"),
    ("phones.add", "登记手机", "Register a phone"),
    ("phones.add_submit", "登记", "Register"),
    ("phones.disable", "停用", "Disable"),
    ("phones.enable", "启用", "Enable"),
    ("phones.remove", "删除", "Remove"),
    ("phones.import", "批量导入（CSV）", "Bulk import (CSV)"),
    (
        "phones.import_help",
        "每行一部手机：号码,机主姓名[,用户名]。第一行若是标题（含“号码”或“number”）会被跳过。",
        "One phone per line: number,owner name[,login]. A first line with the column titles (containing number or 号码) is skipped.",
    ),
    ("phones.import_submit", "导入", "Import"),
    ("phones.report", "导入结果", "Import report"),
    ("phones.report_added", "已登记", "Registered"),
    ("phones.report_rejected", "未导入", "Refused"),
    ("phones.line", "行", "Line"),
    ("phones.row", "内容", "Row"),
    ("phones.reason", "原因", "Reason"),
];

/// The phones page.
#[component]
pub fn PhonesPage() -> impl IntoView {
    signed_in_page(
        Page::Phones,
        |q| get_phones(q.get("import")),
        |viewer, (data, report)| body(viewer, data, report).into_any(),
    )
}

fn body(viewer: &Viewer, data: Data, report: Option<ImportReport>) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let list = if data.phones.is_empty() {
        empty(lang, "phones.none").into_any()
    } else {
        let rows = data
            .phones
            .iter()
            .map(|p| phone_row(viewer, p))
            .collect_view();
        view! {
            <div class="scroll"><table id="phones">
                <thead><tr>
                    <th>{t(lang, "phones.number")}</th><th>{t(lang, "phones.owner")}</th><th>{t(lang, "phones.user")}</th>
                    <th>{t(lang, "phones.state")}</th><th>{t(lang, "phones.since")}</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        }
        .into_any()
    };
    let may_bind = viewer
        .user
        .as_ref()
        .is_some_and(|u| u.has_role(BuiltinRole::Admin));
    let users = data
        .users
        .iter()
        .map(|(login, name)| view! { <option value=login.clone()>{format!("{name} ({login})")}</option> })
        .collect_view();
    view! {
        {report.map(|r| report_view(lang, r))}
        <section class="card">
            <h2>{t(lang, "phones.list")}</h2>
            {list}
        </section>
        <div class="grid2">
            <section class="card">
                <h2>{t(lang, "phones.add")}</h2>
                <form method="post" action={action::<PhoneAdd>()} class="stack" id="phone-add">
                    {csrf_field(viewer)}
                    <label for="phone-number">{t(lang, "phones.number")}</label>
                    <input type="text" id="phone-number" name="number" required maxlength="32" inputmode="tel" placeholder="13800000001"/>
                    <label for="phone-owner">{t(lang, "phones.owner")}</label>
                    <input type="text" id="phone-owner" name="owner_name" required maxlength="64"/>
                    {if may_bind {
                        view! {
                            <label for="phone-user">{t(lang, "phones.user")}</label>
                            <select id="phone-user" name="user">
                                <option value="">{t(lang, "phones.no_user")}</option>
                                {users}
                            </select>
                        }.into_any()
                    } else {
                        view! { <p class="muted small" id="phone-bind-note">{t(lang, "phones.bind_admin_only")}</p> }.into_any()
                    }}
                    <button type="submit" class="primary" id="phone-add-submit">{t(lang, "phones.add_submit")}</button>
                </form>
            </section>
            <section class="card">
                <h2>{t(lang, "phones.import")}</h2>
                <form method="post" action={action::<PhoneImport>()} class="stack" id="phone-import">
                    {csrf_field(viewer)}
                    <p class="muted small">{t(lang, "phones.import_help")}</p>
                    <textarea name="csv" id="phone-csv" required placeholder="13800000001,王伟,wang"></textarea>
                    <button type="submit" class="primary">{t(lang, "phones.import_submit")}</button>
                </form>
            </section>
        </div>
    }
}

fn phone_row(viewer: &Viewer, p: &PhoneRow) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let (next, label, state) = if p.active {
        ("0", "phones.disable", "on")
    } else {
        ("1", "phones.enable", "off")
    };
    view! {
        <tr class={if p.active { "" } else { "off" }} data-number=p.number.clone()>
            <td>{p.number.clone()}</td>
            <td>{p.owner_name.clone()}</td>
            <td>{p.user.clone().unwrap_or_default()}</td>
            <td>{state_badge(lang, state)}</td>
            <td class="small">{format_time(p.created_at)}</td>
            <td>
                <div class="actions">
                    <form method="post" action={action::<PhoneSetActive>()} class="inline">
                        {csrf_field(viewer)}
                        <input type="hidden" name="number" value=p.number.clone()/>
                        <input type="hidden" name="active" value=next/>
                        <button type="submit" class="small">{t(lang, label)}</button>
                    </form>
                    <form method="post" action={action::<PhoneRemove>()} class="inline">
                        {csrf_field(viewer)}
                        <input type="hidden" name="number" value=p.number.clone()/>
                        <button type="submit" class="small danger">{t(lang, "phones.remove")}</button>
                    </form>
                </div>
            </td>
        </tr>
    }
}

fn report_view(lang: Lang, report: ImportReport) -> impl IntoView {
    let summary = format!(
        "{}: {} · {}: {}",
        t(lang, "phones.report_added"),
        report.added.len(),
        t(lang, "phones.report_rejected"),
        report.rejected.len()
    );
    let rejected = (!report.rejected.is_empty()).then(|| {
        let rows = report
            .rejected
            .iter()
            .map(|r| {
                let reason = t(lang, r.reason.i18n_key());
                view! {
                    <tr>
                        <td class="num">{r.line}</td>
                        <td><code>{r.text.clone()}</code></td>
                        <td>{reason}{r.detail.clone().map(|d| format!(" ({d})"))}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table id="import-rejected">
                <thead><tr><th class="num">{t(lang, "phones.line")}</th><th>{t(lang, "phones.row")}</th><th>{t(lang, "phones.reason")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    view! {
        <section class="card" id="import-report">
            <h2>{t(lang, "phones.report")}</h2>
            <p class={if report.rejected.is_empty() { "notice ok" } else { "notice info" }}>{summary}</p>
            {rejected}
        </section>
    }
}
