//! Why a registry operation (install, enable, rollback, grants, datasources) failed.

use std::path::PathBuf;

use super::InvocationError;
use crate::store::{PluginStoreError, StoreError};

/// Why a registry operation failed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a usable component.
    #[error(
        "not a usable Jingxun plugin component: {0}; build it with `cargo xtask plugins` against a contract in wit/ (v1.1 is the newest)"
    )]
    InvalidComponent(String),
    /// The manifest breaks a rule.
    #[error("the plugin's manifest is invalid: {0}")]
    InvalidManifest(String),
    /// Calling `manifest` failed.
    #[error("the plugin's manifest function failed: {0}")]
    Manifest(#[source] InvocationError),
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
    /// A value given by the administrator is malformed.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    /// The compile cache directory cannot be used.
    #[error(
        "cannot use the plugin cache directory {path}: {source}; set [plugins] cache_dir to a writable directory"
    )]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The WebAssembly engine could not start.
    #[error("the WebAssembly engine failed: {0}")]
    Engine(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The store's refusals of a registry change, as the host's.
impl From<PluginStoreError> for PluginError {
    fn from(e: PluginStoreError) -> Self {
        match e {
            PluginStoreError::KeywordTaken { keyword, owner } => {
                PluginError::KeywordTaken { keyword, owner }
            }
            PluginStoreError::UnknownPlugin(name) => PluginError::UnknownPlugin(name),
            PluginStoreError::NoPreviousVersion(name) => PluginError::NoPreviousVersion(name),
            PluginStoreError::UnknownDatasource(name) => PluginError::UnknownDatasource(name),
            PluginStoreError::DatasourceExists(name) => PluginError::DatasourceExists(name),
            PluginStoreError::Store(e) => PluginError::Store(e),
        }
    }
}
