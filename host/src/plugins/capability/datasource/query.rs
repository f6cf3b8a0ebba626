//! The `datasource.query` capability: the statement guard and read-only execution.
//!
//! Three independent locks keep a plugin's query read-only (R5):
//! 1. [`check_statement`]: one statement, starting with `SELECT` or `WITH`, with no `;` and none
//!    of the words that write or reach outside (`INSERT`, `PRAGMA`, `ATTACH`...) outside string
//!    literals, quoted identifiers and comments. Hand-written rather than a SQL parser crate:
//!    the rule is lexical, a parser for two dialects would be far larger, and the real guarantee
//!    is the next two locks.
//! 2. The connection: SQLite datasources are opened with `mode=ro` and `PRAGMA query_only`;
//!    PostgreSQL ones must log in as a role that can only read, checked on every connection
//!    ([`super::role`]), with `default_transaction_read_only` on.
//! 3. The transaction: every query runs inside `BEGIN READ ONLY` on PostgreSQL (with a
//!    `statement_timeout`), a deferred transaction on SQLite, and is rolled back afterwards.
//!
//! Parameters are bound (`$1`, `$2`...), never spliced. At most [`MAX_ROWS`] rows are returned;
//! more is [`QueryError::TooManyRows`]. Each query ends at [`QUERY_TIMEOUT`] or at the plugin
//! call's deadline, whichever comes first, and is *stopped* there, not only abandoned: on
//! PostgreSQL by `statement_timeout`, on SQLite by a progress handler that interrupts the
//! statement (which is why SQLite datasources use sqlx's SQLite driver directly: its `Any`
//! driver gives no access to the connection's handle).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow, AnyTypeInfoKind};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{AnyPool, Column, Connection, Executor, Row, TypeInfo, ValueRef};

use crate::plugins::contract::v1_1::jingxun::plugin::datasource::{QueryError, Rows};
use crate::plugins::contract::v1_1::jingxun::plugin::types::Value;

/// Most rows one query returns.
pub const MAX_ROWS: u32 = 500;
/// Longest a query may take, connecting included.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest SQL text accepted.
const MAX_SQL_LEN: usize = 16 * 1024;

/// Words that never appear (outside literals) in a statement a plugin may run.
const FORBIDDEN: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "UPSERT",
    "MERGE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "PRAGMA",
    "ATTACH",
    "DETACH",
    "VACUUM",
    "REINDEX",
    "ANALYZE",
    "GRANT",
    "REVOKE",
    "COPY",
    "CALL",
    "DO",
    "EXECUTE",
    "PREPARE",
    "LOCK",
    "LISTEN",
    "NOTIFY",
    "SET",
    "RESET",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "LOAD_EXTENSION",
    "INTO",
];

/// Checks that `sql` is one read-only `SELECT`/`WITH` statement. The error says why not.
pub fn check_statement(sql: &str) -> Result<(), String> {
    if sql.len() > MAX_SQL_LEN {
        return Err(format!("the statement is longer than {MAX_SQL_LEN} bytes"));
    }
    let words = words_outside_literals(sql)?;
    match words.first().map(String::as_str) {
        Some("SELECT") | Some("WITH") => {}
        Some(other) => {
            return Err(format!(
                "only SELECT or WITH ... SELECT statements may run, not {other}"
            ));
        }
        None => return Err("the statement is empty".into()),
    }
    if let Some(word) = words.iter().find(|w| FORBIDDEN.contains(&w.as_str())) {
        return Err(format!("{word} is not allowed in a read-only query"));
    }
    Ok(())
}

/// The upper-cased words of `sql` outside string literals, quoted identifiers and comments;
/// an error for `;` or an unterminated literal.
fn words_outside_literals(sql: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                // A literal or quoted identifier; a doubled quote inside escapes it.
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err("a quoted text is not closed".into()),
                        Some(&q) if q == c => {
                            if chars.get(j + 1) == Some(&c) {
                                j += 2;
                            } else {
                                break;
                            }
                        }
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            '[' => {
                let end = chars[i..].iter().position(|&x| x == ']');
                i += end.ok_or("a [quoted identifier] is not closed")? + 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let rest: String = chars[i + 2..].iter().collect();
                let end = rest.find("*/").ok_or("a /* comment */ is not closed")?;
                i += 2 + rest[..end].chars().count() + 2;
            }
            ';' => return Err("only one statement may run: remove the `;`".into()),
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                words.push(chars[start..i].iter().collect::<String>().to_uppercase());
            }
            '$' => {
                // A `$1` placeholder, or a PostgreSQL dollar-quoted string, which is refused
                // because it could hide anything.
                if chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    return Err("dollar-quoted strings are not allowed; use parameters".into());
                }
            }
            _ => i += 1,
        }
    }
    Ok(words)
}

/// The datasources' connection pools, opened read-only on first use and kept.
#[derive(Default)]
pub struct Pools {
    pools: Mutex<HashMap<String, (String, Opened)>>,
}

/// A pool, and why its last connection was refused (a PostgreSQL role that can write), which
/// the pool itself only reports as a timeout.
#[derive(Clone)]
struct Opened {
    pool: DatasourcePool,
    refused: Arc<Mutex<Option<String>>>,
}

/// A datasource's connections: SQLite through its own driver (for the progress handler that
/// interrupts a query at its deadline), PostgreSQL through `Any`.
#[derive(Clone)]
enum DatasourcePool {
    Sqlite(SqlitePool),
    Postgres(AnyPool),
}

/// SQLite virtual-machine steps between two looks at the deadline (a few microseconds each).
const PROGRESS_STEPS: i32 = 1_000;

impl Opened {
    /// `error`, or the refusal of the datasource's role when there was one.
    fn explain(&self, error: QueryError) -> QueryError {
        match (
            error,
            self.refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        ) {
            (QueryError::Unavailable(_), Some(refusal)) => QueryError::Unavailable(refusal),
            (error, _) => error,
        }
    }
}

impl Pools {
    /// The pool of the datasource `name` at `url` (a new one if the URL changed).
    fn pool(&self, name: &str, url: &str) -> Result<Opened, QueryError> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, opened)) = pools.get(name)
            && known == url
        {
            return Ok(opened.clone());
        }
        let opened = open_read_only(url)
            .map_err(|e| QueryError::Unavailable(format!("datasource {name}: {e}")))?;
        pools.insert(name.to_owned(), (url.to_owned(), opened.clone()));
        Ok(opened)
    }
}

/// A lazily connecting pool that cannot write.
fn open_read_only(url: &str) -> Result<Opened, String> {
    let refused: Arc<Mutex<Option<String>>> = Arc::default();
    if url.starts_with("sqlite:") {
        let options =
            SqliteConnectOptions::from_str(&sqlite_read_only(url)).map_err(|e| e.to_string())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(QUERY_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA query_only = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 2000").await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        return Ok(Opened {
            pool: DatasourcePool::Sqlite(pool),
            refused,
        });
    }
    sqlx::any::install_default_drivers();
    let options = AnyConnectOptions::from_str(url).map_err(|e| e.to_string())?;
    // The role must not be able to write (checked on every connection: grants change), and the
    // session's transactions are read-only by default.
    let checked = refused.clone();
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(QUERY_TIMEOUT)
        .after_connect(move |conn, _| {
            let refused = checked.clone();
            Box::pin(async move {
                let checked = super::role::check_connection(conn).await;
                let mut last = refused.lock().unwrap_or_else(|e| e.into_inner());
                match checked {
                    Ok(()) => {
                        *last = None;
                        Ok(())
                    }
                    Err(e) => {
                        // Once per refusal, not once per attempt of the pool.
                        if last.as_deref() != Some(e.to_string().as_str()) {
                            tracing::error!(error = %e, "refused a connection to a PostgreSQL datasource");
                        }
                        *last = Some(e.to_string());
                        Err(sqlx::Error::Configuration(Box::new(e)))
                    }
                }
            })
        })
        .connect_lazy_with(options);
    Ok(Opened {
        pool: DatasourcePool::Postgres(pool),
        refused,
    })
}

/// The SQLite URL with `mode=ro`, whatever mode it asked for.
fn sqlite_read_only(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    params.push("mode=ro");
    format!("{base}?{}", params.join("&"))
}

/// Runs a checked statement on the datasource, stopped at [`QUERY_TIMEOUT`] or at `deadline`
/// (the plugin call's), whichever comes first. `url` comes from the `datasources` table.
pub async fn run_query(
    pools: &Pools,
    name: &str,
    url: &str,
    sql: &str,
    params: Vec<Value>,
    deadline: Instant,
) -> Result<Rows, QueryError> {
    check_statement(sql).map_err(QueryError::InvalidQuery)?;
    let opened = pools.pool(name, url)?;
    let until = deadline.min(Instant::now() + QUERY_TIMEOUT);
    let limit = until.saturating_duration_since(Instant::now());
    let too_long = || {
        QueryError::Unavailable(format!(
            "the query on {name} took longer than {} ms and was stopped",
            limit.as_millis()
        ))
    };
    // SQLite stops itself at `until`; the timer is the net under it (a connection that never
    // comes), a moment later so that the handler's own error is the one seen.
    let net = match opened.pool {
        DatasourcePool::Sqlite(_) => limit + Duration::from_millis(500),
        DatasourcePool::Postgres(_) => limit,
    };
    match tokio::time::timeout(net, execute(&opened.pool, sql, params, until)).await {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(Stopped::Interrupted)) => Err(too_long()),
        Ok(Err(Stopped::Failed(e))) => Err(opened.explain(e)),
        Err(_) => Err(opened.explain(too_long())),
    }
}

/// `query` with the plugin's `params` bound in order, for either driver (a macro: sqlx's
/// generic binding would need a bound per value type and driver).
macro_rules! bind_values {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for value in $params {
            query = match value {
                Value::Null => query.bind(None::<String>),
                Value::Integer(i) => query.bind(i),
                Value::Real(r) => query.bind(r),
                Value::Text(t) => query.bind(t),
                Value::Blob(b) => query.bind(b),
            };
        }
        query
    }};
}

/// Runs `sql` without the statement check: the connection and transaction locks only (tests
/// use it to show that those hold on their own), stopped at `until`.
async fn execute(
    pool: &DatasourcePool,
    sql: &str,
    params: Vec<Value>,
    until: Instant,
) -> Result<Rows, Stopped> {
    match pool {
        DatasourcePool::Postgres(pool) => Ok(execute_postgres(pool, sql, params, until).await?),
        DatasourcePool::Sqlite(pool) => execute_sqlite(pool, sql, params, until).await,
    }
}

/// Why a query gave no rows.
#[derive(Debug)]
enum Stopped {
    Failed(QueryError),
    /// SQLite's progress handler stopped it at its deadline.
    Interrupted,
}

impl From<QueryError> for Stopped {
    fn from(e: QueryError) -> Stopped {
        Stopped::Failed(e)
    }
}

async fn execute_postgres(
    pool: &AnyPool,
    sql: &str,
    params: Vec<Value>,
    until: Instant,
) -> Result<Rows, QueryError> {
    let mut tx = pool
        .begin_with("BEGIN READ ONLY")
        .await
        .map_err(unavailable)?;
    let timeout = format!(
        "SET LOCAL statement_timeout = {}",
        until
            .saturating_duration_since(Instant::now())
            .as_millis()
            .max(1)
    );
    (&mut *tx)
        .execute(timeout.as_str())
        .await
        .map_err(unavailable)?;
    let query = bind_values!(sqlx::query(sql), params);
    let mut rows = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    {
        let mut stream = query.fetch(&mut *tx);
        while let Some(row) = stream.try_next().await.map_err(query_error)? {
            if rows.len() >= MAX_ROWS as usize {
                return Err(QueryError::TooManyRows(MAX_ROWS));
            }
            if columns.is_none() {
                columns = Some(row.columns().iter().map(|c| c.name().to_owned()).collect());
            }
            rows.push(row_values(&row).map_err(query_error)?);
        }
    }
    let columns = match columns {
        Some(c) => c,
        // No rows: ask the statement for its column names.
        None => (&mut *tx)
            .describe(sql)
            .await
            .map(|d| d.columns().iter().map(|c| c.name().to_owned()).collect())
            .unwrap_or_default(),
    };
    tx.rollback().await.map_err(unavailable)?;
    Ok(Rows { columns, rows })
}

async fn execute_sqlite(
    pool: &SqlitePool,
    sql: &str,
    params: Vec<Value>,
    until: Instant,
) -> Result<Rows, Stopped> {
    let mut conn = pool.acquire().await.map_err(unavailable)?;
    // Every query sets its own deadline on the connection it got (replacing the last one's).
    conn.lock_handle()
        .await
        .map_err(unavailable)?
        .set_progress_handler(PROGRESS_STEPS, move || Instant::now() < until);
    let mut tx = conn.begin().await.map_err(unavailable)?;
    let query = bind_values!(sqlx::query(sql), params);
    let mut rows = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    {
        let mut stream = query.fetch(&mut *tx);
        loop {
            let row = match stream.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) if interrupted(&e) => return Err(Stopped::Interrupted),
                Err(e) => return Err(query_error(e).into()),
            };
            if rows.len() >= MAX_ROWS as usize {
                return Err(QueryError::TooManyRows(MAX_ROWS).into());
            }
            if columns.is_none() {
                columns = Some(row.columns().iter().map(|c| c.name().to_owned()).collect());
            }
            rows.push(sqlite_values(&row).map_err(query_error)?);
        }
    }
    let columns = match columns {
        Some(c) => c,
        None => (&mut *tx)
            .describe(sql)
            .await
            .map(|d| d.columns().iter().map(|c| c.name().to_owned()).collect())
            .unwrap_or_default(),
    };
    tx.rollback().await.map_err(unavailable)?;
    Ok(Rows { columns, rows })
}

/// Whether SQLite stopped the statement because the progress handler said so
/// (`SQLITE_INTERRUPT`).
fn interrupted(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("9"))
}

/// A SQLite row's values, by each value's storage class.
fn sqlite_values(row: &SqliteRow) -> Result<Vec<Value>, sqlx::Error> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let class = raw.type_info().name().to_owned();
            Ok(match class.as_str() {
                "INTEGER" | "BOOLEAN" => Value::Integer(row.try_get::<i64, _>(i)?),
                "REAL" => Value::Real(row.try_get::<f64, _>(i)?),
                "BLOB" => Value::Blob(row.try_get::<Vec<u8>, _>(i)?),
                _ => Value::Text(row.try_get::<String, _>(i)?),
            })
        })
        .collect()
}

/// The row's values, by the type each value has (SQLite types per value, not per column).
fn row_values(row: &AnyRow) -> Result<Vec<Value>, sqlx::Error> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            Ok(match raw.type_info().kind() {
                AnyTypeInfoKind::Null => Value::Null,
                AnyTypeInfoKind::Bool => Value::Integer(i64::from(row.try_get::<bool, _>(i)?)),
                AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                    Value::Integer(row.try_get::<i64, _>(i)?)
                }
                AnyTypeInfoKind::Real => Value::Real(f64::from(row.try_get::<f32, _>(i)?)),
                AnyTypeInfoKind::Double => Value::Real(row.try_get::<f64, _>(i)?),
                AnyTypeInfoKind::Text => Value::Text(row.try_get::<String, _>(i)?),
                AnyTypeInfoKind::Blob => Value::Blob(row.try_get::<Vec<u8>, _>(i)?),
            })
        })
        .collect()
}

fn unavailable(e: sqlx::Error) -> QueryError {
    QueryError::Unavailable(e.to_string())
}

/// Errors the database raised about the statement itself (syntax, a write refused by the
/// read-only connection, wrong parameters) are the plugin's; the rest are the datasource's.
fn query_error(e: sqlx::Error) -> QueryError {
    match e {
        sqlx::Error::Database(db) => QueryError::InvalidQuery(db.message().to_owned()),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_) => {
            QueryError::InvalidQuery(e.to_string())
        }
        other => QueryError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_selects_and_ctes_pass() {
        check_statement("SELECT owner, model FROM vehicles WHERE plate = $1").unwrap();
        check_statement("  with x as (select 1) select * from x").unwrap();
        check_statement("SELECT 'DELETE; DROP' AS note, \"update\" FROM t -- ; insert\n").unwrap();
        check_statement("SELECT /* ; DELETE */ 1").unwrap();
    }

    #[test]
    fn writes_and_escapes_are_refused_with_the_reason() {
        for (sql, why) in [
            ("DELETE FROM items", "only SELECT"),
            ("SELECT 1; DELETE FROM items", "one statement"),
            ("PRAGMA table_info(x)", "only SELECT"),
            (
                "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                "INSERT",
            ),
            ("SELECT * INTO copy FROM t", "INTO"),
            ("SELECT load_extension('x')", "LOAD_EXTENSION"),
            ("SELECT 'unterminated", "not closed"),
            ("SELECT $$ DELETE $$", "dollar"),
            ("", "empty"),
        ] {
            let err = check_statement(sql).unwrap_err();
            assert!(err.contains(why), "{sql}: {err}");
        }
    }

    #[test]
    fn sqlite_urls_are_forced_read_only() {
        assert_eq!(sqlite_read_only("sqlite://a.db"), "sqlite://a.db?mode=ro");
        assert_eq!(
            sqlite_read_only("sqlite://a.db?mode=rwc&cache=shared"),
            "sqlite://a.db?cache=shared&mode=ro"
        );
    }

    async fn scratch_db() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ds.db").display());
        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect(&format!("{url}?mode=rwc")).await.unwrap();
        pool.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, weight REAL)")
            .await
            .unwrap();
        for i in 0..600 {
            sqlx::query("INSERT INTO items (id, name, weight) VALUES ($1, $2, $3)")
                .bind(i as i64)
                .bind(format!("item{i}"))
                .bind(i as f64 / 2.0)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        (dir, url)
    }

    /// R5: even a statement that slipped past the text check cannot write.
    #[tokio::test]
    async fn the_connection_itself_is_read_only() {
        let (_dir, url) = scratch_db().await;
        let pool = open_read_only(&url).unwrap().pool;
        let until = Instant::now() + QUERY_TIMEOUT;
        let err = execute(&pool, "DELETE FROM items", vec![], until)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Stopped::Failed(QueryError::InvalidQuery(_))),
            "{err:?}"
        );
        let rows = execute(&pool, "SELECT count(*) AS n FROM items", vec![], until)
            .await
            .unwrap();
        assert!(matches!(rows.rows[0][0], Value::Integer(600)));
    }

    #[tokio::test]
    async fn binds_parameters_caps_rows_and_names_columns() {
        let (_dir, url) = scratch_db().await;
        let pools = Pools::default();
        let rows = run_query(
            &pools,
            "ds",
            &url,
            "SELECT id, name, weight FROM items WHERE name = $1",
            vec![Value::Text("item7".into())],
            later(),
        )
        .await
        .unwrap();
        assert_eq!(rows.columns, ["id", "name", "weight"]);
        assert!(
            matches!(&rows.rows[0][..], [Value::Integer(7), Value::Text(n), Value::Real(w)] if n == "item7" && *w == 3.5)
        );
        let none = run_query(
            &pools,
            "ds",
            &url,
            "SELECT id, name FROM items WHERE id < 0",
            vec![],
            later(),
        )
        .await
        .unwrap();
        assert!(none.rows.is_empty());
        assert_eq!(none.columns, ["id", "name"]);
        let err = run_query(&pools, "ds", &url, "SELECT * FROM items", vec![], later())
            .await
            .unwrap_err();
        assert!(matches!(err, QueryError::TooManyRows(MAX_ROWS)), "{err:?}");
    }

    fn later() -> Instant {
        Instant::now() + QUERY_TIMEOUT
    }

    /// Issue 13: a SQLite query that would run for ever is interrupted at its deadline and
    /// frees its connection. The pool has four: after more endless queries than that, a plain
    /// one still gets a connection and answers, which it could not if they were only abandoned.
    #[tokio::test]
    async fn an_endless_sqlite_query_is_interrupted_at_its_deadline_and_frees_its_connection() {
        let (_dir, url) = scratch_db().await;
        let pools = Pools::default();
        let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                       SELECT count(*) FROM n";
        for _ in 0..6 {
            let soon = Instant::now() + Duration::from_millis(100);
            let err = run_query(&pools, "ds", &url, endless, vec![], soon)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, QueryError::Unavailable(why) if why.contains("was stopped")),
                "{err:?}"
            );
        }
        let rows = run_query(
            &pools,
            "ds",
            &url,
            "SELECT count(*) AS n FROM items",
            vec![],
            later(),
        )
        .await
        .unwrap();
        assert!(matches!(rows.rows[0][0], Value::Integer(600)));
    }
}
