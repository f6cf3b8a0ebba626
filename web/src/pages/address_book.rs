//! The address book (R21): departments nested to any depth, contacts with several numbers,
//! groups that mix contacts and departments, and search. Administrators and operators.

use leptos::prelude::*;

use crate::app::{action, csrf_field, empty, query, signed_in_page};
use crate::i18n::t;
use crate::model::address_book::{AddressBook, Contact};
use crate::model::{Page, Viewer};
use crate::server::address_book::{
    ContactDelete, ContactSave, DepartmentDelete, DepartmentSave, GroupDelete, GroupSave,
    GroupSetMember, get_address_book,
};

/// The page's words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("book.tree", "单位与人员", "Departments and people"),
    (
        "book.empty",
        "通讯录是空的：先建一个单位，再添加人员。",
        "The address book is empty: create a department, then add people.",
    ),
    ("book.no_department", "未分配单位", "No department"),
    ("book.search", "查找", "Search"),
    (
        "book.search_hint",
        "姓名、职务或号码",
        "Name, title or number",
    ),
    ("book.results", "查找结果", "Results"),
    ("book.no_results", "没有找到匹配的人员。", "Nobody matches."),
    ("book.department", "单位", "Department"),
    ("book.parent", "上级单位", "Parent department"),
    ("book.top", "（顶级）", "(top level)"),
    ("book.new_department", "新建单位", "New department"),
    ("book.department_name", "单位名称", "Name"),
    ("book.rename", "改名或移动", "Rename or move"),
    ("book.save", "保存", "Save"),
    ("book.delete", "删除", "Delete"),
    ("book.new_contact", "添加人员", "New person"),
    ("book.name", "姓名", "Name"),
    ("book.title", "职务", "Title"),
    (
        "book.numbers",
        "手机号码（可填多个，用逗号或换行分隔；第一个用于发送）",
        "Numbers (several allowed, separated by commas or new lines; messages go to the first)",
    ),
    ("book.edit", "编辑", "Edit"),
    ("book.groups", "群组", "Groups"),
    (
        "book.no_groups",
        "还没有群组。群组可以包含人员和整个单位。",
        "No groups yet. A group can hold people and whole departments.",
    ),
    ("book.new_group", "新建群组", "New group"),
    ("book.group_name", "群组名称", "Group name"),
    ("book.members", "成员", "Members"),
    ("book.no_members", "没有成员", "no members"),
    ("book.add_member", "添加成员", "Add member"),
    ("book.remove", "移出", "Remove"),
    ("book.people", "人", "people"),
];

/// The address book page.
#[component]
pub fn AddressBookPage() -> impl IntoView {
    signed_in_page(
        Page::AddressBook,
        |_| get_address_book(),
        |viewer, book| body(viewer, book).into_any(),
    )
}

/// `<option>`s of every department, indented by depth, with `selected` chosen.
pub fn department_options(book: &AddressBook, selected: Option<i64>) -> Vec<(i64, String, bool)> {
    fn walk(
        book: &AddressBook,
        parent: Option<i64>,
        depth: usize,
        selected: Option<i64>,
        out: &mut Vec<(i64, String, bool)>,
    ) {
        for d in book.children(parent) {
            if out.iter().any(|(id, _, _)| *id == d.id) {
                continue;
            }
            out.push((
                d.id,
                format!("{}{}", "　".repeat(depth), d.name),
                Some(d.id) == selected,
            ));
            walk(book, Some(d.id), depth + 1, selected, out);
        }
    }
    let mut out = Vec::new();
    walk(book, None, 0, selected, &mut out);
    out
}

fn options(book: &AddressBook, selected: Option<i64>) -> impl IntoView + use<> {
    department_options(book, selected)
        .into_iter()
        .map(
            |(id, label, sel)| view! { <option value=id.to_string() selected=sel>{label}</option> },
        )
        .collect_view()
}

fn body(viewer: &Viewer, book: AddressBook) -> impl IntoView + use<> {
    let lang = viewer.lang;
    let q = query("q");
    let results = q().filter(|s| !s.trim().is_empty()).map(|s| {
        let found = book.search(&s);
        let rows = if found.is_empty() {
            empty(lang, "book.no_results").into_any()
        } else {
            view! {
                <table id="search-results">
                    <tbody>{found.into_iter().map(|c| view! {
                        <tr>
                            <td>{c.name.clone()}</td>
                            <td>{c.title.clone()}</td>
                            <td>{c.department.map(|d| book.path(d)).unwrap_or_default()}</td>
                            <td>{c.numbers.join(", ")}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }
            .into_any()
        };
        view! { <section class="card"><h2>{t(lang, "book.results")} ": " {s.clone()}</h2>{rows}</section> }
    });
    let tree = if book.departments.is_empty() && book.contacts.is_empty() {
        empty(lang, "book.empty").into_any()
    } else {
        let loose: Vec<&Contact> = book.contacts_in(None).collect();
        view! {
            <ul class="tree top" id="tree">
                {department_nodes(viewer, &book, None, 0)}
                {(!loose.is_empty()).then(|| view! {
                    <li><details open><summary>{t(lang, "book.no_department")}</summary>
                        <ul class="tree">{loose.into_iter().map(|c| contact_node(viewer, &book, c)).collect_view()}</ul>
                    </details></li>
                })}
            </ul>
        }
        .into_any()
    };
    view! {
        <form method="get" action="/address-book" class="row card">
            <label>{t(lang, "book.search")}
                <input type="search" name="q" value=q().unwrap_or_default() placeholder=t(lang, "book.search_hint")/>
            </label>
            <button type="submit" class="secondary">{t(lang, "book.search")}</button>
        </form>
        {results}
        <section class="card">
            <h2>{t(lang, "book.tree")}</h2>
            {tree}
        </section>
        <section class="card">
            <h2>{t(lang, "book.groups")}</h2>
            {groups(viewer, &book)}
        </section>
        <div class="grid2">
            <section class="card">
                <h2>{t(lang, "book.new_department")}</h2>
                <form method="post" action={action::<DepartmentSave>()} class="stack" id="department-new">
                    {csrf_field(viewer)}
                    <label>{t(lang, "book.department_name")}</label>
                    <input type="text" name="name" required maxlength="64"/>
                    <label>{t(lang, "book.parent")}</label>
                    <select name="parent"><option value="">{t(lang, "book.top")}</option>{options(&book, None)}</select>
                    <button type="submit" class="primary">{t(lang, "book.save")}</button>
                </form>
            </section>
            <section class="card">
                <h2>{t(lang, "book.new_contact")}</h2>
                <form method="post" action={action::<ContactSave>()} class="stack" id="contact-new">
                    {csrf_field(viewer)}
                    <label>{t(lang, "book.name")}</label>
                    <input type="text" name="name" required maxlength="64"/>
                    <label>{t(lang, "book.title")}</label>
                    <input type="text" name="title" maxlength="64"/>
                    <label>{t(lang, "book.department")}</label>
                    <select name="department"><option value="">{t(lang, "book.no_department")}</option>{options(&book, None)}</select>
                    <label>{t(lang, "book.numbers")}</label>
                    <textarea name="numbers" required rows="2"></textarea>
                    <button type="submit" class="primary">{t(lang, "book.save")}</button>
                </form>
            </section>
            <section class="card">
                <h2>{t(lang, "book.new_group")}</h2>
                <form method="post" action={action::<GroupSave>()} class="stack" id="group-new">
                    {csrf_field(viewer)}
                    <label>{t(lang, "book.group_name")}</label>
                    <input type="text" name="name" required maxlength="64"/>
                    <button type="submit" class="primary">{t(lang, "book.save")}</button>
                </form>
            </section>
        </div>
    }
}

/// The departments under `parent`, each with its contacts and sub-departments.
fn department_nodes(
    viewer: &Viewer,
    book: &AddressBook,
    parent: Option<i64>,
    depth: usize,
) -> AnyView {
    let lang = viewer.lang;
    if depth > book.departments.len() {
        return ().into_any();
    }
    book.children(parent)
        .map(|d| {
            let contacts: Vec<&Contact> = book.contacts_in(Some(d.id)).collect();
            view! {
                <li data-department=d.id.to_string()>
                    <details open>
                        <summary><b>{d.name.clone()}</b> " " <span class="muted small">{contacts.len()} " " {t(lang, "book.people")}</span></summary>
                        <details>
                            <summary class="small muted">{t(lang, "book.rename")}</summary>
                            <form method="post" action={action::<DepartmentSave>()} class="row">
                                {csrf_field(viewer)}
                                <input type="hidden" name="id" value=d.id.to_string()/>
                                <input type="text" name="name" value=d.name.clone() required maxlength="64"/>
                                <select name="parent"><option value="">{t(lang, "book.top")}</option>{options(book, d.parent)}</select>
                                <button type="submit" class="small">{t(lang, "book.save")}</button>
                            </form>
                            <form method="post" action={action::<DepartmentDelete>()} class="inline">
                                {csrf_field(viewer)}
                                <input type="hidden" name="id" value=d.id.to_string()/>
                                <button type="submit" class="small danger">{t(lang, "book.delete")}</button>
                            </form>
                        </details>
                        <ul class="tree">
                            {contacts.into_iter().map(|c| contact_node(viewer, book, c)).collect_view()}
                            {department_nodes(viewer, book, Some(d.id), depth + 1)}
                        </ul>
                    </details>
                </li>
            }
        })
        .collect_view()
        .into_any()
}

fn contact_node(viewer: &Viewer, book: &AddressBook, c: &Contact) -> impl IntoView + use<> {
    let lang = viewer.lang;
    view! {
        <li data-contact=c.id.to_string()>
            <span>{c.name.clone()}</span>
            {(!c.title.is_empty()).then(|| view! { " " <span class="muted">{c.title.clone()}</span> })}
            " " <span class="small">{c.numbers.join(", ")}</span>
            <details>
                <summary class="small muted">{t(lang, "book.edit")}</summary>
                <form method="post" action={action::<ContactSave>()} class="stack">
                    {csrf_field(viewer)}
                    <input type="hidden" name="id" value=c.id.to_string()/>
                    <label>{t(lang, "book.name")}</label>
                    <input type="text" name="name" value=c.name.clone() required maxlength="64"/>
                    <label>{t(lang, "book.title")}</label>
                    <input type="text" name="title" value=c.title.clone() maxlength="64"/>
                    <label>{t(lang, "book.department")}</label>
                    <select name="department"><option value="">{t(lang, "book.no_department")}</option>{options(book, c.department)}</select>
                    <label>{t(lang, "book.numbers")}</label>
                    <textarea name="numbers" required rows="2">{c.numbers.join("\n")}</textarea>
                    <button type="submit" class="primary">{t(lang, "book.save")}</button>
                </form>
                <form method="post" action={action::<ContactDelete>()} class="inline">
                    {csrf_field(viewer)}
                    <input type="hidden" name="id" value=c.id.to_string()/>
                    <button type="submit" class="small danger">{t(lang, "book.delete")}</button>
                </form>
            </details>
        </li>
    }
}

fn groups(viewer: &Viewer, book: &AddressBook) -> impl IntoView + use<> {
    let lang = viewer.lang;
    if book.groups.is_empty() {
        return empty(lang, "book.no_groups").into_any();
    }
    let member_choices = move |book: &AddressBook| {
        let departments = department_options(book, None)
            .into_iter()
            .map(|(id, label, _)| view! { <option value=format!("d{id}")>{format!("🏢 {label}")}</option> })
            .collect_view();
        let contacts = book
            .contacts
            .iter()
            .map(|c| view! { <option value=format!("c{}", c.id)>{format!("👤 {} {}", c.name, c.numbers.first().cloned().unwrap_or_default())}</option> })
            .collect_view();
        view! { {departments}{contacts} }
    };
    book.groups
        .iter()
        .map(|g| {
            let members = g
                .departments
                .iter()
                .map(|d| (format!("d{d}"), format!("🏢 {}", book.path(*d))))
                .chain(g.contacts.iter().filter_map(|c| {
                    book.contact(*c).map(|x| (format!("c{c}"), format!("👤 {}", x.name)))
                }))
                .map(|(key, label)| {
                    view! {
                        <li>{label}
                            <form method="post" action={action::<GroupSetMember>()} class="inline">
                                {csrf_field(viewer)}
                                <input type="hidden" name="group" value=g.id.to_string()/>
                                <input type="hidden" name="member" value=key/>
                                <input type="hidden" name="present" value="0"/>
                                " " <button type="submit" class="small">{t(lang, "book.remove")}</button>
                            </form>
                        </li>
                    }
                })
                .collect_view();
            let none = (g.departments.is_empty() && g.contacts.is_empty())
                .then(|| view! { <li class="muted">{t(lang, "book.no_members")}</li> });
            view! {
                <details class="card" data-group=g.id.to_string()>
                    <summary><b>{g.name.clone()}</b></summary>
                    <h3>{t(lang, "book.members")}</h3>
                    <ul>{members}{none}</ul>
                    <form method="post" action={action::<GroupSetMember>()} class="row">
                        {csrf_field(viewer)}
                        <input type="hidden" name="group" value=g.id.to_string()/>
                        <input type="hidden" name="present" value="1"/>
                        <select name="member">{member_choices(book)}</select>
                        <button type="submit" class="small">{t(lang, "book.add_member")}</button>
                    </form>
                    <div class="actions">
                        <form method="post" action={action::<GroupSave>()} class="row">
                            {csrf_field(viewer)}
                            <input type="hidden" name="id" value=g.id.to_string()/>
                            <input type="text" name="name" value=g.name.clone() required maxlength="64"/>
                            <button type="submit" class="small">{t(lang, "book.save")}</button>
                        </form>
                        <form method="post" action={action::<GroupDelete>()} class="inline">
                            {csrf_field(viewer)}
                            <input type="hidden" name="id" value=g.id.to_string()/>
                            <button type="submit" class="small danger">{t(lang, "book.delete")}</button>
                        </form>
                    </div>
                </details>
            }
        })
        .collect_view()
        .into_any()
}
