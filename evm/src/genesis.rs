//! The genesis state and header of a chain.

use alloy_consensus::Header;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use std::sync::Arc;
use veil_config::ChainSpec;
use veil_storage::{
    AccountChange, AccountInfo, AccountUpdate, InMemoryKv, KvStore, StateDb, StateDiff,
    StateNamespace, StorageError, WriteBatch,
};

/// Adds an account of a genesis `alloc` (or a test fixture's `pre`/`postState`) to `diff`:
/// its code, and its storage without zero values.
pub fn push_alloc_account(
    diff: &mut StateDiff,
    address: Address,
    balance: U256,
    nonce: u64,
    code: &Bytes,
    storage: impl IntoIterator<Item = (U256, U256)>,
) {
    let code_hash = if code.is_empty() { KECCAK_EMPTY } else { keccak256(code) };
    if !code.is_empty() {
        diff.code.push((code_hash, code.clone()));
    }
    diff.accounts.push(AccountChange {
        address,
        update: AccountUpdate::Updated(AccountInfo { nonce, balance, code_hash }),
        wipe_storage: false,
        storage: storage.into_iter().filter(|(_, value)| !value.is_zero()).collect(),
    });
}

/// The genesis `alloc` as a state diff on the empty state. Zero-valued storage is left out.
pub fn genesis_diff(chain: &ChainSpec) -> StateDiff {
    let mut diff = StateDiff::default();
    for (address, account) in &chain.genesis().alloc {
        let storage = account
            .storage
            .iter()
            .flatten()
            .map(|(slot, value)| (U256::from_be_bytes(slot.0), U256::from_be_bytes(value.0)));
        push_alloc_account(
            &mut diff,
            *address,
            account.balance,
            account.nonce.unwrap_or_default(),
            &account.code.clone().unwrap_or_default(),
            storage,
        );
    }
    diff
}

/// The genesis header and its hash, with the state root computed by Veil's trie.
pub fn genesis_header(chain: &ChainSpec) -> Result<(B256, Header), StorageError> {
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    let mut batch = WriteBatch::new();
    let root = StateDb::new(kv).apply(
        StateNamespace::PUBLIC,
        EMPTY_ROOT_HASH,
        &genesis_diff(chain),
        &mut batch,
    )?;
    let header = chain.genesis_header(root);
    Ok((veil_primitives::istanbul::block_hash(&header), header))
}
