//! Result rows as plain Rust values, so the plugins' logic does not depend on the generated
//! WIT bindings and can be tested natively.

/// One column value, mirroring `jingxun:plugin/types.value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Cell::Integer(value)
    }
}

/// One result row: column names with their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    columns: Vec<(String, Cell)>,
}

impl Record {
    /// A row from `(column, value)` pairs.
    pub fn new(columns: Vec<(String, Cell)>) -> Self {
        Record { columns }
    }

    /// Builds rows from a result's column names and value lists (extra values are dropped,
    /// missing ones read as NULL).
    pub fn from_rows(columns: &[String], rows: Vec<Vec<Cell>>) -> Vec<Record> {
        rows.into_iter()
            .map(|values| {
                let mut values = values.into_iter();
                Record::new(
                    columns
                        .iter()
                        .map(|name| (name.clone(), values.next().unwrap_or(Cell::Null)))
                        .collect(),
                )
            })
            .collect()
    }

    /// The value of `column` (case-insensitive); `None` if the column is absent.
    pub fn get(&self, column: &str) -> Option<&Cell> {
        self.columns
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(column))
            .map(|(_, value)| value)
    }

    /// The value as display text: text as is, numbers in decimal; empty for NULL, blobs and
    /// absent columns. Datasources differ in column types, so this is lenient on purpose.
    pub fn text(&self, column: &str) -> String {
        match self.get(column) {
            Some(Cell::Text(text)) => text.trim().to_owned(),
            Some(Cell::Integer(n)) => n.to_string(),
            Some(Cell::Real(x)) => x.to_string(),
            Some(Cell::Null | Cell::Blob(_)) | None => String::new(),
        }
    }

    /// The value as an integer, also from numeric text or a whole real; `None` otherwise.
    pub fn integer(&self, column: &str) -> Option<i64> {
        match self.get(column)? {
            Cell::Integer(n) => Some(*n),
            Cell::Real(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(*x as i64),
            Cell::Text(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Record {
        Record::from_rows(
            &[
                "name".into(),
                "points".into(),
                "fines".into(),
                "note".into(),
            ],
            vec![vec![
                Cell::from("李明"),
                Cell::Integer(3),
                Cell::from(" 200 "),
                Cell::Null,
            ]],
        )
        .remove(0)
    }

    #[test]
    fn reads_columns_by_name_case_insensitively() {
        let row = row();
        assert_eq!(row.text("NAME"), "李明");
        assert_eq!(row.text("points"), "3");
        assert_eq!(row.text("note"), "");
        assert_eq!(row.text("missing"), "");
    }

    #[test]
    fn reads_integers_from_integer_or_numeric_text_columns() {
        let row = row();
        assert_eq!(row.integer("points"), Some(3));
        assert_eq!(row.integer("fines"), Some(200));
        assert_eq!(row.integer("name"), None);
        assert_eq!(row.integer("note"), None);
    }

    #[test]
    fn short_rows_read_missing_values_as_null() {
        let rows = Record::from_rows(&["a".into(), "b".into()], vec![vec![Cell::Integer(1)]]);
        assert_eq!(rows[0].get("b"), Some(&Cell::Null));
    }
}
