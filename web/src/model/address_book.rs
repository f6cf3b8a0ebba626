//! The address book (R21): departments nested to any depth, contacts with several numbers,
//! and groups that mix contacts and whole departments.

use serde::{Deserialize, Serialize};

/// The whole address book, as the page and the send page's picker show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressBook {
    /// Every department, parents before children, siblings by name.
    pub departments: Vec<Department>,
    pub contacts: Vec<Contact>,
    pub groups: Vec<Group>,
}

/// A department.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: i64,
    pub parent: Option<i64>,
    pub name: String,
}

/// A contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    /// Post or rank.
    pub title: String,
    pub department: Option<i64>,
    /// Canonical numbers; the first is the one messages go to.
    pub numbers: Vec<String>,
}

/// A group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: i64,
    pub name: String,
    /// Member contacts, by id.
    pub contacts: Vec<i64>,
    /// Member departments (with their sub-departments), by id.
    pub departments: Vec<i64>,
}

impl AddressBook {
    /// The children of `parent` (`None`: the top level), in order.
    pub fn children(&self, parent: Option<i64>) -> impl Iterator<Item = &Department> {
        self.departments.iter().filter(move |d| d.parent == parent)
    }

    /// The contacts directly in `department` (`None`: in none).
    pub fn contacts_in(&self, department: Option<i64>) -> impl Iterator<Item = &Contact> {
        self.contacts
            .iter()
            .filter(move |c| c.department == department)
    }

    /// A department by id.
    pub fn department(&self, id: i64) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }

    /// A contact by id.
    pub fn contact(&self, id: i64) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    /// `上级 / 下级` path of a department.
    pub fn path(&self, id: i64) -> String {
        let mut names = Vec::new();
        let mut next = Some(id);
        while let Some(d) = next.and_then(|i| self.department(i)) {
            names.push(d.name.as_str());
            next = d.parent;
            if names.len() > self.departments.len() {
                break;
            }
        }
        names.reverse();
        names.join(" / ")
    }

    /// Contacts whose name, title or number contains `query` (case-insensitive).
    pub fn search(&self, query: &str) -> Vec<&Contact> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        self.contacts
            .iter()
            .filter(|c| {
                c.name.to_lowercase().contains(&q)
                    || c.title.to_lowercase().contains(&q)
                    || (!digits.is_empty() && c.numbers.iter().any(|n| n.contains(&digits)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> AddressBook {
        AddressBook {
            departments: vec![
                Department {
                    id: 1,
                    parent: None,
                    name: "市局".into(),
                },
                Department {
                    id: 2,
                    parent: Some(1),
                    name: "指挥中心".into(),
                },
                Department {
                    id: 3,
                    parent: Some(2),
                    name: "一组".into(),
                },
            ],
            contacts: vec![Contact {
                id: 7,
                name: "王伟".into(),
                title: "组长".into(),
                department: Some(3),
                numbers: vec!["+8613800000001".into()],
            }],
            groups: vec![],
        }
    }

    #[test]
    fn paths_and_search_follow_the_tree() {
        let b = book();
        assert_eq!(b.path(3), "市局 / 指挥中心 / 一组");
        assert_eq!(b.children(Some(1)).count(), 1);
        assert_eq!(b.search("王").len(), 1);
        assert_eq!(b.search("0000001").len(), 1);
        assert_eq!(b.search("组长").len(), 1);
        assert!(b.search("李").is_empty());
        assert!(b.search(" ").is_empty());
    }
}
