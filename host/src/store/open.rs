//! Opening the configured database with the platform key, as the daemon and every command that
//! writes do. The key file is read by [`crate::secrets`], which is below the store and knows
//! nothing of it; keying the store and checking the audit log against the key is the store's.

use super::{Store, StoreError};
use crate::config::Config;
use crate::secrets::{Secrets, SecretsError, key_path};

/// Why [`open_store`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    /// The key file.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The database, or an audit log that does not accept the key (another key keyed it).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the configured database with the platform key, as the daemon and every command that
/// writes do: loads the key file ([`key_path`]), or creates it when it is missing and the
/// audit log was never keyed; then checks that the audit log, if keyed, was keyed with this key
/// (so that a wrong file stops here rather than failing every audited action).
pub async fn open_store(config: &Config) -> Result<Store, OpenStoreError> {
    let path = key_path(config);
    let existing = match Secrets::load(&path) {
        Ok(secrets) => Some(secrets),
        Err(SecretsError::Missing { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let store = Store::connect(&config.database.url).await?;
    let secrets = match existing {
        Some(secrets) => secrets,
        None => match store.audit_keyed_from().await {
            Ok(Some(keyed_from)) => {
                store.close().await;
                return Err(SecretsError::MissingForKeyedLog { path, keyed_from }.into());
            }
            Ok(None) => {
                let secrets = Secrets::create(&path)?;
                tracing::info!(
                    file = %path.display(),
                    "created the platform key file (secrets.key_file, mode 0600): back it up apart from the database"
                );
                secrets
            }
            Err(e) => {
                store.close().await;
                return Err(e.into());
            }
        },
    };
    let store = store.with_secrets(&secrets);
    if let Err(e) = store.audit_check_key().await {
        store.close().await;
        return Err(e.into());
    }
    // Where keying starts, in a record outside the database (see `store/audit/chain.rs`).
    match store.audit_keyed_from().await {
        Ok(Some(keyed_from)) => tracing::info!(
            file = %path.display(),
            keyed_from,
            "platform key loaded; the audit chain is keyed from this row on"
        ),
        Ok(None) => tracing::info!(
            file = %path.display(),
            "platform key loaded; the audit chain is keyed from its next row"
        ),
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    }
    Ok(store)
}
