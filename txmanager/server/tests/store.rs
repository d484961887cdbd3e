//! The payload store's group commit: concurrent writers share writes and fsyncs, and every
//! acknowledged payload is there.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use veil_enclave::{Enclave, KeyPair, LocalEnclave};
use veil_storage::{InMemoryKv, KvPairs, KvStore, StorageError, Table, WriteBatch};
use veil_txmanager::store::PayloadStore;

/// A key-value store whose fsync takes a while, counting writes and fsyncs.
#[derive(Default)]
struct SlowSync {
    inner: InMemoryKv,
    writes: AtomicUsize,
    syncs: AtomicUsize,
}

impl KvStore for SlowSync {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(table, key)
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.write(batch)
    }
    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<KvPairs, StorageError> {
        self.inner.scan_prefix(table, prefix)
    }
    fn flush(&self) -> Result<(), StorageError> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(5));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_share_fsyncs_and_all_land() {
    let kv = Arc::new(SlowSync::default());
    let store = PayloadStore::new(kv.clone());
    let pair = KeyPair::generate();
    let key = pair.public();
    let enclave = LocalEnclave::new(vec![pair]);
    let payloads: Vec<_> =
        (0..200u32).map(|i| enclave.encrypt(&key, &i.to_be_bytes(), &[]).unwrap()).collect();
    let puts = payloads.iter().map(|p| store.put(p));
    let hashes = futures::future::try_join_all(puts).await.unwrap();
    for (hash, payload) in hashes.iter().zip(&payloads) {
        assert_eq!(store.get(hash).unwrap().as_ref(), Some(payload));
    }
    assert_eq!(store.all().unwrap().len(), 200);
    let (writes, syncs) = (kv.writes.load(Ordering::SeqCst), kv.syncs.load(Ordering::SeqCst));
    assert_eq!(writes, syncs, "one fsync per write");
    assert!(syncs < 200, "200 puts took {syncs} fsyncs: no grouping");
}
