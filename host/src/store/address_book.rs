//! Storage of the address book (see [`crate::address_book`] for the rules). Every change runs
//! in one write transaction that ends by appending its audit row; without the row nothing is
//! committed.

use std::collections::HashMap;

use sqlx::{Row, Transaction};

mod records;

use super::audit::{AuditEntry, append_audit};
use super::{Store, StoreError};
use crate::clock::now_ms;
pub use records::{
    AddressBookError, ContactRecord, DepartmentRecord, FoundContact, FoundContacts, GroupRecord,
    MAX_NAME_CHARS, MAX_NUMBERS, Member, Snapshot,
};

type Tx = Transaction<'static, sqlx::Any>;

impl Store {
    /// The whole address book: four reads.
    pub(crate) async fn address_book(&self) -> Result<Snapshot, AddressBookError> {
        let rows = sqlx::query("SELECT id, parent_id, name FROM ab_departments ORDER BY name, id")
            .fetch_all(&self.pool)
            .await?;
        let all: Vec<DepartmentRecord> = rows
            .iter()
            .map(|r| {
                Ok::<_, sqlx::Error>(DepartmentRecord {
                    id: r.try_get("id")?,
                    parent: r.try_get("parent_id")?,
                    name: r.try_get("name")?,
                })
            })
            .collect::<Result<_, _>>()?;
        let departments = tree_order(all);

        let numbers = sqlx::query(
            "SELECT contact_id, number FROM ab_contact_numbers ORDER BY contact_id, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_contact: HashMap<i64, Vec<String>> = HashMap::new();
        for r in &numbers {
            by_contact
                .entry(r.try_get("contact_id")?)
                .or_default()
                .push(r.try_get("number")?);
        }
        let rows =
            sqlx::query("SELECT id, name, title, department_id FROM ab_contacts ORDER BY name, id")
                .fetch_all(&self.pool)
                .await?;
        let contacts = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                Ok::<_, sqlx::Error>(ContactRecord {
                    id,
                    name: r.try_get("name")?,
                    title: r.try_get("title")?,
                    department: r.try_get("department_id")?,
                    numbers: by_contact.remove(&id).unwrap_or_default(),
                })
            })
            .collect::<Result<_, _>>()?;

        let members = sqlx::query(
            "SELECT group_id, contact_id, department_id FROM ab_group_members \
             ORDER BY group_id, department_id, contact_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_group: HashMap<i64, (Vec<i64>, Vec<i64>)> = HashMap::new();
        for r in &members {
            let entry = by_group.entry(r.try_get("group_id")?).or_default();
            if let Some(c) = r.try_get::<Option<i64>, _>("contact_id")? {
                entry.0.push(c);
            }
            if let Some(d) = r.try_get::<Option<i64>, _>("department_id")? {
                entry.1.push(d);
            }
        }
        let rows = sqlx::query("SELECT id, name FROM ab_groups ORDER BY name, id")
            .fetch_all(&self.pool)
            .await?;
        let groups = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let (contacts, departments) = by_group.remove(&id).unwrap_or_default();
                Ok::<_, sqlx::Error>(GroupRecord {
                    id,
                    name: r.try_get("name")?,
                    contacts,
                    departments,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Snapshot {
            departments,
            contacts,
            groups,
        })
    }

    /// The name of the contact whose number is `number` (canonical), if one is (the first by
    /// name when several share it).
    pub async fn address_book_name_of_number(
        &self,
        number: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT c.name FROM ab_contact_numbers n JOIN ab_contacts c ON c.id = n.contact_id \
             WHERE n.number = $1 ORDER BY c.name LIMIT 1",
        )
        .bind(number)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The contacts whose name contains `fragment` (ignoring ASCII case; `%`, `_` and backslash
    /// are matched as themselves), an exact match first, then by name: at most `limit` of
    /// them, each with its department's path from the top, and how many matched in all.
    pub async fn address_book_find(
        &self,
        fragment: &str,
        limit: u32,
    ) -> Result<FoundContacts, AddressBookError> {
        let fragment = fragment.trim().to_lowercase();
        let escaped: String = fragment
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM ab_contacts WHERE LOWER(name) LIKE $1 ESCAPE '\\'",
        )
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(
            "SELECT id, name, title, department_id FROM ab_contacts \
             WHERE LOWER(name) LIKE $1 ESCAPE '\\' \
             ORDER BY CASE WHEN LOWER(name) = $2 THEN 0 ELSE 1 END, name, id LIMIT $3",
        )
        .bind(&pattern)
        .bind(&fragment)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let departments: HashMap<i64, DepartmentRecord> =
            sqlx::query("SELECT id, parent_id, name FROM ab_departments")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let d = DepartmentRecord {
                        id: r.try_get("id")?,
                        parent: r.try_get("parent_id")?,
                        name: r.try_get("name")?,
                    };
                    Ok::<_, sqlx::Error>((d.id, d))
                })
                .collect::<Result<_, _>>()?;
        let mut people = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let numbers = sqlx::query(
                "SELECT number FROM ab_contact_numbers WHERE contact_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|n| n.try_get("number"))
            .collect::<Result<Vec<String>, _>>()?;
            let department: Option<i64> = r.try_get("department_id")?;
            people.push(FoundContact {
                department_path: records::department_path(|id| departments.get(&id), department),
                contact: ContactRecord {
                    id,
                    name: r.try_get("name")?,
                    title: r.try_get("title")?,
                    department,
                    numbers,
                },
            });
        }
        Ok(FoundContacts {
            people,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    pub(crate) async fn address_book_save_department(
        &self,
        id: Option<i64>,
        parent: Option<i64>,
        name: &str,
        audit: AuditEntry,
    ) -> Result<i64, AddressBookError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let id = match id {
            Some(id) => {
                let done = sqlx::query(
                    "UPDATE ab_departments SET name = $1, parent_id = $2, updated_at = $3 \
                     WHERE id = $4",
                )
                .bind(name)
                .bind(parent)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(AddressBookError::NotFound {
                        what: "department",
                        id,
                    });
                }
                id
            }
            None => sqlx::query(
                "INSERT INTO ab_departments (parent_id, name, created_at, updated_at) \
                 VALUES ($1, $2, $3, $3) RETURNING id",
            )
            .bind(parent)
            .bind(name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?,
        };
        self.commit_audited(tx, audit.with_object(id.to_string()))
            .await?;
        Ok(id)
    }

    pub(crate) async fn address_book_delete_department(
        &self,
        id: i64,
        audit: AuditEntry,
    ) -> Result<(), AddressBookError> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "SELECT 1 FROM ab_departments WHERE parent_id = $1 \
             UNION ALL SELECT 1 FROM ab_contacts WHERE department_id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if used.is_some() {
            return Err(AddressBookError::DepartmentNotEmpty(id));
        }
        let done = sqlx::query("DELETE FROM ab_departments WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AddressBookError::NotFound {
                what: "department",
                id,
            });
        }
        self.commit_audited(tx, audit).await
    }

    /// Inserts (`update` false; `contact.id` is ignored) or replaces a contact and its
    /// numbers.
    pub(crate) async fn address_book_save_contact(
        &self,
        update: bool,
        contact: &ContactRecord,
        audit: AuditEntry,
    ) -> Result<i64, AddressBookError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if let Some(d) = contact.department {
            require(&mut tx, "ab_departments", "department", d).await?;
        }
        let id = if update {
            let done = sqlx::query(
                "UPDATE ab_contacts SET name = $1, title = $2, department_id = $3, updated_at = $4 \
                 WHERE id = $5",
            )
            .bind(&contact.name)
            .bind(&contact.title)
            .bind(contact.department)
            .bind(now)
            .bind(contact.id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(AddressBookError::NotFound {
                    what: "contact",
                    id: contact.id,
                });
            }
            sqlx::query("DELETE FROM ab_contact_numbers WHERE contact_id = $1")
                .bind(contact.id)
                .execute(&mut *tx)
                .await?;
            contact.id
        } else {
            sqlx::query(
                "INSERT INTO ab_contacts (name, title, department_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
            )
            .bind(&contact.name)
            .bind(&contact.title)
            .bind(contact.department)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?
        };
        for (seq, number) in contact.numbers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO ab_contact_numbers (contact_id, seq, number) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(seq as i64 + 1)
            .bind(number)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_audited(tx, audit.with_object(id.to_string()))
            .await?;
        Ok(id)
    }

    pub(crate) async fn address_book_delete_contact(
        &self,
        id: i64,
        audit: AuditEntry,
    ) -> Result<(), AddressBookError> {
        let mut tx = self.begin_write().await?;
        // Numbers and memberships go with it (ON DELETE CASCADE); deleted explicitly too, so
        // that a SQLite connection without foreign keys enforced leaves nothing behind.
        for sql in [
            "DELETE FROM ab_contact_numbers WHERE contact_id = $1",
            "DELETE FROM ab_group_members WHERE contact_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM ab_contacts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AddressBookError::NotFound {
                what: "contact",
                id,
            });
        }
        self.commit_audited(tx, audit).await
    }

    pub(crate) async fn address_book_save_group(
        &self,
        id: Option<i64>,
        name: &str,
        audit: AuditEntry,
    ) -> Result<i64, AddressBookError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT id FROM ab_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = taken
            && Some(row.try_get::<i64, _>("id")?) != id
        {
            return Err(AddressBookError::GroupExists(name.to_owned()));
        }
        let id = match id {
            Some(id) => {
                let done =
                    sqlx::query("UPDATE ab_groups SET name = $1, updated_at = $2 WHERE id = $3")
                        .bind(name)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                if done.rows_affected() == 0 {
                    return Err(AddressBookError::NotFound { what: "group", id });
                }
                id
            }
            None => sqlx::query(
                "INSERT INTO ab_groups (name, created_at, updated_at) VALUES ($1, $2, $2) \
                 RETURNING id",
            )
            .bind(name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?,
        };
        self.commit_audited(tx, audit.with_object(id.to_string()))
            .await?;
        Ok(id)
    }

    pub(crate) async fn address_book_delete_group(
        &self,
        id: i64,
        audit: AuditEntry,
    ) -> Result<(), AddressBookError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM ab_group_members WHERE group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM ab_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AddressBookError::NotFound { what: "group", id });
        }
        self.commit_audited(tx, audit).await
    }

    pub(crate) async fn address_book_set_member(
        &self,
        group: i64,
        member: Member,
        present: bool,
        audit: AuditEntry,
    ) -> Result<(), AddressBookError> {
        let mut tx = self.begin_write().await?;
        require(&mut tx, "ab_groups", "group", group).await?;
        let (column, table, what, id) = match member {
            Member::Contact(c) => ("contact_id", "ab_contacts", "contact", c),
            Member::Department(d) => ("department_id", "ab_departments", "department", d),
        };
        require(&mut tx, table, what, id).await?;
        sqlx::query(&format!(
            "DELETE FROM ab_group_members WHERE group_id = $1 AND {column} = $2"
        ))
        .bind(group)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if present {
            sqlx::query(&format!(
                "INSERT INTO ab_group_members (group_id, {column}) VALUES ($1, $2)"
            ))
            .bind(group)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn commit_audited(&self, mut tx: Tx, audit: AuditEntry) -> Result<(), AddressBookError> {
        let audit_failed = |e: StoreError| match e {
            StoreError::AuditRow(cause) => AddressBookError::Audit(*cause),
            e => AddressBookError::Audit(e),
        };
        let prepared = audit.prepare().map_err(audit_failed)?;
        append_audit(self, &mut tx, &prepared)
            .await
            .map_err(audit_failed)?;
        tx.commit().await?;
        Ok(())
    }
}

/// Fails with [`AddressBookError::NotFound`] unless `table` has a row `id`.
async fn require(
    tx: &mut Tx,
    table: &'static str,
    what: &'static str,
    id: i64,
) -> Result<(), AddressBookError> {
    let found = sqlx::query(&format!("SELECT 1 FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(AddressBookError::NotFound { what, id }),
    }
}

/// Departments with parents before children and siblings in the order given (by name); a
/// department whose parent is missing (or that is caught in a cycle) comes last, as a root.
fn tree_order(all: Vec<DepartmentRecord>) -> Vec<DepartmentRecord> {
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    let ids: std::collections::HashSet<i64> = all.iter().map(|d| d.id).collect();
    for (i, d) in all.iter().enumerate() {
        let parent = d.parent.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(i);
    }
    let mut out = Vec::with_capacity(all.len());
    let mut placed = vec![false; all.len()];
    let mut stack: Vec<usize> = children.get(&None).cloned().unwrap_or_default();
    stack.reverse();
    while let Some(i) = stack.pop() {
        if placed[i] {
            continue;
        }
        placed[i] = true;
        out.push(i);
        if let Some(kids) = children.get(&Some(all[i].id)) {
            stack.extend(kids.iter().rev());
        }
    }
    out.extend((0..all.len()).filter(|i| !placed[*i]));
    let mut slots: Vec<Option<DepartmentRecord>> = all.into_iter().map(Some).collect();
    out.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: i64, parent: Option<i64>, name: &str) -> DepartmentRecord {
        DepartmentRecord {
            id,
            parent,
            name: name.into(),
        }
    }

    #[test]
    fn departments_come_parents_first_and_orphans_last() {
        let ordered = tree_order(vec![
            d(3, Some(2), "a"),
            d(1, None, "b"),
            d(2, Some(1), "c"),
            d(4, Some(99), "d"),
            d(5, None, "e"),
        ]);
        let ids: Vec<i64> = ordered.iter().map(|d| d.id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
    }
}
