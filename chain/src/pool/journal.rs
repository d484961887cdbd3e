//! The pool journal: accepted transactions in the `pool_journal` table (hash → arrival sequence
//! ++ EIP-2718 bytes). A block commit deletes its transactions' entries in the same write batch,
//! so after a crash the journal holds exactly the accepted, not-yet-mined transactions.

use alloy_primitives::B256;
use std::sync::Arc;
use veil_primitives::{RecoveredTx, Transaction};
use veil_storage::{KvStore, StorageError, Table, WriteBatch};

/// A journaled transaction: its hash and the transaction, or why it no longer decodes.
pub type JournalEntry = (B256, Result<RecoveredTx, String>);

/// The pool journal over the node's store.
#[derive(Clone)]
pub struct Journal {
    kv: Arc<dyn KvStore>,
}

impl Journal {
    /// The journal in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// Records an accepted transaction (and forgets the one it replaced).
    pub fn record(
        &self,
        seq: u64,
        tx: &RecoveredTx,
        replaced: Option<B256>,
    ) -> Result<(), StorageError> {
        let mut value = seq.to_be_bytes().to_vec();
        value.extend_from_slice(&tx.tx().encoded_2718());
        let mut batch = WriteBatch::new();
        if let Some(old) = replaced {
            batch.delete(Table::PoolJournal, old.as_slice());
        }
        batch.put(Table::PoolJournal, tx.hash().as_slice(), value);
        self.kv.write(batch)
    }

    /// Forgets transactions.
    pub fn forget(&self, hashes: &[B256]) -> Result<(), StorageError> {
        if hashes.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        for hash in hashes {
            batch.delete(Table::PoolJournal, hash.as_slice());
        }
        self.kv.write(batch)
    }

    /// Every journaled transaction in arrival order, decoded and recovered (or why not).
    pub fn load(&self) -> Result<Vec<JournalEntry>, StorageError> {
        let mut entries: Vec<(u64, B256, Vec<u8>)> = self
            .kv
            .scan_prefix(Table::PoolJournal, &[])?
            .into_iter()
            .filter(|(key, value)| key.len() == 32 && value.len() > 8)
            .map(|(key, value)| {
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&value[..8]);
                (u64::from_be_bytes(seq), B256::from_slice(&key), value[8..].to_vec())
            })
            .collect();
        entries.sort_by_key(|(seq, _, _)| *seq);
        Ok(entries
            .into_iter()
            .map(|(_, hash, raw)| {
                let tx = Transaction::decode_2718_exact(&raw)
                    .map_err(|e| e.to_string())
                    .and_then(|tx| RecoveredTx::try_new(tx).map_err(|e| e.to_string()));
                (hash, tx)
            })
            .collect())
    }
}
