//! `debug_traceTransaction` and `debug_traceCall` with geth's default struct logger and
//! `callTracer` (revm-inspectors), plus `debug_getRawTransaction` and `debug_getRawBlock`.

use super::{
    blocking,
    call::{simulation_error, CallSimulation},
    error::{internal_error, invalid_params, server_error},
    method, MethodResult, Module, RpcContext,
};
use alloy_eips::BlockId;
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_rpc_types_trace::geth::{
    GethDebugBuiltInTracerType, GethDebugTracerType, GethDebugTracingCallOptions,
    GethDebugTracingOptions, GethTrace,
};
use jsonrpsee::core::RegisterMethodError;
use revm::context::TxEnv;
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};
use std::sync::Arc;
use veil_evm::{tx_env, BlockContext, Simulation, StateDatabase};

use super::blocks::StateAt;

fn trace(
    simulation: &mut CallSimulation,
    env: TxEnv,
    options: GethDebugTracingOptions,
) -> MethodResult<GethTrace> {
    match options.tracer {
        None => {
            let config = TracingInspectorConfig::from_geth_config(&options.config);
            let (result, inspector) =
                simulation.inspect(env, TracingInspector::new(config)).map_err(simulation_error)?;
            let output = result.output().cloned().unwrap_or_default();
            let frame = inspector.into_geth_builder().geth_traces(
                result.tx_gas_used(),
                output,
                options.config,
            );
            Ok(GethTrace::Default(frame))
        }
        Some(GethDebugTracerType::BuiltInTracer(GethDebugBuiltInTracerType::CallTracer)) => {
            let call_config = options
                .tracer_config
                .into_call_config()
                .map_err(|e| invalid_params(format!("invalid callTracer config: {e}")))?;
            let config = TracingInspectorConfig::from_geth_call_config(&call_config);
            let (result, inspector) =
                simulation.inspect(env, TracingInspector::new(config)).map_err(simulation_error)?;
            let frame =
                inspector.into_geth_builder().geth_call_traces(call_config, result.tx_gas_used());
            Ok(GethTrace::CallTracer(frame))
        }
        Some(other) => Err(invalid_params(format!(
            "tracer {other:?} is not supported; use the default struct logger or callTracer"
        ))),
    }
}

impl RpcContext {
    /// Re-executes the transaction's block up to it on its parent's state, then traces it.
    fn trace_transaction(
        &self,
        hash: B256,
        options: GethDebugTracingOptions,
    ) -> MethodResult<GethTrace> {
        let store = self.chain.store();
        let location = store
            .tx_location(hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error(format!("transaction {hash} not found")))?;
        let block = self
            .load_block(BlockId::Hash(location.block_hash.into()))?
            .ok_or_else(|| server_error("block not found"))?;
        let parent = store
            .header(block.block.header.parent_hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error("parent block not found"))?;
        let state = StateAt::Historic(self.chain.state().at_root(parent.state_root));
        let db = StateDatabase::new(state, store.clone());
        let mut simulation =
            Simulation::new(self.chain.spec(), &BlockContext::from_header(&block.block.header), db);
        let index = location.index as usize;
        let recovered: Vec<_> = block
            .block
            .body
            .transactions
            .into_iter()
            .zip(block.senders)
            .map(|(tx, sender)| veil_primitives::RecoveredTx::new_unchecked(tx, sender))
            .collect();
        for tx in &recovered[..index] {
            simulation.replay(tx).map_err(simulation_error)?;
        }
        let target =
            recovered.get(index).ok_or_else(|| server_error("transaction index out of range"))?;
        trace(&mut simulation, tx_env(target), options)
    }

    fn trace_call(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
        options: GethDebugTracingCallOptions,
    ) -> MethodResult<GethTrace> {
        let (header, mut simulation) = self.call_simulation(id, options.state_overrides)?;
        let env = self.call_env(&request, &header, &mut simulation)?;
        trace(&mut simulation, env, options.tracing_options)
    }

    fn raw_transaction(&self, hash: B256) -> MethodResult<Bytes> {
        let store = self.chain.store();
        if let Some(location) = store.tx_location(hash).map_err(internal_error)? {
            let txs = store.transactions(location.block_hash).map_err(internal_error)?;
            if let Some(tx) = txs.and_then(|txs| txs.into_iter().nth(location.index as usize)) {
                return Ok(tx.encoded_2718().into());
            }
        }
        Ok(self.pool.get(&hash).map(|tx| tx.tx().encoded_2718().into()).unwrap_or_default())
    }

    fn raw_block(&self, id: BlockId) -> MethodResult<Bytes> {
        let block = self.load_block(id)?.ok_or_else(|| server_error("block not found"))?;
        Ok(alloy_rlp::encode(&block.block).into())
    }
}

/// The `debug_*` methods.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    blocking(&mut m, "debug_traceTransaction", |c, a| {
        c.trace_transaction(a.at_most(2)?.required(0)?, a.optional(1)?.unwrap_or_default())
    })?;
    blocking(&mut m, "debug_traceCall", |c, a| {
        c.trace_call(a.at_most(3)?.required(0)?, a.optional(1)?, a.optional(2)?.unwrap_or_default())
    })?;
    method(&mut m, "debug_privateStateRoot", |c, a| {
        c.private_state_root(a.at_most(1)?.required(0)?)
    })?;
    method(&mut m, "debug_getRawTransaction", |c, a| {
        c.raw_transaction(a.at_most(1)?.required(0)?)
    })?;
    method(&mut m, "debug_getRawBlock", |c, a| c.raw_block(a.at_most(1)?.required(0)?))?;
    Ok(m)
}
