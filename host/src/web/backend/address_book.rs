//! The address book (R21) through [`crate::address_book::Book`].

use jingxun_web::model::address_book::{AddressBook, Contact, Department, Group};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::{AddressBookBackend, GroupMember};
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, unavailable};
use crate::address_book::{AddressBookError, Book, Member, Snapshot};

/// What the user is told about an address book error.
fn refusal(e: AddressBookError) -> Refusal {
    match e {
        AddressBookError::InvalidName { .. } => Refusal::new(RefusalCode::InvalidName),
        AddressBookError::InvalidPhone { input, .. } => {
            Refusal::with(RefusalCode::InvalidPhone, input)
        }
        AddressBookError::NoNumbers => Refusal::new(RefusalCode::NoNumbers),
        AddressBookError::TooManyNumbers => Refusal::new(RefusalCode::TooManyNumbers),
        AddressBookError::NotFound { .. } => Refusal::new(RefusalCode::NotFound),
        AddressBookError::DepartmentNotEmpty(_) => Refusal::new(RefusalCode::DepartmentNotEmpty),
        AddressBookError::DepartmentCycle => Refusal::new(RefusalCode::DepartmentCycle),
        AddressBookError::DepartmentExists(name) => {
            Refusal::with(RefusalCode::DepartmentExists, name)
        }
        AddressBookError::GroupExists(name) => Refusal::with(RefusalCode::GroupExists, name),
        other => unavailable("changing the address book", &other),
    }
}

/// The page's view of a snapshot.
pub(super) fn view(snapshot: Snapshot) -> AddressBook {
    AddressBook {
        departments: snapshot
            .departments
            .into_iter()
            .map(|d| Department {
                id: d.id,
                parent: d.parent,
                name: d.name,
            })
            .collect(),
        contacts: snapshot
            .contacts
            .into_iter()
            .map(|c| Contact {
                id: c.id,
                name: c.name,
                title: c.title,
                department: c.department,
                numbers: c.numbers,
            })
            .collect(),
        groups: snapshot
            .groups
            .into_iter()
            .map(|g| Group {
                id: g.id,
                name: g.name,
                contacts: g.contacts,
                departments: g.departments,
            })
            .collect(),
    }
}

impl HostBackend {
    pub(super) fn book(&self) -> Book {
        Book::new(
            self.state().store.clone(),
            &self.state().default_country_code,
        )
    }
}

impl AddressBookBackend for HostBackend {
    fn address_book(&self) -> BoxFuture<'_, Outcome<AddressBook>> {
        Box::pin(async move { self.book().snapshot().await.map(view).map_err(refusal) })
    }

    fn department_save<'a>(
        &'a self,
        actor: &'a Actor,
        id: Option<i64>,
        parent: Option<i64>,
        name: String,
    ) -> BoxFuture<'a, Outcome<i64>> {
        Box::pin(async move {
            self.book()
                .save_department(id, parent, &name, &actor.login)
                .await
                .map_err(refusal)
        })
    }

    fn department_delete<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.book()
                .delete_department(id, &actor.login)
                .await
                .map_err(refusal)
        })
    }

    fn contact_save<'a>(
        &'a self,
        actor: &'a Actor,
        id: Option<i64>,
        name: String,
        title: String,
        department: Option<i64>,
        numbers: String,
    ) -> BoxFuture<'a, Outcome<i64>> {
        Box::pin(async move {
            self.book()
                .save_contact(id, &name, &title, department, &numbers, &actor.login)
                .await
                .map_err(refusal)
        })
    }

    fn contact_delete<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.book()
                .delete_contact(id, &actor.login)
                .await
                .map_err(refusal)
        })
    }

    fn group_save<'a>(
        &'a self,
        actor: &'a Actor,
        id: Option<i64>,
        name: String,
    ) -> BoxFuture<'a, Outcome<i64>> {
        Box::pin(async move {
            self.book()
                .save_group(id, &name, &actor.login)
                .await
                .map_err(refusal)
        })
    }

    fn group_delete<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.book()
                .delete_group(id, &actor.login)
                .await
                .map_err(refusal)
        })
    }

    fn group_set_member<'a>(
        &'a self,
        actor: &'a Actor,
        group: i64,
        member: GroupMember,
        present: bool,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let member = match member {
                GroupMember::Contact(c) => Member::Contact(c),
                GroupMember::Department(d) => Member::Department(d),
            };
            self.book()
                .set_group_member(group, member, present, &actor.login)
                .await
                .map_err(refusal)
        })
    }
}
