//! The node's record of the private contracts created with privacy enhancements: each one's
//! flag and creation payload hash, in [`Table::PrivateContracts`], written with the block that
//! created it.

use alloy_primitives::Address;
use std::sync::Arc;
use veil_evm::{ContractPrivacy, ContractPrivacyReader};
use veil_storage::{KvStore, StorageError, Table, WriteBatch};

/// [`ContractPrivacyReader`] over the node's store.
pub struct StoredContractPrivacy(pub Arc<dyn KvStore>);

impl ContractPrivacyReader for StoredContractPrivacy {
    fn contract_privacy(&self, address: &Address) -> Result<Option<ContractPrivacy>, StorageError> {
        let Some(bytes) = self.0.get(Table::PrivateContracts, address.as_slice())? else {
            return Ok(None);
        };
        ContractPrivacy::decode(&bytes)
            .map(Some)
            .ok_or_else(|| StorageError::Corrupt(format!("privacy metadata of contract {address}")))
    }
}

/// Queues the protection of contracts a block created.
pub(crate) fn put(batch: &mut WriteBatch, contracts: &[(Address, ContractPrivacy)]) {
    for (address, protection) in contracts {
        batch.put(Table::PrivateContracts, address.as_slice(), protection.encode());
    }
}
