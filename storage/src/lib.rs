//! Veil's storage: typed tables over a key-value store, Merkle Patricia state tries and the
//! chain store. The only crate that names `rocksdb`.
//!
//! - [`KvStore`] is the seam: [`RocksKv`] (one column family per [`Table`]) for nodes,
//!   [`InMemoryKv`] for tests and one-shot runs. Every write is a [`WriteBatch`], applied
//!   atomically: a block's state, body, receipts and indexes land together or not at all.
//! - [`Trie`] is a Merkle Patricia trie persisted as nodes, updated incrementally.
//! - [`StateDb`] keeps independent state namespaces ([`StateNamespace::PUBLIC`], later
//!   [`StateNamespace::PRIVATE`]), each with account and storage tries plus a flat table of the
//!   latest state, so reads of the head never walk a trie; [`StateDb::at_root`] reads any past
//!   root.
//! - [`ChainStore`] keeps headers, bodies, senders, receipts and the canonical and transaction
//!   indexes.
//!
//! ```
//! use std::sync::Arc;
//! use veil_storage::*;
//! use alloy_primitives::{Address, U256};
//!
//! let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
//! let state = StateDb::new(kv.clone());
//! let mut batch = WriteBatch::new();
//! let diff = StateDiff { accounts: vec![AccountChange {
//!     address: Address::repeat_byte(1),
//!     update: AccountUpdate::Updated(AccountInfo { balance: U256::from(5), ..Default::default() }),
//!     wipe_storage: false, storage: vec![(U256::from(1), U256::from(2))] }], code: vec![] };
//! let root = state.apply(StateNamespace::PUBLIC, alloy_trie::EMPTY_ROOT_HASH, &diff, &mut batch).unwrap();
//! kv.write(batch).unwrap();
//! assert_eq!(state.latest(StateNamespace::PUBLIC).storage(Address::repeat_byte(1), U256::from(1)).unwrap(), U256::from(2));
//! assert_eq!(state.at_root(root).storage(Address::repeat_byte(1), U256::from(1)).unwrap(), U256::from(2));
//! ```

mod chain;
mod in_memory;
mod kv;
mod rocks;
mod state;
mod trie;

pub use chain::{ChainStore, TxLocation};
pub use in_memory::InMemoryKv;
pub use kv::{KvPairs, KvStore, Table, WriteBatch, WriteOp};
pub use rocks::RocksKv;
pub use state::{
    AccountChange, AccountInfo, AccountProof, AccountUpdate, HistoricState, LatestState, SlotProof,
    StateDb, StateDiff, StateNamespace, StateReader,
};
pub use trie::{lookup, proof, Trie};

use alloy_primitives::B256;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend (RocksDB) failed.
    #[error("storage backend: {0}")]
    Backend(String),
    /// A trie node the root refers to is not in the store.
    #[error("missing trie node {0}")]
    MissingNode(B256),
    /// Stored bytes do not decode.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// A diff was applied on a root that is not the namespace's latest state.
    #[error("state diff applies to root {parent_root} but the latest state is {latest_root}")]
    NotLatest {
        /// The root the diff was computed on.
        parent_root: B256,
        /// The latest root of the namespace.
        latest_root: B256,
    },
}
