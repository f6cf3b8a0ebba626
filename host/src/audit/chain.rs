//! The hash chain of the audit log: the canonical encoding of a row, its hash (plain SHA-256
//! for rows written before the platform key existed, HMAC-SHA256 with the audit subkey since),
//! and the walk that checks a whole log.
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
//! [`ChainCheck::head_hash`](super::ChainCheck::head_hash) elsewhere and compare), and a
//! database owner who deletes the `audit_chain_keyed` row and re-hashes every keyed row with
//! plain SHA-256, which makes the log look never keyed: `jingxun audit verify` prints where
//! keying starts every time, and the daemon logs it at start, so compare with an earlier report.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::ChainBreak;
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

/// Walks rows in id order, page after page, remembering the first that breaks the chain.
#[derive(Debug)]
pub(crate) struct ChainWalker {
    key: ChainKey,
    keyed: Option<KeyedFrom>,
    /// Whether the walk has reached `keyed_from` (and checked the keying record there).
    keyed_from_reached: bool,
    rows: u64,
    keyed_rows: u64,
    last_id: i64,
    last_hash: String,
    first_broken: Option<(i64, ChainBreak)>,
}

impl ChainWalker {
    /// A walk of a log keyed from `keyed` (none: no row is keyed), checking keyed rows with
    /// `key`.
    pub fn new(key: ChainKey, keyed: Option<KeyedFrom>) -> Self {
        ChainWalker {
            key,
            keyed,
            keyed_from_reached: false,
            rows: 0,
            keyed_rows: 0,
            last_id: 0,
            last_hash: GENESIS_HASH.to_owned(),
            first_broken: None,
        }
    }

    /// The id after which the next page starts.
    pub fn last_id(&self) -> i64 {
        self.last_id
    }

    /// Checks the next row: its id follows the previous one, the keying record verifies where
    /// keying starts, the row links to the previous row's stored hash, and its own hash (keyed
    /// from `keyed_from` on) matches its fields.
    pub fn check(&mut self, row: &RawAuditRow) {
        let keyed_from = self.keyed.as_ref().map(|k| k.keyed_from);
        let keyed = keyed_from.is_some_and(|from| row.id >= from);
        let reaches_keyed_from = keyed && !self.keyed_from_reached;
        self.keyed_from_reached |= keyed;
        let broken = if row.id != self.last_id + 1 {
            Some(ChainBreak::Gap)
        } else if reaches_keyed_from && !self.keyed_from_verifies() {
            Some(ChainBreak::KeyedFrom)
        } else if row.prev_hash != self.last_hash {
            Some(ChainBreak::Link)
        } else if keyed {
            (row.canonical().keyed_hash(&self.key, &row.prev_hash) != row.hash)
                .then_some(ChainBreak::KeyedHash)
        } else {
            (row.canonical().unkeyed_hash(&row.prev_hash) != row.hash).then_some(ChainBreak::Hash)
        };
        if let Some(reason) = broken
            && self.first_broken.is_none()
        {
            self.first_broken = Some((row.id, reason));
        }
        self.rows += 1;
        self.keyed_rows += u64::from(keyed);
        self.last_id = row.id;
        // Follow the stored hash: one tampered row is reported, the rows after it still link.
        self.last_hash.clone_from(&row.hash);
    }

    /// Whether the keying record's `mac` is right for the row walked last (the one before
    /// `keyed_from`).
    fn keyed_from_verifies(&self) -> bool {
        self.keyed.as_ref().is_some_and(|k| {
            self.last_id + 1 == k.keyed_from
                && self.key.keyed_from_mac(k.keyed_from, &self.last_hash) == k.mac
        })
    }

    pub fn finish(mut self) -> super::ChainCheck {
        if let Some(k) = &self.keyed
            && !self.keyed_from_reached
            && self.first_broken.is_none()
            && !self.keyed_from_verifies()
        {
            // The log ends before its first keyed row (cut off), or the record does not verify.
            self.first_broken = Some((k.keyed_from, ChainBreak::KeyedFrom));
        }
        super::ChainCheck {
            rows: self.rows,
            first_broken: self.first_broken.map(|(id, _)| id),
            broken_because: self.first_broken.map(|(_, reason)| reason),
            head_hash: (self.rows > 0).then_some(self.last_hash),
            keyed_from: self.keyed.map(|k| k.keyed_from),
            keyed_rows: self.keyed_rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ChainKey {
        ChainKey::from_secrets(&Secrets::for_tests())
    }

    /// Row `id` after `prev_hash`, keyed with `key` or unkeyed.
    fn row(id: i64, prev_hash: &str, key: Option<&ChainKey>) -> RawAuditRow {
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

    /// `n` rows, keyed from row `keyed_from` on (`None`: none keyed), and the keying record.
    fn chain(n: i64, keyed_from: Option<i64>) -> (Vec<RawAuditRow>, Option<KeyedFrom>) {
        let key = key();
        let mut rows: Vec<RawAuditRow> = Vec::new();
        let mut record = None;
        for id in 1..=n {
            let prev = rows
                .last()
                .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
            let keyed = keyed_from.is_some_and(|from| id >= from);
            if keyed_from == Some(id) {
                record = Some(KeyedFrom {
                    keyed_from: id,
                    mac: key.keyed_from_mac(id, &prev),
                });
            }
            rows.push(row(id, &prev, keyed.then_some(&key)));
        }
        (rows, record)
    }

    fn walk(rows: &[RawAuditRow], keyed: Option<KeyedFrom>) -> super::super::ChainCheck {
        walk_with(key(), rows, keyed)
    }

    fn walk_with(
        key: ChainKey,
        rows: &[RawAuditRow],
        keyed: Option<KeyedFrom>,
    ) -> super::super::ChainCheck {
        let mut w = ChainWalker::new(key, keyed);
        rows.iter().for_each(|r| w.check(r));
        w.finish()
    }

    #[test]
    fn an_untouched_unkeyed_chain_verifies() {
        let (rows, keyed) = chain(5, None);
        let check = walk(&rows, keyed);
        assert_eq!(check.rows, 5);
        assert_eq!(check.first_broken, None);
        assert_eq!((check.keyed_from, check.keyed_rows), (None, 0));
        assert_eq!(check.head_hash.as_deref(), Some(rows[4].hash.as_str()));
    }

    #[test]
    fn a_chain_keyed_part_way_verifies_both_segments() {
        let (rows, keyed) = chain(6, Some(4));
        let check = walk(&rows, keyed);
        assert!(check.is_intact(), "{check:?}");
        assert_eq!((check.keyed_from, check.keyed_rows), (Some(4), 3));
    }

    #[test]
    fn a_changed_field_breaks_that_row_only() {
        let (mut rows, keyed) = chain(5, None);
        rows[2].outcome = "not_found".into();
        let check = walk(&rows, keyed);
        assert_eq!(check.first_broken, Some(3));
        assert_eq!(check.broken_because, Some(ChainBreak::Hash));
    }

    #[test]
    fn a_removed_middle_row_breaks_the_row_after_it() {
        let (mut rows, keyed) = chain(5, Some(1));
        rows.remove(1);
        let check = walk(&rows, keyed);
        assert_eq!(check.first_broken, Some(3));
        assert_eq!(check.broken_because, Some(ChainBreak::Gap));
    }

    /// What someone with the database but not the key file can do: change a keyed row and
    /// recompute its hash and every later one with the unkeyed encoding.
    #[test]
    fn a_keyed_row_rehashed_without_the_key_is_a_keyed_hash_mismatch() {
        let (mut rows, keyed) = chain(5, Some(1));
        rows[2].outcome = "not_found".into();
        for i in 2..rows.len() {
            let prev = rows[i - 1].hash.clone();
            rows[i].prev_hash.clone_from(&prev);
            rows[i].hash = rows[i].canonical().unkeyed_hash(&prev);
        }
        let check = walk(&rows, keyed);
        assert_eq!(check.first_broken, Some(3));
        assert_eq!(check.broken_because, Some(ChainBreak::KeyedHash));
    }

    /// Rewriting the unkeyed rows before keying started (and re-linking the first keyed row)
    /// breaks the keying record, which covers the last unkeyed row's hash.
    #[test]
    fn rewriting_the_unkeyed_part_breaks_the_keying_record() {
        let (mut rows, keyed) = chain(5, Some(4));
        rows[1].outcome = "not_found".into();
        for i in 1..3 {
            let prev = rows[i - 1].hash.clone();
            rows[i].prev_hash.clone_from(&prev);
            rows[i].hash = rows[i].canonical().unkeyed_hash(&prev);
        }
        let prev = rows[2].hash.clone();
        rows[3].prev_hash = prev;
        let check = walk(&rows, keyed);
        assert_eq!(check.first_broken, Some(4));
        assert_eq!(check.broken_because, Some(ChainBreak::KeyedFrom));
    }

    #[test]
    fn another_key_does_not_verify_a_keyed_chain() {
        let (rows, keyed) = chain(3, Some(2));
        let other = ChainKey::from_secrets(&Secrets::from_bytes([9; 32]));
        let check = walk_with(other, &rows, keyed);
        assert_eq!(check.first_broken, Some(2));
        assert_eq!(check.broken_because, Some(ChainBreak::KeyedFrom));
    }

    #[test]
    fn a_log_cut_off_before_its_first_keyed_row_is_reported() {
        let (rows, keyed) = chain(5, Some(4));
        let check = walk(&rows[..2], keyed);
        assert_eq!(check.first_broken, Some(4));
        assert_eq!(check.broken_because, Some(ChainBreak::KeyedFrom));
    }

    #[test]
    fn null_and_empty_text_hash_differently() {
        let mut a = row(1, GENESIS_HASH, None);
        a.request_id = Some(String::new());
        let b = row(1, GENESIS_HASH, None);
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
        let mut a = row(1, GENESIS_HASH, None);
        a.actor = Some("ab".into());
        a.phone = Some("c".into());
        let mut b = row(1, GENESIS_HASH, None);
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
        let r = row(1, GENESIS_HASH, None);
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
