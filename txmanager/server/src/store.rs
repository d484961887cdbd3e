//! The payload store: encoded (encrypted) payloads in RocksDB by their hash.
//!
//! Writes are group-committed: callers hand their batch to one committer thread and wait; the
//! committer takes every batch queued meanwhile, writes them as one RocksDB write batch and
//! makes the write-ahead log durable with a single fsync, then answers them all. A send is
//! acknowledged only after its fsync, yet under load one fsync serves many sends
//! (`docs/design/tm-store.md`).

use std::{
    path::Path,
    sync::{mpsc, Arc},
};
use tokio::sync::oneshot;
use veil_enclave::{EncodedPayload, PayloadHash};
use veil_storage::{KvStore, RocksKv, StorageError, Table, WriteBatch};

/// Why the store failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed, or the committer is gone.
    #[error("payload store: {0}")]
    Backend(String),
    /// A stored value does not decode (the database was damaged).
    #[error("stored payload {0} is corrupt")]
    Corrupt(PayloadHash),
}

impl From<StorageError> for StoreError {
    fn from(e: StorageError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Lock stripes for merges.
const MERGE_STRIPES: usize = 64;

struct Commit {
    batch: WriteBatch,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Encoded payloads by hash, with group commit.
#[derive(Clone)]
pub struct PayloadStore {
    kv: Arc<dyn KvStore>,
    commits: mpsc::Sender<Commit>,
    /// Serialises read-merge-write of one payload's copies (pushes and resends), striped by
    /// hash so that pushes of different payloads still commit together.
    merging: Arc<[tokio::sync::Mutex<()>; MERGE_STRIPES]>,
}

impl std::fmt::Debug for PayloadStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadStore").finish_non_exhaustive()
    }
}

impl PayloadStore {
    /// Opens (creating if needed) the RocksDB store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Backend(format!("creating {}: {e}", path.display())))?;
        Ok(Self::new(Arc::new(RocksKv::open(path)?)))
    }

    /// A store over any key-value store; starts the committer thread.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        let (commits, queue) = mpsc::channel();
        let committer_kv = kv.clone();
        std::thread::Builder::new()
            .name("payload-commit".into())
            .spawn(move || commit_groups(committer_kv.as_ref(), queue))
            .expect("spawning the payload committer thread");
        Self {
            kv,
            commits,
            merging: Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))),
        }
    }

    /// The payload stored under `hash`.
    pub fn get(&self, hash: &PayloadHash) -> Result<Option<EncodedPayload>, StoreError> {
        match self.kv.get(Table::Payloads, &hash.0)? {
            None => Ok(None),
            Some(bytes) => {
                EncodedPayload::decode(&bytes).map(Some).map_err(|_| StoreError::Corrupt(*hash))
            }
        }
    }

    /// Every stored payload (for resend).
    pub fn all(&self) -> Result<Vec<EncodedPayload>, StoreError> {
        self.kv
            .scan_prefix(Table::Payloads, &[])?
            .into_iter()
            .map(|(key, bytes)| {
                EncodedPayload::decode(&bytes).map_err(|_| {
                    let mut hash = [0u8; 64];
                    let n = key.len().min(64);
                    hash[..n].copy_from_slice(&key[..n]);
                    StoreError::Corrupt(PayloadHash(hash))
                })
            })
            .collect()
    }

    /// Stores `payload` durably, replacing what was under its hash.
    pub async fn put(&self, payload: &EncodedPayload) -> Result<PayloadHash, StoreError> {
        let hash = payload.hash();
        let mut batch = WriteBatch::new();
        batch.put(Table::Payloads, hash.0.to_vec(), payload.encode());
        self.commit(batch).await?;
        Ok(hash)
    }

    /// Stores `payload`, keeping the boxes of a copy already stored under its hash.
    pub async fn merge(&self, payload: EncodedPayload) -> Result<PayloadHash, StoreError> {
        let hash = payload.hash();
        let _one_at_a_time = self.merging[hash.0[0] as usize % MERGE_STRIPES].lock().await;
        let merged = match self.get(&hash)? {
            Some(mut stored) => {
                stored.merge_boxes(payload);
                stored
            }
            None => payload,
        };
        self.put(&merged).await
    }

    /// Removes the payload under `hash` durably.
    pub async fn delete(&self, hash: &PayloadHash) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.delete(Table::Payloads, hash.0.to_vec());
        self.commit(batch).await
    }

    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.commits
            .send(Commit { batch, done })
            .map_err(|_| StoreError::Backend("the committer thread stopped".into()))?;
        answer.await.map_err(|_| StoreError::Backend("the committer thread stopped".into()))?
    }
}

/// The committer: one write and one fsync per group of queued batches.
fn commit_groups(kv: &dyn KvStore, queue: mpsc::Receiver<Commit>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        group.extend(queue.try_iter());
        let mut batch = WriteBatch::new();
        let mut waiting = Vec::with_capacity(group.len());
        for commit in group {
            batch.append(commit.batch);
            waiting.push(commit.done);
        }
        let started = std::time::Instant::now();
        let result = kv.write(batch).and_then(|()| kv.flush()).map_err(StoreError::from);
        metrics::histogram!("veil_tm_store_fsync_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("veil_tm_store_group_size").record(waiting.len() as f64);
        if let Err(e) = &result {
            tracing::error!(error = %e, "payload store write failed");
        }
        for done in waiting {
            let _ = done.send(result.clone());
        }
    }
}
