//! The audit log, read-only: filtered by user, phone, keyword and time, exported as CSV.

use serde::{Deserialize, Serialize};

use super::encode_component;

/// Rows per page.
pub const PAGE_ROWS: u32 = 100;

/// A filter of the audit log (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditSearch {
    /// Who acted (a login, `api:<key>`, `cli:<user>`...).
    pub actor: String,
    /// A phone number, any form.
    pub phone: String,
    /// A command keyword (`CP`).
    pub keyword: String,
    /// An event (`query`, `signin`, `phone.add`...).
    pub event: String,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, China Standard Time.
    pub from: String,
    pub to: String,
    /// Paging: only ids below this.
    pub before: Option<i64>,
}

impl AuditSearch {
    /// The filter as a query string (for links and the CSV export), without `before`.
    pub fn query_string(&self) -> String {
        let fields = [
            ("actor", &self.actor),
            ("phone", &self.phone),
            ("keyword", &self.keyword),
            ("event", &self.event),
            ("from", &self.from),
            ("to", &self.to),
        ];
        fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub rows: Vec<AuditRow>,
    pub next_before: Option<i64>,
}

/// One audit row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at_ms: i64,
    pub component: String,
    pub event: String,
    pub actor: Option<String>,
    pub phone: Option<String>,
    pub object: Option<String>,
    pub outcome: String,
    pub source: Option<String>,
    /// The details as compact JSON.
    pub details: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_becomes_an_encoded_query() {
        let s = AuditSearch {
            actor: "wang".into(),
            keyword: "CP".into(),
            from: "2026-12-01T08:00".into(),
            ..AuditSearch::default()
        };
        assert_eq!(
            s.query_string(),
            "actor=wang&keyword=CP&from=2026-12-01T08%3A00"
        );
    }
}
