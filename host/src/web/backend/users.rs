//! Users, roles and grants (R2) through the directory; web passwords through the accounts.

use std::collections::BTreeSet;

use jingxun_vocabulary::BuiltinRole;
use jingxun_web::model::users::{RoleRow, UserRow, UsersPage};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::{NewUser, UsersBackend};
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, audit_source, directory_refusal, password_refusal, unavailable};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditLog, AuditOutcome};
use crate::auth::password::check_new_password;
use crate::directory::GrantTarget;

impl HostBackend {
    /// Refuses a change that would lock the actor out of the admin (disabling oneself,
    /// dropping one's own administrator role).
    fn guard_self(actor: &Actor, login: &str) -> Outcome<()> {
        if actor.login.eq_ignore_ascii_case(login.trim()) {
            return Err(Refusal::new(RefusalCode::OwnAccount));
        }
        Ok(())
    }

    async fn user_row(&self, login: &str) -> Outcome<crate::directory::UserRecord> {
        let users = self
            .state()
            .directory
            .users()
            .await
            .map_err(|e| directory_refusal("reading users", e))?;
        let login = login.trim().to_lowercase();
        users
            .into_iter()
            .find(|u| u.login == login)
            .ok_or_else(|| Refusal::with(RefusalCode::UnknownUser, login))
    }
}

impl HostBackend {
    /// Makes `target`'s own grants exactly `businesses`, one audited grant or revoke per
    /// change, from its `current` grants.
    async fn set_grants(
        &self,
        actor: &Actor,
        target: GrantTarget,
        current: &BTreeSet<String>,
        businesses: Vec<String>,
    ) -> Outcome<()> {
        let wanted: BTreeSet<String> = businesses
            .into_iter()
            .map(|b| b.trim().to_uppercase())
            .collect();
        let directory = self.directory(actor);
        for keyword in wanted.difference(current) {
            directory
                .grant(target.clone(), keyword, &actor.login)
                .await
                .map_err(|e| directory_refusal("granting a business", e))?;
        }
        for keyword in current.difference(&wanted) {
            directory
                .revoke(target.clone(), keyword, &actor.login)
                .await
                .map_err(|e| directory_refusal("revoking a business", e))?;
        }
        Ok(())
    }
}

impl UsersBackend for HostBackend {
    fn users(&self) -> BoxFuture<'_, Outcome<UsersPage>> {
        Box::pin(async move {
            let state = self.state();
            let users = state
                .directory
                .users()
                .await
                .map_err(|e| directory_refusal("reading users", e))?;
            let roles = state
                .directory
                .roles()
                .await
                .map_err(|e| directory_refusal("reading roles", e))?;
            let with_password = state
                .accounts
                .logins_with_password()
                .await
                .map_err(|e| unavailable("reading web accounts", &e))?;
            let with_totp = state
                .accounts
                .logins_with_totp()
                .await
                .map_err(|e| unavailable("reading second factors", &e))?;
            let mut businesses: BTreeSet<String> = state
                .plugins
                .commands()
                .into_iter()
                .filter(|c| c.police_data)
                .map(|c| c.keyword)
                .collect();
            businesses.extend(roles.iter().flat_map(|r| r.businesses.iter().cloned()));
            businesses.extend(users.iter().flat_map(|u| u.grants.iter().cloned()));
            Ok(UsersPage {
                users: users
                    .into_iter()
                    .map(|u| UserRow {
                        web_account: with_password.contains(&u.login),
                        totp: with_totp.contains(&u.login),
                        login: u.login,
                        name: u.name,
                        active: u.active,
                        roles: u.roles,
                        grants: u.grants.into_iter().collect(),
                        businesses: u.businesses.into_iter().collect(),
                        phones: u.phones,
                    })
                    .collect(),
                roles: roles
                    .into_iter()
                    .map(|r| RoleRow {
                        name: r.name,
                        description: r.description,
                        businesses: r.businesses.into_iter().collect(),
                        builtin: r.builtin,
                        members: r.members,
                    })
                    .collect(),
                businesses: businesses.into_iter().collect(),
            })
        })
    }

    fn user_create<'a>(&'a self, actor: &'a Actor, user: NewUser) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            if let Some(password) = &user.password {
                check_new_password(password)
                    .map_err(|e| password_refusal(crate::auth::AuthError::Password(e)))?;
            }
            let roles: Vec<&str> = user.roles.iter().map(String::as_str).collect();
            self.directory(actor)
                .add_user(&user.login, &user.name, &roles, &actor.login)
                .await
                .map_err(|e| directory_refusal("creating a user", e))?;
            if let Some(password) = &user.password {
                self.state()
                    .accounts
                    .set_password(&user.login, password, &actor.login, &audit_source(actor))
                    .await
                    .map_err(password_refusal)?;
            }
            Ok(())
        })
    }

    fn user_set_active<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        active: bool,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            if !active {
                Self::guard_self(actor, &login)?;
            }
            self.directory(actor)
                .set_user_active(&login, active, &actor.login)
                .await
                .map_err(|e| directory_refusal("changing a user", e))?;
            if !active && let Err(e) = self.state().accounts.end_sessions(&login).await {
                // The sessions are refused anyway while the user is disabled.
                tracing::warn!(error = %e, %login, "cannot delete a disabled user's sessions");
            }
            Ok(())
        })
    }

    fn user_set_roles<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        roles: Vec<String>,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let user = self.user_row(&login).await?;
            let wanted: BTreeSet<String> = roles.into_iter().collect();
            let current: BTreeSet<String> = user.roles.iter().cloned().collect();
            let admin = BuiltinRole::Admin.as_str();
            if current.contains(admin) && !wanted.contains(admin) {
                Self::guard_self(actor, &login)?;
            }
            let directory = self.directory(actor);
            for role in wanted.difference(&current) {
                directory
                    .set_user_role(&user.login, role, true, &actor.login)
                    .await
                    .map_err(|e| directory_refusal("adding a role", e))?;
            }
            for role in current.difference(&wanted) {
                directory
                    .set_user_role(&user.login, role, false, &actor.login)
                    .await
                    .map_err(|e| directory_refusal("removing a role", e))?;
            }
            Ok(())
        })
    }

    fn user_set_grants<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        businesses: Vec<String>,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let user = self.user_row(&login).await?;
            let target = GrantTarget::User(user.login.clone());
            self.set_grants(actor, target, &user.grants, businesses)
                .await
        })
    }

    fn user_reset_password<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        actor_password: String,
        new_password: String,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let accounts = &self.state().accounts;
            let confirmed = accounts
                .confirm_password(&actor.login, &actor_password)
                .await
                .map_err(|e| unavailable("checking a password", &e))?;
            if !confirmed {
                let entry = AuditEntry::new(
                    AuditComponent::Auth,
                    AuditEvent::PasswordSet,
                    AuditOutcome::Refused,
                )
                .with_actor(&actor.login)
                .with_object(login.trim().to_lowercase())
                .with_source(Some(&audit_source(actor)))
                .with_details(serde_json::json!({ "reason": "wrong_own_password" }));
                AuditLog::new(self.state().store.clone())
                    .append(entry)
                    .await
                    .map_err(|e| unavailable("auditing a refused password reset", &e))?;
                return Err(Refusal::new(RefusalCode::WrongPassword));
            }
            self.user_row(&login).await?;
            accounts
                .set_password(&login, &new_password, &actor.login, &audit_source(actor))
                .await
                .map_err(password_refusal)
        })
    }

    fn user_totp_reset<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move { self.reset_totp(actor, &login).await })
    }

    fn role_create<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        description: String,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.directory(actor)
                .add_role(&name, &description, &actor.login)
                .await
                .map_err(|e| directory_refusal("creating a role", e))
        })
    }

    fn role_remove<'a>(&'a self, actor: &'a Actor, name: String) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            self.directory(actor)
                .remove_role(&name, &actor.login)
                .await
                .map_err(|e| directory_refusal("removing a role", e))
        })
    }

    fn role_set_grants<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        businesses: Vec<String>,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let name = name.trim().to_lowercase();
            let role = self
                .state()
                .directory
                .roles()
                .await
                .map_err(|e| directory_refusal("reading roles", e))?
                .into_iter()
                .find(|r| r.name == name)
                .ok_or_else(|| Refusal::with(RefusalCode::UnknownRole, name.clone()))?;
            let target = GrantTarget::Role(role.name.clone());
            self.set_grants(actor, target, &role.businesses, businesses)
                .await
        })
    }
}
