//! PostgreSQL datasources are reached as a role that can only read (security review, issue 18
//! finding 9; R5).
//!
//! Every plugin query already runs in a `READ ONLY` transaction after a statement check (see
//! [`super::query`]), but those are the host's locks: a role that may write would still
//! write through a function or a bug in them. So the role itself is checked when a datasource
//! is added (`jingxun datasource add`) and again on every connection the host opens: a
//! superuser, a role that may create roles, and a role that owns, or may `INSERT`, `UPDATE`,
//! `DELETE` or `TRUNCATE`, any table or view outside the system schemas is refused, with the
//! SQL that creates a role that may only `SELECT` ([`select_only_role_sql`]). Each connection
//! also starts with `default_transaction_read_only` on.

use std::str::FromStr;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, Row};

/// Longest the check may take, connecting included.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many writable tables are named in a refusal.
const NAMED_TABLES: i64 = 5;

/// The SQL that creates a role that may only read the tables of `schema` in `database` (now
/// and later ones created by the role that runs it), for the refusals' messages and the
/// documentation.
pub fn select_only_role_sql(database: &str, schema: &str) -> String {
    format!(
        "CREATE ROLE jingxun_reader LOGIN PASSWORD 'choose-a-password'; \
         GRANT CONNECT ON DATABASE {database} TO jingxun_reader; \
         GRANT USAGE ON SCHEMA {schema} TO jingxun_reader; \
         GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO jingxun_reader; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO jingxun_reader;"
    )
}

/// Why a PostgreSQL datasource's role is refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The database did not answer the check.
    #[error("cannot check the datasource's role: {0}")]
    Unreachable(String),
    /// A superuser, or a role that may create roles (and so grant itself anything).
    #[error(
        "the datasource's role `{role}` is {what}, so it could write whatever the host's read-only \
         checks miss: connect as a role that may only SELECT, e.g. {how}"
    )]
    Privileged {
        role: String,
        /// "a superuser" or "allowed to create roles".
        what: &'static str,
        how: String,
    },
    /// A role that owns or may change some tables.
    #[error(
        "the datasource's role `{role}` owns or may INSERT, UPDATE, DELETE or TRUNCATE {tables}: \
         connect as a role that may only SELECT, e.g. {how}"
    )]
    CanWrite {
        role: String,
        /// Some of them, `schema.table`, comma-separated.
        tables: String,
        how: String,
    },
}

/// Checks the role of an open PostgreSQL connection (see the module documentation) and turns
/// `default_transaction_read_only` on for the session.
pub async fn check_connection(conn: &mut AnyConnection) -> Result<(), RoleError> {
    let unreachable = |e: sqlx::Error| RoleError::Unreachable(e.to_string());
    conn.execute("SET SESSION default_transaction_read_only = on")
        .await
        .map_err(unreachable)?;
    let me = sqlx::query(
        "SELECT current_user::text AS role, current_database()::text AS db, \
         coalesce(current_schema()::text, 'public') AS schema, \
         r.rolsuper AS superuser, r.rolcreaterole AS createrole \
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(unreachable)?;
    let role: String = me.try_get("role").map_err(unreachable)?;
    let database: String = me.try_get("db").map_err(unreachable)?;
    let schema: String = me.try_get("schema").map_err(unreachable)?;
    let how = select_only_role_sql(&database, &schema);
    let what = if me.try_get::<bool, _>("superuser").map_err(unreachable)? {
        Some("a superuser")
    } else if me.try_get::<bool, _>("createrole").map_err(unreachable)? {
        Some("allowed to create roles")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(RoleError::Privileged { role, what, how });
    }
    // Tables, partitioned tables, views, materialised views and foreign tables outside the
    // system schemas that the role owns (or inherits the owner's rights on) or may change.
    let writable = sqlx::query(
        r"SELECT n.nspname::text || '.' || c.relname::text AS name
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND n.nspname NOT LIKE 'pg\_%'
            AND n.nspname <> 'information_schema'
            AND (pg_catalog.pg_has_role(c.relowner, 'USAGE')
                 OR pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
                 OR pg_catalog.has_any_column_privilege(c.oid, 'INSERT, UPDATE'))
          ORDER BY 1
          LIMIT $1",
    )
    .bind(NAMED_TABLES + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(unreachable)?;
    if writable.is_empty() {
        return Ok(());
    }
    let mut names: Vec<String> = writable
        .iter()
        .take(NAMED_TABLES as usize)
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<Result<_, _>>()
        .map_err(unreachable)?;
    if writable.len() as i64 > NAMED_TABLES {
        names.push("...".into());
    }
    Err(RoleError::CanWrite {
        role,
        tables: names.join(", "),
        how,
    })
}

/// Connects to the PostgreSQL datasource at `url` once and checks its role
/// ([`check_connection`]).
pub async fn check_url(url: &str) -> Result<(), RoleError> {
    sqlx::any::install_default_drivers();
    let options =
        AnyConnectOptions::from_str(url).map_err(|e| RoleError::Unreachable(e.to_string()))?;
    let check = async {
        let mut conn = options
            .connect()
            .await
            .map_err(|e| RoleError::Unreachable(e.to_string()))?;
        let checked = check_connection(&mut conn).await;
        let _ = conn.close().await;
        checked
    };
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| {
            Err(RoleError::Unreachable(format!(
                "no answer within {} s",
                CHECK_TIMEOUT.as_secs()
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::super::query::{Pools, run_query};
    use super::*;
    use crate::plugins::contract::v1_1::jingxun::plugin::datasource::QueryError;
    use crate::testing::POSTGRES_ENV;

    /// A database of its own on the PostgreSQL test server with roles of their own (roles are
    /// the server's, so their names carry the process id), dropped when the test ends.
    struct Scratch {
        admin: String,
        database: String,
        roles: Vec<String>,
    }

    impl Scratch {
        async fn create(admin: &str) -> Scratch {
            let suffix = format!(
                "{}_{}",
                std::process::id(),
                crate::clock::now_ms() % 1_000_000
            );
            let scratch = Scratch {
                admin: admin.to_owned(),
                database: format!("jx_role_{suffix}"),
                roles: ["reader", "writer", "owner", "maker"]
                    .iter()
                    .map(|r| format!("jx_{r}_{suffix}"))
                    .collect(),
            };
            scratch
                .run(
                    &scratch.admin,
                    &format!("CREATE DATABASE {}", scratch.database),
                )
                .await;
            let [reader, writer, owner, maker] = [0, 1, 2, 3].map(|i| scratch.roles[i].clone());
            let db = &scratch.database;
            scratch
                .run(
                    &scratch.admin,
                    &format!(
                        "CREATE ROLE {reader} LOGIN; CREATE ROLE {writer} LOGIN; \
                         CREATE ROLE {owner} LOGIN; CREATE ROLE {maker} LOGIN CREATEROLE; \
                         GRANT CONNECT ON DATABASE {db} TO {reader}, {writer}, {owner}, {maker}"
                    ),
                )
                .await;
            scratch
                .run(
                    &scratch.as_admin(),
                    &format!(
                        "CREATE SCHEMA police; \
                         CREATE TABLE police.vehicles (plate text PRIMARY KEY, owner text); \
                         INSERT INTO police.vehicles VALUES ('京A12345', '张三'); \
                         CREATE TABLE police.notes (id int); \
                         GRANT USAGE ON SCHEMA police TO {reader}, {writer}, {owner}, {maker}; \
                         GRANT SELECT ON ALL TABLES IN SCHEMA police TO {reader}, {writer}, {maker}; \
                         GRANT INSERT (id) ON police.notes TO {writer}; \
                         ALTER TABLE police.notes OWNER TO {owner}"
                    ),
                )
                .await;
            scratch
        }

        /// The scratch database's URL for the test server's administrator.
        fn as_admin(&self) -> String {
            let (base, _) = self.admin.split_once('?').unwrap_or((&self.admin, ""));
            let (server, _) = base.rsplit_once('/').unwrap();
            format!("{server}/{}", self.database)
        }

        /// The scratch database's URL for `role` (the test server trusts local logins).
        fn url(&self, role: &str) -> String {
            let (scheme, rest) = self.admin.split_once("://").unwrap();
            let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
            let host = rest.split(['/', '?']).next().unwrap();
            format!("{scheme}://{role}@{host}/{}", self.database)
        }

        async fn run(&self, url: &str, sql: &str) {
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let (admin, database, roles) = (
                self.admin.clone(),
                self.database.clone(),
                self.roles.join(", "),
            );
            // Dropped on a thread of its own: Drop may run on the test's runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    sqlx::any::install_default_drivers();
                    if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                        // Two statements: DROP DATABASE cannot run in a transaction block.
                        for sql in [
                            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                            format!("DROP ROLE IF EXISTS {roles}"),
                        ] {
                            if let Err(e) = sqlx::raw_sql(&sql).execute(&mut conn).await {
                                eprintln!("cannot clean up ({sql}): {e}");
                            }
                        }
                    }
                });
            })
            .join();
        }
    }

    #[tokio::test]
    async fn a_postgres_datasource_is_refused_unless_its_role_can_only_select() {
        let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
            eprintln!("{POSTGRES_ENV} is not set: skipping");
            return;
        };
        let scratch = Scratch::create(&admin).await;
        let [reader, writer, owner, maker] = [0, 1, 2, 3].map(|i| scratch.roles[i].clone());

        let superuser = check_url(&scratch.as_admin()).await.unwrap_err();
        assert!(
            matches!(&superuser, RoleError::Privileged { what, .. } if *what == "a superuser"),
            "{superuser:?}"
        );
        assert!(
            superuser
                .to_string()
                .contains("GRANT SELECT ON ALL TABLES IN SCHEMA"),
            "the refusal says how to make a SELECT-only role: {superuser}"
        );
        let maker = check_url(&scratch.url(&maker)).await.unwrap_err();
        assert!(
            matches!(&maker, RoleError::Privileged { what, .. } if what.contains("create roles")),
            "{maker:?}"
        );
        for role in [writer, owner] {
            let refused = check_url(&scratch.url(&role)).await.unwrap_err();
            assert!(
                matches!(&refused, RoleError::CanWrite { tables, .. } if tables == "police.notes"),
                "{role}: {refused:?}"
            );
        }
        check_url(&scratch.url(&reader)).await.unwrap();

        // The host's own connections are checked too: a plugin's query through a superuser
        // datasource fails and says why, through the SELECT-only role it is answered.
        let pools = Pools::default();
        let sql = "SELECT owner FROM police.vehicles WHERE plate = $1";
        let plate = || {
            vec![
                crate::plugins::contract::v1_1::jingxun::plugin::types::Value::Text(
                    "京A12345".into(),
                ),
            ]
        };
        let later = || std::time::Instant::now() + super::super::QUERY_TIMEOUT;
        let refused = run_query(&pools, "su", &scratch.as_admin(), sql, plate(), later())
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, QueryError::Unavailable(m) if m.contains("superuser")),
            "{refused:?}"
        );
        let rows = run_query(
            &pools,
            "police",
            &scratch.url(&reader),
            sql,
            plate(),
            later(),
        )
        .await
        .unwrap();
        assert_eq!(rows.rows.len(), 1);
    }
}
