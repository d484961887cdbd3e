//! The calls a block makes to system contracts before its transactions: EIP-4788 (Cancun on)
//! records the parent beacon block root, EIP-2935 (Prague on) the parent block hash. Each runs
//! only when its contract has code, which is what geth's unconditional call amounts to (a call
//! to an account without code changes nothing). The requests of EIP-7002 and EIP-7251 are not
//! collected: a Veil chain has no beacon-chain validators to withdraw or consolidate
//! (`docs/design/forks.md`).

use crate::{executor::database_error, BlockContext, ExecutionError, StateDatabase, StateError};
use alloy_eips::{eip2935::HISTORY_STORAGE_ADDRESS, eip4788::BEACON_ROOTS_ADDRESS};
use alloy_primitives::{Address, Bytes};
use alloy_trie::KECCAK_EMPTY;
use revm::{
    context::ContextTr,
    context_interface::result::EVMError,
    database::{State, WrapDatabaseRef},
    handler::{system_call::SYSTEM_ADDRESS, MainnetContext, MainnetEvm, SystemCallEvm},
    Database, ExecuteCommitEvm,
};
use veil_config::{ChainSpec, Hardfork};
use veil_storage::StateReader;

/// The system contracts a block calls, with their input, in order.
pub(crate) fn system_calls<S: StateReader, H: crate::BlockHashes>(
    chain: &ChainSpec,
    block: &BlockContext,
    state: &mut State<WrapDatabaseRef<StateDatabase<S, H>>>,
) -> Result<Vec<(Address, Bytes)>, ExecutionError> {
    let fork = chain.hardfork_at(block.number, block.timestamp);
    let mut calls = Vec::new();
    if fork >= Hardfork::Cancun {
        if let Some(root) = block.parent_beacon_block_root {
            calls.push((BEACON_ROOTS_ADDRESS, Bytes::copy_from_slice(root.as_slice())));
        }
    }
    if fork >= Hardfork::Prague && block.number > 0 {
        calls.push((HISTORY_STORAGE_ADDRESS, Bytes::copy_from_slice(block.parent_hash.as_slice())));
    }
    let mut deployed = Vec::with_capacity(calls.len());
    for (contract, input) in calls {
        let info = state.basic(contract).map_err(database_error)?;
        if info.is_some_and(|info| info.code_hash != KECCAK_EMPTY) {
            deployed.push((contract, input));
        }
    }
    Ok(deployed)
}

/// Runs one system call and commits what it wrote to the system contract. Its outcome is not
/// checked, as geth does not: the contracts revert only on input they are never given here.
pub(crate) fn run_system_call<DB, I>(
    evm: &mut MainnetEvm<MainnetContext<DB>, I>,
    contract: Address,
    input: Bytes,
) -> Result<(), ExecutionError>
where
    MainnetEvm<MainnetContext<DB>, I>: SystemCallEvm<Error = EVMError<<DB as Database>::Error>, State = revm::state::EvmState>
        + ExecuteCommitEvm,
    DB: Database<Error = revm::database_interface::bal::EvmDatabaseError<StateError>>,
{
    let beneficiary = evm.ctx.block().beneficiary;
    let outcome = match evm.system_call_with_caller(SYSTEM_ADDRESS, contract, input) {
        Ok(outcome) => outcome,
        Err(EVMError::Database(e)) => return Err(database_error(e)),
        Err(other) => {
            tracing::warn!(target: "evm", %contract, error = %other, "system call refused");
            return Ok(());
        }
    };
    let mut changes = outcome.state;
    changes.remove(&SYSTEM_ADDRESS);
    changes.remove(&beneficiary);
    evm.commit(changes);
    Ok(())
}
