//! Storage of OA reminders and citizen notices (issue 5; R17, R19): the administrator-edited
//! templates (with their audit row in the same transaction), who an OA reminder reaches, and
//! the latest status of each citizen application, written in the transaction that queues its
//! notice (with the host event that tells plugins of it). The rules (placeholders, rendering, statuses) live in [`crate::api::templates`].

use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::api_keys::AlsoInTransaction;
use super::audit::{AuditEntry, append_audit};
use super::plugin_events::{EventPayload, record_host_event};
use super::{MessageId, Store, StoreError};

/// A notice template as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateRecord {
    /// `oa.todo`, `oa.read`, `citizen.passport`, `citizen.exit_entry`, `citizen.id_card`.
    pub name: String,
    pub text: String,
    /// Unix milliseconds UTC; 0 for the seeded default.
    pub updated_at: i64,
    /// Who set it (`cli:<user>`), or `default`.
    pub updated_by: String,
}

/// Who an OA reminder addressed to a login reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OaRecipient {
    /// No user has that login.
    UnknownUser,
    /// The user exists but is disabled.
    Disabled { name: String },
    /// The user is active; `phones` are the active registered phones bound to the user
    /// (canonical, sorted; possibly none).
    Active { name: String, phones: Vec<String> },
}

/// The latest known status of a citizen application (R17), as the office last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenApplication {
    /// `passport`, `exit_entry` or `id_card`.
    pub kind: String,
    pub application_number: String,
    /// `accepted`, `in_review`, `approved`, `in_production`, `ready_for_collection`, `mailed`,
    /// `collected` or `rejected` (see [`crate::citizen::ApplicationStatus`]).
    pub status: String,
    /// The citizen's phone (canonical) the office gave with the latest notice: an SMS query
    /// should answer only this phone.
    pub phone: String,
    pub name: Option<String>,
    pub note: Option<String>,
    /// The API key (its name) of the office that reported the status.
    pub api_key: String,
    /// The notice message that told the citizen.
    pub message_id: Option<MessageId>,
    /// When the application was first reported (unix ms UTC).
    pub created_at: i64,
    /// When the status was last reported (unix ms UTC).
    pub updated_at: i64,
}

/// A citizen application's new status, stored with its notice by [`CitizenStatusWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenStatusUpdate {
    /// `passport`, `exit_entry` or `id_card`.
    pub kind: String,
    pub application_number: String,
    pub status: String,
    /// Canonical number.
    pub phone: String,
    pub name: Option<String>,
    pub note: Option<String>,
}

/// A citizen application's new status as a write of the transaction that queues its notice
/// ([`super::GroupedEnqueue::also`]): the application's row is inserted or replaced, naming the
/// notice's message. A replayed request does not write it.
pub(crate) struct CitizenStatusWrite {
    update: CitizenStatusUpdate,
    api_key: String,
    now_ms: i64,
}

impl CitizenStatusWrite {
    /// `update` as reported by the API key `api_key` (its name) at `now_ms`.
    pub(crate) fn new(update: CitizenStatusUpdate, api_key: &str, now_ms: i64) -> Self {
        CitizenStatusWrite {
            update,
            api_key: api_key.to_owned(),
            now_ms,
        }
    }
}

impl AlsoInTransaction for CitizenStatusWrite {
    fn write<'a>(
        &'a self,
        tx: &'a mut sqlx::Transaction<'static, sqlx::Any>,
        ids: &'a [MessageId],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let u = &self.update;
            sqlx::query(
                "INSERT INTO citizen_applications (kind, application_number, status, phone, \
                   name, note, api_key, message_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (kind, application_number) DO UPDATE SET \
                   status = excluded.status, phone = excluded.phone, name = excluded.name, \
                   note = excluded.note, api_key = excluded.api_key, \
                   message_id = excluded.message_id, updated_at = excluded.updated_at",
            )
            .bind(&u.kind)
            .bind(&u.application_number)
            .bind(&u.status)
            .bind(&u.phone)
            .bind(u.name.as_deref())
            .bind(u.note.as_deref())
            .bind(self.api_key.as_str())
            .bind(ids.first().copied())
            .bind(self.now_ms)
            .execute(&mut **tx)
            .await?;
            // Plugins that asked for it hear of the change (never of the phone).
            record_host_event(
                tx,
                &EventPayload::ApplicationChanged {
                    application_kind: u.kind.clone(),
                    number: u.application_number.clone(),
                    status: u.status.clone(),
                    updated_at: self.now_ms,
                },
                self.now_ms,
            )
            .await?;
            Ok(())
        })
    }
}

const APPLICATION_COLUMNS: &str = "kind, application_number, status, phone, name, note, \
     api_key, message_id, created_at, updated_at";

fn application_from_row(row: &AnyRow) -> Result<CitizenApplication, StoreError> {
    Ok(CitizenApplication {
        kind: row.try_get("kind")?,
        application_number: row.try_get("application_number")?,
        status: row.try_get("status")?,
        phone: row.try_get("phone")?,
        name: row.try_get("name")?,
        note: row.try_get("note")?,
        api_key: row.try_get("api_key")?,
        message_id: row.try_get("message_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn template_from_row(row: &AnyRow) -> Result<TemplateRecord, StoreError> {
    Ok(TemplateRecord {
        name: row.try_get("name")?,
        text: row.try_get("text")?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

impl Store {
    /// Every stored notice template, by name.
    pub async fn notification_templates(&self) -> Result<Vec<TemplateRecord>, StoreError> {
        sqlx::query(
            "SELECT name, text, updated_at, updated_by FROM notification_templates ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(template_from_row)
        .collect()
    }

    /// The stored template `name`, if any.
    pub async fn notification_template(
        &self,
        name: &str,
    ) -> Result<Option<TemplateRecord>, StoreError> {
        sqlx::query(
            "SELECT name, text, updated_at, updated_by FROM notification_templates \
             WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(template_from_row)
        .transpose()
    }

    /// Stores `text` as the template `name` (already checked by the caller) and appends
    /// `entry` to the audit log in the same transaction: without the audit row nothing changes.
    pub(crate) async fn set_notification_template(
        &self,
        name: &str,
        text: &str,
        by: &str,
        now_ms: i64,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        let prepared = entry.prepare()?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO notification_templates (name, text, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET text = excluded.text, \
               updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(name)
        .bind(text)
        .bind(now_ms)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        append_audit(self, &mut tx, &prepared).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who an OA reminder to `login` (as stored: lower case) reaches: the user's state and
    /// active registered phones, read in one transaction.
    pub async fn oa_recipient(&self, login: &str) -> Result<OaRecipient, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(user) = sqlx::query("SELECT name, active FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(OaRecipient::UnknownUser);
        };
        let name: String = user.try_get("name")?;
        if user.try_get::<i64, _>("active")? == 0 {
            return Ok(OaRecipient::Disabled { name });
        }
        let phones = sqlx::query(
            "SELECT number FROM phones WHERE user_login = $1 AND active = 1 ORDER BY number",
        )
        .bind(login)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("number"))
        .collect::<Result<Vec<String>, _>>()?;
        tx.commit().await?;
        Ok(OaRecipient::Active { name, phones })
    }

    /// The application numbered `application_number` (any kind, ignoring ASCII case; the most
    /// recently updated when kinds share a number) whose recorded phone is `phone`; `None` when
    /// there is none, whether no office reported it or it was reported for another phone: the
    /// two are not told apart, so that an SMS query never discloses another citizen's status.
    pub async fn citizen_application_of_phone(
        &self,
        application_number: &str,
        phone: &str,
    ) -> Result<Option<CitizenApplication>, StoreError> {
        sqlx::query(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM citizen_applications \
             WHERE UPPER(application_number) = UPPER($1) AND phone = $2 \
             ORDER BY updated_at DESC LIMIT 1"
        ))
        .bind(application_number)
        .bind(phone)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(application_from_row)
        .transpose()
    }

    /// The latest status of the citizen application `application_number` of `kind`
    /// (`passport`, `exit_entry`, `id_card`), as last reported through
    /// `POST /api/v1/notifications/citizen`; `None` when no office reported it. For the SMS
    /// status query (R17): answer only the phone stored with it.
    pub async fn citizen_application_status(
        &self,
        kind: &str,
        application_number: &str,
    ) -> Result<Option<CitizenApplication>, StoreError> {
        sqlx::query(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM citizen_applications \
             WHERE kind = $1 AND application_number = $2"
        ))
        .bind(kind)
        .bind(application_number)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(application_from_row)
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_db::{TestDb, grouped};
    use crate::store::{GroupedEnqueue, IdempotentOutcome};

    const T0: i64 = 1_767_225_600_000;

    /// A notice of `update`'s status in the batch `batch`, with its status write.
    fn notice(
        batch: &str,
        idempotency_key: Option<&str>,
        hash: &str,
        update: CitizenStatusUpdate,
        now_ms: i64,
    ) -> GroupedEnqueue {
        GroupedEnqueue {
            also: Some(Box::new(CitizenStatusWrite::new(update, "office", now_ms))),
            ..grouped(
                "office",
                idempotency_key,
                hash,
                batch,
                &["+8613800000001"],
                now_ms,
            )
        }
    }

    fn update(status: &str) -> CitizenStatusUpdate {
        CitizenStatusUpdate {
            kind: "passport".into(),
            application_number: "E123".into(),
            status: status.into(),
            phone: "+8613800000001".into(),
            name: Some("张三".into()),
            note: None,
        }
    }

    async fn a_citizen_notice_keeps_the_latest_status_and_a_replay_changes_nothing(db: &TestDb) {
        let store = &db.store;
        assert_eq!(
            store
                .citizen_application_status("passport", "E123")
                .await
                .expect("read"),
            None
        );
        let first = store
            .enqueue_idempotent(notice("b1", Some("k1"), "r1", update("accepted"), T0))
            .await
            .expect("first");
        let IdempotentOutcome::Queued { ids, .. } = first else {
            panic!("must queue: {first:?}");
        };
        let stored = store
            .citizen_application_status("passport", "E123")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(stored.status, "accepted");
        assert_eq!(stored.message_id, Some(ids[0]));
        assert_eq!(stored.api_key, "office");
        store
            .enqueue_idempotent(notice(
                "b2",
                None,
                "r2",
                update("ready_for_collection"),
                T0 + 1000,
            ))
            .await
            .expect("second");
        // A replay of the first request queues nothing and leaves the latest status alone.
        let replay = store
            .enqueue_idempotent(notice(
                "b3",
                Some("k1"),
                "r1",
                update("accepted"),
                T0 + 2000,
            ))
            .await
            .expect("replay");
        assert!(matches!(replay, IdempotentOutcome::Replayed { .. }));
        let latest = store
            .citizen_application_status("passport", "E123")
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(latest.status, "ready_for_collection");
        assert_eq!((latest.created_at, latest.updated_at), (T0, T0 + 1000));
        assert_eq!(store.queue_depths().await.expect("depths").queued, 2);
        assert_eq!(
            store
                .citizen_application_status("id_card", "E123")
                .await
                .expect("read"),
            None,
            "kinds are separate"
        );
    }

    async fn an_oa_reminder_reaches_only_the_active_phones_of_an_active_user(db: &TestDb) {
        let store = &db.store;
        assert_eq!(
            store.oa_recipient("nobody").await.expect("read"),
            OaRecipient::UnknownUser
        );
        let directory = crate::directory::Directory::new(store.clone(), "86");
        directory
            .add_user("zhangsan", "张三", &[], "test")
            .await
            .expect("user");
        assert_eq!(
            store.oa_recipient("zhangsan").await.expect("read"),
            OaRecipient::Active {
                name: "张三".into(),
                phones: vec![]
            }
        );
        for number in ["13800000002", "13800000001", "13800000003"] {
            directory
                .add_phone(number, "张三", Some("zhangsan"), "test")
                .await
                .expect("phone");
        }
        directory
            .set_phone_active("13800000003", false, "test")
            .await
            .expect("disable");
        assert_eq!(
            store.oa_recipient("zhangsan").await.expect("read"),
            OaRecipient::Active {
                name: "张三".into(),
                phones: vec!["+8613800000001".into(), "+8613800000002".into()]
            }
        );
        directory
            .set_user_active("zhangsan", false, "test")
            .await
            .expect("disable user");
        assert_eq!(
            store.oa_recipient("zhangsan").await.expect("read"),
            OaRecipient::Disabled {
                name: "张三".into()
            }
        );
    }

    /// R17's privacy: an application is found for the phone recorded with it only, by its
    /// number in any case, and another phone cannot tell it from one that does not exist.
    async fn an_application_is_found_for_its_own_phone_only(db: &TestDb) {
        let store = &db.store;
        store
            .enqueue_idempotent(notice("b1", None, "r1", update("in_review"), T0))
            .await
            .expect("notice");
        let mine = store
            .citizen_application_of_phone("e123", "+8613800000001")
            .await
            .expect("read")
            .expect("found for its own phone, in any case");
        assert_eq!(
            (mine.kind.as_str(), mine.status.as_str()),
            ("passport", "in_review")
        );
        for (number, phone) in [("E123", "+8613800000002"), ("E999", "+8613800000001")] {
            assert_eq!(
                store
                    .citizen_application_of_phone(number, phone)
                    .await
                    .expect("read"),
                None,
                "{number} for {phone}"
            );
        }
    }

    crate::on_both_backends!(TestDb =>
        a_citizen_notice_keeps_the_latest_status_and_a_replay_changes_nothing,
        an_oa_reminder_reaches_only_the_active_phones_of_an_active_user,
        an_application_is_found_for_its_own_phone_only,
    );
}
