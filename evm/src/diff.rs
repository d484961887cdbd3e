//! From revm's change set to Veil's state diff.

use alloy_primitives::Address;
use revm::database::{states::StateChangeset, BundleState, OriginalValuesKnown};
use std::collections::BTreeMap;
use veil_storage::{AccountChange, AccountInfo, AccountUpdate, StateDiff};

/// Turns the bundle revm built over a block into the diff the state layer applies.
pub fn bundle_to_diff(bundle: &BundleState) -> StateDiff {
    changeset_to_diff(bundle.to_plain_state(OriginalValuesKnown::Yes))
}

fn changeset_to_diff(changes: StateChangeset) -> StateDiff {
    let mut accounts: BTreeMap<Address, AccountChange> = BTreeMap::new();
    for (address, info) in changes.accounts {
        entry(&mut accounts, address).update = match info {
            Some(info) => AccountUpdate::Updated(AccountInfo {
                nonce: info.nonce,
                balance: info.balance,
                code_hash: info.code_hash,
            }),
            None => AccountUpdate::Destroyed,
        };
    }
    for storage in changes.storage {
        let change = entry(&mut accounts, storage.address);
        change.wipe_storage = storage.wipe_storage;
        change.storage = storage.storage;
    }
    let code =
        changes.contracts.into_iter().map(|(hash, code)| (hash, code.original_bytes())).collect();
    StateDiff { accounts: accounts.into_values().collect(), code }
}

fn entry(accounts: &mut BTreeMap<Address, AccountChange>, address: Address) -> &mut AccountChange {
    accounts.entry(address).or_insert_with(|| AccountChange {
        address,
        update: AccountUpdate::Unchanged,
        wipe_storage: false,
        storage: Vec::new(),
    })
}
