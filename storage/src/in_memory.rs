//! An in-memory [`KvStore`]: the test double, and the store of one-shot runs such as state tests.

use crate::{KvPairs, KvStore, StorageError, Table, WriteBatch, WriteOp};
use parking_lot::RwLock;
use std::collections::BTreeMap;

type Tables = BTreeMap<Table, BTreeMap<Vec<u8>, Vec<u8>>>;

/// A [`KvStore`] held in memory; a batch is applied under one write lock.
#[derive(Debug, Default)]
pub struct InMemoryKv {
    tables: RwLock<Tables>,
}

impl InMemoryKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KvStore for InMemoryKv {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.tables.read().get(&table).and_then(|t| t.get(key).cloned()))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut tables = self.tables.write();
        for op in batch.ops() {
            match op {
                WriteOp::Put(table, key, value) => {
                    tables.entry(*table).or_default().insert(key.clone(), value.clone());
                }
                WriteOp::Delete(table, key) => {
                    tables.entry(*table).or_default().remove(key);
                }
                WriteOp::DeleteRange(table, from, to) => {
                    let t = tables.entry(*table).or_default();
                    let doomed: Vec<_> =
                        t.range(from.clone()..to.clone()).map(|(k, _)| k.clone()).collect();
                    for key in doomed {
                        t.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<KvPairs, StorageError> {
        let tables = self.tables.read();
        let Some(t) = tables.get(&table) else { return Ok(Vec::new()) };
        Ok(t.range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}
