//! `state` (contract 1.1, capability `state`): the plugin's own durable key-value store. A
//! call's writes are kept here ([`PendingState`]) and seen by its own reads; they reach the
//! store with the call's other effects when it returns `ok` ([`crate::store::Store::plugin_commit`],
//! which checks the quota again against what other calls committed meanwhile).

use std::collections::BTreeMap;

use wasmtime::component::{HasData, Linker};

use super::{HostCall, HostState};
use crate::plugins::contract::v1_1::jingxun::plugin::state::{self, StateError};
use crate::plugins::manifest::Capability;
use crate::store::{StateQuota, StateUsage};

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// Longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// What a call wrote to its plugin's state so far.
#[derive(Debug, Default)]
pub struct PendingState {
    /// By key: the stored value's length before the call (`None`: not set), and what the call
    /// wrote last (`None`: deleted).
    writes: BTreeMap<String, (Option<u64>, Option<Vec<u8>>)>,
    /// The plugin's usage as stored, read at the call's first write.
    stored: Option<StateUsage>,
}

impl PendingState {
    /// The writes to commit: the last value written to each key (`None`: delete).
    pub fn writes(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.writes
            .iter()
            .map(|(key, (_, value))| (key.clone(), value.clone()))
            .collect()
    }

    /// The usage the writes would leave, from `stored`.
    fn usage_after(&self, stored: StateUsage) -> StateUsage {
        let mut usage = stored;
        for (before, after) in self.writes.values() {
            match (before, after) {
                (None, Some(v)) => {
                    usage.keys += 1;
                    usage.bytes += v.len() as u64;
                }
                (Some(old), None) => {
                    usage.keys = usage.keys.saturating_sub(1);
                    usage.bytes = usage.bytes.saturating_sub(*old);
                }
                (Some(old), Some(v)) => {
                    usage.bytes = (usage.bytes + v.len() as u64).saturating_sub(*old);
                }
                (None, None) => {}
            }
        }
        usage
    }
}

/// The view `state` works on: the call, and its pending writes.
pub struct StateCall<'a> {
    host: HostCall<'a>,
    pending: &'a mut PendingState,
}

struct OnState;

impl HasData for OnState {
    type Data<'a> = StateCall<'a>;
}

impl HostState {
    fn state_call(&mut self) -> StateCall<'_> {
        StateCall {
            host: HostCall {
                call: &self.call,
                budget: &mut self.budget,
            },
            pending: &mut self.state,
        }
    }
}

/// Links `state`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    state::add_to_linker::<HostState, OnState>(linker, HostState::state_call)
}

impl StateCall<'_> {
    /// Begins the host call and checks the grant and the key.
    fn start(
        &mut self,
        function: &'static str,
        key: &str,
    ) -> wasmtime::Result<Result<(), StateError>> {
        self.host.begin(function, || key.to_owned())?;
        if !self.host.grants().has(Capability::State) {
            self.host.refused("not granted");
            return Ok(Err(StateError::NotGranted));
        }
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            self.host.refused("invalid key");
            return Ok(Err(StateError::Invalid(format!(
                "a key must be 1 to {MAX_KEY_BYTES} bytes; this one is {}",
                key.len()
            ))));
        }
        Ok(Ok(()))
    }

    fn plugin(&self) -> String {
        self.host.grants().plugin().to_owned()
    }

    fn quota(&self) -> StateQuota {
        self.host.call.services.policy.state_quota
    }

    /// Records a write of `key` (`None`: delete), unless it takes the plugin past its quota.
    fn write(
        &mut self,
        key: String,
        value: Option<Vec<u8>>,
    ) -> wasmtime::Result<Result<(), StateError>> {
        let store = self.host.call.services.store.clone();
        let plugin = self.plugin();
        let before = match self.pending.writes.get(&key) {
            Some((before, _)) => *before,
            None => match self.host.block_on(store.plugin_state_len(&plugin, &key))? {
                Ok(len) => len,
                Err(e) => return Ok(Err(unavailable(&plugin, e))),
            },
        };
        let stored = match self.pending.stored {
            Some(usage) => usage,
            None => match self.host.block_on(store.plugin_state_usage(&plugin))? {
                Ok(usage) => {
                    self.pending.stored = Some(usage);
                    usage
                }
                Err(e) => return Ok(Err(unavailable(&plugin, e))),
            },
        };
        let previous = self.pending.writes.insert(key.clone(), (before, value));
        if let Some(over) = self.pending.usage_after(stored).over(&self.quota()) {
            match previous {
                Some(previous) => self.pending.writes.insert(key, previous),
                None => self.pending.writes.remove(&key),
            };
            self.host.refused("quota");
            tracing::warn!(%plugin, request = %self.host.call.request_id, %over, "plugin state write refused: past its quota");
            return Ok(Err(StateError::QuotaExceeded(format!(
                "the state would hold {over}"
            ))));
        }
        Ok(Ok(()))
    }
}

fn unavailable(plugin: &str, e: crate::store::StoreError) -> StateError {
    tracing::warn!(%plugin, error = %e, "plugin state cannot be read");
    StateError::Unavailable("the state cannot be read".into())
}

impl state::Host for StateCall<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, StateError>> {
        if let Err(e) = self.start("state.get", &key)? {
            return Ok(Err(e));
        }
        if let Some((_, value)) = self.pending.writes.get(&key) {
            return Ok(Ok(value.clone()));
        }
        let store = self.host.call.services.store.clone();
        let plugin = self.plugin();
        Ok(self
            .host
            .block_on(store.plugin_state_get(&plugin, &key))?
            .map_err(|e| unavailable(&plugin, e)))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), StateError>> {
        if let Err(e) = self.start("state.set", &key)? {
            return Ok(Err(e));
        }
        if value.len() > MAX_VALUE_BYTES {
            self.host.refused("value too long");
            return Ok(Err(StateError::Invalid(format!(
                "a value must be at most {MAX_VALUE_BYTES} bytes; this one is {}",
                value.len()
            ))));
        }
        self.write(key, Some(value))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), StateError>> {
        if let Err(e) = self.start("state.delete", &key)? {
            return Ok(Err(e));
        }
        self.write(key, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::capability::testing::call_state_on;
    use crate::plugins::contract::v1_1::jingxun::plugin::state::Host as _;
    use crate::plugins::grants::Grants;
    use crate::store::test_db::TestDb;

    fn granted() -> Grants {
        let mut grants = Grants::new("p", "1");
        grants.grant(Capability::State);
        grants
    }

    #[test]
    fn usage_counts_new_keys_replaced_values_and_deletions() {
        let mut pending = PendingState::default();
        pending
            .writes
            .insert("new".into(), (None, Some(vec![0; 10])));
        pending
            .writes
            .insert("grown".into(), (Some(5), Some(vec![0; 8])));
        pending.writes.insert("gone".into(), (Some(7), None));
        let after = pending.usage_after(StateUsage {
            keys: 4,
            bytes: 100,
        });
        assert_eq!(
            after,
            StateUsage {
                keys: 4,
                bytes: 100 + 10 + 3 - 7
            }
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_reads_its_own_writes_and_is_stopped_at_the_quota() {
        let db = TestDb::sqlite().await;
        let mut refused = call_state_on(Grants::new("p", "1"), db.store.clone());
        let mut call = call_state_on(granted(), db.store.clone());
        let (refused, read, over, long_key) = tokio::task::spawn_blocking(move || {
            let refused = refused.state_call().get("k".into()).unwrap();
            let mut state = call.state_call();
            state.set("k".into(), b"v".to_vec()).unwrap().unwrap();
            let read = state.get("k".into()).unwrap();
            // The test services allow 4 keys.
            for i in 0..3 {
                state.set(format!("k{i}"), vec![1]).unwrap().unwrap();
            }
            let over = state.set("k9".into(), vec![1]).unwrap();
            let long_key = state.set("x".repeat(129), vec![1]).unwrap();
            (refused, read, over, long_key)
        })
        .await
        .unwrap();
        assert!(
            matches!(refused, Err(StateError::NotGranted)),
            "{refused:?}"
        );
        assert_eq!(read.unwrap(), Some(b"v".to_vec()));
        assert!(
            matches!(&over, Err(StateError::QuotaExceeded(why)) if why.contains("5 keys")),
            "{over:?}"
        );
        assert!(
            matches!(long_key, Err(StateError::Invalid(_))),
            "{long_key:?}"
        );
    }
}
