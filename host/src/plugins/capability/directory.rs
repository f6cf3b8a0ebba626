//! `directory.find` (contract 1.1, capability `directory`): people in the internal address
//! book by name, with their department's path and numbers (R21), for `TXL`-style queries.
//! At most [`MAX_PEOPLE`] per call, whatever the plugin asks.

use wasmtime::component::Linker;

use super::{HostCall, HostState, OnHostCall};
use crate::plugins::contract::v1_1::jingxun::plugin::directory;
use crate::plugins::manifest::Capability;

/// Most people one look-up returns.
pub const MAX_PEOPLE: u32 = 20;

/// Longest name fragment looked up, in characters (a longer one matches nobody anyway).
pub const MAX_NAME_CHARS: usize = 64;

/// Links `directory`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    directory::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl directory::Host for HostCall<'_> {
    fn find(
        &mut self,
        name: String,
        limit: u32,
    ) -> wasmtime::Result<Result<directory::Found, directory::DirectoryError>> {
        self.begin("directory.find", || name.clone())?;
        if !self.grants().has(Capability::Directory) {
            self.refused("not granted");
            tracing::warn!(plugin = %self.grants().plugin(), request = %self.call.request_id, "plugin used the directory without the grant");
            return Ok(Err(directory::DirectoryError::NotGranted));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Ok(Ok(directory::Found {
                people: Vec::new(),
                total: 0,
            }));
        }
        let store = self.call.services.store.clone();
        let found = match self.block_on(store.address_book_find(name, limit.min(MAX_PEOPLE)))? {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(plugin = %self.grants().plugin(), error = %e, "directory look-up failed");
                return Ok(Err(directory::DirectoryError::Unavailable(
                    "the address book cannot be read".into(),
                )));
            }
        };
        Ok(Ok(directory::Found {
            people: found
                .people
                .into_iter()
                .map(|p| directory::Person {
                    name: p.contact.name,
                    title: p.contact.title,
                    department: p.department_path,
                    numbers: p.contact.numbers,
                })
                .collect(),
            total: u32::try_from(found.total).unwrap_or(u32::MAX),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address_book::Book;
    use crate::plugins::capability::testing::call_state_on;
    use crate::plugins::contract::v1_1::jingxun::plugin::directory::Host as _;
    use crate::plugins::grants::Grants;
    use crate::store::test_db::TestDb;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_the_grant_nothing_is_read_and_with_it_at_most_twenty_come_back() {
        let db = TestDb::sqlite().await;
        let book = Book::new(db.store.clone(), "86");
        for i in 0..25 {
            book.save_contact(
                None,
                &format!("张{i:02}"),
                "",
                None,
                &format!("138000001{i:02}"),
                "cli:test",
            )
            .await
            .unwrap();
        }
        let mut refused = call_state_on(Grants::new("p", "1"), db.store.clone());
        let mut grants = Grants::new("p", "1");
        grants.grant(Capability::Directory);
        let mut granted = call_state_on(grants, db.store.clone());
        let (refused, found, blank) = tokio::task::spawn_blocking(move || {
            (
                refused.host_call().find("张".into(), 5).unwrap(),
                granted.host_call().find("张".into(), 1000).unwrap(),
                granted.host_call().find("  ".into(), 5).unwrap(),
            )
        })
        .await
        .unwrap();
        assert!(
            matches!(refused, Err(directory::DirectoryError::NotGranted)),
            "{refused:?}"
        );
        let found = found.unwrap();
        assert_eq!((found.people.len(), found.total), (20, 25));
        assert_eq!(blank.unwrap().total, 0, "a blank name finds nobody");
    }
}
