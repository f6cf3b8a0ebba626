//! The hash chain of the audit log as the store writes it: the canonical encoding of a row and
//! its hash (plain SHA-256 for rows written before the platform key existed, HMAC-SHA256 with
//! the audit subkey since). The walk that checks a whole log is `audit/chain.rs`.
//!
//! # Canonical encoding
//! A row's hash is computed over `bytes`, which are, in this order:
//! 1. a domain tag followed by one `0x00` byte: `jingxun-audit-v1` for unkeyed rows,
//!    `jingxun-audit-v2` for keyed rows;
//! 2. `prev_hash`, `id` and `at` (milliseconds), then `component`, `event`, `actor`, `phone`,
//!    `object`, `outcome`, `details` (the JSON text exactly as stored), `source`, `request_id`.
//!
//! Integers are 8 bytes big-endian (two's complement). Each text field is `0x00` when NULL, else
//! `0x01`, its UTF-8 length as 8 bytes big-endian, and its UTF-8 bytes. The length prefixes make
//! the encoding unambiguous (no two different rows encode to the same bytes).
//!
//! - **Unkeyed rows (version 1)**, the rows with ids below `audit_chain_keyed.keyed_from` (all
//!   rows when that table is empty): `hash = hex(SHA-256(bytes))`. Anyone can recompute these,
//!   so on their own they show accidents, not a database owner's rewrite.
//! - **Keyed rows (version 2)**, ids from `keyed_from` on: `hash = hex(HMAC-SHA256(K, bytes))`
//!   where `K` is the audit subkey: HKDF-SHA256 (RFC 5869) with salt `jingxun-secrets-v1`, the
//!   32-byte platform key of the `[secrets] key_file` (64 hexadecimal digits) as input key
//!   material, info `audit-chain`, 32 bytes of output. Without the key file nobody can compute
//!   a keyed row's hash, so a row changed and re-hashed (with plain SHA-256 or a guessed key)
//!   no longer verifies.
//! - **Where keying starts**: the one row of `audit_chain_keyed` holds `keyed_from` and
//!   `mac = hex(HMAC-SHA256(K, "jingxun-audit-keyed-from-v2" 0x00 || keyed_from as 8 bytes
//!   big-endian || prev))`, where `prev` is the hash of row `keyed_from - 1` (or
//!   [`GENESIS_HASH`]) encoded as a text field. It is written with the first keyed row, once:
//!   moving it, or rewriting the unkeyed rows before it, breaks its `mac`. An existing log
//!   upgrades without rewriting history: its old rows stay unkeyed and the chain goes on keyed.
//!
//! Row 1 links to [`GENESIS_HASH`]; ids follow without gaps, so removing or inserting a row in the
//! middle breaks the link of the row after it, and changing any field breaks the row's own hash.
//! An external auditor can re-implement the check from this description and the key file.
//!
//! What the key does not show on its own: rows cut off the end (write down
//! [`ChainCheck::head_hash`](crate::audit::ChainCheck::head_hash) elsewhere and compare), and a
//! database owner who deletes the `audit_chain_keyed` row and re-hashes every keyed row with
//! plain SHA-256, which makes the log look never keyed: `jingxun audit verify` prints where
//! keying starts every time, and the daemon logs it at start, so compare with an earlier report.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::secrets::{AUDIT_CHAIN, Secrets, SubKey};

/// `prev_hash` of the first row: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN_TAG_V1: &[u8] = b"jingxun-audit-v1\0";
const DOMAIN_TAG_V2: &[u8] = b"jingxun-audit-v2\0";
const KEYED_FROM_TAG: &[u8] = b"jingxun-audit-keyed-from-v2\0";

type HmacSha256 = Hmac<Sha256>;

/// The audit subkey that keys the chain (see the module documentation); cheap to clone,
/// `Debug` prints `[redacted]`.
#[derive(Clone, Debug)]
pub struct ChainKey(SubKey);

impl ChainKey {
    /// The audit chain's subkey of the platform key.
    pub fn from_secrets(secrets: &Secrets) -> ChainKey {
        ChainKey(secrets.subkey(AUDIT_CHAIN))
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(self.0.expose()).expect("HMAC takes a key of any size")
    }

    /// `mac` of the `audit_chain_keyed` row: keying starts at row `keyed_from`, which follows
    /// a row whose hash is `prev_hash`.
    pub(crate) fn keyed_from_mac(&self, keyed_from: i64, prev_hash: &str) -> String {
        let mut mac = self.mac();
        mac.update(KEYED_FROM_TAG);
        mac.update(&keyed_from.to_be_bytes());
        text(&mut |b| mac.update(b), Some(prev_hash));
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Where keying starts, as stored in `audit_chain_keyed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyedFrom {
    pub keyed_from: i64,
    pub mac: String,
}

/// One stored row with `details` as the exact stored text, as hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAuditRow {
    pub id: i64,
    pub at: i64,
    pub component: String,
    pub event: String,
    pub actor: Option<String>,
    pub phone: Option<String>,
    pub object: Option<String>,
    pub outcome: String,
    pub details: String,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields of a row that its hash covers, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CanonicalRow<'a> {
    pub id: i64,
    pub at: i64,
    pub component: &'a str,
    pub event: &'a str,
    pub actor: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub object: Option<&'a str>,
    pub outcome: &'a str,
    pub details: &'a str,
    pub source: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl CanonicalRow<'_> {
    /// The row's unkeyed (version 1) hash when it follows a row whose hash is `prev_hash`.
    pub fn unkeyed_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(DOMAIN_TAG_V1);
        self.encode(&mut |b| h.update(b), prev_hash);
        hex::encode(h.finalize())
    }

    /// The row's keyed (version 2) hash when it follows a row whose hash is `prev_hash`.
    pub fn keyed_hash(&self, key: &ChainKey, prev_hash: &str) -> String {
        let mut mac = key.mac();
        mac.update(DOMAIN_TAG_V2);
        self.encode(&mut |b| mac.update(b), prev_hash);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Feeds `prev_hash` and the fields, after the domain tag, to `sink`.
    fn encode(&self, sink: &mut dyn FnMut(&[u8]), prev_hash: &str) {
        text(sink, Some(prev_hash));
        sink(&self.id.to_be_bytes());
        sink(&self.at.to_be_bytes());
        for field in [
            Some(self.component),
            Some(self.event),
            self.actor,
            self.phone,
            self.object,
            Some(self.outcome),
            Some(self.details),
            self.source,
            self.request_id,
        ] {
            text(sink, field);
        }
    }
}

fn text(sink: &mut dyn FnMut(&[u8]), value: Option<&str>) {
    match value {
        None => sink(&[0u8]),
        Some(s) => {
            sink(&[1u8]);
            sink(&(s.len() as u64).to_be_bytes());
            sink(s.as_bytes());
        }
    }
}

impl RawAuditRow {
    pub fn canonical(&self) -> CanonicalRow<'_> {
        CanonicalRow {
            id: self.id,
            at: self.at,
            component: &self.component,
            event: &self.event,
            actor: self.actor.as_deref(),
            phone: self.phone.as_deref(),
            object: self.object.as_deref(),
            outcome: &self.outcome,
            details: &self.details,
            source: self.source.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

#[cfg(test)]
/// A test row `id` after `prev_hash`, keyed with `key` or unkeyed (the store's and the
/// audit's chain tests share it).
pub(crate) fn test_row(id: i64, prev_hash: &str, key: Option<&ChainKey>) -> RawAuditRow {
    let mut r = RawAuditRow {
        id,
        at: 1_767_225_600_000 + id,
        component: "router".into(),
        event: "query".into(),
        actor: Some("li".into()),
        phone: Some("+8613800000001".into()),
        object: Some("CP 京A12345".into()),
        outcome: "answered".into(),
        details: r#"{"plugin":"cp"}"#.into(),
        source: Some("modem0".into()),
        request_id: None,
        prev_hash: prev_hash.into(),
        hash: String::new(),
    };
    r.hash = match key {
        Some(key) => r.canonical().keyed_hash(key, prev_hash),
        None => r.canonical().unkeyed_hash(prev_hash),
    };
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ChainKey {
        ChainKey::from_secrets(&Secrets::for_tests())
    }

    #[test]
    fn null_and_empty_text_hash_differently() {
        let mut a = test_row(1, GENESIS_HASH, None);
        a.request_id = Some(String::new());
        let b = test_row(1, GENESIS_HASH, None);
        assert_ne!(
            a.canonical().unkeyed_hash(GENESIS_HASH),
            b.canonical().unkeyed_hash(GENESIS_HASH)
        );
        assert_ne!(
            a.canonical().keyed_hash(&key(), GENESIS_HASH),
            b.canonical().keyed_hash(&key(), GENESIS_HASH)
        );
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = test_row(1, GENESIS_HASH, None);
        a.actor = Some("ab".into());
        a.phone = Some("c".into());
        let mut b = test_row(1, GENESIS_HASH, None);
        b.actor = Some("a".into());
        b.phone = Some("bc".into());
        assert_ne!(
            a.canonical().unkeyed_hash(GENESIS_HASH),
            b.canonical().unkeyed_hash(GENESIS_HASH)
        );
    }

    /// Pins the keyed encoding as documented: HMAC-SHA256 over the version 2 tag and the same
    /// fields as version 1, so that an auditor's re-implementation can be checked against it.
    #[test]
    fn the_keyed_hash_is_hmac_sha256_of_the_documented_bytes() {
        fn push_text(bytes: &mut Vec<u8>, v: Option<&str>) {
            match v {
                None => bytes.push(0),
                Some(s) => {
                    bytes.push(1);
                    bytes.extend((s.len() as u64).to_be_bytes());
                    bytes.extend(s.as_bytes());
                }
            }
        }
        let r = test_row(1, GENESIS_HASH, None);
        let key = key();
        let mut bytes = b"jingxun-audit-v2\0".to_vec();
        push_text(&mut bytes, Some(GENESIS_HASH));
        bytes.extend(1i64.to_be_bytes());
        bytes.extend(r.at.to_be_bytes());
        for field in [
            Some("router"),
            Some("query"),
            Some("li"),
            Some("+8613800000001"),
            Some("CP 京A12345"),
            Some("answered"),
            Some(r#"{"plugin":"cp"}"#),
            Some("modem0"),
            None,
        ] {
            push_text(&mut bytes, field);
        }
        let mut mac = <HmacSha256 as Mac>::new_from_slice(
            Secrets::for_tests().subkey("audit-chain").expose(),
        )
        .unwrap();
        mac.update(&bytes);
        assert_eq!(
            r.canonical().keyed_hash(&key, GENESIS_HASH),
            hex::encode(mac.finalize().into_bytes())
        );
    }
}
