//! The registry of officer phones (R6): who may send police commands.

use serde::{Deserialize, Serialize};

use super::RefusalCode;

/// The phones page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhonesPage {
    pub phones: Vec<PhoneRow>,
    /// (login, name) of every user, for the owner field.
    pub users: Vec<(String, String)>,
}

/// One registered phone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneRow {
    /// Canonical number.
    pub number: String,
    pub owner_name: String,
    /// Login of the user it belongs to.
    pub user: Option<String>,
    pub active: bool,
    pub created_at: i64,
}

/// What a CSV import did, row by row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Rows registered.
    pub added: Vec<ImportedRow>,
    /// Rows refused, with why.
    pub rejected: Vec<RejectedRow>,
}

/// A row that was registered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRow {
    /// 1-based line of the CSV text.
    pub line: u32,
    pub number: String,
    pub owner_name: String,
}

/// A row that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// 1-based line of the CSV text.
    pub line: u32,
    /// The row as given.
    pub text: String,
    /// Why it was refused.
    pub reason: RefusalCode,
    pub detail: Option<String>,
}
