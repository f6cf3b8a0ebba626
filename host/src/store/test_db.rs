//! Test databases for every test that needs a store (store, audit, directory, plugins): a SQLite
//! file in a temporary directory always, and, when `JINGXUN_TEST_POSTGRES_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`), a PostgreSQL schema of its own that is dropped
//! when the test ends (even by a panic).

use crate::store::{Backend, GroupedEnqueue, MessageId, NewOutbound, Store};
use crate::testing::POSTGRES_ENV;

/// One API request's enqueue for store tests: a message "hello" to each of `to` in the batch
/// `batch`, answered with its ids' `Debug` text, nothing else written with it.
pub(crate) fn grouped(
    api_key: &str,
    idempotency_key: Option<&str>,
    request_hash: &str,
    batch: &str,
    to: &[&str],
    now_ms: i64,
) -> GroupedEnqueue {
    GroupedEnqueue {
        api_key: api_key.into(),
        idempotency_key: idempotency_key.map(str::to_owned),
        request_hash: request_hash.into(),
        batch: to
            .iter()
            .map(|peer| NewOutbound {
                batch_id: Some(batch.to_owned()),
                ..NewOutbound::new(*peer, "hello")
            })
            .collect(),
        response: Box::new(|ids: &[MessageId]| format!("{ids:?}")),
        also: None,
        now_ms,
    }
}

/// A store for one test, and the URL to reach the same database behind its back.
pub(crate) struct TestDb {
    pub store: Store,
    pub url: String,
    // Held for their Drop: the directory and the schema are removed when the test ends.
    _dir: Option<tempfile::TempDir>,
    _schema: Option<PgSchema>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/jingxun.db", dir.path().display());
        let store = Store::connect(&url).await.expect("open SQLite store");
        TestDb {
            store,
            url,
            _dir: Some(dir),
            _schema: None,
        }
    }

    /// `None` when PostgreSQL tests are not configured.
    pub async fn postgres() -> Option<TestDb> {
        let base = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
        let schema = PgSchema::create(&base).await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{}", schema.name);
        let store = Store::connect(&url).await.expect("open PostgreSQL store");
        Some(TestDb {
            store,
            url,
            _dir: None,
            _schema: Some(schema),
        })
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// A second, independent store on the same database (as another process would have).
    pub async fn connect_again(&self) -> Store {
        Store::connect(&self.url).await.expect("reconnect")
    }

    /// Runs raw SQL on the database, bypassing the library (what a hostile administrator with
    /// a database client could do).
    pub async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let pool = sqlx::AnyPool::connect(&self.url).await?;
        let result = sqlx::raw_sql(sql).execute(&pool).await;
        pool.close().await;
        result.map(|r| r.rows_affected())
    }

    /// One integer from raw SQL.
    pub async fn raw_count(&self, sql: &str) -> i64 {
        use sqlx::Row;
        let pool = sqlx::AnyPool::connect(&self.url).await.expect("connect");
        let row = sqlx::query(sql)
            .fetch_one(&pool)
            .await
            .expect("count query");
        pool.close().await;
        row.try_get(0).expect("an integer")
    }
}

/// A PostgreSQL schema private to one test, dropped when the test ends (even by a panic).
struct PgSchema {
    base_url: String,
    name: String,
}

impl PgSchema {
    async fn create(base_url: &str) -> PgSchema {
        sqlx::any::install_default_drivers();
        let name = format!("jx_test_{:016x}", rand::random::<u64>());
        let pool = sqlx::AnyPool::connect(base_url)
            .await
            .expect("connect to JINGXUN_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&pool)
            .await
            .expect("create test schema");
        pool.close().await;
        PgSchema {
            base_url: base_url.to_owned(),
            name,
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let url = self.base_url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop cannot be async: run the statement on a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let pool = sqlx::AnyPool::connect(&url).await.ok()?;
                let result = sqlx::query(&sql).execute(&pool).await;
                pool.close().await;
                result.ok()
            })
        })
        .join();
    }
}

impl crate::testing::TestBackend for TestDb {
    type Arg<'a> = &'a TestDb;

    async fn sqlite() -> TestDb {
        TestDb::sqlite().await
    }

    async fn postgres() -> Option<TestDb> {
        TestDb::postgres().await
    }

    fn arg(&self) -> &TestDb {
        self
    }

    async fn finish(self) {
        self.store.close().await;
    }
}
