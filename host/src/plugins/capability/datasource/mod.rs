//! `datasource.query`: parameterised, read-only `SELECT`s on the datasources an administrator
//! granted to the plugin (R5). [`query`] guards the statement and runs it read-only; [`role`]
//! checks that a PostgreSQL datasource logs in as a role that can only read.

pub mod query;
pub mod role;

use wasmtime::component::Linker;

use super::{HostCall, HostState, OnHostCall};
use crate::plugins::contract::v1_1::jingxun::plugin::{datasource, types};
pub use query::{MAX_ROWS, Pools, QUERY_TIMEOUT, check_statement, run_query};

/// Links `datasource`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    datasource::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl datasource::Host for HostCall<'_> {
    fn query(
        &mut self,
        name: String,
        sql: String,
        params: Vec<types::Value>,
    ) -> wasmtime::Result<Result<datasource::Rows, datasource::QueryError>> {
        self.begin("datasource.query", || name.clone())?;
        let plugin = self.grants().plugin().to_owned();
        let request = self.call.request_id.clone();
        let Some(url) = self.grants().datasource(&name).map(str::to_owned) else {
            tracing::warn!(%plugin, %request, datasource = %name, "plugin queried a datasource it was not granted");
            self.refused("not granted");
            return Ok(Err(datasource::QueryError::NotGranted(format!(
                "datasource `{name}` is not granted to plugin {plugin}"
            ))));
        };
        let services = self.call.services.clone();
        let deadline = self.deadline();
        let result = self.block_on(run_query(
            &services.pools,
            &name,
            &url,
            &sql,
            params,
            deadline,
        ))?;
        if let Err(e) = &result {
            tracing::info!(%plugin, %request, datasource = %name, error = ?e, "plugin query refused or failed");
            self.refused(&format!("{e:?}"));
        }
        Ok(result)
    }
}
