//! The key-value seam: tables, write batches and the [`KvStore`] trait.

use crate::StorageError;

/// A table; each is one RocksDB column family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Block hash → RLP header.
    Headers,
    /// Block hash → RLP body (transactions, ommers).
    Bodies,
    /// Block hash → concatenated 20-byte senders of the block's transactions.
    Senders,
    /// Block hash → RLP list of EIP-2718 receipts.
    Receipts,
    /// Block number (8 bytes big-endian) → canonical block hash.
    CanonicalHashes,
    /// Transaction hash → block hash ++ index (4 bytes big-endian).
    TxIndex,
    /// Node hash → RLP trie node, for every state namespace (content-addressed).
    TrieNodes,
    /// Code hash → bytecode.
    Code,
    /// Namespace ++ address → RLP account of the latest state.
    FlatAccounts,
    /// Namespace ++ address ++ slot → trimmed big-endian value of the latest state.
    FlatStorage,
    /// Small named values: head hash, genesis hash, chain config.
    Meta,
    /// Journal of accepted pool transactions (sequence → raw transaction).
    PoolJournal,
    /// The transaction manager's encrypted payloads (payload hash → encoded payload).
    Payloads,
    /// Raft log entries (index, 8 bytes big-endian → protobuf entry).
    RaftLog,
    /// Raft hard state, conf state and snapshot metadata (name → protobuf).
    RaftMeta,
    /// Block hash → this node's private state root after the block.
    PrivateRoots,
    /// Transaction hash → this party's private receipt of a private transaction.
    PrivateReceipts,
    /// Private contract address → its privacy enhancements' protection (flag and creation
    /// payload hash), for contracts created with a flag of 1–3.
    PrivateContracts,
}

impl Table {
    /// Every table, in column-family creation order.
    pub const ALL: [Table; 18] = [
        Table::Headers,
        Table::Bodies,
        Table::Senders,
        Table::Receipts,
        Table::CanonicalHashes,
        Table::TxIndex,
        Table::TrieNodes,
        Table::Code,
        Table::FlatAccounts,
        Table::FlatStorage,
        Table::Meta,
        Table::PoolJournal,
        Table::Payloads,
        Table::RaftLog,
        Table::RaftMeta,
        Table::PrivateRoots,
        Table::PrivateReceipts,
        Table::PrivateContracts,
    ];

    /// The column family name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Headers => "headers",
            Table::Bodies => "bodies",
            Table::Senders => "senders",
            Table::Receipts => "receipts",
            Table::CanonicalHashes => "canonical_hashes",
            Table::TxIndex => "tx_index",
            Table::TrieNodes => "trie_nodes",
            Table::Code => "code",
            Table::FlatAccounts => "flat_accounts",
            Table::FlatStorage => "flat_storage",
            Table::Meta => "meta",
            Table::PoolJournal => "pool_journal",
            Table::Payloads => "tm_payloads",
            Table::RaftLog => "raft_log",
            Table::RaftMeta => "raft_meta",
            Table::PrivateRoots => "private_roots",
            Table::PrivateReceipts => "private_receipts",
            Table::PrivateContracts => "private_contracts",
        }
    }
}

/// One operation of a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// Set `key` to `value`.
    Put(Table, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Table, Vec<u8>),
    /// Remove every key in `[from, to)`.
    DeleteRange(Table, Vec<u8>, Vec<u8>),
}

/// Writes that land together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a put.
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Put(table, key.into(), value.into()));
    }

    /// Queues a delete.
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete(table, key.into()));
    }

    /// Queues the removal of every key in `[from, to)`.
    pub fn delete_range(&mut self, table: Table, from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::DeleteRange(table, from.into(), to.into()));
    }

    /// Queues the removal of every key starting with `prefix`.
    pub fn delete_prefix(&mut self, table: Table, prefix: &[u8]) {
        let mut end = prefix.to_vec();
        // The smallest key greater than every key with this prefix: increment the last byte
        // that is not 0xff and drop what follows. Our prefixes are never all 0xff.
        while let Some(last) = end.pop() {
            if last != u8::MAX {
                end.push(last + 1);
                break;
            }
        }
        self.ops.push(WriteOp::DeleteRange(table, prefix.to_vec(), end));
    }

    /// The queued operations.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Number of queued operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Moves every operation of `other` to the end of this batch.
    pub fn append(&mut self, mut other: WriteBatch) {
        self.ops.append(&mut other.ops);
    }
}

/// Key-value pairs read from a table.
pub type KvPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A store of tables. Writes are atomic per batch; reads see whole batches.
pub trait KvStore: Send + Sync + 'static {
    /// Reads one key.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Applies a batch atomically.
    fn write(&self, batch: WriteBatch) -> Result<(), StorageError>;

    /// Every entry of `table` whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<KvPairs, StorageError>;

    /// Makes every write so far durable (fsync of the write-ahead log).
    fn flush(&self) -> Result<(), StorageError>;
}
