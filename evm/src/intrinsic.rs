//! Intrinsic gas, as revm charges it before execution.

use crate::{spec_id, tx_env};
use revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx;
use veil_config::ChainSpec;
use veil_primitives::RecoveredTx;

/// The gas a transaction costs before any code runs (base cost, calldata, access list, create,
/// and the EIP-7623 floor where active), under the rules of block `number`/`timestamp`.
pub fn intrinsic_gas(chain: &ChainSpec, tx: &RecoveredTx, number: u64, timestamp: u64) -> u64 {
    let spec = spec_id(chain.hardfork_at(number, timestamp));
    let gas = calculate_initial_tx_gas_for_tx(tx_env(tx), spec, None);
    (gas.initial_regular_gas + gas.initial_state_gas).max(gas.floor_gas)
}
