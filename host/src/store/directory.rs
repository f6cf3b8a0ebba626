//! Storage of the directory (users, roles, grants, phones, help text; see
//! [`crate::directory`] for the rules). Every change runs in one write transaction that ends by
//! appending its audit row (`store::audit::append_audit`); the transaction commits only if
//! that row was written.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Row, Transaction};

mod records;

use super::Store;
use super::audit::{AuditEntry, commit_audited};
use crate::clock::now_ms;
use crate::phone::PhoneNumber;
pub use records::{
    DirectoryError, GrantTarget, PhoneIdentity, PhoneRecord, RoleRecord, UserIdentity, UserRecord,
};

type Tx = Transaction<'static, sqlx::Any>;

impl Store {
    /// The phone, its user, the user's roles and businesses: two queries.
    pub(crate) async fn directory_identify(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<PhoneIdentity>, DirectoryError> {
        let Some(row) = sqlx::query(
            "SELECT p.owner_name, p.active AS phone_active, u.login, u.name AS user_name, \
                    u.active AS user_active \
             FROM phones p LEFT JOIN users u ON u.login = p.user_login \
             WHERE p.number = $1",
        )
        .bind(phone.as_str())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let login: Option<String> = row.try_get("login")?;
        let user = match login {
            None => None,
            Some(login) => Some(UserIdentity {
                name: row.try_get("user_name")?,
                active: row.try_get::<Option<i64>, _>("user_active")? == Some(1),
                ..self.user_grants(login).await?
            }),
        };
        Ok(Some(PhoneIdentity {
            phone: phone.clone(),
            phone_active: row.try_get::<i64, _>("phone_active")? != 0,
            owner_name: row.try_get("owner_name")?,
            user,
        }))
    }

    /// A user as the router sees one (roles and every business granted, own and the roles'),
    /// by login; `None` when there is no such user.
    pub(crate) async fn directory_user_identity(
        &self,
        login: &str,
    ) -> Result<Option<UserIdentity>, DirectoryError> {
        let Some(row) = sqlx::query("SELECT name, active FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(UserIdentity {
            name: row.try_get("name")?,
            active: row.try_get::<i64, _>("active")? != 0,
            ..self.user_grants(login.to_owned()).await?
        }))
    }

    /// `login`'s roles and businesses (own grants and the roles'), in one query; name and
    /// activity left for the caller to fill.
    async fn user_grants(&self, login: String) -> Result<UserIdentity, DirectoryError> {
        let grants = sqlx::query(
            "SELECT 'role' AS kind, role AS value FROM user_roles WHERE login = $1 \
             UNION ALL \
             SELECT 'business' AS kind, keyword AS value FROM user_businesses \
               WHERE login = $1 \
             UNION ALL \
             SELECT 'business' AS kind, rb.keyword AS value \
               FROM user_roles ur JOIN role_businesses rb ON rb.role = ur.role \
               WHERE ur.login = $1",
        )
        .bind(&login)
        .fetch_all(&self.pool)
        .await?;
        let mut roles = BTreeSet::new();
        let mut businesses = BTreeSet::new();
        for g in &grants {
            let kind: String = g.try_get("kind")?;
            let value: String = g.try_get("value")?;
            if kind == "role" {
                roles.insert(value);
            } else {
                businesses.insert(value);
            }
        }
        Ok(UserIdentity {
            login,
            name: String::new(),
            active: false,
            roles: roles.into_iter().collect(),
            businesses,
        })
    }

    pub(crate) async fn directory_add_user(
        &self,
        login: &str,
        name: &str,
        roles: &[String],
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        if user_exists(&mut tx, login).await? {
            return Err(DirectoryError::UserExists(login.to_owned()));
        }
        for role in roles {
            require_role(&mut tx, role).await?;
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO users (login, name, active, created_at, updated_at) \
             VALUES ($1, $2, 1, $3, $3)",
        )
        .bind(login)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_to(e, || DirectoryError::UserExists(login.to_owned())))?;
        for role in roles {
            sqlx::query("INSERT INTO user_roles (login, role) VALUES ($1, $2)")
                .bind(login)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_add_role(
        &self,
        name: &str,
        description: &str,
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM roles WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            return Err(DirectoryError::RoleExists(name.to_owned()));
        }
        sqlx::query(
            "INSERT INTO roles (name, description, builtin, created_at) VALUES ($1, $2, 0, $3)",
        )
        .bind(name)
        .bind(description)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_to(e, || DirectoryError::RoleExists(name.to_owned())))?;
        self.commit_with_audit(tx, entry).await
    }

    /// Removes a role that is not built in, with its grants and memberships; the audit row
    /// says which members lost it and which businesses it held.
    pub(crate) async fn directory_remove_role(
        &self,
        name: &str,
        mut entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        require_role(&mut tx, name).await?;
        let builtin: i64 = sqlx::query_scalar("SELECT builtin FROM roles WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        if builtin != 0 {
            return Err(DirectoryError::BuiltinRole(name.to_owned()));
        }
        let members: Vec<String> =
            sqlx::query_scalar("SELECT login FROM user_roles WHERE role = $1 ORDER BY login")
                .bind(name)
                .fetch_all(&mut *tx)
                .await?;
        let businesses: Vec<String> = sqlx::query_scalar(
            "SELECT keyword FROM role_businesses WHERE role = $1 ORDER BY keyword",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        // Explicit deletes rather than ON DELETE CASCADE: SQLite enforces foreign keys only
        // when the connection asks for it.
        for table in ["user_roles", "role_businesses"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE role = $1"))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM roles WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        entry.details["members"] = members.into();
        entry.details["businesses"] = businesses.into();
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_set_user_active(
        &self,
        login: &str,
        active: bool,
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE login = $3")
            .bind(i64::from(active))
            .bind(now_ms())
            .bind(login)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(DirectoryError::UnknownUser(login.to_owned()));
        }
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_set_user_role(
        &self,
        login: &str,
        role: &str,
        member: bool,
        mut entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        require_user(&mut tx, login).await?;
        require_role(&mut tx, role).await?;
        let changed = if member {
            let present = sqlx::query("SELECT 1 FROM user_roles WHERE login = $1 AND role = $2")
                .bind(login)
                .bind(role)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !present {
                sqlx::query("INSERT INTO user_roles (login, role) VALUES ($1, $2)")
                    .bind(login)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
            }
            !present
        } else {
            let deleted = sqlx::query("DELETE FROM user_roles WHERE login = $1 AND role = $2")
                .bind(login)
                .bind(role)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(DirectoryError::NotInRole {
                    login: login.to_owned(),
                    role: role.to_owned(),
                });
            }
            true
        };
        entry.details["changed"] = changed.into();
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_set_grant(
        &self,
        target: &GrantTarget,
        keyword: &str,
        granted: bool,
        mut entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        let (table, column, name) = match target {
            GrantTarget::User(login) => {
                require_user(&mut tx, login).await?;
                ("user_businesses", "login", login)
            }
            GrantTarget::Role(role) => {
                require_role(&mut tx, role).await?;
                ("role_businesses", "role", role)
            }
        };
        let present = sqlx::query(&format!(
            "SELECT 1 FROM {table} WHERE {column} = $1 AND keyword = $2"
        ))
        .bind(name)
        .bind(keyword)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        let changed = if granted {
            if !present {
                sqlx::query(&format!(
                    "INSERT INTO {table} ({column}, keyword) VALUES ($1, $2)"
                ))
                .bind(name)
                .bind(keyword)
                .execute(&mut *tx)
                .await?;
            }
            !present
        } else {
            if !present {
                let via_roles = match target {
                    GrantTarget::User(login) => roles_giving(&mut tx, login, keyword).await?,
                    GrantTarget::Role(_) => Vec::new(),
                };
                return Err(DirectoryError::NotGranted {
                    target: target.clone(),
                    keyword: keyword.to_owned(),
                    via_roles,
                });
            }
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE {column} = $1 AND keyword = $2"
            ))
            .bind(name)
            .bind(keyword)
            .execute(&mut *tx)
            .await?;
            true
        };
        entry.details["changed"] = changed.into();
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_add_phone(
        &self,
        phone: &PhoneNumber,
        owner_name: &str,
        user: Option<&str>,
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        if let Some(owner) = phone_owner(&mut tx, phone).await? {
            return Err(DirectoryError::PhoneExists {
                number: phone.to_string(),
                owner,
            });
        }
        if let Some(login) = user {
            require_user(&mut tx, login).await?;
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO phones (number, owner_name, user_login, active, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $4)",
        )
        .bind(phone.as_str())
        .bind(owner_name)
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_to(e, || DirectoryError::PhoneExists {
                number: phone.to_string(),
                owner: owner_name.to_owned(),
            })
        })?;
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_set_phone_active(
        &self,
        phone: &PhoneNumber,
        active: bool,
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        // Disabling records when; enabling clears it. Disabling twice keeps the first time.
        let updated = sqlx::query(
            "UPDATE phones SET active = $1, updated_at = $2, \
               disabled_at = CASE WHEN $1 = 1 THEN NULL ELSE COALESCE(disabled_at, $2) END \
             WHERE number = $3",
        )
        .bind(i64::from(active))
        .bind(now)
        .bind(phone.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(DirectoryError::UnknownPhone(phone.to_string()));
        }
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_remove_phone(
        &self,
        phone: &PhoneNumber,
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM phones WHERE number = $1")
            .bind(phone.as_str())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(DirectoryError::UnknownPhone(phone.to_string()));
        }
        self.commit_with_audit(tx, entry).await
    }

    pub(crate) async fn directory_phones(&self) -> Result<Vec<PhoneRecord>, DirectoryError> {
        let rows = sqlx::query(
            "SELECT number, owner_name, user_login, active, created_at, updated_at, disabled_at \
             FROM phones ORDER BY number",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PhoneRecord {
                    number: r.try_get("number")?,
                    owner_name: r.try_get("owner_name")?,
                    user: r.try_get("user_login")?,
                    active: r.try_get::<i64, _>("active")? != 0,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    disabled_at: r.try_get("disabled_at")?,
                })
            })
            .collect()
    }

    pub(crate) async fn directory_users(&self) -> Result<Vec<UserRecord>, DirectoryError> {
        // One read transaction so that the five reads agree with each other.
        let mut tx = self.pool.begin().await?;
        let users = sqlx::query(
            "SELECT login, name, active, created_at, updated_at FROM users ORDER BY login",
        )
        .fetch_all(&mut *tx)
        .await?;
        let user_roles = pairs(&mut tx, "SELECT login, role FROM user_roles").await?;
        let user_grants = pairs(&mut tx, "SELECT login, keyword FROM user_businesses").await?;
        let role_grants = pairs(&mut tx, "SELECT role, keyword FROM role_businesses").await?;
        let phones = pairs(
            &mut tx,
            "SELECT user_login, number FROM phones WHERE user_login IS NOT NULL",
        )
        .await?;
        tx.commit().await?;
        let by_role = group(role_grants);
        let roles_of = group(user_roles);
        let grants_of = group(user_grants);
        let phones_of = group(phones);
        users
            .iter()
            .map(|r| {
                let login: String = r.try_get("login")?;
                let roles: Vec<String> = roles_of
                    .get(&login)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                let grants = grants_of.get(&login).cloned().unwrap_or_default();
                let mut businesses = grants.clone();
                for role in &roles {
                    businesses.extend(by_role.get(role).into_iter().flatten().cloned());
                }
                Ok(UserRecord {
                    name: r.try_get("name")?,
                    active: r.try_get::<i64, _>("active")? != 0,
                    roles,
                    grants,
                    businesses,
                    phones: phones_of
                        .get(&login)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    login,
                })
            })
            .collect()
    }

    pub(crate) async fn directory_roles(&self) -> Result<Vec<RoleRecord>, DirectoryError> {
        let mut tx = self.pool.begin().await?;
        let roles = sqlx::query("SELECT name, description, builtin FROM roles ORDER BY name")
            .fetch_all(&mut *tx)
            .await?;
        let grants = group(pairs(&mut tx, "SELECT role, keyword FROM role_businesses").await?);
        let members = group(pairs(&mut tx, "SELECT role, login FROM user_roles").await?);
        tx.commit().await?;
        roles
            .iter()
            .map(|r| {
                let name: String = r.try_get("name")?;
                Ok(RoleRecord {
                    description: r.try_get("description")?,
                    builtin: r.try_get::<i64, _>("builtin")? != 0,
                    businesses: grants.get(&name).cloned().unwrap_or_default(),
                    members: members
                        .get(&name)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                    name,
                })
            })
            .collect()
    }

    pub(crate) async fn directory_help_text(&self) -> Result<Option<String>, DirectoryError> {
        Ok(sqlx::query("SELECT text FROM help_text WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("text"))
            .transpose()?)
    }

    pub(crate) async fn directory_set_help_text(
        &self,
        text: &str,
        by: &str,
        entry: AuditEntry,
    ) -> Result<(), DirectoryError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO help_text (id, text, updated_at, updated_by) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET text = excluded.text, \
               updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(text)
        .bind(now_ms())
        .bind(by)
        .execute(&mut *tx)
        .await?;
        self.commit_with_audit(tx, entry).await
    }

    /// Appends the change's audit row and commits; without the row nothing is committed.
    async fn commit_with_audit(&self, tx: Tx, entry: AuditEntry) -> Result<(), DirectoryError> {
        commit_audited(self, tx, entry, DirectoryError::Audit).await
    }
}

async fn user_exists(tx: &mut Tx, login: &str) -> Result<bool, DirectoryError> {
    Ok(sqlx::query("SELECT 1 FROM users WHERE login = $1")
        .bind(login)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

async fn require_user(tx: &mut Tx, login: &str) -> Result<(), DirectoryError> {
    if user_exists(tx, login).await? {
        Ok(())
    } else {
        Err(DirectoryError::UnknownUser(login.to_owned()))
    }
}

async fn require_role(tx: &mut Tx, role: &str) -> Result<(), DirectoryError> {
    let names: Vec<String> = sqlx::query("SELECT name FROM roles ORDER BY name")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?;
    if names.iter().any(|n| n == role) {
        Ok(())
    } else {
        Err(DirectoryError::UnknownRole {
            role: role.to_owned(),
            known: names.join(", "),
        })
    }
}

async fn phone_owner(tx: &mut Tx, phone: &PhoneNumber) -> Result<Option<String>, DirectoryError> {
    Ok(
        sqlx::query("SELECT owner_name FROM phones WHERE number = $1")
            .bind(phone.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("owner_name"))
            .transpose()?,
    )
}

/// Roles of `login` that hold `keyword`.
async fn roles_giving(
    tx: &mut Tx,
    login: &str,
    keyword: &str,
) -> Result<Vec<String>, DirectoryError> {
    sqlx::query(
        "SELECT ur.role FROM user_roles ur JOIN role_businesses rb ON rb.role = ur.role \
         WHERE ur.login = $1 AND rb.keyword = $2 ORDER BY ur.role",
    )
    .bind(login)
    .bind(keyword)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get("role").map_err(DirectoryError::from))
    .collect()
}

/// Runs a two-column text query.
async fn pairs(tx: &mut Tx, sql: &str) -> Result<Vec<(String, String)>, DirectoryError> {
    sqlx::query(sql)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

fn group(pairs: Vec<(String, String)>) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, value) in pairs {
        map.entry(key).or_default().insert(value);
    }
    map
}

/// Maps a unique-constraint violation (a concurrent writer won on PostgreSQL) to `conflict`.
fn unique_to(e: sqlx::Error, conflict: impl FnOnce() -> DirectoryError) -> DirectoryError {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => conflict(),
        _ => e.into(),
    }
}
