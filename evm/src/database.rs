//! The adapter through which revm reads Veil state.

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};
use std::collections::HashSet;
use veil_storage::{ChainStore, StateReader, StorageError};

/// A storage failure seen by revm.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StateError(#[from] pub StorageError);

impl DBErrorMarker for StateError {}

/// Where `BLOCKHASH` looks up hashes of earlier blocks.
pub trait BlockHashes {
    /// The canonical hash of block `number`.
    fn block_hash(&self, number: u64) -> Result<B256, StorageError>;
}

impl BlockHashes for ChainStore {
    fn block_hash(&self, number: u64) -> Result<B256, StorageError> {
        Ok(self.canonical_hash(number)?.unwrap_or_default())
    }
}

/// The convention of ethereum/tests state tests: the hash of block `n` is keccak256 of the
/// decimal string of `n`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StateTestBlockHashes;

impl BlockHashes for StateTestBlockHashes {
    fn block_hash(&self, number: u64) -> Result<B256, StorageError> {
        Ok(keccak256(number.to_string().as_bytes()))
    }
}

/// revm's read view of a Veil state plus block hashes.
#[derive(Debug)]
pub struct StateDatabase<S, H> {
    state: S,
    hashes: H,
    /// Accounts read so far that hold storage but neither code nor nonce: only they can make
    /// a creation collide through storage alone (EIP-7610, [`crate::CollisionGuard`]).
    storage_only: parking_lot::Mutex<HashSet<Address>>,
}

impl<S: StateReader, H: BlockHashes> StateDatabase<S, H> {
    /// revm's view of `state`, resolving `BLOCKHASH` through `hashes`.
    pub fn new(state: S, hashes: H) -> Self {
        Self { state, hashes, storage_only: Default::default() }
    }

    /// Whether `address` was read as an account with storage but neither code nor nonce.
    pub fn loaded_storage_only(&self, address: Address) -> bool {
        self.storage_only.lock().contains(&address)
    }

    /// Where `BLOCKHASH` looks.
    pub fn hashes(&self) -> &H {
        &self.hashes
    }
}

impl<S: StateReader, H: BlockHashes> DatabaseRef for StateDatabase<S, H> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let account = self.state.account(address)?;
        if let Some(account) = &account {
            if account.nonce == 0
                && account.code_hash == KECCAK_EMPTY
                && account.storage_root != EMPTY_ROOT_HASH
            {
                self.storage_only.lock().insert(address);
            }
        }
        Ok(account.map(|account| AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        let code = self
            .state
            .code(code_hash)?
            .ok_or_else(|| StorageError::Corrupt(format!("code {code_hash} missing")))?;
        Ok(Bytecode::new_raw(code))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.state.storage(address, index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.hashes.block_hash(number)?)
    }
}
