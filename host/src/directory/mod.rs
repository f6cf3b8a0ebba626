//! The directory: users, roles, the businesses (command keywords) granted to them, the registry
//! of officer phones and the administrator's help text (R2, R6, R15, R21).
//!
//! The router asks [`Directory::identify`] before every police command: one call returns the
//! phone's registration, its user, the user's roles and every business the user may use (the
//! union of the user's own grants and those of the user's roles), in two queries.
//! [`PhoneIdentity::may_use`] then decides.
//!
//! Every change made through [`Directory`] writes an audit row (component `directory`) in the
//! same database transaction as the change: if the row cannot be written the change is not made
//! and the call fails. Each changing method therefore takes an `actor`: who asks for the change
//! (a user login, `cli:<os user>`, an API client), recorded in the row. The row's `source` is
//! set once per handle with [`Directory::with_source`] (`cli`, `web`).
//!
//! Events written: `user.add`, `user.enable`, `user.disable`, `role.add`, `role.remove`,
//! `user.role.add`,
//! `user.role.remove`, `user.grant`, `user.revoke`, `role.grant`, `role.revoke`, `phone.add`,
//! `phone.enable`, `phone.disable`, `phone.remove`, `help_text.set`. Grants and role changes
//! that change nothing (already there) succeed and say `"changed": false` in the details.
//!
//! Stored forms: logins and role names in lower case, keywords in upper case, phone numbers
//! in the canonical form of [`PhoneNumber`] (so `13800000001` and `+8613800000001` are one
//! phone). The built-in roles are those of [`BuiltinRole`] (`admin`, `operator`, `registrar`,
//! `auditor` and `officer`); `officer` holds CP, JZ, SFZ and ZT. Administrators add roles of their own (R2: groups of
//! users granted businesses) and remove them; built-in roles cannot be removed. There are no
//! default users.

use serde_json::json;

use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::phone::PhoneNumber;
use crate::store::Store;
pub use crate::store::directory::{
    DirectoryError, GrantTarget, PhoneIdentity, PhoneRecord, RoleRecord, UserIdentity, UserRecord,
};

/// The roles every database starts with (the migrations create them).
pub use jingxun_vocabulary::BuiltinRole;

/// The help text until an administrator sets one.
pub const DEFAULT_HELP_TEXT: &str =
    "警讯短信查询：发送“命令 内容”，如 CP 京A12345。发送 H 查看帮助。";

/// Longest help text accepted, in characters (it is sent by SMS, followed by the commands).
pub const MAX_HELP_TEXT_CHARS: usize = 1000;

/// Longest user or owner name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Component name of the audit rows the directory writes.
const COMPONENT: AuditComponent = AuditComponent::Directory;

// The records are the store's, which reads them; whether a phone may use a business is the
// directory's rule.
impl PhoneIdentity {
    /// Whether this sender may use `keyword` (any case): the phone is registered and active, it
    /// belongs to an active user, and that user holds the business through a role or directly.
    pub fn may_use(&self, keyword: &str) -> bool {
        let keyword = keyword.trim().to_uppercase();
        self.phone_active
            && self
                .user
                .as_ref()
                .is_some_and(|u| u.active && u.businesses.contains(&keyword))
    }
}

/// The directory on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Directory {
    store: Store,
    country_code: String,
    source: Option<String>,
}

impl Directory {
    /// The directory kept in `store`; national numbers are read with `default_country_code`
    /// (digits, e.g. `86`, as in `sms.default_country_code`).
    pub fn new(store: Store, default_country_code: &str) -> Self {
        Directory {
            store,
            country_code: default_country_code.to_owned(),
            source: None,
        }
    }

    /// Sets the `source` of the audit rows this handle writes (`cli`, `web`...).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Reads a typed number into canonical form.
    pub fn parse_phone(&self, input: &str) -> Result<PhoneNumber, DirectoryError> {
        PhoneNumber::parse(input, &self.country_code).map_err(|reason| {
            DirectoryError::InvalidPhone {
                input: input.trim().to_owned(),
                reason,
            }
        })
    }

    /// Who is behind a phone, with everything the router needs, in two queries; `None` when the
    /// phone is not registered.
    pub async fn identify(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<PhoneIdentity>, DirectoryError> {
        self.store.directory_identify(phone).await
    }

    /// A user with roles and every business granted (own and the roles'), by login; `None` when
    /// there is no such user. The web admin asks this to decide what of the officers' queries
    /// a signed-in user may see or type.
    pub async fn user_identity(&self, login: &str) -> Result<Option<UserIdentity>, DirectoryError> {
        self.store
            .directory_user_identity(&login.trim().to_lowercase())
            .await
    }

    /// Creates an active user with the given roles (which must exist).
    pub async fn add_user(
        &self,
        login: &str,
        name: &str,
        roles: &[&str],
        actor: &str,
    ) -> Result<(), DirectoryError> {
        let login = check_login("login", login)?;
        let name = check_text("name", name, MAX_NAME_CHARS)?;
        let mut role_names = roles
            .iter()
            .map(|r| check_login("role", r))
            .collect::<Result<Vec<_>, _>>()?;
        role_names.sort();
        role_names.dedup();
        let entry = self
            .entry(AuditEvent::UserAdd, actor)?
            .with_object(login.clone())
            .with_details(json!({ "name": name, "roles": role_names }));
        self.store
            .directory_add_user(&login, &name, &role_names, entry)
            .await
    }

    /// Enables or disables a user. A disabled user's phones get no data.
    pub async fn set_user_active(
        &self,
        login: &str,
        active: bool,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        let login = check_login("login", login)?;
        let event = if active {
            AuditEvent::UserEnable
        } else {
            AuditEvent::UserDisable
        };
        let entry = self.entry(event, actor)?.with_object(login.clone());
        self.store
            .directory_set_user_active(&login, active, entry)
            .await
    }

    /// Creates a role of the administrator's own (R2): a named group of users to which
    /// businesses are granted; it opens no page of the web admin (those follow the built-in
    /// roles).
    pub async fn add_role(
        &self,
        name: &str,
        description: &str,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        let name = check_login("role", name)?;
        let description = if description.trim().is_empty() {
            String::new()
        } else {
            check_text("description", description, MAX_NAME_CHARS)?
        };
        let entry = self
            .entry(AuditEvent::RoleAdd, actor)?
            .with_object(name.clone())
            .with_details(json!({ "description": description }));
        self.store
            .directory_add_role(&name, &description, entry)
            .await
    }

    /// Removes a role the administrator made: its members lose it and the businesses it gave
    /// them. Built-in roles stay ([`DirectoryError::BuiltinRole`]).
    pub async fn remove_role(&self, name: &str, actor: &str) -> Result<(), DirectoryError> {
        let name = check_login("role", name)?;
        let entry = self
            .entry(AuditEvent::RoleRemove, actor)?
            .with_object(name.clone());
        self.store.directory_remove_role(&name, entry).await
    }

    /// Puts a user in a role (`member` true) or takes the role away.
    pub async fn set_user_role(
        &self,
        login: &str,
        role: &str,
        member: bool,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        let login = check_login("login", login)?;
        let role = check_login("role", role)?;
        let event = if member {
            AuditEvent::UserRoleAdd
        } else {
            AuditEvent::UserRoleRemove
        };
        let entry = self
            .entry(event, actor)?
            .with_object(login.clone())
            .with_details(json!({ "role": role }));
        self.store
            .directory_set_user_role(&login, &role, member, entry)
            .await
    }

    /// Grants a business (command keyword, any case) to a user or a role. Granting what is
    /// already granted succeeds and changes nothing.
    pub async fn grant(
        &self,
        target: GrantTarget,
        keyword: &str,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        self.change_grant(target, keyword, true, actor).await
    }

    /// Takes a business away from a user or a role. Fails with [`DirectoryError::NotGranted`]
    /// when that target holds no such grant of its own (for a user, the error names the roles
    /// that still give it).
    pub async fn revoke(
        &self,
        target: GrantTarget,
        keyword: &str,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        self.change_grant(target, keyword, false, actor).await
    }

    async fn change_grant(
        &self,
        target: GrantTarget,
        keyword: &str,
        granted: bool,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        let keyword = check_keyword(keyword)?;
        let target = match target {
            GrantTarget::User(login) => GrantTarget::User(check_login("login", &login)?),
            GrantTarget::Role(role) => GrantTarget::Role(check_login("role", &role)?),
        };
        let (GrantTarget::User(object) | GrantTarget::Role(object)) = &target;
        let event = match (&target, granted) {
            (GrantTarget::User(_), true) => AuditEvent::UserGrant,
            (GrantTarget::User(_), false) => AuditEvent::UserRevoke,
            (GrantTarget::Role(_), true) => AuditEvent::RoleGrant,
            (GrantTarget::Role(_), false) => AuditEvent::RoleRevoke,
        };
        let entry = self
            .entry(event, actor)?
            .with_object(object.clone())
            .with_details(json!({ "keyword": keyword }));
        self.store
            .directory_set_grant(&target, &keyword, granted, entry)
            .await
    }

    /// Registers a phone (active) for `name`, optionally bound to a user; returns the canonical
    /// number. A number already registered in any form is refused.
    pub async fn add_phone(
        &self,
        number: &str,
        name: &str,
        user: Option<&str>,
        actor: &str,
    ) -> Result<PhoneNumber, DirectoryError> {
        let phone = self.parse_phone(number)?;
        let name = check_text("owner name", name, MAX_NAME_CHARS)?;
        let user = user.map(|u| check_login("login", u)).transpose()?;
        let entry = self
            .entry(AuditEvent::PhoneAdd, actor)?
            .with_phone(phone.as_str())
            .with_object(phone.as_str())
            .with_details(json!({ "owner_name": name, "user": user }));
        self.store
            .directory_add_phone(&phone, &name, user.as_deref(), entry)
            .await?;
        Ok(phone)
    }

    /// Enables or disables a registered phone. A disabled phone gets no data.
    pub async fn set_phone_active(
        &self,
        number: &str,
        active: bool,
        actor: &str,
    ) -> Result<(), DirectoryError> {
        let phone = self.parse_phone(number)?;
        let event = if active {
            AuditEvent::PhoneEnable
        } else {
            AuditEvent::PhoneDisable
        };
        let entry = self
            .entry(event, actor)?
            .with_phone(phone.as_str())
            .with_object(phone.as_str());
        self.store
            .directory_set_phone_active(&phone, active, entry)
            .await
    }

    /// Removes a phone from the registry (its audit rows stay).
    pub async fn remove_phone(&self, number: &str, actor: &str) -> Result<(), DirectoryError> {
        let phone = self.parse_phone(number)?;
        let entry = self
            .entry(AuditEvent::PhoneRemove, actor)?
            .with_phone(phone.as_str())
            .with_object(phone.as_str());
        self.store.directory_remove_phone(&phone, entry).await
    }

    /// Every registered phone, by number.
    pub async fn phones(&self) -> Result<Vec<PhoneRecord>, DirectoryError> {
        self.store.directory_phones().await
    }

    /// Every user, by login, with roles, grants and phones.
    pub async fn users(&self) -> Result<Vec<UserRecord>, DirectoryError> {
        self.store.directory_users().await
    }

    /// Every role, by name, with its businesses and members.
    pub async fn roles(&self) -> Result<Vec<RoleRecord>, DirectoryError> {
        self.store.directory_roles().await
    }

    /// The administrator's help text, or [`DEFAULT_HELP_TEXT`] if none was ever set.
    pub async fn help_text(&self) -> Result<String, DirectoryError> {
        Ok(self
            .store
            .directory_help_text()
            .await?
            .unwrap_or_else(|| DEFAULT_HELP_TEXT.to_owned()))
    }

    /// Replaces the help text; `by` is the actor recorded with it and in the audit row.
    pub async fn set_help_text(&self, text: &str, by: &str) -> Result<(), DirectoryError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DirectoryError::InvalidHelpText(
                "it is empty; give the text officers receive when they send H".into(),
            ));
        }
        let chars = text.chars().count();
        if chars > MAX_HELP_TEXT_CHARS {
            return Err(DirectoryError::InvalidHelpText(format!(
                "it has {chars} characters, more than {MAX_HELP_TEXT_CHARS}; shorten it"
            )));
        }
        let entry = self
            .entry(AuditEvent::HelpTextSet, by)?
            .with_object("help_text")
            .with_details(json!({ "chars": chars }));
        self.store
            .directory_set_help_text(text, by.trim(), entry)
            .await
    }

    fn entry(&self, event: AuditEvent, actor: &str) -> Result<AuditEntry, DirectoryError> {
        let actor = actor.trim();
        if actor.is_empty() {
            return Err(DirectoryError::MissingActor);
        }
        Ok(AuditEntry::new(COMPONENT, event, AuditOutcome::Ok)
            .with_actor(actor)
            .with_source(self.source.as_deref()))
    }
}

/// Logins and role names: lower case ASCII letters, digits, `.`, `_`, `-`, `@`.
fn check_login(what: &'static str, value: &str) -> Result<String, DirectoryError> {
    let v = value.trim().to_ascii_lowercase();
    let ok = (1..=64).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(v)
    } else {
        Err(DirectoryError::InvalidName {
            what,
            value: value.to_owned(),
        })
    }
}

/// Business keywords: letters or digits (full-width letters folded by the router before),
/// stored upper case.
fn check_keyword(value: &str) -> Result<String, DirectoryError> {
    let k = value.trim().to_uppercase();
    if (1..=16).contains(&k.chars().count()) && k.chars().all(char::is_alphanumeric) {
        Ok(k)
    } else {
        Err(DirectoryError::InvalidKeyword(value.to_owned()))
    }
}

fn check_text(what: &'static str, value: &str, max: usize) -> Result<String, DirectoryError> {
    crate::text::checked(value, max, crate::text::Lines::One)
        .map_err(|reason| DirectoryError::InvalidText { what, reason })
}

#[cfg(test)]
mod tests;
