//! Per-account nonce locks for the methods that choose a nonce and submit
//! (`eth_sendTransaction`, `personal_sendTransaction`), as geth's `AddrLocker`: the pending
//! nonce is read and the signed transaction admitted to the pool under the sender's lock, so
//! two concurrent sends from one account never get the same nonce.

use alloy_primitives::Address;
use parking_lot::{lock_api::ArcMutexGuard, Mutex, RawMutex};
use std::{collections::HashMap, sync::Arc};

/// The locks, one per account that has sent (a node's own keystore accounts: few).
#[derive(Debug, Default)]
pub(crate) struct NonceLocks {
    locks: Mutex<HashMap<Address, Arc<Mutex<()>>>>,
}

/// Held while a nonce is chosen and its transaction submitted.
pub(crate) type NonceGuard = ArcMutexGuard<RawMutex, ()>;

impl NonceLocks {
    /// Waits for `account`'s lock.
    pub(crate) fn lock(&self, account: Address) -> NonceGuard {
        let lock = self.locks.lock().entry(account).or_default().clone();
        lock.lock_arc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_is_locked_at_a_time_and_others_are_free() {
        let locks = NonceLocks::default();
        let a = Address::repeat_byte(1);
        let held = locks.lock(a);
        assert!(locks.locks.lock()[&a].try_lock().is_none(), "a second sender of a waits");
        let _other = locks.lock(Address::repeat_byte(2));
        drop(held);
        assert!(locks.locks.lock()[&a].try_lock().is_some());
    }
}
