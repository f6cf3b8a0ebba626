//! An in-memory [`Datasource`] for the plugins' native unit tests: answers with prepared rows
//! and records every statement, checking that no text parameter was spliced into the SQL.

use std::cell::RefCell;

use crate::plugin::{Datasource, QueryFailure};
use crate::record::{Cell, Record};

/// Answers every query with the same prepared result and records the calls.
#[derive(Debug)]
pub struct FakeDatasource {
    answer: Result<Vec<Record>, QueryFailure>,
    calls: RefCell<Vec<(String, Vec<Cell>)>>,
}

impl FakeDatasource {
    /// A datasource whose queries all return `rows`.
    pub fn with_rows(rows: Vec<Record>) -> Self {
        FakeDatasource {
            answer: Ok(rows),
            calls: RefCell::new(Vec::new()),
        }
    }

    /// A datasource whose queries all fail with `failure`.
    pub fn failing(failure: QueryFailure) -> Self {
        FakeDatasource {
            answer: Err(failure),
            calls: RefCell::new(Vec::new()),
        }
    }

    /// The statements run so far, with their parameters.
    pub fn calls(&self) -> Vec<(String, Vec<Cell>)> {
        self.calls.borrow().clone()
    }
}

impl Datasource for FakeDatasource {
    /// Panics (failing the test) if a text parameter appears verbatim in the SQL or the
    /// statement has no `$1` although parameters were given.
    fn query(&self, sql: &str, params: &[Cell]) -> Result<Vec<Record>, QueryFailure> {
        for param in params {
            if let Cell::Text(text) = param {
                assert!(
                    !sql.contains(text.as_str()),
                    "parameter {text:?} spliced into {sql}"
                );
            }
        }
        assert!(
            params.is_empty() || sql.contains("$1"),
            "parameters without $1: {sql}"
        );
        self.calls
            .borrow_mut()
            .push((sql.to_owned(), params.to_vec()));
        self.answer.clone()
    }
}

/// A row from `(column, value)` pairs, for tests.
pub fn row(columns: &[(&str, Cell)]) -> Record {
    Record::new(
        columns
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
    )
}
