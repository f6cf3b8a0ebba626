//! The words the daemon and the web admin share, as types rather than strings: the built-in
//! roles. No I/O and no dependencies but serde, so that the web admin's browser bundle
//! (wasm32) compiles it too.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role every directory starts with and that cannot be removed. Users may also hold roles
/// an administrator added (groups of users granted businesses); those stay plain names, and
/// only these five give rights beyond businesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuiltinRole {
    /// Administers users, roles, grants, plugins and settings: opens every page of the web
    /// admin, the simulated handset included.
    Admin,
    /// Runs the platform (modems, queues, datasources): sends and reads messages and keeps the
    /// address book.
    Operator,
    /// Maintains the registry of officer phones.
    Registrar,
    /// Reads and verifies the audit log, and nothing else.
    Auditor,
    /// Sends police queries by SMS (holds CP, JZ, SFZ and ZT); opens no page of the web admin.
    Officer,
}

impl BuiltinRole {
    /// Every built-in role.
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::Admin,
        BuiltinRole::Operator,
        BuiltinRole::Registrar,
        BuiltinRole::Auditor,
        BuiltinRole::Officer,
    ];

    /// The role's name in the directory (`admin`, `operator`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Operator => "operator",
            BuiltinRole::Registrar => "registrar",
            BuiltinRole::Auditor => "auditor",
            BuiltinRole::Officer => "officer",
        }
    }

    /// Whether the role opens pages of the web admin (all but [`BuiltinRole::Officer`],
    /// whose members only send queries by SMS).
    pub const fn opens_web_admin(self) -> bool {
        !matches!(self, BuiltinRole::Officer)
    }

    /// The roles that open pages of the web admin.
    pub fn web_admin_roles() -> impl Iterator<Item = BuiltinRole> {
        BuiltinRole::ALL.into_iter().filter(|r| r.opens_web_admin())
    }

    /// Whether this role is among `roles` (directory role names, custom roles included).
    pub fn is_among<S: AsRef<str>>(self, roles: &[S]) -> bool {
        roles.iter().any(|r| r.as_ref() == self.as_str())
    }
}

/// A role name that is not one of the built-in roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotBuiltinRole(pub String);

impl fmt::Display for NotBuiltinRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a built-in role", self.0)
    }
}

impl std::error::Error for NotBuiltinRole {}

impl FromStr for BuiltinRole {
    type Err = NotBuiltinRole;

    /// The built-in role named exactly `name` (directory names are lower case).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        BuiltinRole::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| NotBuiltinRole(name.to_owned()))
    }
}

impl fmt::Display for BuiltinRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for BuiltinRole {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_name_and_its_json() {
        for role in BuiltinRole::ALL {
            assert_eq!(role.as_str().parse::<BuiltinRole>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<BuiltinRole>(&json).unwrap(), role);
        }
    }

    #[test]
    fn custom_and_differently_cased_names_are_not_builtin() {
        assert_eq!(
            "traffic".parse::<BuiltinRole>(),
            Err(NotBuiltinRole("traffic".into()))
        );
        assert!("Admin".parse::<BuiltinRole>().is_err());
        assert!(serde_json::from_str::<BuiltinRole>("\"sheriff\"").is_err());
    }

    #[test]
    fn the_web_admin_roles_are_the_four_staff_roles() {
        let web: Vec<&str> = BuiltinRole::web_admin_roles()
            .map(BuiltinRole::as_str)
            .collect();
        assert_eq!(web, ["admin", "operator", "registrar", "auditor"]);
        assert!(!BuiltinRole::Officer.opens_web_admin());
    }

    #[test]
    fn a_role_is_found_among_a_users_roles() {
        let roles = vec!["officer".to_string(), "traffic".to_string()];
        assert!(BuiltinRole::Officer.is_among(&roles));
        assert!(!BuiltinRole::Admin.is_among(&roles));
        assert!(!BuiltinRole::Admin.is_among::<String>(&[]));
    }
}
