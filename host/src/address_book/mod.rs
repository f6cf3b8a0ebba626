//! The address book (R21): departments nested to any depth, contacts with several numbers,
//! and groups that mix contacts and whole departments; the web admin's send page picks
//! recipients from it ([`Book::recipients`]).
//!
//! Rules: names are 1 to 64 characters without control characters; a contact has 1 to
//! [`MAX_NUMBERS`] numbers, stored canonical (`+8613800000001`), the first being the one
//! messages go to; a department cannot move under itself or one of its sub-departments, and
//! cannot be deleted while it holds people or sub-departments; sibling departments and groups
//! have distinct names. Every change is audited (component `address_book`) in its transaction.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::json;

use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::phone::parse_recipients;
use crate::store::Store;
pub use crate::store::address_book::{
    AddressBookError, ContactRecord, DepartmentRecord, GroupRecord, MAX_NAME_CHARS, MAX_NUMBERS,
    Member, Snapshot,
};

/// Audit component of address book changes.
const COMPONENT: AuditComponent = AuditComponent::AddressBook;

/// A recipient picked from the address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    /// Canonical number (the contact's first).
    pub number: String,
    pub name: String,
}

/// The address book on the store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Book {
    store: Store,
    country_code: String,
}

fn check_name(what: &'static str, name: &str) -> Result<String, AddressBookError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AddressBookError::InvalidName { what });
    }
    Ok(name.to_owned())
}

fn entry(event: AuditEvent, actor: &str) -> AuditEntry {
    AuditEntry::new(COMPONENT, event, AuditOutcome::Ok).with_actor(actor)
}

impl Book {
    /// The address book on `store`; numbers without a country code get `country_code`.
    pub fn new(store: Store, country_code: &str) -> Self {
        Book {
            store,
            country_code: country_code.to_owned(),
        }
    }

    /// Everything, in display order.
    pub async fn snapshot(&self) -> Result<Snapshot, AddressBookError> {
        self.store.address_book().await
    }

    /// Reads typed numbers (commas, spaces, newlines between): canonical, in order, each once.
    pub fn parse_numbers(&self, typed: &str) -> Result<Vec<String>, AddressBookError> {
        let parsed = parse_recipients(typed, &self.country_code);
        if let Some((input, reason)) = parsed.invalid.into_iter().next() {
            return Err(AddressBookError::InvalidPhone { input, reason });
        }
        match parsed.valid.len() {
            0 => Err(AddressBookError::NoNumbers),
            n if n > MAX_NUMBERS => Err(AddressBookError::TooManyNumbers),
            _ => Ok(parsed
                .valid
                .into_iter()
                .map(|p| p.as_str().to_owned())
                .collect()),
        }
    }

    /// Creates a department (`id` None) or renames and moves one; returns its id.
    pub async fn save_department(
        &self,
        id: Option<i64>,
        parent: Option<i64>,
        name: &str,
        actor: &str,
    ) -> Result<i64, AddressBookError> {
        let name = check_name("department name", name)?;
        let book = self.snapshot().await?;
        if let Some(p) = parent
            && !book.departments.iter().any(|d| d.id == p)
        {
            return Err(AddressBookError::NotFound {
                what: "department",
                id: p,
            });
        }
        if let Some(id) = id {
            if !book.departments.iter().any(|d| d.id == id) {
                return Err(AddressBookError::NotFound {
                    what: "department",
                    id,
                });
            }
            // Walking up from the new parent must never meet the department itself.
            let mut up = parent;
            let mut steps = 0;
            while let Some(p) = up {
                if p == id || steps > book.departments.len() {
                    return Err(AddressBookError::DepartmentCycle);
                }
                up = book
                    .departments
                    .iter()
                    .find(|d| d.id == p)
                    .and_then(|d| d.parent);
                steps += 1;
            }
        }
        if book
            .departments
            .iter()
            .any(|d| d.parent == parent && d.name == name && Some(d.id) != id)
        {
            return Err(AddressBookError::DepartmentExists(name));
        }
        let event = if id.is_some() {
            AuditEvent::DepartmentChange
        } else {
            AuditEvent::DepartmentAdd
        };
        let audit = entry(event, actor).with_details(json!({ "name": name, "parent": parent }));
        self.store
            .address_book_save_department(id, parent, &name, audit)
            .await
    }

    /// Deletes an empty department.
    pub async fn delete_department(&self, id: i64, actor: &str) -> Result<(), AddressBookError> {
        let audit = entry(AuditEvent::DepartmentDelete, actor).with_object(id.to_string());
        self.store.address_book_delete_department(id, audit).await
    }

    /// Creates (`id` None) or changes a contact; `numbers` as typed. Returns its id.
    pub async fn save_contact(
        &self,
        id: Option<i64>,
        name: &str,
        title: &str,
        department: Option<i64>,
        numbers: &str,
        actor: &str,
    ) -> Result<i64, AddressBookError> {
        let name = check_name("name", name)?;
        let title = title.trim();
        if title.chars().count() > MAX_NAME_CHARS || title.chars().any(char::is_control) {
            return Err(AddressBookError::InvalidName { what: "title" });
        }
        let numbers = self.parse_numbers(numbers)?;
        let event = if id.is_some() {
            AuditEvent::ContactChange
        } else {
            AuditEvent::ContactAdd
        };
        let audit = entry(event, actor).with_details(json!({
            "name": name,
            "department": department,
            "numbers": numbers.len(),
        }));
        let contact = ContactRecord {
            id: id.unwrap_or(0),
            name,
            title: title.to_owned(),
            department,
            numbers,
        };
        self.store
            .address_book_save_contact(id.is_some(), &contact, audit)
            .await
    }

    /// The department at `path` (names from the top, separated by `/`: `市局/刑侦支队`),
    /// created with any missing department above it; `None` for an empty path. Each creation
    /// is audited as when made by hand.
    pub async fn department_at_path(
        &self,
        path: &str,
        actor: &str,
    ) -> Result<Option<i64>, AddressBookError> {
        let book = self.snapshot().await?;
        let mut parent: Option<i64> = None;
        for name in path.split('/').map(str::trim).filter(|n| !n.is_empty()) {
            let existing = book
                .departments
                .iter()
                .find(|d| d.parent == parent && d.name == name)
                .map(|d| d.id);
            parent = Some(match existing {
                Some(id) => id,
                None => self.save_department(None, parent, name, actor).await?,
            });
        }
        Ok(parent)
    }

    /// Deletes a contact (and its group memberships).
    pub async fn delete_contact(&self, id: i64, actor: &str) -> Result<(), AddressBookError> {
        let audit = entry(AuditEvent::ContactDelete, actor).with_object(id.to_string());
        self.store.address_book_delete_contact(id, audit).await
    }

    /// Creates (`id` None) or renames a group; returns its id.
    pub async fn save_group(
        &self,
        id: Option<i64>,
        name: &str,
        actor: &str,
    ) -> Result<i64, AddressBookError> {
        let name = check_name("group name", name)?;
        let event = if id.is_some() {
            AuditEvent::GroupChange
        } else {
            AuditEvent::GroupAdd
        };
        let audit = entry(event, actor).with_details(json!({ "name": name }));
        self.store.address_book_save_group(id, &name, audit).await
    }

    /// Deletes a group (its members stay in the address book).
    pub async fn delete_group(&self, id: i64, actor: &str) -> Result<(), AddressBookError> {
        let audit = entry(AuditEvent::GroupDelete, actor).with_object(id.to_string());
        self.store.address_book_delete_group(id, audit).await
    }

    /// Adds (`present`) or removes a member of a group.
    pub async fn set_group_member(
        &self,
        group: i64,
        member: Member,
        present: bool,
        actor: &str,
    ) -> Result<(), AddressBookError> {
        let event = if present {
            AuditEvent::GroupMemberAdd
        } else {
            AuditEvent::GroupMemberRemove
        };
        let detail = match member {
            Member::Contact(c) => json!({ "contact": c }),
            Member::Department(d) => json!({ "department": d }),
        };
        let audit = entry(event, actor)
            .with_object(group.to_string())
            .with_details(detail);
        self.store
            .address_book_set_member(group, member, present, audit)
            .await
    }

    /// The people that picking `departments` (with everything below them, in the tree's
    /// order), `groups` and `contacts` gives, in that order, each contact once.
    pub async fn recipients(
        &self,
        departments: &[i64],
        groups: &[i64],
        contacts: &[i64],
    ) -> Result<Vec<Picked>, AddressBookError> {
        Ok(self
            .snapshot()
            .await?
            .resolve(departments, groups, contacts))
    }
}

// The snapshot is the store's, which reads it; who it sends to is the address book's rule.
impl Snapshot {
    /// `id` and every department below it.
    pub fn subtree(&self, id: i64) -> BTreeSet<i64> {
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for d in &self.departments {
            if let Some(p) = d.parent {
                children.entry(p).or_default().push(d.id);
            }
        }
        let mut out = BTreeSet::new();
        let mut todo = vec![id];
        while let Some(next) = todo.pop() {
            if out.insert(next) {
                todo.extend(children.get(&next).into_iter().flatten());
            }
        }
        out
    }

    /// See [`Book::recipients`].
    pub fn resolve(&self, departments: &[i64], groups: &[i64], contacts: &[i64]) -> Vec<Picked> {
        let mut chosen: Vec<i64> = Vec::new();
        let mut seen = HashSet::new();
        // A department's people come in the tree's order: its own, then each sub-department's.
        let mut take_department = |d: i64, chosen: &mut Vec<i64>| {
            let subtree = self.subtree(d);
            for department in self.departments.iter().filter(|x| subtree.contains(&x.id)) {
                for c in &self.contacts {
                    if c.department == Some(department.id) && seen.insert(c.id) {
                        chosen.push(c.id);
                    }
                }
            }
        };
        for d in departments {
            take_department(*d, &mut chosen);
        }
        let mut direct: Vec<i64> = Vec::new();
        for g in groups {
            if let Some(group) = self.groups.iter().find(|x| x.id == *g) {
                for d in &group.departments {
                    take_department(*d, &mut chosen);
                }
                direct.extend(&group.contacts);
            }
        }
        direct.extend(contacts);
        for c in direct {
            if seen.insert(c) {
                chosen.push(c);
            }
        }
        chosen
            .into_iter()
            .filter_map(|id| self.contacts.iter().find(|c| c.id == id))
            .filter_map(|c| {
                c.numbers.first().map(|n| Picked {
                    number: n.clone(),
                    name: c.name.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
