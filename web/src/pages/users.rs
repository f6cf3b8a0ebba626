//! Users (R2): create, disable and enable, reset the web password, roles and the businesses
//! granted to each user. Administrators only.

use leptos::prelude::*;

use crate::app::{action, csrf_field, empty, signed_in_page};
use crate::i18n::{Lang, t};
use crate::model::users::{RoleRow, UserRow, UsersPage as Data};
use crate::model::{Page, Viewer};
use crate::server::users::{
    RoleCreate, RoleRemove, RoleSetGrants, UserCreate, UserResetPassword, UserSetAccess,
    UserSetActive, UserTotpReset, get_users,
};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("users.list", "全部用户", "All users"),
    ("users.none", "还没有用户。", "No users yet."),
    ("users.login", "用户名", "Login"),
    ("users.name", "姓名", "Name"),
    ("users.roles", "角色", "Roles"),
    ("users.businesses", "可用业务", "Businesses"),
    (
        "users.own_grants",
        "单独授予的业务",
        "Businesses granted to the user",
    ),
    ("users.phones", "登记手机", "Phones"),
    ("users.web", "网页登录", "Web sign-in"),
    ("users.web_yes", "可登录", "yes"),
    ("users.web_no", "未设密码", "no password"),
    ("users.totp_on", "两步验证", "two-step"),
    ("users.totp_reset", "重置两步验证", "Reset two-step sign-in"),
    (
        "users.totp_reset_confirm",
        "确认重置（用户的登录全部失效，下次登录重新设置）",
        "Confirm (the user's sessions end; they set it up again at the next sign-in)",
    ),
    (
        "done.totp_reset",
        "两步验证已重置。",
        "Two-step sign-in was reset.",
    ),
    ("users.state", "状态", "State"),
    ("users.active", "启用", "active"),
    ("users.inactive", "已停用", "disabled"),
    ("users.create", "新建用户", "New user"),
    (
        "users.password_optional",
        "网页登录密码（可不填：只用短信查询的民警不需要）",
        "Web password (optional: officers who only text commands need none)",
    ),
    ("users.create_submit", "创建用户", "Create user"),
    ("users.disable", "停用", "Disable"),
    ("users.enable", "启用", "Enable"),
    ("users.access", "角色与业务", "Roles and businesses"),
    (
        "users.access_submit",
        "保存角色与业务",
        "Save roles and businesses",
    ),
    ("users.reset", "重设网页密码", "Reset web password"),
    (
        "users.your_password",
        "您自己的密码（确认身份）",
        "Your own password (to confirm it is you)",
    ),
    ("users.new_password", "新密码", "New password"),
    ("users.reset_submit", "重设密码", "Reset password"),
    ("users.manage", "管理", "Manage"),
    ("roles.list", "角色", "Roles"),
    (
        "roles.lead",
        "内置角色决定能打开哪些页面；自建角色把一组用户归在一起，授予的业务所有成员都可使用。",
        "Built-in roles decide which pages a user may open; roles of your own group users, and every member may use the businesses granted to the role.",
    ),
    ("roles.name", "角色名", "Role"),
    ("roles.description", "说明", "Description"),
    ("roles.members", "成员", "Members"),
    ("roles.builtin", "内置", "built in"),
    ("roles.create", "新建角色", "New role"),
    ("roles.create_submit", "创建角色", "Create role"),
    ("roles.grants", "角色的业务", "The role's businesses"),
    (
        "roles.grants_submit",
        "保存角色的业务",
        "Save the role's businesses",
    ),
    ("roles.remove", "删除角色", "Remove role"),
    ("role.admin", "管理员", "administrator"),
    ("role.operator", "操作员（可群发）", "operator (may send)"),
    ("role.registrar", "手机登记员", "phone registrar"),
    (
        "role.auditor",
        "审计员（只读审计日志）",
        "auditor (reads the audit log)",
    ),
    ("role.officer", "民警（短信查询）", "officer (SMS queries)"),
];

/// The users page.
#[component]
pub fn UsersPage() -> impl IntoView {
    signed_in_page(
        Page::Users,
        |_| get_users(),
        |viewer, data| body(viewer, data).into_any(),
    )
}

fn role_name(lang: Lang, role: &str) -> String {
    match t(lang, &format!("role.{role}")) {
        "?" => role.to_owned(),
        known => known.to_owned(),
    }
}

fn body(viewer: &Viewer, data: Data) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let rows = if data.users.is_empty() {
        empty(lang, "users.none").into_any()
    } else {
        let rows = data
            .users
            .iter()
            .map(|u| user_row(viewer, &data, u))
            .collect_view();
        view! {
            <div class="scroll"><table id="users">
                <thead><tr>
                    <th>{t(lang, "users.login")}</th><th>{t(lang, "users.name")}</th><th>{t(lang, "users.roles")}</th>
                    <th>{t(lang, "users.businesses")}</th><th>{t(lang, "users.phones")}</th><th>{t(lang, "users.web")}</th>
                    <th>{t(lang, "users.state")}</th><th>{t(lang, "users.manage")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        }
        .into_any()
    };
    let role_boxes = data
        .roles
        .iter()
        .map(|r| {
            view! {
                <label class="check"><input type="checkbox" name="roles[]" value=r.name.clone()/>{role_name(lang, &r.name)}</label>
            }
        })
        .collect_view();
    let role_rows = data
        .roles
        .iter()
        .map(|r| role_row(viewer, &data, r))
        .collect_view();
    view! {
        <section class="card">
            <h2>{t(lang, "users.list")}</h2>
            {rows}
        </section>
        <section class="card" id="roles">
            <h2>{t(lang, "roles.list")}</h2>
            <p class="muted small">{t(lang, "roles.lead")}</p>
            <div class="scroll"><table id="role-table">
                <thead><tr>
                    <th>{t(lang, "roles.name")}</th><th>{t(lang, "roles.description")}</th>
                    <th>{t(lang, "users.businesses")}</th><th>{t(lang, "roles.members")}</th>
                    <th>{t(lang, "users.manage")}</th>
                </tr></thead>
                <tbody>{role_rows}</tbody>
            </table></div>
            <form method="post" action={action::<RoleCreate>()} class="row" id="role-create">
                {csrf_field(viewer)}
                <label>{t(lang, "roles.name")}
                    <input type="text" id="role-name" name="name" required maxlength="64" autocapitalize="none"/>
                </label>
                <label>{t(lang, "roles.description")}
                    <input type="text" id="role-description" name="description" maxlength="100"/>
                </label>
                <button type="submit" class="primary" id="role-create-submit">{t(lang, "roles.create_submit")}</button>
            </form>
        </section>
        <section class="card narrow">
            <h2>{t(lang, "users.create")}</h2>
            <form method="post" action={action::<UserCreate>()} class="stack" id="user-create">
                {csrf_field(viewer)}
                <label for="new-login">{t(lang, "users.login")}</label>
                <input type="text" id="new-login" name="login" required maxlength="64" autocapitalize="none"/>
                <label for="new-name">{t(lang, "users.name")}</label>
                <input type="text" id="new-name" name="name" required maxlength="64"/>
                <label>{t(lang, "users.roles")}</label>
                <div>{role_boxes}</div>
                <label for="new-password">{t(lang, "users.password_optional")}</label>
                <input type="password" id="new-password" name="password" autocomplete="new-password" maxlength="128"/>
                <button type="submit" class="primary">{t(lang, "users.create_submit")}</button>
            </form>
        </section>
    }
}

fn user_row(viewer: &Viewer, data: &Data, u: &UserRow) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let roles = u
        .roles
        .iter()
        .map(|r| role_name(lang, r))
        .collect::<Vec<_>>()
        .join("、");
    let class = if u.active { "" } else { "off" };
    let role_boxes = data
        .roles
        .iter()
        .map(|r| {
            let checked = u.roles.contains(&r.name);
            view! { <label class="check"><input type="checkbox" name="roles[]" value=r.name.clone() checked=checked/>{role_name(lang, &r.name)}</label> }
        })
        .collect_view();
    let business_boxes = data
        .businesses
        .iter()
        .map(|b| {
            let checked = u.grants.contains(b);
            view! { <label class="check"><input type="checkbox" name="businesses[]" value=b.clone() checked=checked/><code>{b.clone()}</code></label> }
        })
        .collect_view();
    let totp_reset = u.totp.then(|| {
        view! {
            <details>
                <summary class="small">{t(lang, "users.totp_reset")}</summary>
                <form method="post" action={action::<UserTotpReset>()} class="stack totp-reset">
                    {csrf_field(viewer)}
                    <input type="hidden" name="login" value=u.login.clone()/>
                    <label class="check"><input type="checkbox" required/>{t(lang, "users.totp_reset_confirm")}</label>
                    <button type="submit" class="small danger">{t(lang, "users.totp_reset")}</button>
                </form>
            </details>
        }
    });
    let (next, label) = if u.active {
        ("0", "users.disable")
    } else {
        ("1", "users.enable")
    };
    view! {
        <tr class=class data-login=u.login.clone()>
            <td>{u.login.clone()}</td>
            <td>{u.name.clone()}</td>
            <td>{roles}</td>
            <td>{u.businesses.join(" ")}</td>
            <td>{u.phones.join(", ")}</td>
            <td>
                {if u.web_account { t(lang, "users.web_yes") } else { t(lang, "users.web_no") }}
                {u.totp.then(|| view! { " " <span class="badge on" data-totp="on">{t(lang, "users.totp_on")}</span> })}
            </td>
            <td>{if u.active { t(lang, "users.active") } else { t(lang, "users.inactive") }}</td>
            <td>
                <div class="actions">
                    <form method="post" action={action::<UserSetActive>()} class="inline">
                        {csrf_field(viewer)}
                        <input type="hidden" name="login" value=u.login.clone()/>
                        <input type="hidden" name="active" value=next/>
                        <button type="submit" class="small">{t(lang, label)}</button>
                    </form>
                </div>
                <details>
                    <summary class="small">{t(lang, "users.access")}</summary>
                    <form method="post" action={action::<UserSetAccess>()} class="stack">
                        {csrf_field(viewer)}
                        <input type="hidden" name="login" value=u.login.clone()/>
                        <label>{t(lang, "users.roles")}</label>
                        <div>{role_boxes}</div>
                        <label>{t(lang, "users.own_grants")}</label>
                        <div>{business_boxes}</div>
                        <button type="submit" class="primary">{t(lang, "users.access_submit")}</button>
                    </form>
                </details>
                <details>
                    <summary class="small">{t(lang, "users.reset")}</summary>
                    <form method="post" action={action::<UserResetPassword>()} class="stack">
                        {csrf_field(viewer)}
                        <input type="hidden" name="login" value=u.login.clone()/>
                        <label>{t(lang, "users.your_password")}</label>
                        <input type="password" name="your_password" autocomplete="current-password" required maxlength="128"/>
                        <label>{t(lang, "users.new_password")}</label>
                        <input type="password" name="new_password" autocomplete="new-password" required minlength="8" maxlength="128"/>
                        <button type="submit" class="primary">{t(lang, "users.reset_submit")}</button>
                    </form>
                </details>
                {totp_reset}
            </td>
        </tr>
    }
}

fn role_row(viewer: &Viewer, data: &Data, r: &RoleRow) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let business_boxes = data
        .businesses
        .iter()
        .map(|b| {
            let checked = r.businesses.contains(b);
            view! { <label class="check"><input type="checkbox" name="businesses[]" value=b.clone() checked=checked/><code>{b.clone()}</code></label> }
        })
        .collect_view();
    let description = if r.builtin {
        format!(
            "{}（{}）",
            role_name(lang, &r.name),
            t(lang, "roles.builtin")
        )
    } else {
        r.description.clone()
    };
    let remove = (!r.builtin).then(|| {
        view! {
            <form method="post" action={action::<RoleRemove>()} class="inline">
                {csrf_field(viewer)}
                <input type="hidden" name="name" value=r.name.clone()/>
                <button type="submit" class="small danger">{t(lang, "roles.remove")}</button>
            </form>
        }
    });
    view! {
        <tr data-role=r.name.clone()>
            <td><code>{r.name.clone()}</code></td>
            <td>{description}</td>
            <td>{r.businesses.join(" ")}</td>
            <td>{r.members.join(", ")}</td>
            <td>
                <div class="actions">{remove}</div>
                <details>
                    <summary class="small">{t(lang, "roles.grants")}</summary>
                    <form method="post" action={action::<RoleSetGrants>()} class="stack">
                        {csrf_field(viewer)}
                        <input type="hidden" name="name" value=r.name.clone()/>
                        <div>{business_boxes}</div>
                        <button type="submit" class="primary">{t(lang, "roles.grants_submit")}</button>
                    </form>
                </details>
            </td>
        </tr>
    }
}
