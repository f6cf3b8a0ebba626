//! The audit log, read-only (the CSV export is the route `/ui/export/audit.csv`);
//! administrators and auditors.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::model::Page;
use crate::model::audit::{AuditList, AuditSearch};

/// A page of the audit log matching `search`.
#[server(prefix = "/ui/fn", endpoint = "audit", input = GetUrl)]
pub async fn get_audit(search: AuditSearch) -> Result<AuditList, ServerFnError> {
    let (backend, actor) = crate::ssr::require(Page::Audit)?;
    backend.audit(&actor, search).await.map_err(super::refused)
}
