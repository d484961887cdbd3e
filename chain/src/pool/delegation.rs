//! EIP-7702 in the pool: which accounts are delegated, or about to be, so that geth's rules
//! for them apply (one pooled transaction for a delegated account; no delegation of an account
//! with pooled transactions).

use super::{PoolError, PoolState};
use alloy_primitives::{Address, B256};
use veil_primitives::RecoveredTx;
use veil_storage::StateReader;

/// The code of a delegated account: `0xef0100 ‖ address` (EIP-7702).
const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];

/// Whether the code under `code_hash` is an EIP-7702 delegation.
pub(super) fn is_delegated(
    state: &impl StateReader,
    code_hash: Option<B256>,
) -> Result<bool, PoolError> {
    let Some(code_hash) = code_hash else { return Ok(false) };
    let code = state.code(code_hash)?;
    Ok(code.is_some_and(|code| code.len() == 23 && code.starts_with(&DELEGATION_PREFIX)))
}

/// The accounts a set-code transaction's authorizations name (those whose signature
/// recovers; revm skips the others at execution).
pub(super) fn authorities(tx: &RecoveredTx) -> Vec<Address> {
    tx.tx()
        .fields()
        .authorization_list()
        .map(|list| list.iter().filter_map(|auth| auth.recover_authority().ok()).collect())
        .unwrap_or_default()
}

impl PoolState {
    /// Whether a pooled set-code transaction delegates `account`. Forgets set-code
    /// transactions that left the pool.
    pub(super) fn being_delegated(&mut self, account: &Address) -> bool {
        let mut found = false;
        let mut gone = Vec::new();
        for hash in &self.set_code {
            let pooled = self.by_hash.get(hash).and_then(|(sender, nonce)| {
                self.senders.get(sender).and_then(|s| s.by_nonce.get(nonce))
            });
            match pooled {
                Some(pooled) if pooled.tx.hash() == *hash => {
                    found |= authorities(&pooled.tx).contains(account);
                }
                _ => gone.push(*hash),
            }
        }
        for hash in gone {
            self.set_code.remove(&hash);
        }
        found
    }
}
