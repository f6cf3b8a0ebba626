//! What the address book stores and how its changes fail: departments, contacts and groups as
//! the store reads them ([`Snapshot`]), a group's [`Member`], the limits on names and numbers,
//! and [`AddressBookError`], which the store answers for what it finds (a row that is gone, a
//! department that is not empty, a group name taken) and the address book for the input it
//! checks. The rules live in [`crate::address_book`], which re-exports these.

use crate::phone::PhoneError;
use crate::store::StoreError;

/// Numbers one contact may have.
pub const MAX_NUMBERS: usize = 5;
/// Characters of a name at most.
pub const MAX_NAME_CHARS: usize = 64;
/// A department as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRecord {
    pub id: i64,
    pub parent: Option<i64>,
    pub name: String,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub department: Option<i64>,
    /// Canonical, in order.
    pub numbers: Vec<String>,
}

/// The department names from the top down to `department` (empty for none), looking each up
/// with `get`; a cycle or a missing parent ends the path where it breaks.
pub fn department_path<'a>(
    get: impl Fn(i64) -> Option<&'a DepartmentRecord>,
    department: Option<i64>,
) -> Vec<String> {
    let mut path = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = department;
    while let Some(d) = next.filter(|id| seen.insert(*id)).and_then(&get) {
        path.push(d.name.clone());
        next = d.parent;
    }
    path.reverse();
    path
}

impl Snapshot {
    /// The path of names from the top down to `department` (`["市局", "刑侦支队"]`).
    pub fn department_path(&self, department: Option<i64>) -> Vec<String> {
        department_path(
            |id| self.departments.iter().find(|d| d.id == id),
            department,
        )
    }
}

/// A contact found by name, with its department's path from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundContact {
    pub contact: ContactRecord,
    pub department_path: Vec<String>,
}

/// Contacts found by name: some of them, and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundContacts {
    pub people: Vec<FoundContact>,
    pub total: u64,
}

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: i64,
    pub name: String,
    pub contacts: Vec<i64>,
    pub departments: Vec<i64>,
}

/// The whole address book at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Parents before children, siblings by name.
    pub departments: Vec<DepartmentRecord>,
    /// By name.
    pub contacts: Vec<ContactRecord>,
    /// By name.
    pub groups: Vec<GroupRecord>,
}

/// A member of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    Contact(i64),
    Department(i64),
}

/// Why an address book change was refused. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AddressBookError {
    /// A name is empty, too long or holds control characters.
    #[error("invalid {what}: give 1 to {MAX_NAME_CHARS} characters without control characters")]
    InvalidName { what: &'static str },
    /// A number is not a phone number.
    #[error("`{input}` is not a phone number: {reason}")]
    InvalidPhone { input: String, reason: PhoneError },
    /// A contact without numbers.
    #[error("a contact needs at least one number")]
    NoNumbers,
    /// A contact with too many numbers.
    #[error("a contact has at most {MAX_NUMBERS} numbers")]
    TooManyNumbers,
    /// No such department, contact or group.
    #[error("there is no {what} {id}; it may have been deleted")]
    NotFound { what: &'static str, id: i64 },
    /// A department still holds people or sub-departments.
    #[error("department {0} still holds people or sub-departments; move or delete them first")]
    DepartmentNotEmpty(i64),
    /// A move under itself or a descendant.
    #[error("a department cannot move under itself or one of its sub-departments")]
    DepartmentCycle,
    /// A sibling has the name.
    #[error("the parent already has a department named `{0}`")]
    DepartmentExists(String),
    /// Another group has the name.
    #[error("there is a group named `{0}` already")]
    GroupExists(String),
    /// The audit row could not be written (the store's error says why), so nothing changed.
    #[error("nothing was changed because its audit row could not be written: {0}")]
    Audit(StoreError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AddressBookError {
    fn from(e: sqlx::Error) -> Self {
        AddressBookError::Store(StoreError::Database(e))
    }
}
