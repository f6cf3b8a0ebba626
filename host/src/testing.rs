//! What the daemon's own tests and the end-to-end tests share: running one test body on each
//! database backend, SQLite always and PostgreSQL when `JINGXUN_TEST_POSTGRES_URL` is set.
//! Compiled into the library (it is a trait and a macro, nothing runs) so that the end-to-end
//! test binary uses the same [`on_both_backends!`](crate::on_both_backends) as the unit tests.

use std::future::Future;

/// The environment variable that turns the PostgreSQL runs on, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_ENV: &str = "JINGXUN_TEST_POSTGRES_URL";

/// A database a test can run on: the store tests' `TestDb`, the end-to-end tests' `Backend`.
pub trait TestBackend: Sized {
    /// What each test function takes (`&TestDb`, or a `Backend` by value).
    type Arg<'a>
    where
        Self: 'a;

    /// The SQLite run's database.
    fn sqlite() -> impl Future<Output = Self>;

    /// The PostgreSQL run's database, `None` when [`POSTGRES_ENV`] is not set (the run is
    /// skipped with a note, so a machine without PostgreSQL still passes).
    fn postgres() -> impl Future<Output = Option<Self>>;

    /// The test function's argument.
    fn arg(&self) -> Self::Arg<'_>;

    /// Called after the test body returned (closing a store, say).
    fn finish(self) -> impl Future<Output = ()> {
        async {}
    }
}

/// Runs each named async test function once per backend, as `<name>::sqlite` and
/// `<name>::postgres`: `on_both_backends!(TestDb => a_test, another_test)`, where each
/// function takes `<TestDb as TestBackend>::Arg`. The type is named as seen from the calling
/// module.
#[macro_export]
macro_rules! on_both_backends {
    ($backend:ty => $($name:ident),* $(,)?) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let backend = <$backend as $crate::testing::TestBackend>::sqlite().await;
                super::$name($crate::testing::TestBackend::arg(&backend)).await;
                $crate::testing::TestBackend::finish(backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(backend) = <$backend as $crate::testing::TestBackend>::postgres().await
                else {
                    eprintln!(
                        "{} is not set: skipping the PostgreSQL run of this test",
                        $crate::testing::POSTGRES_ENV
                    );
                    return;
                };
                super::$name($crate::testing::TestBackend::arg(&backend)).await;
                $crate::testing::TestBackend::finish(backend).await;
            }
        }
    )*};
}
