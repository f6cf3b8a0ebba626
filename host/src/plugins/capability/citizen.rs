//! `citizen.lookup` (contract 1.1, capability `citizen`): the status of a citizen's
//! application, for the citizen's own SMS query (R17). The host keeps it private: only an
//! application recorded with the phone that sent the command is ever returned, and "another
//! phone's" looks exactly like "none". Every look-up is audited (`citizen.lookup`).

use serde_json::json;
use wasmtime::component::Linker;

use super::{HostCall, HostState, OnHostCall};
use crate::audit::{AuditComponent, AuditEntry, AuditEvent, AuditLog, AuditOutcome};
use crate::citizen::{ApplicationKind, ApplicationStatus};
use crate::plugins::contract::v1_1::jingxun::plugin::citizen;
use crate::plugins::manifest::Capability;

/// Longest application number looked up, in characters.
pub const MAX_NUMBER_CHARS: usize = 64;

/// Links `citizen`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    citizen::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl citizen::Host for HostCall<'_> {
    fn lookup(
        &mut self,
        number: String,
    ) -> wasmtime::Result<Result<Option<citizen::Application>, citizen::CitizenError>> {
        self.begin("citizen.lookup", || number.clone())?;
        let plugin = self.grants().plugin().to_owned();
        if !self.grants().has(Capability::Citizen) {
            self.refused("not granted");
            tracing::warn!(%plugin, request = %self.call.request_id, "plugin read citizens' applications without the grant");
            return Ok(Err(citizen::CitizenError::NotGranted));
        }
        let Some(sender) = self.call.sender.clone() else {
            self.refused("no sender");
            return Ok(Err(citizen::CitizenError::NoSender));
        };
        let number = number.trim().to_owned();
        if number.is_empty() || number.chars().count() > MAX_NUMBER_CHARS {
            return Ok(Ok(None));
        }
        let store = self.call.services.store.clone();
        let request_id = self.call.request_id.clone();
        let found = self.block_on(async {
            let found = store
                .citizen_application_of_phone(&number, &sender)
                .await
                .map_err(|e| e.to_string())?;
            let outcome = if found.is_some() {
                AuditOutcome::Answered
            } else {
                AuditOutcome::NotFound
            };
            // The row is written before the plugin sees anything: no disclosure without it.
            AuditLog::new(store)
                .append(
                    AuditEntry::new(AuditComponent::Plugins, AuditEvent::CitizenLookup, outcome)
                        .with_phone(sender.clone())
                        .with_object(number.clone())
                        .with_request_id(request_id)
                        .with_details(json!({ "plugin": plugin })),
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(found)
        })?;
        Ok(found
            .map_err(|e| {
                tracing::warn!(%plugin, error = %e, "citizen application look-up failed");
                citizen::CitizenError::Unavailable("the applications cannot be read".into())
            })
            .and_then(application))
    }
}

/// What the plugin sees of a stored application.
fn application(
    found: Option<crate::store::CitizenApplication>,
) -> Result<Option<citizen::Application>, citizen::CitizenError> {
    let Some(a) = found else {
        return Ok(None);
    };
    // The store's CHECK keeps the kinds to these three.
    let kind = match ApplicationKind::from_name(&a.kind) {
        Some(ApplicationKind::Passport) => citizen::ApplicationKind::Passport,
        Some(ApplicationKind::ExitEntry) => citizen::ApplicationKind::ExitEntry,
        Some(ApplicationKind::IdCard) => citizen::ApplicationKind::IdCard,
        None => {
            tracing::error!(kind = %a.kind, "a citizen application of an unknown kind");
            return Err(citizen::CitizenError::Unavailable(
                "the applications cannot be read".into(),
            ));
        }
    };
    Ok(Some(citizen::Application {
        kind,
        status: ApplicationStatus::from_name(&a.status).map_or(a.status, |s| s.label().to_owned()),
        number: a.application_number,
        name: a.name,
        note: a.note,
        updated_at: a.updated_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::capability::testing::{SENDER, call_state_from, call_state_on};
    use crate::plugins::contract::v1_1::jingxun::plugin::citizen::Host as _;
    use crate::plugins::grants::Grants;
    use crate::store::test_db::TestDb;

    fn granted() -> Grants {
        let mut grants = Grants::new("application", "1");
        grants.grant(Capability::Citizen);
        grants
    }

    /// The `citizen.lookup` audit rows: (phone, object, outcome).
    async fn lookups(url: &str) -> Vec<(String, String, String)> {
        use sqlx::Row;
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let rows = sqlx::query(
            "SELECT phone, object, outcome FROM audit_log WHERE event = 'citizen.lookup' \
             ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows.iter()
            .map(|r| {
                (
                    r.try_get("phone").unwrap(),
                    r.try_get("object").unwrap(),
                    r.try_get("outcome").unwrap(),
                )
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_senders_own_application_is_returned_and_every_look_up_is_audited() {
        let db = TestDb::sqlite().await;
        let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
        sqlx::query(
            "INSERT INTO citizen_applications (kind, application_number, status, phone, name, \
             note, api_key, message_id, created_at, updated_at) VALUES \
             ('exit_entry', 'E1', 'ready_for_collection', $1, '张三', NULL, 'office', NULL, 0, 5)",
        )
        .bind(SENDER)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        let mut not_granted = call_state_on(Grants::new("application", "1"), db.store.clone());
        let mut own = call_state_on(granted(), db.store.clone());
        let mut stranger = call_state_from(granted(), db.store.clone(), Some("+8613900000009"));
        let mut describing = call_state_from(granted(), db.store.clone(), None);
        let (refused, mine, theirs, missing, no_sender) = tokio::task::spawn_blocking(move || {
            (
                not_granted.host_call().lookup("E1".into()).unwrap(),
                own.host_call().lookup("E1".into()).unwrap(),
                stranger.host_call().lookup("E1".into()).unwrap(),
                stranger.host_call().lookup("E2".into()).unwrap(),
                describing.host_call().lookup("E1".into()).unwrap(),
            )
        })
        .await
        .unwrap();
        assert!(matches!(refused, Err(citizen::CitizenError::NotGranted)));
        assert!(matches!(no_sender, Err(citizen::CitizenError::NoSender)));
        let mine = mine.unwrap().expect("the sender's own application");
        assert_eq!(mine.status, "可领取");
        assert!(matches!(mine.kind, citizen::ApplicationKind::ExitEntry));
        assert_eq!(mine.updated_at, 5);
        assert!(theirs.unwrap().is_none());
        assert!(missing.unwrap().is_none());
        assert_eq!(
            lookups(&db.url).await,
            [
                (SENDER.into(), "E1".into(), "answered".into()),
                ("+8613900000009".into(), "E1".into(), "not_found".into()),
                ("+8613900000009".into(), "E2".into(), "not_found".into()),
            ]
        );
    }
}
