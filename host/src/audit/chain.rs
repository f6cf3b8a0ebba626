//! The walk that checks a whole audit log: row after row, that ids follow without gaps, that
//! each row links to the one before, that its hash matches its fields (keyed from where keying
//! starts), and that the record of where keying starts verifies. The canonical encoding of a
//! row and its hashes are documented with the store, which writes them (`store/audit/chain.rs`),
//! so that an external auditor with the key file can re-implement the check.

use super::ChainBreak;
use crate::store::audit::{ChainKey, GENESIS_HASH, KeyedFrom, RawAuditRow};

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
    use crate::secrets::Secrets;

    fn key() -> ChainKey {
        ChainKey::from_secrets(&Secrets::for_tests())
    }

    /// Row `id` after `prev_hash`, keyed with `key` or unkeyed.
    fn row(id: i64, prev_hash: &str, key: Option<&ChainKey>) -> RawAuditRow {
        crate::store::audit::test_row(id, prev_hash, key)
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
}
