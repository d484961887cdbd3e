//! `eth_call`, `eth_estimateGas` and `eth_createAccessList`: a request run on a copy-on-write
//! view of a block's state, with geth's defaults, state overrides and revert errors (code 3).

use super::{
    blocking,
    blocks::StateAt,
    error::{internal_error, invalid_params, reverted, server_error},
    MethodResult, Module, RpcContext,
};
use alloy_consensus::Header;
use alloy_eips::{eip2930::AccessListResult, BlockId};
use alloy_primitives::{keccak256, Bytes, TxKind, U256};
use alloy_rpc_types_eth::{state::StateOverride, TransactionRequest};
use jsonrpsee::{core::RegisterMethodError, types::ErrorObjectOwned};
use revm::{
    bytecode::Bytecode,
    context::TxEnv,
    context_interface::result::{ExecutionResult, HaltReason},
    Database,
};
use revm_inspectors::access_list::AccessListInspector;
use std::sync::Arc;
use veil_evm::{BlockContext, Simulation, SimulationError, StateDatabase};
use veil_storage::ChainStore;

/// A simulation of the state after some block.
pub(crate) type CallSimulation = Simulation<StateAt, ChainStore>;

pub(crate) fn simulation_error(error: SimulationError) -> ErrorObjectOwned {
    match error {
        SimulationError::Invalid(reason) => server_error(reason),
        SimulationError::State(e) => internal_error(e),
    }
}

/// geth's text for an exceptional halt.
pub(crate) fn halt_message(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(_) => "out of gas".into(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode => "invalid opcode".into(),
        HaltReason::NotActivated => "invalid opcode: not activated at this fork".into(),
        HaltReason::StackUnderflow => "stack underflow".into(),
        HaltReason::StackOverflow => "stack limit reached 1024".into(),
        HaltReason::InvalidJump => "invalid jump destination".into(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".into(),
        HaltReason::CallTooDeep => "max call depth exceeded".into(),
        HaltReason::OutOfFunds => "insufficient balance for transfer".into(),
        HaltReason::NonceOverflow => "nonce uint64 overflow".into(),
        HaltReason::StateChangeDuringStaticCall => "write protection".into(),
        other => format!("{other:?}"),
    }
}

/// The output of a run, or geth's error for a revert or halt.
pub(crate) fn output(result: ExecutionResult) -> MethodResult<Bytes> {
    match result {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(reverted(&output)),
        ExecutionResult::Halt { reason, .. } => Err(server_error(halt_message(&reason))),
    }
}

impl RpcContext {
    /// A simulation after block `id` under call rules with `overrides` applied, with the
    /// block's header.
    pub(crate) fn call_simulation(
        &self,
        id: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> MethodResult<(Header, CallSimulation)> {
        let (header, state) = self.state_at(id)?;
        let db = StateDatabase::new(state, self.chain.store().clone());
        let mut simulation =
            Simulation::new(self.chain.spec(), &BlockContext::from_header(&header), db).for_calls();
        if let Some(overrides) = overrides {
            apply_overrides(&mut simulation, overrides)?;
        }
        Ok((header, simulation))
    }

    /// revm's transaction for a call request with geth's defaults (sender zero, gas up to the
    /// cap, price zero).
    pub(crate) fn call_env(
        &self,
        request: &TransactionRequest,
        header: &Header,
        simulation: &mut CallSimulation,
    ) -> MethodResult<TxEnv> {
        let caller = request.from.unwrap_or_default();
        let gas_limit = request.gas.unwrap_or(header.gas_limit.min(self.gas_cap)).min(self.gas_cap);
        let nonce = match request.nonce {
            Some(nonce) => nonce,
            None => {
                simulation.db_mut().basic(caller).map_err(internal_error)?.map_or(0, |a| a.nonce)
            }
        };
        let input = request_input(request)?;
        let dynamic = has_dynamic_fee(request);
        if request.gas_price.is_some() && dynamic {
            return Err(invalid_params(
                "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified",
            ));
        }
        let tx_type = if dynamic {
            2
        } else if request.access_list.is_some() {
            1
        } else {
            0
        };
        Ok(TxEnv {
            tx_type,
            caller,
            gas_limit,
            gas_price: request.gas_price.or(request.max_fee_per_gas).unwrap_or_default(),
            gas_priority_fee: dynamic.then(|| request.max_priority_fee_per_gas.unwrap_or_default()),
            kind: request.to.unwrap_or(TxKind::Create),
            value: request.value.unwrap_or_default(),
            data: input,
            nonce,
            chain_id: Some(self.chain.spec().chain_id()),
            access_list: request.access_list.clone().unwrap_or_default(),
            ..Default::default()
        })
    }

    fn call(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> MethodResult<Bytes> {
        let (header, mut simulation) = self.call_simulation(id, overrides)?;
        let env = self.call_env(&request, &header, &mut simulation)?;
        output(simulation.run(env).map_err(simulation_error)?)
    }

    /// geth's estimate: the least gas limit under which the request does not fail, found by
    /// binary search below the cap; a revert at the cap is error 3 with the reason.
    pub(crate) fn estimate_gas(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
        overrides: Option<StateOverride>,
    ) -> MethodResult<U256> {
        let (header, mut simulation) = self.call_simulation(id, overrides)?;
        let mut env = self.call_env(&request, &header, &mut simulation)?;
        let mut hi = request.gas.unwrap_or(header.gas_limit).min(self.gas_cap);
        if env.gas_price > 0 {
            let balance = simulation
                .db_mut()
                .basic(env.caller)
                .map_err(internal_error)?
                .map_or(U256::ZERO, |a| a.balance);
            let available = balance.saturating_sub(env.value);
            let allowance = available / U256::from(env.gas_price);
            hi = hi.min(allowance.saturating_to());
        }
        env.gas_limit = hi;
        let first = simulation.run(env.clone()).map_err(simulation_error)?;
        let used = match first {
            ExecutionResult::Success { gas, .. } => gas.tx_gas_used(),
            ExecutionResult::Revert { output, .. } => return Err(reverted(&output)),
            ExecutionResult::Halt { reason, .. } => {
                return Err(server_error(format!(
                    "gas required exceeds allowance ({hi}): {}",
                    halt_message(&reason)
                )))
            }
        };
        let mut lo = used.saturating_sub(1);
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            env.gas_limit = mid;
            let fits = match simulation.run(env.clone()) {
                Ok(result) => result.is_success(),
                Err(SimulationError::Invalid(_)) => false,
                Err(e) => return Err(simulation_error(e)),
            };
            if fits {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(U256::from(hi))
    }

    fn create_access_list(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
    ) -> MethodResult<AccessListResult> {
        let (header, mut simulation) = self.call_simulation(id, None)?;
        let mut env = self.call_env(&request, &header, &mut simulation)?;
        let inspector = AccessListInspector::new(request.access_list.clone().unwrap_or_default());
        let (_, inspector) =
            simulation.inspect(env.clone(), inspector).map_err(simulation_error)?;
        let access_list = inspector.into_access_list();
        env.access_list = access_list.clone();
        if env.tx_type == 0 {
            env.tx_type = 1;
        }
        let result = simulation.run(env).map_err(simulation_error)?;
        let error = match &result {
            ExecutionResult::Success { .. } => None,
            ExecutionResult::Revert { output, .. } => Some(super::error::revert_message(output)),
            ExecutionResult::Halt { reason, .. } => Some(halt_message(reason)),
        };
        Ok(AccessListResult { access_list, gas_used: U256::from(result.tx_gas_used()), error })
    }
}

/// The call data of a request (`input`, or `data` as older clients send it; both must agree).
pub(crate) fn request_input(request: &TransactionRequest) -> MethodResult<Bytes> {
    let input = request.input.clone().try_into_unique_input();
    Ok(input.map_err(|e| invalid_params(e.to_string()))?.unwrap_or_default())
}

/// Whether a request sets EIP-1559 fees.
pub(crate) fn has_dynamic_fee(request: &TransactionRequest) -> bool {
    request.max_fee_per_gas.is_some() || request.max_priority_fee_per_gas.is_some()
}

/// Applies geth's state overrides to the simulation's view.
pub(crate) fn apply_overrides(
    simulation: &mut CallSimulation,
    overrides: StateOverride,
) -> MethodResult<()> {
    let db = simulation.db_mut();
    for (address, change) in overrides {
        if change.state.is_some() && change.state_diff.is_some() {
            return Err(invalid_params(format!(
                "account {address} has both 'state' and 'stateDiff'"
            )));
        }
        let mut info = db.basic(address).map_err(internal_error)?.unwrap_or_default();
        if let Some(balance) = change.balance {
            info.balance = balance;
        }
        if let Some(nonce) = change.nonce {
            info.nonce = nonce;
        }
        if let Some(code) = change.code {
            info.code_hash = keccak256(&code);
            info.code = Some(Bytecode::new_raw(code));
        }
        db.insert_account_info(address, info);
        if let Some(state) = change.state {
            let slots = state.into_iter().map(|(k, v)| (k.into(), v.into()));
            db.replace_account_storage(address, slots.collect()).map_err(internal_error)?;
        }
        if let Some(diff) = change.state_diff {
            for (slot, value) in diff {
                db.insert_account_storage(address, slot.into(), value.into())
                    .map_err(internal_error)?;
            }
        }
    }
    Ok(())
}

fn with_overrides_arg(a: &super::Args) -> MethodResult<Option<StateOverride>> {
    a.optional(2)
}

/// The call family of `eth_*`.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    blocking(&mut m, "eth_call", |c, a| {
        c.call(a.at_most(4)?.required(0)?, a.optional(1)?, with_overrides_arg(a)?)
    })?;
    blocking(&mut m, "eth_estimateGas", |c, a| {
        c.estimate_gas(a.at_most(3)?.required(0)?, a.optional(1)?, with_overrides_arg(a)?)
    })?;
    blocking(&mut m, "eth_simulateV1", |c, a| {
        c.simulate_v1(a.at_most(2)?.required(0)?, a.optional(1)?)
    })?;
    blocking(&mut m, "eth_createAccessList", |c, a| {
        c.create_access_list(a.at_most(2)?.required(0)?, a.optional(1)?)
    })?;
    Ok(m)
}
