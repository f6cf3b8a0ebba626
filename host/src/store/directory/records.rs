//! What the directory stores and how its changes fail: the records of users, roles and phones
//! the store reads ([`PhoneIdentity`] for the router, the listings), who a grant goes to
//! ([`GrantTarget`]) and [`DirectoryError`], which the store answers for the conflicts it finds
//! (a user or phone that exists, one that does not) and the directory for the input it checks.
//! The rules live in [`crate::directory`], which re-exports these.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::phone::{PhoneError, PhoneNumber};
use crate::store::StoreError;

/// Who a business is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum GrantTarget {
    /// One user, by login.
    User(String),
    /// Every member of a role, by name.
    Role(String),
}

impl fmt::Display for GrantTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantTarget::User(login) => write!(f, "user `{login}`"),
            GrantTarget::Role(role) => write!(f, "role `{role}`"),
        }
    }
}

/// Everything the router needs to know about the sender of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneIdentity {
    /// The registered number, canonical.
    #[serde(serialize_with = "serialize_phone")]
    pub phone: PhoneNumber,
    /// Whether the registration is active (a disabled phone gets nothing).
    pub phone_active: bool,
    /// Whose phone it is, as registered.
    pub owner_name: String,
    /// The user the phone belongs to, if it is bound to one.
    pub user: Option<UserIdentity>,
}

/// A user as the router sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserIdentity {
    pub login: String,
    pub name: String,
    pub active: bool,
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Every business the user may use: own grants and those of the roles, upper case.
    pub businesses: BTreeSet<String>,
}

fn serialize_phone<S: serde::Serializer>(phone: &PhoneNumber, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(phone.as_str())
}

/// A registered phone, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneRecord {
    /// Canonical number.
    pub number: String,
    pub owner_name: String,
    /// Login of the user it belongs to.
    pub user: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// When it was last disabled; `None` while active.
    pub disabled_at: Option<i64>,
}

/// A user, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub login: String,
    pub name: String,
    pub active: bool,
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Businesses granted to the user directly.
    pub grants: BTreeSet<String>,
    /// Every business the user may use (own grants and the roles'), upper case.
    pub businesses: BTreeSet<String>,
    /// Registered phones bound to the user.
    pub phones: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A role, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRecord {
    pub name: String,
    pub description: String,
    /// Seeded by the schema.
    pub builtin: bool,
    /// Businesses granted to the role.
    pub businesses: BTreeSet<String>,
    /// Logins of its members.
    pub members: Vec<String>,
}

/// What went wrong in the directory. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A typed number is not a phone number.
    #[error(
        "`{input}` is not a phone number: {reason}; give a number like 13800000001 or \
         +8613800000001"
    )]
    InvalidPhone { input: String, reason: PhoneError },
    /// A login or role name is malformed.
    #[error(
        "invalid {what} `{value}`: use 1 to 64 letters, digits, '.', '_', '-' or '@', starting \
         with a letter or digit"
    )]
    InvalidName { what: &'static str, value: String },
    /// A person's name is empty, too long or holds control characters.
    #[error("invalid {what}: {reason}")]
    InvalidText { what: &'static str, reason: String },
    /// A business keyword is malformed.
    #[error("invalid business `{0}`: use 1 to 16 letters or digits, like CP")]
    InvalidKeyword(String),
    /// The actor is missing.
    #[error("the actor (who makes the change) is empty; pass a login or `cli:<user>`")]
    MissingActor,
    /// No such user.
    #[error("no user `{0}`: create it with `jingxun user add --login {0} --name NAME --role ROLE`")]
    UnknownUser(String),
    /// No such role.
    #[error("no role `{role}`; the roles are: {known}")]
    UnknownRole { role: String, known: String },
    /// No such registered phone.
    #[error(
        "no registered phone {0}: see the registry with `jingxun phone list`, or register it \
         with `jingxun phone add --number {0} --name NAME`"
    )]
    UnknownPhone(String),
    /// The login is taken.
    #[error("user `{0}` already exists: see it with `jingxun user list`")]
    UserExists(String),
    /// The phone is registered already.
    #[error(
        "phone {number} is already registered (owner: {owner}); change it with `jingxun phone \
         enable/disable`, or remove it first with `jingxun phone remove --number {number}`"
    )]
    PhoneExists { number: String, owner: String },
    /// A revoke of something that was not granted to that target.
    #[error("{target} has no grant of `{keyword}` of its own{}", via_roles_hint(.target, .via_roles))]
    NotGranted {
        target: GrantTarget,
        keyword: String,
        /// Roles of the user that hold the business (the user still has it through them).
        via_roles: Vec<String>,
    },
    /// The role name is taken.
    #[error("role `{0}` already exists: see it with `jingxun role list`")]
    RoleExists(String),
    /// A built-in role cannot be removed.
    #[error(
        "role `{0}` is built in and cannot be removed; take its businesses away with `jingxun \
         user revoke --role {0} --business KEYWORD` instead"
    )]
    BuiltinRole(String),
    /// A role taken away from a user who does not have it.
    #[error("user `{login}` is not in role `{role}`: see `jingxun user list`")]
    NotInRole { login: String, role: String },
    /// The help text cannot be used.
    #[error("invalid help text: {0}")]
    InvalidHelpText(String),
    /// The audit row could not be written (the store's error says why), so the change was not
    /// made.
    #[error("the change was not made because its audit row could not be written: {0}")]
    Audit(StoreError),
    /// The database failed; the change was not made.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn via_roles_hint(target: &GrantTarget, roles: &[String]) -> String {
    match target {
        GrantTarget::User(login) if !roles.is_empty() => format!(
            "; the user has it through role(s) {}: revoke it from the role, or take the role \
             away with `jingxun user role --login {login} --remove {}`",
            roles.join(", "),
            roles[0]
        ),
        _ => "; nothing to revoke (see `jingxun user list` and `jingxun user roles`)".to_owned(),
    }
}

impl From<sqlx::Error> for DirectoryError {
    fn from(e: sqlx::Error) -> Self {
        DirectoryError::Store(StoreError::Database(e))
    }
}
