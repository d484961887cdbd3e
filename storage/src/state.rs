//! World state: per-namespace account and storage tries, a flat table of the latest state, and
//! code by hash.
//!
//! A namespace is an independent state (the public state, and later the private state); all
//! namespaces share the content-addressed node table, but each has its own root and its own
//! flat entries (keys are prefixed with the namespace byte).

use crate::{trie, KvStore, StorageError, Table, Trie, WriteBatch};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::Decodable;
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use std::sync::Arc;

/// An independent state: its own tries and flat entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateNamespace(u8);

impl StateNamespace {
    /// The public state every node agrees on; its root is in the block header.
    pub const PUBLIC: Self = Self(0);
    /// The private state of this node's participant.
    pub const PRIVATE: Self = Self(1);

    fn flat_root_key(self) -> [u8; 10] {
        let mut key = *b"flat_root\0";
        key[9] = self.0;
        key
    }

    fn account_key(self, address: Address) -> [u8; 21] {
        let mut key = [0u8; 21];
        key[0] = self.0;
        key[1..].copy_from_slice(address.as_slice());
        key
    }

    fn slot_key(self, address: Address, slot: U256) -> [u8; 53] {
        let mut key = [0u8; 53];
        key[..21].copy_from_slice(&self.account_key(address));
        key[21..].copy_from_slice(&slot.to_be_bytes::<32>());
        key
    }
}

/// Nonce, balance and code hash of an account (the storage root is the state layer's business).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// keccak256 of the code ([`KECCAK_EMPTY`] for none).
    pub code_hash: B256,
}

impl Default for AccountInfo {
    fn default() -> Self {
        Self { nonce: 0, balance: U256::ZERO, code_hash: KECCAK_EMPTY }
    }
}

/// What happened to an account's nonce, balance and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountUpdate {
    /// Left as it was (only its storage may have changed).
    Unchanged,
    /// Set to new values (created or modified).
    Updated(AccountInfo),
    /// Removed with its storage (self-destructed, or touched while empty under EIP-161).
    Destroyed,
}

/// The changes a block makes to one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountChange {
    /// The account.
    pub address: Address,
    /// Nonce, balance and code.
    pub update: AccountUpdate,
    /// Drop all storage before applying `storage` (the account was destroyed and re-created).
    pub wipe_storage: bool,
    /// Slots written; a zero value deletes the slot.
    pub storage: Vec<(U256, U256)>,
}

/// The changes a block makes to one state namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Changed accounts.
    pub accounts: Vec<AccountChange>,
    /// New code by hash.
    pub code: Vec<(B256, Bytes)>,
}

/// Reads a state.
pub trait StateReader {
    /// The account at `address`, with its storage root.
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, StorageError>;
    /// A storage slot (zero when absent).
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StorageError>;
    /// Code by hash.
    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StorageError> {
        let _ = code_hash;
        Ok(None)
    }
}

fn decode_account(bytes: &[u8]) -> Result<TrieAccount, StorageError> {
    TrieAccount::decode(&mut &bytes[..]).map_err(|e| StorageError::Corrupt(format!("account: {e}")))
}

fn read_code(kv: &dyn KvStore, code_hash: B256) -> Result<Option<Bytes>, StorageError> {
    if code_hash == KECCAK_EMPTY {
        return Ok(Some(Bytes::new()));
    }
    Ok(kv.get(Table::Code, code_hash.as_slice())?.map(Bytes::from))
}

/// The latest state of a namespace, read from the flat tables (no trie walk).
#[derive(Clone)]
pub struct LatestState {
    kv: Arc<dyn KvStore>,
    namespace: StateNamespace,
}

impl StateReader for LatestState {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, StorageError> {
        self.kv
            .get(Table::FlatAccounts, &self.namespace.account_key(address))?
            .map(|bytes| decode_account(&bytes))
            .transpose()
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StorageError> {
        Ok(self
            .kv
            .get(Table::FlatStorage, &self.namespace.slot_key(address, slot))?
            .map(|bytes| U256::from_be_slice(&bytes))
            .unwrap_or_default())
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StorageError> {
        read_code(self.kv.as_ref(), code_hash)
    }
}

/// The state under a given root, read through the tries (any past block).
#[derive(Clone)]
pub struct HistoricState {
    kv: Arc<dyn KvStore>,
    root: B256,
}

impl StateReader for HistoricState {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, StorageError> {
        trie::lookup(self.kv.as_ref(), self.root, keccak256(address).as_slice())?
            .map(|bytes| decode_account(&bytes))
            .transpose()
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StorageError> {
        let Some(account) = self.account(address)? else { return Ok(U256::ZERO) };
        let key = keccak256(slot.to_be_bytes::<32>());
        match trie::lookup(self.kv.as_ref(), account.storage_root, key.as_slice())? {
            None => Ok(U256::ZERO),
            Some(bytes) => U256::decode(&mut &bytes[..])
                .map_err(|e| StorageError::Corrupt(format!("storage value: {e}"))),
        }
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StorageError> {
        read_code(self.kv.as_ref(), code_hash)
    }
}

/// An account with its Merkle proof and proofs of some of its slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountProof {
    /// The account, if it exists.
    pub account: Option<TrieAccount>,
    /// Trie nodes from the state root towards the account.
    pub account_proof: Vec<Bytes>,
    /// One proof per requested slot, in request order.
    pub storage: Vec<SlotProof>,
}

/// A storage slot with its Merkle proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotProof {
    /// The slot.
    pub slot: B256,
    /// Its value (zero when absent).
    pub value: U256,
    /// Trie nodes from the storage root towards the slot.
    pub proof: Vec<Bytes>,
}

/// The state layer over a [`KvStore`].
#[derive(Clone)]
pub struct StateDb {
    kv: Arc<dyn KvStore>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb").finish_non_exhaustive()
    }
}

impl StateDb {
    /// The state layer over `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// The latest state of `namespace` (flat reads).
    pub fn latest(&self, namespace: StateNamespace) -> LatestState {
        LatestState { kv: self.kv.clone(), namespace }
    }

    /// The state under `root` (trie reads; works for every root ever committed).
    pub fn at_root(&self, root: B256) -> HistoricState {
        HistoricState { kv: self.kv.clone(), root }
    }

    /// EIP-1186 proofs of an account and some of its slots in the state under `root`.
    pub fn proof(
        &self,
        root: B256,
        address: Address,
        slots: &[B256],
    ) -> Result<AccountProof, StorageError> {
        let kv = self.kv.as_ref();
        let account_key = keccak256(address);
        let account_proof = trie::proof(kv, root, account_key.as_slice())?;
        let account = self.at_root(root).account(address)?;
        let storage_root = account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        let storage = slots
            .iter()
            .map(|&slot| {
                let key = keccak256(slot);
                let value = match trie::lookup(kv, storage_root, key.as_slice())? {
                    None => U256::ZERO,
                    Some(bytes) => U256::decode(&mut &bytes[..])
                        .map_err(|e| StorageError::Corrupt(format!("storage value: {e}")))?,
                };
                let proof = trie::proof(kv, storage_root, key.as_slice())?;
                Ok(SlotProof { slot, value, proof })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(AccountProof { account, account_proof, storage })
    }

    /// The root the flat tables of `namespace` currently hold.
    pub fn flat_root(&self, namespace: StateNamespace) -> Result<B256, StorageError> {
        Ok(self
            .kv
            .get(Table::Meta, &namespace.flat_root_key())?
            .map(|bytes| B256::from_slice(&bytes))
            .unwrap_or(EMPTY_ROOT_HASH))
    }

    /// Applies `diff` on top of `parent_root`, which must be the latest state of `namespace`.
    /// Queues trie nodes, flat entries and code into `batch` and returns the new root; nothing
    /// is written until the caller writes the batch. Apply at most once per namespace per batch.
    pub fn apply(
        &self,
        namespace: StateNamespace,
        parent_root: B256,
        diff: &StateDiff,
        batch: &mut WriteBatch,
    ) -> Result<B256, StorageError> {
        let flat_root = self.flat_root(namespace)?;
        if flat_root != parent_root {
            return Err(StorageError::NotLatest { parent_root, latest_root: flat_root });
        }
        let latest = self.latest(namespace);
        let mut accounts = Trie::open(self.kv.as_ref(), parent_root);
        for change in &diff.accounts {
            let address = change.address;
            let account_key = namespace.account_key(address);
            let hashed_address = keccak256(address);
            if change.update == AccountUpdate::Destroyed {
                accounts.delete(hashed_address.as_slice())?;
                batch.delete(Table::FlatAccounts, account_key);
                batch.delete_prefix(Table::FlatStorage, &account_key);
                continue;
            }
            let current = latest.account(address)?;
            let info = match change.update {
                AccountUpdate::Updated(info) => info,
                _ => current
                    .map(|a| AccountInfo {
                        nonce: a.nonce,
                        balance: a.balance,
                        code_hash: a.code_hash,
                    })
                    .unwrap_or_default(),
            };
            let mut storage_root = match current {
                Some(account) if !change.wipe_storage => account.storage_root,
                _ => EMPTY_ROOT_HASH,
            };
            if change.wipe_storage {
                batch.delete_prefix(Table::FlatStorage, &account_key);
            }
            if !change.storage.is_empty() {
                let mut storage = Trie::open(self.kv.as_ref(), storage_root);
                for &(slot, value) in &change.storage {
                    let hashed_slot = keccak256(slot.to_be_bytes::<32>());
                    let flat_key = namespace.slot_key(address, slot);
                    if value.is_zero() {
                        storage.delete(hashed_slot.as_slice())?;
                        batch.delete(Table::FlatStorage, flat_key);
                    } else {
                        storage.insert(hashed_slot.as_slice(), alloy_rlp::encode(value))?;
                        batch.put(Table::FlatStorage, flat_key, value.to_be_bytes_trimmed_vec());
                    }
                }
                storage_root = storage.commit(batch);
            }
            let account = TrieAccount {
                nonce: info.nonce,
                balance: info.balance,
                storage_root,
                code_hash: info.code_hash,
            };
            let encoded = alloy_rlp::encode(account);
            accounts.insert(hashed_address.as_slice(), encoded.clone())?;
            batch.put(Table::FlatAccounts, account_key, encoded);
        }
        for (hash, code) in &diff.code {
            batch.put(Table::Code, hash.as_slice(), code.to_vec());
        }
        let root = accounts.commit(batch);
        batch.put(Table::Meta, namespace.flat_root_key(), root.as_slice());
        Ok(root)
    }
}
