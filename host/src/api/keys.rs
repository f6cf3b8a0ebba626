//! API keys (issue 5; "Police queries and the API" in shared/docs/security-checklist.md): 256
//! random bits from the operating system, shown once as `jx_<64 hex digits>`, stored only as
//! their SHA-256, scoped, rate limited and revocable. Creating and revoking a key is audited
//! (by name and display prefix; never the key).

use std::fmt;
use std::str::FromStr;

use rand::TryRng;
use sha2::{Digest, Sha256};

use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditOutcome};
use crate::phone::PhoneNumber;
use crate::store::{ApiKeyRecord, NewApiKey, Store, StoreError};

/// Every key starts with this, so that leaked keys are easy to recognise (secret scanners).
pub const KEY_PREFIX: &str = "jx_";
/// Random bytes per key (256 bits).
pub const KEY_BYTES: usize = 32;
/// Characters of a key kept for display (`jx_` and 8 hex digits: 32 bits, not enough to guess
/// the rest).
pub const DISPLAY_PREFIX_CHARS: usize = KEY_PREFIX.len() + 8;
/// Requests per second a key gets unless told otherwise.
pub const DEFAULT_RATE_PER_SECOND: u32 = 50;
/// Longest key name.
pub const MAX_NAME_CHARS: usize = 64;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Queue outbound messages and read their status.
    Send,
    /// Read inbound messages.
    Receive,
    /// Send OA reminders and citizen notices (`/api/v1/notifications/...`).
    Notify,
}

impl Scope {
    /// The name used on the command line and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Send => "send",
            Scope::Receive => "receive",
            Scope::Notify => "notify",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Scope, KeyError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "send" => Ok(Scope::Send),
            "receive" => Ok(Scope::Receive),
            "notify" => Ok(Scope::Notify),
            _ => Err(KeyError::UnknownScope(s.trim().to_owned())),
        }
    }
}

/// Why a key could not be created, revoked or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The name is not usable.
    #[error(
        "invalid API key name `{0}`: use 1 to {MAX_NAME_CHARS} lower-case letters, digits, '-' \
         or '_', starting with a letter or digit (e.g. `oa`, `news-site`)"
    )]
    InvalidName(String),
    /// A scope is not known.
    #[error("unknown scope `{0}`: use send, receive, notify, or several separated by commas")]
    UnknownScope(String),
    /// No scope given.
    #[error("a key needs at least one scope: send, receive or notify (e.g. --scopes send,notify)")]
    NoScope,
    /// The rate is zero.
    #[error("the rate limit must be at least 1 request per second")]
    ZeroRate,
    /// A service number is not a phone number.
    #[error("invalid service number `{number}`: {reason}")]
    InvalidServiceNumber { number: String, reason: String },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}; no key was created")]
    Random(String),
    /// No key of that name exists.
    #[error("no API key is named `{0}`; `jingxun apikey list` shows them")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A freshly generated key: `secret` is shown once and then forgotten.
pub struct GeneratedKey {
    /// The full key (`jx_...`): hand it to the client system, never store or log it.
    pub secret: String,
    /// Hex SHA-256 of `secret`, stored.
    pub hash: String,
    /// The first characters of `secret`, stored for display.
    pub prefix: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("secret", &"[redacted]")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Draws a new key from the operating system's random number generator.
pub fn generate() -> Result<GeneratedKey, KeyError> {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| KeyError::Random(e.to_string()))?;
    let secret = format!("{KEY_PREFIX}{}", hex::encode(bytes));
    Ok(GeneratedKey {
        hash: hash_key(&secret),
        prefix: secret[..DISPLAY_PREFIX_CHARS].to_owned(),
        secret,
    })
}

/// The stored form of a key: hex SHA-256 of its full text. A plain fast hash is right here
/// (unlike for passwords): the key has 256 random bits, so no dictionary or brute-force search
/// of the hash can succeed, and a slow hash would only slow every API call down.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Checks a key name.
pub fn check_name(name: &str) -> Result<(), KeyError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

/// Reads a comma-separated scope list (`send,receive`), each scope once, in a fixed order.
pub fn parse_scopes(list: &str) -> Result<Vec<Scope>, KeyError> {
    let mut scopes = Vec::new();
    for word in list.split([',', ' ']).filter(|w| !w.trim().is_empty()) {
        let scope: Scope = word.parse()?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(KeyError::NoScope);
    }
    scopes.sort_by_key(|s| s.as_str());
    Ok(scopes)
}

/// What a new key may do.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub rate_per_second: u32,
    /// Numbers it may send from, as typed; empty: any.
    pub service_numbers: Vec<String>,
}

/// Creates a key, audits it (`apikey.create` by `actor`) and returns the record and the key,
/// which the caller shows once.
pub async fn create(
    store: &Store,
    spec: &KeySpec,
    country_code: &str,
    actor: &str,
    source: &str,
) -> Result<(ApiKeyRecord, GeneratedKey), KeyError> {
    check_name(&spec.name)?;
    if spec.scopes.is_empty() {
        return Err(KeyError::NoScope);
    }
    if spec.rate_per_second == 0 {
        return Err(KeyError::ZeroRate);
    }
    let service_numbers = spec
        .service_numbers
        .iter()
        .map(|n| {
            PhoneNumber::parse(n, country_code)
                .map(|p| p.to_string())
                .map_err(|e| KeyError::InvalidServiceNumber {
                    number: n.clone(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scopes: Vec<String> = spec.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let key = generate()?;
    let audit = AuditEntry::new(
        AuditComponent::Api,
        AuditEvent::ApikeyCreate,
        AuditOutcome::Ok,
    )
    .with_actor(actor)
    .with_object(spec.name.clone())
    .with_source(Some(source))
    .with_details(serde_json::json!({
        "prefix": key.prefix,
        "scopes": scopes,
        "rate_per_second": spec.rate_per_second,
        "service_numbers": service_numbers,
    }));
    let record = store
        .api_key_create(
            &NewApiKey {
                name: &spec.name,
                key_hash: &key.hash,
                key_prefix: &key.prefix,
                scopes: &scopes,
                rate_per_second: spec.rate_per_second,
                service_numbers: &service_numbers,
            },
            crate::clock::now_ms(),
            &audit,
        )
        .await?;
    Ok((record, key))
}

/// Revokes the key `name` and audits it (`apikey.revoke`). A running daemon refuses the key
/// within the few seconds it caches verified keys.
pub async fn revoke(
    store: &Store,
    name: &str,
    actor: &str,
    source: &str,
) -> Result<ApiKeyRecord, KeyError> {
    let record = store
        .api_key_revoke(name, crate::clock::now_ms(), |record| {
            AuditEntry::new(
                AuditComponent::Api,
                AuditEvent::ApikeyRevoke,
                AuditOutcome::Ok,
            )
            .with_actor(actor)
            .with_object(record.name.clone())
            .with_source(Some(source))
            .with_details(serde_json::json!({ "prefix": record.key_prefix }))
        })
        .await?
        .ok_or_else(|| KeyError::NotFound(name.to_owned()))?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_random_and_hash_to_what_is_stored() {
        let a = generate().expect("key");
        let b = generate().expect("key");
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), KEY_PREFIX.len() + 2 * KEY_BYTES);
        assert!(a.secret.starts_with(KEY_PREFIX));
        assert_eq!(a.hash, hash_key(&a.secret));
        assert_ne!(a.hash, a.secret);
        assert!(a.secret.starts_with(&a.prefix));
        assert!(
            !format!("{a:?}").contains(&a.secret),
            "Debug must not show the key"
        );
    }

    #[test]
    fn scopes_are_parsed_deduplicated_and_unknown_ones_refused() {
        assert_eq!(
            parse_scopes("receive, send,send").expect("scopes"),
            vec![Scope::Receive, Scope::Send]
        );
        assert!(
            matches!(parse_scopes("send,admin"), Err(KeyError::UnknownScope(s)) if s == "admin")
        );
        assert!(matches!(parse_scopes(" , "), Err(KeyError::NoScope)));
    }

    #[test]
    fn names_must_be_short_lower_case_words() {
        assert!(check_name("oa").is_ok());
        assert!(check_name("news-site_2").is_ok());
        for bad in ["", "OA", "-oa", "o a", "oa:x", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?} must be refused");
        }
    }

    async fn create_and_revoke_are_audited_without_the_key(db: &crate::store::test_db::TestDb) {
        let spec = KeySpec {
            name: "oa".into(),
            scopes: vec![Scope::Send],
            rate_per_second: 5,
            service_numbers: vec!["13800000009".into()],
        };
        let (record, key) = create(&db.store, &spec, "86", "cli:tester", "cli")
            .await
            .expect("create");
        assert_eq!(record.service_numbers, vec!["+8613800000009".to_owned()]);
        let found = db
            .store
            .api_key_by_hash(&hash_key(&key.secret))
            .await
            .expect("lookup");
        assert_eq!(found, Some(record.clone()));
        revoke(&db.store, "oa", "cli:tester", "cli")
            .await
            .expect("revoke");
        assert!(matches!(
            revoke(&db.store, "nobody", "cli:tester", "cli").await,
            Err(KeyError::NotFound(_))
        ));
        let rows = crate::audit::AuditLog::new(db.store.clone())
            .list(&crate::audit::AuditFilter::default(), "test")
            .await
            .expect("audit");
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        assert!(
            events.contains(&"apikey.create") && events.contains(&"apikey.revoke"),
            "{events:?}"
        );
        let dump = format!("{rows:?}");
        assert!(!dump.contains(&key.secret) && !dump.contains(&key.hash));
    }

    crate::on_both_backends!(crate::store::test_db::TestDb => create_and_revoke_are_audited_without_the_key);
}
