//! Veil's execution: blocks and transactions on revm over Veil state. Synchronous, no IO beyond
//! the state traits, no tokio.
//!
//! - [`execute_block`] runs a block's transactions ([`ExecutionMode::Import`]: all must be
//!   valid; [`ExecutionMode::Build`]: invalid ones are left out) and returns receipts, gas and
//!   the [`veil_storage::StateDiff`] to commit.
//! - [`execute_block_with_private`] adds GoQuorum's private transactions ([`private`]).
//! - [`Simulation`] runs transactions without committing them (calls, estimates, traces).
//! - [`StateDatabase`] is the one adapter through which revm reads our state.
//! - [`cfg_env`] picks revm's spec per fork from the genesis config and applies the genesis
//!   contract size limit.
//! - [`genesis_header`] builds the genesis block; [`run_state_test_file`] runs ethereum/tests
//!   state fixtures through all of the above.

mod collision;
mod database;
mod diff;
mod executor;
mod genesis;
mod intrinsic;
mod privacy_enhancements;
pub mod private;
mod simulate;
mod spec;
mod statetest;
mod system_calls;

pub use collision::{CollisionGuard, StorageOccupancy};
pub use database::{BlockHashes, StateDatabase, StateError, StateTestBlockHashes};
pub use diff::bundle_to_diff;
pub use executor::{
    execute_block, execute_block_with_private, public_tx_env, tx_env, BlockContext, BlockExecution,
    ExecutionError, ExecutionMode, MAX_RLP_BLOCK_SIZE,
};
pub use genesis::{genesis_diff, genesis_header, push_alloc_account};
pub use intrinsic::intrinsic_gas;
pub use privacy_enhancements::{
    affected_contracts, exec_hash, ContractPrivacy, ContractPrivacyReader, NoContractPrivacy,
    PayloadPrivacy,
};
pub use private::{
    private_tx_env, simulate_private, PrivateExecution, PrivateInputs, PrivatePayload,
    PrivateReceipt, PrivateSimulation,
};
/// EIP-7825's cap on one transaction's gas from Osaka.
pub use revm::primitives::eip7825::TX_GAS_LIMIT_CAP;
pub use simulate::{Simulation, SimulationDb, SimulationError};
pub use spec::{cfg_env, spec_id};
pub use statetest::{run_state_test_file, CaseOutcome, CaseResult, StateTestError};
