//! The state a tracer's `db` reads: the EVM's live journal while a hook runs (what the
//! transaction has done so far), or a transaction's changes over the state before it, for
//! `result`.
//!
//! QuickJS natives must be `'static`, but the journal is only borrowed for one hook. [`Lent`]
//! bridges the two the way revm-inspectors' JavaScript tracer does: the borrow is lent for the
//! duration of one call into JavaScript and taken back before the hook returns, so a native can
//! never reach it outside that call.

use alloy_primitives::{Address, Bytes, U256};
use revm::{
    context::{ContextTr, JournalTr},
    database_interface::{Database, DatabaseRef},
    state::EvmState,
};
use std::{cell::Cell, ptr::NonNull};

/// An account as `db` shows it.
#[derive(Clone, Debug, Default)]
pub(super) struct AccountView {
    pub(super) balance: U256,
    pub(super) nonce: u64,
    pub(super) code: Bytes,
}

/// What `db` can ask.
pub(super) trait StateView {
    /// The account, `None` when it does not exist.
    fn account(&mut self, address: Address) -> Option<AccountView>;
    /// A storage slot's current value.
    fn storage(&mut self, address: Address, slot: U256) -> U256;
}

/// The live journal of a running transaction. Reads do not warm anything: what the
/// transaction has loaded is read from the journal, the rest from the database underneath.
pub(super) struct Live<'a, CTX>(pub(super) &'a mut CTX);

impl<CTX> StateView for Live<'_, CTX>
where
    CTX: ContextTr<Journal: JournalTr<State = EvmState>>,
{
    fn account(&mut self, address: Address) -> Option<AccountView> {
        let (db, state) = self.0.journal_mut().db_and_state_mut();
        let info = match state.get(&address) {
            Some(account) if account.is_loaded_as_not_existing() && !account.is_touched() => None,
            Some(account) => Some(account.info.clone()),
            None => db.basic(address).ok().flatten(),
        }?;
        let code = match &info.code {
            Some(code) => code.original_bytes(),
            None => db.code_by_hash(info.code_hash).map(|c| c.original_bytes()).unwrap_or_default(),
        };
        Some(AccountView { balance: info.balance, nonce: info.nonce, code })
    }

    fn storage(&mut self, address: Address, slot: U256) -> U256 {
        let (db, state) = self.0.journal_mut().db_and_state_mut();
        match state.get(&address).and_then(|account| account.storage.get(&slot)) {
            Some(value) => value.present_value,
            None => db.storage(address, slot).unwrap_or_default(),
        }
    }
}

/// A finished transaction's changes over the state before it.
pub(super) struct After<'a, D> {
    pub(super) changes: &'a EvmState,
    pub(super) before: D,
}

impl<D: DatabaseRef> StateView for After<'_, D> {
    fn account(&mut self, address: Address) -> Option<AccountView> {
        let info = match self.changes.get(&address) {
            Some(account) if account.is_selfdestructed() => None,
            Some(account) => Some(account.info.clone()),
            None => self.before.basic_ref(address).ok().flatten(),
        }?;
        let code = match &info.code {
            Some(code) => code.original_bytes(),
            None => self
                .before
                .code_by_hash_ref(info.code_hash)
                .map(|c| c.original_bytes())
                .unwrap_or_default(),
        };
        Some(AccountView { balance: info.balance, nonce: info.nonce, code })
    }

    fn storage(&mut self, address: Address, slot: U256) -> U256 {
        match self.changes.get(&address).and_then(|account| account.storage.get(&slot)) {
            Some(value) => value.present_value,
            None => self.before.storage_ref(address, slot).unwrap_or_default(),
        }
    }
}

/// A [`StateView`] lent to the natives for the duration of one call.
#[derive(Default)]
pub(super) struct Lent {
    view: Cell<Option<NonNull<dyn StateView>>>,
}

impl Lent {
    /// Runs `f` with `view` reachable through [`Lent::with`], and takes it back after.
    pub(super) fn lend<R>(&self, view: &mut dyn StateView, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Lent, Option<NonNull<dyn StateView>>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.view.set(self.1);
            }
        }
        let pointer = NonNull::from(view);
        // SAFETY: only the lifetime is erased. The pointer is reachable through `with` while
        // `f` runs, during which `view`'s exclusive borrow is held by this frame and not
        // otherwise used; `Restore` takes it back when `f` returns or unwinds.
        let pointer: NonNull<dyn StateView> = unsafe { std::mem::transmute(pointer) };
        let _restore = Restore(self, self.view.replace(Some(pointer)));
        f()
    }

    /// Runs `f` on the lent view; `None` when nothing is lent (a native called outside a hook,
    /// or from within another native).
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut dyn StateView) -> R) -> Option<R> {
        let pointer = self.view.take()?;
        // SAFETY: `pointer` came from a `&mut dyn StateView` that `lend` keeps borrowed for the
        // whole call; taking it out of the cell while `f` runs makes this the only reference.
        let result = f(unsafe { &mut *pointer.as_ptr() });
        self.view.set(Some(pointer));
        Some(result)
    }
}
