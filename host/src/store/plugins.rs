//! Storage of the plugin platform: datasources, installed plugin versions (current and previous,
//! for rollback), grants, configuration values, and the registry's generation counter. Every
//! change bumps `plugin_registry.generation` in the same transaction, so that a running daemon
//! that polls it ([`Store::plugins_generation`]) picks up changes made by another process.
//! The rules (keyword syntax, who may own a keyword) live in [`crate::plugins`]; this file only
//! enforces what must hold inside one transaction (no keyword owned by two enabled plugins).
//! Every change is committed with its audit row (component `plugins`, by the
//! [`ChangeAuthor`] given), so a change is never made unaudited; a call that changes nothing
//! (the same bytes installed again, a grant that exists) writes no row.

use crate::store::audit::{AuditComponent, AuditEvent};
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlx::{Row, Transaction};

use super::audit::{AuditEntry, ChangeAuthor};
use super::{Store, StoreError};

type Tx = Transaction<'static, sqlx::Any>;

/// Why a change of the plugin registry was refused, or failed. The plugin host answers with the
/// same cases ([`crate::plugins::PluginError`] converts from this); reading the registry fails
/// only with a [`StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum PluginStoreError {
    /// Another enabled plugin owns a keyword.
    #[error(
        "keyword {keyword} is already answered by the enabled plugin `{owner}`; disable that plugin first or rename the command"
    )]
    KeywordTaken { keyword: String, owner: String },
    /// No such plugin.
    #[error("no plugin named `{0}` is installed; `jingxun plugin list` shows them")]
    UnknownPlugin(String),
    /// Rollback without a previous version.
    #[error("plugin `{0}` has no previous version to roll back to")]
    NoPreviousVersion(String),
    /// No such datasource.
    #[error(
        "no datasource named `{0}`; add it first with `jingxun datasource add --name {0} --url ...`"
    )]
    UnknownDatasource(String),
    /// A datasource of that name exists.
    #[error("a datasource named `{0}` already exists")]
    DatasourceExists(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registered datasource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasourceRecord {
    /// The name plugins use (`police`).
    pub name: String,
    /// `sqlite://FILE` or `postgres://...`. May hold a password: show it with
    /// [`crate::store::redact_url`].
    pub url: String,
    pub created_at: i64,
}

/// A plugin version to store.
#[derive(Debug, Clone)]
pub struct NewPluginVersion<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// Hex SHA-256 of `component`.
    pub sha256: &'a str,
    pub keywords: &'a [String],
    /// Datasources its manifest asks for.
    pub datasources: &'a [String],
    /// The manifest as JSON.
    pub manifest_json: &'a str,
    pub component: &'a [u8],
    /// Installed from the bundled directory (auto-granted what it asks for).
    pub bundled: bool,
}

/// One stored version of a plugin (without its component bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginVersionRecord {
    pub id: i64,
    pub plugin: String,
    pub version: String,
    pub sha256: String,
    pub keywords: Vec<String>,
    pub datasources: Vec<String>,
    #[serde(skip)]
    pub manifest_json: String,
    pub installed_at: i64,
}

/// An installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginRecord {
    pub name: String,
    pub enabled: bool,
    pub bundled: bool,
    /// The version that runs.
    pub current: PluginVersionRecord,
    /// The version a rollback returns to.
    pub previous: Option<PluginVersionRecord>,
    pub updated_at: i64,
}

jingxun_vocabulary::vocabulary! {
    /// What a grant allows; the text is what `plugin_grants.kind` holds.
    "plugin grant kind" => pub enum GrantKind {
        /// Query the named datasource.
        Datasource = "datasource",
        /// Send HTTP requests to the named host.
        HttpHost = "http-host",
        /// Use the named host capability (contract 1.1: `directory`, `citizen`).
        Capability = "capability",
    }
}

impl GrantKind {
    fn parse(text: &str) -> Result<GrantKind, StoreError> {
        text.parse().map_err(|_| StoreError::Corrupt {
            column: "plugin_grants.kind",
            value: text.into(),
        })
    }
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginGrant {
    pub plugin: String,
    pub kind: GrantKind,
    pub target: String,
    pub granted_at: i64,
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e)
}

const VERSION_COLUMNS: &str =
    "id, plugin, version, sha256, keywords, datasources, manifest, installed_at";

fn version_from_row(row: &sqlx::any::AnyRow) -> Result<PluginVersionRecord, sqlx::Error> {
    Ok(PluginVersionRecord {
        id: row.try_get("id")?,
        plugin: row.try_get("plugin")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        keywords: words(&row.try_get::<String, _>("keywords")?),
        datasources: words(&row.try_get::<String, _>("datasources")?),
        manifest_json: row.try_get("manifest")?,
        installed_at: row.try_get("installed_at")?,
    })
}

impl Store {
    /// Every installed plugin, by name.
    pub async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let rows = sqlx::query(
            "SELECT name, enabled, bundled, current_version, previous_version, updated_at \
             FROM plugins ORDER BY name",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let versions = sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM plugin_versions"))
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
            .iter()
            .map(|r| version_from_row(r).map(|v| (v.id, v)))
            .collect::<Result<BTreeMap<i64, PluginVersionRecord>, _>>()
            .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let current_id: i64 = row.try_get("current_version").map_err(db)?;
            let previous_id: Option<i64> = row.try_get("previous_version").map_err(db)?;
            let current =
                versions
                    .get(&current_id)
                    .cloned()
                    .ok_or_else(|| StoreError::Corrupt {
                        column: "plugins.current_version",
                        value: current_id.to_string(),
                    })?;
            out.push(PluginRecord {
                name: row.try_get("name").map_err(db)?,
                enabled: row.try_get::<i64, _>("enabled").map_err(db)? != 0,
                bundled: row.try_get::<i64, _>("bundled").map_err(db)? != 0,
                current,
                previous: previous_id.and_then(|id| versions.get(&id).cloned()),
                updated_at: row.try_get("updated_at").map_err(db)?,
            });
        }
        Ok(out)
    }

    /// One installed plugin.
    pub async fn plugin(&self, name: &str) -> Result<PluginRecord, PluginStoreError> {
        self.plugins()
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PluginStoreError::UnknownPlugin(name.to_owned()))
    }

    /// The component bytes of a stored version.
    pub async fn plugin_component(&self, version_id: i64) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query("SELECT component FROM plugin_versions WHERE id = $1")
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::Corrupt {
                column: "plugin_versions.id",
                value: version_id.to_string(),
            })?;
        row.try_get("component").map_err(db)
    }

    /// Stores a new plugin, or a new version of an installed one (which becomes current; the
    /// version it replaces becomes the rollback target; older ones are deleted). Installing the
    /// exact bytes that already run changes nothing. Refused with
    /// [`PluginStoreError::KeywordTaken`] when another enabled plugin owns one of its keywords.
    pub async fn plugin_install_version(
        &self,
        new: &NewPluginVersion<'_>,
        now_ms: i64,
        by: &ChangeAuthor,
    ) -> Result<PluginRecord, PluginStoreError> {
        let mut tx = self.begin_write().await?;
        check_keywords_free(&mut tx, new.name, new.keywords).await?;
        let existing = sqlx::query(
            "SELECT p.current_version, v.sha256, v.version FROM plugins p \
             JOIN plugin_versions v ON v.id = p.current_version WHERE p.name = $1",
        )
        .bind(new.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let existing = match existing {
            Some(row) => Some((
                row.try_get::<i64, _>("current_version").map_err(db)?,
                row.try_get::<String, _>("sha256").map_err(db)?,
                row.try_get::<String, _>("version").map_err(db)?,
            )),
            None => None,
        };
        if let Some((_, sha, _)) = &existing
            && sha == new.sha256
        {
            tx.rollback().await.map_err(db)?;
            return self.plugin(new.name).await;
        }
        let id: i64 = sqlx::query(
            "INSERT INTO plugin_versions \
               (plugin, version, sha256, keywords, datasources, manifest, component, installed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.name)
        .bind(new.version)
        .bind(new.sha256)
        .bind(new.keywords.join(" "))
        .bind(new.datasources.join(" "))
        .bind(new.manifest_json)
        .bind(new.component.to_vec())
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .try_get("id")
        .map_err(db)?;
        let audit = by
            .entry(AuditComponent::Plugins, AuditEvent::PluginInstall, new.name)
            .with_details(serde_json::json!({
                "version": new.version,
                "sha256": new.sha256,
                "keywords": new.keywords,
                "previous_version": existing.as_ref().map(|(_, _, version)| version),
                "bundled": new.bundled,
            }));
        match existing {
            Some((old, _, _)) => {
                sqlx::query(
                    "UPDATE plugins SET current_version = $1, previous_version = $2, \
                     updated_at = $3 WHERE name = $4",
                )
                .bind(id)
                .bind(old)
                .bind(now_ms)
                .bind(new.name)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query(
                    "DELETE FROM plugin_versions WHERE plugin = $1 AND id <> $2 AND id <> $3",
                )
                .bind(new.name)
                .bind(id)
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO plugins (name, enabled, bundled, current_version, \
                       previous_version, updated_at) VALUES ($1, 1, $2, $3, NULL, $4)",
                )
                .bind(new.name)
                .bind(i64::from(new.bundled))
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        self.commit_change(tx, &audit).await?;
        self.plugin(new.name).await
    }

    /// Enables or disables a plugin. Enabling is refused with [`PluginStoreError::KeywordTaken`]
    /// when another enabled plugin took one of its keywords meanwhile.
    pub async fn plugin_set_enabled(
        &self,
        name: &str,
        enabled: bool,
        now_ms: i64,
        by: &ChangeAuthor,
    ) -> Result<(), PluginStoreError> {
        let mut tx = self.begin_write().await?;
        let keywords = current_keywords(&mut tx, name).await?;
        if enabled {
            check_keywords_free(&mut tx, name, &keywords).await?;
        }
        sqlx::query("UPDATE plugins SET enabled = $1, updated_at = $2 WHERE name = $3")
            .bind(i64::from(enabled))
            .bind(now_ms)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let event = if enabled {
            AuditEvent::PluginEnable
        } else {
            AuditEvent::PluginDisable
        };
        self.commit_change(tx, &by.entry(AuditComponent::Plugins, event, name))
            .await
    }

    /// Makes the previous version current again (and the current one the previous, so that a
    /// second rollback undoes the first).
    pub async fn plugin_rollback(
        &self,
        name: &str,
        now_ms: i64,
        by: &ChangeAuthor,
    ) -> Result<PluginRecord, PluginStoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT p.enabled, p.current_version, p.previous_version, v.keywords, \
             v.version AS previous_text, c.version AS current_text \
             FROM plugins p LEFT JOIN plugin_versions v ON v.id = p.previous_version \
             JOIN plugin_versions c ON c.id = p.current_version \
             WHERE p.name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| PluginStoreError::UnknownPlugin(name.to_owned()))?;
        let current: i64 = row.try_get("current_version").map_err(db)?;
        let Some(previous) = row
            .try_get::<Option<i64>, _>("previous_version")
            .map_err(db)?
        else {
            return Err(PluginStoreError::NoPreviousVersion(name.to_owned()));
        };
        if row.try_get::<i64, _>("enabled").map_err(db)? != 0 {
            let keywords = words(&row.try_get::<String, _>("keywords").map_err(db)?);
            check_keywords_free(&mut tx, name, &keywords).await?;
        }
        sqlx::query(
            "UPDATE plugins SET current_version = $1, previous_version = $2, updated_at = $3 \
             WHERE name = $4",
        )
        .bind(previous)
        .bind(current)
        .bind(now_ms)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let audit = by
            .entry(AuditComponent::Plugins, AuditEvent::PluginRollback, name)
            .with_details(serde_json::json!({
                "version": row.try_get::<Option<String>, _>("previous_text").map_err(db)?,
                "from_version": row.try_get::<String, _>("current_text").map_err(db)?,
            }));
        self.commit_change(tx, &audit).await?;
        self.plugin(name).await
    }

    /// Registers a datasource and grants it to every bundled plugin whose current manifest asks
    /// for it. Returns the names of the plugins so granted. Audited as `datasource.add` (the
    /// URL without its password) with those grants.
    pub async fn datasource_add(
        &self,
        name: &str,
        url: &str,
        now_ms: i64,
        by: &ChangeAuthor,
    ) -> Result<Vec<String>, PluginStoreError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT name FROM datasources WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_some() {
            return Err(PluginStoreError::DatasourceExists(name.to_owned()));
        }
        sqlx::query("INSERT INTO datasources (name, url, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(url)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let askers = sqlx::query(
            "SELECT p.name, v.datasources FROM plugins p \
             JOIN plugin_versions v ON v.id = p.current_version WHERE p.bundled = 1",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut granted = Vec::new();
        for row in askers {
            let plugin: String = row.try_get("name").map_err(db)?;
            let wanted: String = row.try_get("datasources").map_err(db)?;
            if wanted.split_whitespace().any(|d| d == name) {
                insert_grant(&mut tx, &plugin, GrantKind::Datasource, name, now_ms).await?;
                granted.push(plugin);
            }
        }
        let audit = by
            .entry(AuditComponent::Plugins, AuditEvent::DatasourceAdd, name)
            .with_details(serde_json::json!({
                "url": super::redact_url(url),
                "granted_to": granted,
            }));
        self.commit_change(tx, &audit).await?;
        Ok(granted)
    }

    /// Every registered datasource, by name.
    pub async fn datasources(&self) -> Result<Vec<DatasourceRecord>, StoreError> {
        sqlx::query("SELECT name, url, created_at FROM datasources ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(DatasourceRecord {
                    name: r.try_get("name")?,
                    url: r.try_get("url")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db)
    }

    /// Grants a plugin a datasource or HTTP host. The plugin must be installed and a datasource
    /// registered. Returns false when the grant already existed.
    pub async fn plugin_grant(
        &self,
        plugin: &str,
        kind: GrantKind,
        target: &str,
        now_ms: i64,
        by: &ChangeAuthor,
    ) -> Result<bool, PluginStoreError> {
        let mut tx = self.begin_write().await?;
        current_keywords(&mut tx, plugin).await?;
        if kind == GrantKind::Datasource {
            let exists = sqlx::query("SELECT name FROM datasources WHERE name = $1")
                .bind(target)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if exists.is_none() {
                return Err(PluginStoreError::UnknownDatasource(target.to_owned()));
            }
        }
        if !insert_grant(&mut tx, plugin, kind, target, now_ms).await? {
            return Ok(false);
        }
        let audit = grant_entry(by, AuditEvent::PluginGrant, plugin, kind, target);
        self.commit_change(tx, &audit).await?;
        Ok(true)
    }

    /// Withdraws a grant. Returns false when there was none.
    pub async fn plugin_revoke(
        &self,
        plugin: &str,
        kind: GrantKind,
        target: &str,
        by: &ChangeAuthor,
    ) -> Result<bool, PluginStoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM plugin_grants WHERE plugin = $1 AND kind = $2 AND target = $3",
        )
        .bind(plugin)
        .bind(kind.as_str())
        .bind(target)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
            > 0;
        if !done {
            return Ok(false);
        }
        let audit = grant_entry(by, AuditEvent::PluginRevoke, plugin, kind, target);
        self.commit_change(tx, &audit).await?;
        Ok(true)
    }

    /// Every grant, by plugin, kind and target.
    pub async fn plugin_grants(&self) -> Result<Vec<PluginGrant>, StoreError> {
        let rows = sqlx::query(
            "SELECT plugin, kind, target, granted_at FROM plugin_grants \
             ORDER BY plugin, kind, target",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(PluginGrant {
                    plugin: r.try_get("plugin").map_err(db)?,
                    kind: GrantKind::parse(&r.try_get::<String, _>("kind").map_err(db)?)?,
                    target: r.try_get("target").map_err(db)?,
                    granted_at: r.try_get("granted_at").map_err(db)?,
                })
            })
            .collect()
    }

    /// Sets one configuration value of a plugin (which must be installed). Audited as
    /// `plugin.config` with the key, never the value (it may be a token).
    pub async fn plugin_config_set(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        now_ms: i64,
        by: &ChangeAuthor,
    ) -> Result<(), PluginStoreError> {
        let mut tx = self.begin_write().await?;
        current_keywords(&mut tx, plugin).await?;
        sqlx::query(
            "INSERT INTO plugin_config (plugin, key, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at",
        )
        .bind(plugin)
        .bind(key)
        .bind(value)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let audit = by
            .entry(AuditComponent::Plugins, AuditEvent::PluginConfig, plugin)
            .with_details(serde_json::json!({ "key": key }));
        self.commit_change(tx, &audit).await
    }

    /// Commits a change to the registry with a new generation, so that running hosts reload,
    /// and with its audit row.
    async fn commit_change(&self, mut tx: Tx, audit: &AuditEntry) -> Result<(), PluginStoreError> {
        bump_generation(&mut tx).await?;
        super::audit::commit_with_audit(self, tx, audit).await?;
        Ok(())
    }

    /// Every configuration value: plugin -> key -> value.
    pub async fn plugin_config(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
        let rows = sqlx::query("SELECT plugin, key, value FROM plugin_config")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for r in rows {
            out.entry(r.try_get("plugin").map_err(db)?)
                .or_default()
                .insert(
                    r.try_get("key").map_err(db)?,
                    r.try_get("value").map_err(db)?,
                );
        }
        Ok(out)
    }

    /// The registry's change counter: it grows with every change to plugins, grants,
    /// configuration or datasources.
    pub async fn plugins_generation(&self) -> Result<i64, StoreError> {
        sqlx::query("SELECT generation FROM plugin_registry WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get("generation")
            .map_err(db)
    }

    /// Whether the bundled plugins were installed into this database already.
    pub async fn plugins_bundled_installed(&self) -> Result<bool, StoreError> {
        let v: i64 = sqlx::query("SELECT bundled_installed FROM plugin_registry WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get("bundled_installed")
            .map_err(db)?;
        Ok(v != 0)
    }

    /// Records that the bundled plugins were installed, so that it happens only once.
    pub async fn plugins_mark_bundled_installed(&self) -> Result<(), StoreError> {
        sqlx::query("UPDATE plugin_registry SET bundled_installed = 1 WHERE id = 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// The audit row of a grant or its withdrawal.
fn grant_entry(
    by: &ChangeAuthor,
    event: AuditEvent,
    plugin: &str,
    kind: GrantKind,
    target: &str,
) -> AuditEntry {
    by.entry(AuditComponent::Plugins, event, plugin)
        .with_details(serde_json::json!({ "kind": kind.as_str(), "target": target }))
}

async fn bump_generation(tx: &mut Tx) -> Result<(), StoreError> {
    sqlx::query("UPDATE plugin_registry SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

async fn insert_grant(
    tx: &mut Tx,
    plugin: &str,
    kind: GrantKind,
    target: &str,
    now_ms: i64,
) -> Result<bool, PluginStoreError> {
    let done = sqlx::query(
        "INSERT INTO plugin_grants (plugin, kind, target, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (plugin, kind, target) DO NOTHING",
    )
    .bind(plugin)
    .bind(kind.as_str())
    .bind(target)
    .bind(now_ms)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

/// The keywords of an installed plugin's current version; [`PluginStoreError::UnknownPlugin`] if
/// it is not installed.
async fn current_keywords(tx: &mut Tx, name: &str) -> Result<Vec<String>, PluginStoreError> {
    let row = sqlx::query(
        "SELECT v.keywords FROM plugins p JOIN plugin_versions v ON v.id = p.current_version \
         WHERE p.name = $1",
    )
    .bind(name)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db)?
    .ok_or_else(|| PluginStoreError::UnknownPlugin(name.to_owned()))?;
    Ok(words(&row.try_get::<String, _>("keywords").map_err(db)?))
}

/// Refuses keywords that another enabled plugin owns.
async fn check_keywords_free(
    tx: &mut Tx,
    name: &str,
    keywords: &[String],
) -> Result<(), PluginStoreError> {
    let wanted: BTreeSet<&str> = keywords.iter().map(String::as_str).collect();
    let rows = sqlx::query(
        "SELECT p.name, v.keywords FROM plugins p \
         JOIN plugin_versions v ON v.id = p.current_version \
         WHERE p.enabled = 1 AND p.name <> $1",
    )
    .bind(name)
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?;
    for row in rows {
        let owner: String = row.try_get("name").map_err(db)?;
        let theirs: String = row.try_get("keywords").map_err(db)?;
        if let Some(keyword) = theirs.split_whitespace().find(|k| wanted.contains(k)) {
            return Err(PluginStoreError::KeywordTaken {
                keyword: keyword.to_owned(),
                owner,
            });
        }
    }
    Ok(())
}
