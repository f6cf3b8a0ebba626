//! The hash chain of the audit log: the canonical encoding of a row, its SHA-256, and the walk
//! that checks a whole log.
//!
//! # Canonical encoding (version 1)
//! The hash of a row is `hex(SHA-256(bytes))` where `bytes` is, in this order:
//! 1. the domain tag `jingxun-audit-v1` followed by one `0x00` byte;
//! 2. `prev_hash`, `id` and `at` (milliseconds), then `component`, `event`, `actor`, `phone`,
//!    `object`, `outcome`, `details` (the JSON text exactly as stored), `source`, `request_id`.
//!
//! Integers are 8 bytes big-endian (two's complement). Each text field is `0x00` when NULL, else
//! `0x01`, its UTF-8 length as 8 bytes big-endian, and its UTF-8 bytes. The length prefixes make
//! the encoding unambiguous (no two different rows encode to the same bytes), so an external
//! auditor can re-implement the check from this description alone.
//!
//! Row 1 links to [`GENESIS_HASH`]; ids follow without gaps, so removing or inserting a row in the
//! middle breaks the link of the row after it, and changing any field breaks the row's own hash.

use sha2::{Digest, Sha256};

/// `prev_hash` of the first row: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN_TAG: &[u8] = b"jingxun-audit-v1\0";

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
    /// The row's hash when it follows a row whose hash is `prev_hash`.
    pub fn hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(DOMAIN_TAG);
        text(&mut h, Some(prev_hash));
        h.update(self.id.to_be_bytes());
        h.update(self.at.to_be_bytes());
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
            text(&mut h, field);
        }
        hex::encode(h.finalize())
    }
}

fn text(h: &mut Sha256, value: Option<&str>) {
    match value {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
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
    rows: u64,
    last_id: i64,
    last_hash: String,
    first_broken: Option<i64>,
}

impl ChainWalker {
    pub fn new() -> Self {
        ChainWalker {
            rows: 0,
            last_id: 0,
            last_hash: GENESIS_HASH.to_owned(),
            first_broken: None,
        }
    }

    /// The id after which the next page starts.
    pub fn last_id(&self) -> i64 {
        self.last_id
    }

    /// Checks the next row: its id follows the previous one, it links to the previous row's
    /// stored hash, and its own hash matches its fields.
    pub fn check(&mut self, row: &RawAuditRow) {
        let intact = row.id == self.last_id + 1
            && row.prev_hash == self.last_hash
            && row.canonical().hash(&row.prev_hash) == row.hash;
        if !intact && self.first_broken.is_none() {
            self.first_broken = Some(row.id);
        }
        self.rows += 1;
        self.last_id = row.id;
        // Follow the stored hash: one tampered row is reported, the rows after it still link.
        self.last_hash.clone_from(&row.hash);
    }

    pub fn finish(self) -> super::ChainCheck {
        super::ChainCheck {
            rows: self.rows,
            first_broken: self.first_broken,
            head_hash: (self.rows > 0).then_some(self.last_hash),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, prev_hash: &str) -> RawAuditRow {
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
        r.hash = r.canonical().hash(prev_hash);
        r
    }

    fn chain(n: i64) -> Vec<RawAuditRow> {
        let mut rows: Vec<RawAuditRow> = Vec::new();
        for id in 1..=n {
            let prev = rows
                .last()
                .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
            rows.push(row(id, &prev));
        }
        rows
    }

    fn walk(rows: &[RawAuditRow]) -> super::super::ChainCheck {
        let mut w = ChainWalker::new();
        rows.iter().for_each(|r| w.check(r));
        w.finish()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let rows = chain(5);
        let check = walk(&rows);
        assert_eq!(check.rows, 5);
        assert_eq!(check.first_broken, None);
        assert_eq!(check.head_hash.as_deref(), Some(rows[4].hash.as_str()));
    }

    #[test]
    fn a_changed_field_breaks_that_row_only() {
        let mut rows = chain(5);
        rows[2].outcome = "not_found".into();
        assert_eq!(walk(&rows).first_broken, Some(3));
    }

    #[test]
    fn a_removed_middle_row_breaks_the_row_after_it() {
        let mut rows = chain(5);
        rows.remove(1);
        assert_eq!(walk(&rows).first_broken, Some(3));
    }

    #[test]
    fn null_and_empty_text_hash_differently() {
        let mut a = row(1, GENESIS_HASH);
        a.request_id = Some(String::new());
        let b = row(1, GENESIS_HASH);
        assert_ne!(
            a.canonical().hash(GENESIS_HASH),
            b.canonical().hash(GENESIS_HASH)
        );
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = row(1, GENESIS_HASH);
        a.actor = Some("ab".into());
        a.phone = Some("c".into());
        let mut b = row(1, GENESIS_HASH);
        b.actor = Some("a".into());
        b.phone = Some("bc".into());
        assert_ne!(
            a.canonical().hash(GENESIS_HASH),
            b.canonical().hash(GENESIS_HASH)
        );
    }
}
