//! EIP-7610: a contract cannot be created at an address that holds storage, even when the
//! account there has neither code nor nonce. Such accounts cannot arise from transactions on a
//! chain after EIP-161, but a genesis may allocate them, and ethereum/tests checks the rule on
//! every fork. geth applies it everywhere; revm checks only code and nonce, so
//! [`CollisionGuard`] adds the storage check in front of revm's creation.

use crate::BlockHashes;
use crate::StateDatabase;
use alloy_primitives::{Address, Bytes};
use revm::{
    context::{ContextTr, JournalTr},
    context_interface::journaled_state::account::JournaledAccountTr,
    database::{states::CacheAccount, CacheDB, State, WrapDatabaseRef},
    interpreter::{CreateInputs, CreateOutcome, Gas, InstructionResult, InterpreterResult},
    primitives::{CALL_STACK_LIMIT, KECCAK_EMPTY},
    Inspector,
};
use veil_storage::StateReader;

/// A state view that can say whether an account holds storage.
pub trait StorageOccupancy {
    /// Whether `address` holds a non-zero storage slot, seen from this view.
    fn holds_storage(&self, address: Address) -> bool;
}

impl<T: StorageOccupancy + ?Sized> StorageOccupancy for &mut T {
    fn holds_storage(&self, address: Address) -> bool {
        (**self).holds_storage(address)
    }
}

impl<S: StateReader, H: BlockHashes> StorageOccupancy
    for State<WrapDatabaseRef<StateDatabase<S, H>>>
{
    fn holds_storage(&self, address: Address) -> bool {
        let cached = self.cache.accounts.get(&address);
        let cached_slots = cached
            .and_then(|c: &CacheAccount| c.account.as_ref())
            .is_some_and(|account| account.storage.values().any(|value| !value.is_zero()));
        let storage_known = cached.is_some_and(|c| c.status.is_storage_known());
        cached_slots || (!storage_known && self.database.0.loaded_storage_only(address))
    }
}

impl<S: StateReader, H: BlockHashes> StorageOccupancy for CacheDB<StateDatabase<S, H>> {
    fn holds_storage(&self, address: Address) -> bool {
        let cached = self.cache.accounts.get(&address);
        let cached_slots =
            cached.is_some_and(|account| account.storage.values().any(|value| !value.is_zero()));
        let storage_known = cached.is_some_and(|account| {
            account.account_state.is_storage_cleared()
                || matches!(account.account_state, revm::database::AccountState::NotExisting)
        });
        cached_slots || (!storage_known && self.db.loaded_storage_only(address))
    }
}

/// The inspector that refuses a creation at an address holding storage (EIP-7610), as geth
/// does: the creator's nonce is still bumped and the creation's gas is consumed.
#[derive(Clone, Copy, Debug, Default)]
pub struct CollisionGuard;

impl<CTX> Inspector<CTX> for CollisionGuard
where
    CTX: ContextTr,
    CTX::Db: StorageOccupancy,
{
    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        // What revm refuses before it takes the address (depth, funds, nonce overflow) it
        // refuses itself, with its own result.
        let journal = context.journal_mut();
        if journal.depth() > CALL_STACK_LIMIT as usize {
            return None;
        }
        let caller = journal.load_account(inputs.caller()).ok()?;
        if caller.info.balance < inputs.value() || caller.info.nonce == u64::MAX {
            return None;
        }
        let target = inputs.created_address(caller.info.nonce);
        let account = journal.load_account(target).ok()?;
        if account.info.nonce != 0 || account.info.code_hash != KECCAK_EMPTY {
            // revm's own collision check refuses it.
            return None;
        }
        if !context.db().holds_storage(target) {
            return None;
        }
        // As revm and geth do before their collision check: the creator's nonce moves on.
        let mut caller = context.journal_mut().load_account_mut(inputs.caller()).ok()?;
        caller.bump_nonce();
        Some(CreateOutcome {
            result: InterpreterResult {
                result: InstructionResult::CreateCollision,
                gas: Gas::new_with_regular_gas_and_reservoir(
                    inputs.gas_limit(),
                    inputs.reservoir(),
                ),
                output: Bytes::new(),
            },
            address: None,
            charged_create_state_gas: inputs.charged_create_state_gas(),
        })
    }
}
