//! `debug_traceTransaction`, `debug_traceBlockByNumber`, `debug_traceBlockByHash` and
//! `debug_traceCall` with geth's tracers ([`super::tracers`]), plus `debug_getRawTransaction`
//! and `debug_getRawBlock`.

use super::{
    async_method, blocking,
    call::{simulation_error, CallSimulation},
    error::{internal_error, server_error},
    method, off_thread,
    tracers::trace,
    MethodResult, Module, RpcContext,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_rpc_types_trace::geth::{
    GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace,
};
use jsonrpsee::core::RegisterMethodError;
use serde_json::{json, Value};
use std::sync::Arc;
use veil_chain::PrivatePayloads;
use veil_evm::PrivatePayload;
use veil_evm::{public_tx_env, BlockContext, Simulation, StateDatabase};
use veil_primitives::RecoveredTx;

use super::blocks::StateAt;

/// The sender as private frames see it: the transaction's nonce and no balance (it lives in
/// public state).
fn as_private_sender(simulation: &mut CallSimulation, env: &revm::context::TxEnv) {
    let info = revm::state::AccountInfo { nonce: env.nonce, ..Default::default() };
    simulation.db_mut().insert_account_info(env.caller, info);
}

impl RpcContext {
    /// A simulation of block `id` on its parent's state, with the block's transactions.
    fn block_replay(&self, id: BlockId) -> MethodResult<(CallSimulation, Vec<RecoveredTx>)> {
        let store = self.chain.store();
        let block = self.load_block(id)?.ok_or_else(|| server_error("block not found"))?;
        let parent = store
            .header(block.block.header.parent_hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error("genesis is not traceable"))?;
        let state = StateAt::Historic(self.chain.state().at_root(parent.state_root));
        let db = StateDatabase::new(state, store.clone());
        let simulation =
            Simulation::new(self.chain.spec(), &BlockContext::from_header(&block.block.header), db);
        let transactions = block
            .block
            .body
            .transactions
            .into_iter()
            .zip(block.senders)
            .map(|(tx, sender)| RecoveredTx::new_unchecked(tx, sender))
            .collect();
        Ok((simulation, transactions))
    }

    /// When `hash` is a private transaction and private transactions run here: the payloads
    /// of it and of its block's earlier private transactions (from the TM, through the chain
    /// engine's client). Empty otherwise.
    pub(crate) async fn trace_payloads(&self, hash: B256) -> MethodResult<PrivatePayloads> {
        if !self.chain.runs_private_transactions() {
            return Ok(PrivatePayloads::new());
        }
        let store = self.chain.store();
        let Some(location) = store.tx_location(hash).map_err(internal_error)? else {
            return Ok(PrivatePayloads::new());
        };
        let transactions =
            store.transactions(location.block_hash).map_err(internal_error)?.unwrap_or_default();
        let index = location.index as usize;
        if !transactions.get(index).is_some_and(|tx| tx.is_private()) {
            return Ok(PrivatePayloads::new());
        }
        let upto: Vec<_> = transactions[..=index].iter().collect();
        self.ptm()?.payloads(&upto).await.map_err(server_error)
    }

    /// Re-executes the transaction's block up to it on its parent's state, then traces it.
    pub(crate) fn trace_transaction(
        &self,
        hash: B256,
        options: GethDebugTracingOptions,
        payloads: &PrivatePayloads,
    ) -> MethodResult<GethTrace> {
        let location = self
            .chain
            .store()
            .tx_location(hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error(format!("transaction {hash} not found")))?;
        let (mut simulation, transactions) =
            self.block_replay(BlockId::Hash(location.block_hash.into()))?;
        let index = location.index as usize;
        let target = transactions
            .get(index)
            .ok_or_else(|| server_error("transaction index out of range"))?;
        if target.tx().is_private() && self.chain.runs_private_transactions() {
            if let Some(trace) = self.trace_private(
                location.block_hash,
                &transactions,
                index,
                options.clone(),
                payloads,
            )? {
                return Ok(trace);
            }
        }
        for tx in &transactions[..index] {
            simulation.replay(tx).map_err(simulation_error)?;
        }
        trace(&mut simulation, public_tx_env(target), options)
    }

    /// The private run of private transaction `index` of block `block_hash` on a party, as its
    /// private state saw it: the private state after the parent over the parent's public
    /// state, after the block's earlier private transactions this node is party to. `None` on
    /// a non-party, whose trace is the public effect.
    fn trace_private(
        &self,
        block_hash: B256,
        transactions: &[RecoveredTx],
        index: usize,
        options: GethDebugTracingOptions,
        payloads: &PrivatePayloads,
    ) -> MethodResult<Option<GethTrace>> {
        let store = self.chain.store();
        let header = store
            .header(block_hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error("block not found"))?;
        let parent = store
            .header(header.parent_hash)
            .map_err(internal_error)?
            .ok_or_else(|| server_error("genesis is not traceable"))?;
        let payload_of =
            |tx: &RecoveredTx| payloads.get(&tx.hash()).and_then(PrivatePayload::data).cloned();
        let Some(payload) = payload_of(&transactions[index]) else { return Ok(None) };
        let private_root = store
            .private_root(header.parent_hash)
            .map_err(internal_error)?
            .unwrap_or(alloy_trie::EMPTY_ROOT_HASH);
        let state = StateAt::Dual {
            private: StateAt::Historic(self.chain.state().at_root(private_root)).into(),
            public: StateAt::Historic(self.chain.state().at_root(parent.state_root)).into(),
        };
        let db = StateDatabase::new(state, store.clone());
        let mut simulation =
            Simulation::new(self.chain.spec(), &BlockContext::from_header(&header), db).for_calls();
        for tx in transactions[..index].iter().filter(|tx| tx.tx().is_private()) {
            if let Some(earlier) = payload_of(tx) {
                let env = veil_evm::private_tx_env(tx, earlier);
                as_private_sender(&mut simulation, &env);
                // An earlier private run that fails fails here too, changing nothing.
                let _ = simulation.replay_env(env);
            }
        }
        let env = veil_evm::private_tx_env(&transactions[index], payload);
        as_private_sender(&mut simulation, &env);
        trace(&mut simulation, env, options).map(Some)
    }

    /// Traces every transaction of a block in order, as geth: `[{txHash, result}]`, or
    /// `{txHash, error}` for one that could not be traced.
    fn trace_block(
        &self,
        id: BlockId,
        options: GethDebugTracingOptions,
    ) -> MethodResult<Vec<Value>> {
        let (mut simulation, transactions) = self.block_replay(id)?;
        let mut traces = Vec::with_capacity(transactions.len());
        for tx in &transactions {
            let hash = tx.hash();
            traces.push(match trace(&mut simulation, public_tx_env(tx), options.clone()) {
                Ok(result) => json!({ "txHash": hash, "result": result }),
                Err(error) => json!({ "txHash": hash, "error": error.message() }),
            });
            simulation.replay(tx).map_err(simulation_error)?;
        }
        Ok(traces)
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
    async_method(&mut m, "debug_traceTransaction", |c, a| async move {
        let hash: B256 = a.at_most(2)?.required(0)?;
        let options: GethDebugTracingOptions = a.optional(1)?.unwrap_or_default();
        let payloads = c.trace_payloads(hash).await?;
        off_thread(&c, move |c| c.trace_transaction(hash, options, &payloads)).await
    })?;
    blocking(&mut m, "debug_traceBlockByNumber", |c, a| {
        let number: BlockNumberOrTag = a.at_most(2)?.required(0)?;
        c.trace_block(BlockId::Number(number), a.optional(1)?.unwrap_or_default())
    })?;
    blocking(&mut m, "debug_traceBlockByHash", |c, a| {
        let hash: B256 = a.at_most(2)?.required(0)?;
        c.trace_block(BlockId::Hash(hash.into()), a.optional(1)?.unwrap_or_default())
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
