//! The API keys page (issue 5): the same key services as `jingxun apikey` ([`crate::api::keys`],
//! [`crate::api::inbound`]), audited with the administrator's login. A new key's text is never
//! written anywhere: it waits in memory ([`FreshKeys`]) for the page the form leads to, which
//! takes it, for its creator only, within [`FRESH_KEY_LIFETIME`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use jingxun_web::model::api_keys::{ApiKeyRow, ApiKeysPage, CreatedKey};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::{ApiKeysBackend, NewApiKeyForm};
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, audit_source, random_id, unavailable};
use crate::api::inbound::{self, InboundError};
use crate::api::keys::{self, KeyError, KeySpec};
use crate::store::StoreError;

/// How long a new key waits to be shown.
pub const FRESH_KEY_LIFETIME: Duration = Duration::from_secs(300);
/// New keys waiting at most (an administrator who creates more without looking loses the
/// oldest: they can revoke it and create another).
const FRESH_KEYS_MAX: usize = 32;
/// Highest rate a key may be given on the form, requests per second.
const MAX_RATE: u32 = 100_000;

/// New keys waiting for their one showing, by a random id.
#[derive(Debug, Default)]
pub struct FreshKeys(Mutex<HashMap<String, FreshKey>>);

#[derive(Debug)]
struct FreshKey {
    login: String,
    key: CreatedKey,
    made: Instant,
}

impl FreshKeys {
    fn put(&self, id: String, login: &str, key: CreatedKey, now: Instant) {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|_, fresh| now.duration_since(fresh.made) < FRESH_KEY_LIFETIME);
        while keys.len() >= FRESH_KEYS_MAX {
            let oldest = keys
                .iter()
                .min_by_key(|(_, fresh)| fresh.made)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => keys.remove(&id),
                None => break,
            };
        }
        keys.insert(
            id,
            FreshKey {
                login: login.to_owned(),
                key,
                made: now,
            },
        );
    }

    /// The key waiting under `id` for `login`, removed: it is shown once.
    fn take(&self, id: &str, login: &str, now: Instant) -> Option<CreatedKey> {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = keys.get(id)?;
        if fresh.login != login {
            return None;
        }
        let fresh = keys.remove(id)?;
        (now.duration_since(fresh.made) < FRESH_KEY_LIFETIME).then_some(fresh.key)
    }
}

/// Numbers or networks typed in one field, separated by commas, spaces or lines.
fn words(text: &str) -> Vec<String> {
    text.split([',', '，', ';', ' ', '\n', '\r', '\t'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn key_refusal(e: KeyError) -> Refusal {
    match e {
        KeyError::InvalidName(name) => Refusal::with(RefusalCode::InvalidKeyName, name),
        KeyError::NoScope | KeyError::UnknownScope(_) => Refusal::new(RefusalCode::NoScope),
        KeyError::ZeroRate => Refusal::new(RefusalCode::InvalidRate),
        KeyError::InvalidServiceNumber { number, .. } => {
            Refusal::with(RefusalCode::InvalidServiceNumber, number)
        }
        KeyError::NotFound(name) => Refusal::with(RefusalCode::UnknownKey, name),
        KeyError::Store(StoreError::InvalidInput { field: "name", .. }) => {
            Refusal::new(RefusalCode::KeyExists)
        }
        other => unavailable("changing an API key", &other),
    }
}

fn network_refusal(e: InboundError) -> Refusal {
    match e {
        InboundError::InvalidNetwork(network) => {
            Refusal::with(RefusalCode::InvalidNetwork, network)
        }
        other => unavailable("limiting an API key's networks", &other),
    }
}

impl ApiKeysBackend for HostBackend {
    fn api_keys<'a>(
        &'a self,
        actor: &'a Actor,
        created: Option<String>,
    ) -> BoxFuture<'a, Outcome<ApiKeysPage>> {
        Box::pin(async move {
            let state = self.state();
            let keys = state
                .store
                .api_keys()
                .await
                .map_err(|e| unavailable("reading API keys", &e))?;
            let created =
                created.and_then(|id| state.fresh_keys.take(&id, &actor.login, Instant::now()));
            Ok(ApiKeysPage {
                keys: keys
                    .into_iter()
                    .map(|k| ApiKeyRow {
                        name: k.name,
                        prefix: k.key_prefix,
                        scopes: k.scopes,
                        rate_per_second: k.rate_per_second,
                        service_numbers: k.service_numbers,
                        allowed_networks: k.allowed_networks,
                        webhook_url: k.webhook_url,
                        created_at: k.created_at,
                        revoked_at: k.revoked_at,
                    })
                    .collect(),
                created,
            })
        })
    }

    fn api_key_create<'a>(
        &'a self,
        actor: &'a Actor,
        form: NewApiKeyForm,
    ) -> BoxFuture<'a, Outcome<String>> {
        Box::pin(async move {
            let state = self.state();
            let scopes = keys::parse_scopes(&form.scopes.join(",")).map_err(key_refusal)?;
            let rate = match form.rate.trim() {
                "" => keys::DEFAULT_RATE_PER_SECOND,
                typed => typed
                    .parse::<u32>()
                    .ok()
                    .filter(|r| (1..=MAX_RATE).contains(r))
                    .ok_or_else(|| Refusal::with(RefusalCode::InvalidRate, typed))?,
            };
            // Checked before the key is made, so that a refused network leaves no key behind.
            let networks = words(&form.networks);
            inbound::check_networks(&networks).map_err(network_refusal)?;
            let spec = KeySpec {
                name: form.name.trim().to_owned(),
                scopes,
                rate_per_second: rate,
                service_numbers: words(&form.service_numbers),
            };
            let source = audit_source(actor);
            let (record, key) = keys::create(
                &state.store,
                &spec,
                &state.default_country_code,
                &actor.login,
                &source,
            )
            .await
            .map_err(key_refusal)?;
            if !networks.is_empty() {
                inbound::set_networks(&state.store, &record.name, &networks, &actor.login, &source)
                    .await
                    .map_err(network_refusal)?;
            }
            let id = random_id()?;
            let created = CreatedKey {
                name: record.name,
                secret: key.secret,
            };
            state
                .fresh_keys
                .put(id.clone(), &actor.login, created, Instant::now());
            Ok(id)
        })
    }

    fn api_key_revoke<'a>(&'a self, actor: &'a Actor, name: String) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            keys::revoke(
                &self.state().store,
                &name,
                &actor.login,
                &audit_source(actor),
            )
            .await
            .map(|_| ())
            .map_err(key_refusal)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> CreatedKey {
        CreatedKey {
            name: name.into(),
            secret: format!("jx_{name}"),
        }
    }

    #[test]
    fn a_new_key_is_shown_once_to_its_creator_and_not_after_its_lifetime() {
        let keys = FreshKeys::default();
        let t0 = Instant::now();
        keys.put("a".into(), "admin", key("oa"), t0);
        assert_eq!(
            keys.take("a", "someone-else", t0),
            None,
            "not another user's"
        );
        assert_eq!(keys.take("a", "admin", t0), Some(key("oa")));
        assert_eq!(keys.take("a", "admin", t0), None, "shown once");
        keys.put("b".into(), "admin", key("news"), t0);
        assert_eq!(keys.take("b", "admin", t0 + FRESH_KEY_LIFETIME), None);
    }

    #[test]
    fn waiting_keys_are_bounded_and_the_oldest_goes_first() {
        let keys = FreshKeys::default();
        let t0 = Instant::now();
        for i in 0..=FRESH_KEYS_MAX {
            let at = t0 + Duration::from_millis(i as u64);
            keys.put(format!("k{i}"), "admin", key(&format!("n{i}")), at);
        }
        let now = t0 + Duration::from_secs(1);
        assert_eq!(keys.take("k0", "admin", now), None);
        assert!(
            keys.take(&format!("k{FRESH_KEYS_MAX}"), "admin", now)
                .is_some()
        );
    }

    #[test]
    fn typed_lists_split_on_commas_spaces_and_lines() {
        assert_eq!(
            words(" 10.0.0.0/8，192.0.2.1\n198.51.100.0/24 "),
            vec!["10.0.0.0/8", "192.0.2.1", "198.51.100.0/24"]
        );
        assert!(words(" , ").is_empty());
    }
}
