//! Users (R2): accounts, roles, web passwords and the businesses granted to each user.

use serde::{Deserialize, Serialize};

/// The users page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserRow>,
    pub roles: Vec<RoleRow>,
    /// The business keywords that can be granted (every plugin command), sorted.
    pub businesses: Vec<String>,
}

/// One user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub login: String,
    pub name: String,
    pub active: bool,
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Businesses granted to the user directly.
    pub grants: Vec<String>,
    /// Every business the user may use (own grants and the roles').
    pub businesses: Vec<String>,
    /// Registered phones bound to the user.
    pub phones: Vec<String>,
    /// Whether the user has a web password (may sign in to this admin).
    pub web_account: bool,
    /// Whether the user's second factor (TOTP) is on.
    #[serde(default)]
    pub totp: bool,
}

/// One role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    pub name: String,
    pub description: String,
    pub businesses: Vec<String>,
    /// Seeded by the platform: cannot be removed; the built-in roles decide the pages a user
    /// may open, the administrator's own roles only give businesses.
    pub builtin: bool,
    /// Logins of its members.
    pub members: Vec<String>,
}
