//! `eth_simulateV1`: geth's multi-block simulation (viem's `simulateBlocks`). Blocks are
//! simulated one after another on the state after a block, each with its overrides and calls;
//! state carries over between calls and blocks, and later blocks see earlier simulated block
//! hashes. Nothing reaches the chain.
//!
//! As geth: block numbers follow the base block (or `blockOverrides.number`, increasing),
//! timestamps step by 12 s (or `blockOverrides.time`, increasing), calls default to the zero
//! sender, the sender's nonce and the block's remaining gas; without `validation` nonces, fees
//! and the base fee are not checked (the base fee is 0); `traceTransfers` adds ERC-20-style
//! Transfer logs from `0xeeee…eeee` for value moved. One difference, said in the result:
//! `stateRoot` is zero, because Veil's trie applies changes only to the latest state.

use super::{
    call::{apply_overrides, simulation_error, CallSimulation},
    error::{invalid_params, server_error},
    eth::{block_value, LoadedBlock},
    MethodResult, RpcContext,
};
use alloy_consensus::{
    constants::EMPTY_OMMER_ROOT_HASH, Eip658Value, Header, Receipt as ReceiptFields,
    ReceiptEnvelope, Signed, TxEip1559, TxEnvelope, TxLegacy,
};
use alloy_eips::{eip7685::EMPTY_REQUESTS_HASH, BlockId};
use alloy_primitives::{Address, Bytes, Signature, B256, U256};
use alloy_rpc_types_eth::simulate::{SimBlock, SimulatePayload};
use revm::{context::TxEnv, context_interface::result::ExecutionResult};
use revm_inspectors::transfer::TransferInspector;
use serde_json::{json, Value};
use veil_config::Hardfork;
use veil_evm::{BlockContext, Simulation, StateDatabase};
use veil_primitives::{receipts_root, transactions_root, Block, BlockBody, Transaction};

/// geth's cap on simulated blocks per request.
const MAX_BLOCKS: usize = 256;
/// Seconds between simulated blocks when their time is not given.
const TIME_STEP: u64 = 12;

/// What one simulated call gave.
struct CallOutcome {
    tx: Transaction,
    from: Address,
    result: ExecutionResult,
}

impl RpcContext {
    pub(super) fn simulate_v1(
        &self,
        payload: SimulatePayload,
        id: Option<BlockId>,
    ) -> MethodResult<Vec<Value>> {
        if payload.block_state_calls.len() > MAX_BLOCKS {
            return Err(server_error(format!("too many blocks: at most {MAX_BLOCKS}")));
        }
        let (base, state) = self.state_at(id)?;
        let db = StateDatabase::new(state, self.chain.store().clone());
        let spec = self.chain.spec();
        let mut simulation = Simulation::new(spec, &BlockContext::from_header(&base), db);
        if !payload.validation {
            simulation = simulation.for_calls();
        }
        let mut parent = (veil_primitives::istanbul::block_hash(&base), base);
        let mut blocks = Vec::with_capacity(payload.block_state_calls.len());
        for block in payload.block_state_calls {
            let (value, next) = self.simulate_block(
                &mut simulation,
                &parent,
                block,
                payload.validation,
                payload.trace_transfers,
                payload.return_full_transactions,
            )?;
            blocks.push(value);
            parent = next;
        }
        Ok(blocks)
    }

    fn simulate_block(
        &self,
        simulation: &mut CallSimulation,
        (parent_hash, parent): &(B256, Header),
        block: SimBlock,
        validation: bool,
        trace_transfers: bool,
        full: bool,
    ) -> MethodResult<(Value, (B256, Header))> {
        let spec = self.chain.spec();
        let overrides = block.block_overrides.unwrap_or_default();
        let number = overrides.number.map_or(parent.number + 1, |n| n.saturating_to());
        if number <= parent.number {
            return Err(invalid_params(format!(
                "block numbers must be in order: {number} <= {}",
                parent.number
            )));
        }
        let timestamp = overrides.time.unwrap_or(parent.timestamp + TIME_STEP);
        if timestamp <= parent.timestamp {
            return Err(invalid_params(format!(
                "block timestamps must be in order: {timestamp} <= {}",
                parent.timestamp
            )));
        }
        let fork = spec.hardfork_at(number, timestamp);
        let base_fee = match overrides.base_fee {
            Some(fee) => Some(fee.saturating_to()),
            None if validation => spec.next_base_fee(parent, number, timestamp),
            None => (fork >= Hardfork::London).then_some(0),
        };
        let excess_blob_gas = spec.next_excess_blob_gas(parent, number, timestamp);
        let context = BlockContext {
            number,
            timestamp,
            beneficiary: overrides.coinbase.unwrap_or(parent.beneficiary),
            gas_limit: overrides.gas_limit.unwrap_or(parent.gas_limit),
            base_fee,
            prevrandao: overrides.random.unwrap_or_default(),
            difficulty: U256::ZERO,
            parent_hash: *parent_hash,
            parent_beacon_block_root: excess_blob_gas.map(|_| B256::ZERO),
            excess_blob_gas,
            balance_increments: Vec::new(),
        };
        simulation.enter_block(spec, &context);
        if let Some(state) = block.state_overrides {
            apply_overrides(simulation, state)?;
        }

        let mut outcomes: Vec<CallOutcome> = Vec::with_capacity(block.calls.len());
        let mut gas_used = 0u64;
        for request in block.calls {
            let mut request = request;
            if request.gas.is_none() {
                let remaining = context.gas_limit.saturating_sub(gas_used);
                // With validation, Osaka's per-transaction cap (EIP-7825) holds.
                let cap = if validation && fork >= Hardfork::Osaka {
                    veil_evm::TX_GAS_LIMIT_CAP
                } else {
                    u64::MAX
                };
                request.gas = Some(remaining.min(cap));
            }
            let env = self.call_env(&request, parent, simulation)?;
            let from = env.caller;
            let tx = unsigned_transaction(&env);
            let result = if trace_transfers {
                simulation.keep_inspected(env, TransferInspector::new(false).with_logs(true))
            } else {
                simulation.replay_env(env)
            }
            .map_err(simulation_error)?;
            gas_used += result.tx_gas_used();
            if gas_used > context.gas_limit {
                return Err(server_error(format!(
                    "block gas limit reached: the calls use {gas_used}, the block has {}",
                    context.gas_limit
                )));
            }
            outcomes.push(CallOutcome { tx, from, result });
        }

        let mut cumulative = 0u64;
        let receipts: Vec<_> = outcomes
            .iter()
            .map(|o| {
                cumulative += o.result.tx_gas_used();
                let fields = ReceiptFields {
                    status: Eip658Value::Eip658(o.result.is_success()),
                    cumulative_gas_used: cumulative,
                    logs: o.result.logs().to_vec(),
                }
                .with_bloom();
                match o.tx {
                    Transaction::Public(TxEnvelope::Eip1559(_)) => ReceiptEnvelope::Eip1559(fields),
                    _ => ReceiptEnvelope::Legacy(fields),
                }
            })
            .collect();
        let transactions: Vec<Transaction> = outcomes.iter().map(|o| o.tx.clone()).collect();
        let mut bloom = alloy_primitives::Bloom::ZERO;
        for receipt in &receipts {
            bloom |= alloy_consensus::TxReceipt::bloom(receipt);
        }
        let header = Header {
            parent_hash: *parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: context.beneficiary,
            // Not computed: see the module's note.
            state_root: B256::ZERO,
            transactions_root: transactions_root(&transactions),
            receipts_root: receipts_root(&receipts),
            logs_bloom: bloom,
            number,
            gas_limit: context.gas_limit,
            gas_used,
            timestamp,
            mix_hash: context.prevrandao,
            base_fee_per_gas: base_fee,
            withdrawals_root: (fork >= Hardfork::Shanghai).then_some(alloy_trie::EMPTY_ROOT_HASH),
            blob_gas_used: excess_blob_gas.map(|_| 0),
            excess_blob_gas,
            parent_beacon_block_root: context.parent_beacon_block_root,
            requests_hash: (fork >= Hardfork::Prague).then_some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let hash = veil_primitives::istanbul::block_hash(&header);
        // Later simulated blocks see this one through BLOCKHASH.
        simulation.db_mut().cache.block_hashes.insert(U256::from(number), hash);

        let tx_hashes: Vec<B256> = transactions.iter().map(Transaction::hash).collect();
        let logs = super::convert::block_logs(hash, number, timestamp, &tx_hashes, &receipts);
        let calls: Vec<Value> =
            outcomes.iter().zip(logs).map(|(o, logs)| call_result(&o.result, logs)).collect();
        let senders = outcomes.iter().map(|o| o.from).collect();
        let loaded = LoadedBlock {
            hash,
            block: Block {
                header: header.clone(),
                body: BlockBody { transactions, ommers: vec![], withdrawals: None },
            },
            senders,
        };
        let mut value = block_value(&loaded, full)?;
        value["calls"] = Value::Array(calls);
        Ok((value, (hash, header)))
    }
}

/// A call's transaction, unsigned (a zero signature), for the block's hashes and lists.
fn unsigned_transaction(env: &TxEnv) -> Transaction {
    let signature = Signature::new(U256::ZERO, U256::ZERO, false);
    let envelope = match env.gas_priority_fee {
        Some(tip) => TxEnvelope::Eip1559(Signed::new_unhashed(
            TxEip1559 {
                chain_id: env.chain_id.unwrap_or_default(),
                nonce: env.nonce,
                gas_limit: env.gas_limit,
                max_fee_per_gas: env.gas_price,
                max_priority_fee_per_gas: tip,
                to: env.kind,
                value: env.value,
                access_list: env.access_list.clone(),
                input: env.data.clone(),
            },
            signature,
        )),
        None => TxEnvelope::Legacy(Signed::new_unhashed(
            TxLegacy {
                chain_id: env.chain_id,
                nonce: env.nonce,
                gas_price: env.gas_price,
                gas_limit: env.gas_limit,
                to: env.kind,
                value: env.value,
                input: env.data.clone(),
            },
            signature,
        )),
    };
    Transaction::Public(envelope)
}

/// geth's per-call result: status, return data, gas, logs, and the error of a failed call
/// (code 3 with the revert data for a revert, -32015 for an exceptional halt).
fn call_result(result: &ExecutionResult, logs: Vec<alloy_rpc_types_eth::Log>) -> Value {
    let (return_data, error) = match result {
        ExecutionResult::Success { output, .. } => (output.data().clone(), Value::Null),
        ExecutionResult::Revert { output, .. } => (
            output.clone(),
            json!({ "code": 3, "message": super::error::revert_message(output), "data": output }),
        ),
        ExecutionResult::Halt { reason, .. } => {
            (Bytes::new(), json!({ "code": -32015, "message": super::call::halt_message(reason) }))
        }
    };
    let mut value = json!({
        "status": if result.is_success() { "0x1" } else { "0x0" },
        "returnData": return_data,
        "gasUsed": format!("{:#x}", result.tx_gas_used()),
        "logs": logs,
    });
    if !error.is_null() {
        value["error"] = error;
    }
    value
}
