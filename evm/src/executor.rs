//! Executing a block's transactions on revm.

use crate::{
    bundle_to_diff, cfg_env,
    private::{PrivateExecution, PrivateInputs, PrivatePayload, PrivateRunner},
    system_calls::{run_system_call, system_calls},
    BlockHashes, CollisionGuard, StateDatabase, StateError,
};
use alloy_consensus::{Eip658Value, Header, Receipt as ReceiptFields, ReceiptEnvelope};
use alloy_primitives::{Address, TxKind, B256, U256};
use revm::{
    context::{BlockEnv, TxEnv},
    context::{ContextTr, JournalTr},
    context_interface::result::{EVMError, ExecutionResult},
    database::{states::bundle_state::BundleRetention, State},
    database_interface::bal::EvmDatabaseError,
    Context, ExecuteCommitEvm, InspectCommitEvm, MainBuilder, MainContext,
};
use std::collections::HashSet;
use veil_config::{ChainSpec, Hardfork};
use veil_primitives::{Receipt, RecoveredTx};
use veil_storage::{StateDiff, StateReader, StorageError};

/// EIP-7934's cap on a block's RLP from Osaka: 10 MiB less a 2 MiB safety margin.
pub const MAX_RLP_BLOCK_SIZE: usize = 10 * 1024 * 1024 - 2 * 1024 * 1024;
/// What a builder leaves under [`MAX_RLP_BLOCK_SIZE`] for the header and list prefixes.
const BUILDER_HEADROOM: usize = 16 * 1024;

/// The block-level inputs of execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Block number.
    pub number: u64,
    /// Timestamp in seconds.
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// Gas limit.
    pub gas_limit: u64,
    /// Base fee (London on).
    pub base_fee: Option<u64>,
    /// `mixHash` / PREVRANDAO.
    pub prevrandao: B256,
    /// Difficulty.
    pub difficulty: U256,
    /// The parent's hash, which the EIP-2935 history contract records (Prague on).
    pub parent_hash: B256,
    /// The beacon root the EIP-4788 contract records (Cancun on; zero on Veil chains).
    pub parent_beacon_block_root: Option<B256>,
    /// The block's `excessBlobGas`, which prices blob gas (Cancun on).
    pub excess_blob_gas: Option<u64>,
    /// Balances credited after the transactions: a proof-of-work block reward, beacon-chain
    /// withdrawals (Ethereum chains only; empty on Veil's).
    pub balance_increments: Vec<(Address, u128)>,
}

impl BlockContext {
    /// The context of an existing header.
    pub fn from_header(header: &Header) -> Self {
        Self {
            number: header.number,
            timestamp: header.timestamp,
            beneficiary: header.beneficiary,
            gas_limit: header.gas_limit,
            base_fee: header.base_fee_per_gas,
            prevrandao: header.mix_hash,
            difficulty: header.difficulty,
            parent_hash: header.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            excess_blob_gas: header.excess_blob_gas,
            balance_increments: Vec::new(),
        }
    }

    pub(crate) fn block_env(&self, chain: &ChainSpec) -> BlockEnv {
        let mut env = BlockEnv {
            number: U256::from(self.number),
            beneficiary: self.beneficiary,
            timestamp: U256::from(self.timestamp),
            gas_limit: self.gas_limit,
            basefee: self.base_fee.unwrap_or_default(),
            difficulty: self.difficulty,
            prevrandao: Some(self.prevrandao),
            ..Default::default()
        };
        if let (Some(excess), Some(params)) =
            (self.excess_blob_gas, chain.blob_params(self.number, self.timestamp))
        {
            env.set_blob_excess_gas_and_price(excess, params.update_fraction as u64);
        }
        env
    }
}

/// How to treat a transaction that cannot be included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionMode {
    /// Importing a block: every transaction must be valid, or the block is.
    Import,
    /// Building a block: invalid transactions are left out and reported.
    Build,
}

/// The result of executing a block.
#[derive(Debug)]
pub struct BlockExecution {
    /// The transactions that were executed, in order.
    pub transactions: Vec<RecoveredTx>,
    /// One receipt per executed transaction.
    pub receipts: Vec<Receipt>,
    /// Gas used by the block.
    pub gas_used: u64,
    /// The state changes.
    pub diff: StateDiff,
    /// Transactions left out while building because they are invalid on this state, with the
    /// reason: the pool drops them. A transaction that did not fit the block's remaining gas is
    /// not among them, nor are a sender's transactions after one of its own that was left
    /// out (their nonces cannot follow): they stay pooled for a later block.
    pub rejected: Vec<(RecoveredTx, String)>,
    /// The private side, when private inputs were given.
    pub private: Option<PrivateExecution>,
}

/// Why a block could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// A transaction of an imported block is invalid.
    #[error("transaction {index} ({hash}) is invalid: {reason}")]
    InvalidTransaction {
        /// Its index in the block.
        index: usize,
        /// Its hash.
        hash: B256,
        /// Why.
        reason: String,
    },
    /// Reading state failed.
    #[error("state read failed: {0}")]
    State(#[from] StorageError),
    /// A private transaction's payload was not fetched before execution.
    #[error("private transaction {0}: its payload was not fetched from the transaction manager")]
    PayloadMissing(B256),
}

pub(crate) fn database_error(error: EvmDatabaseError<StateError>) -> ExecutionError {
    match error {
        EvmDatabaseError::Database(StateError(e)) => ExecutionError::State(e),
        EvmDatabaseError::Bal(e) => ExecutionError::State(StorageError::Corrupt(e.to_string())),
    }
}

/// revm's transaction environment for a recovered transaction.
pub fn tx_env(tx: &RecoveredTx) -> TxEnv {
    let t = tx.tx().fields();
    let mut env = TxEnv {
        tx_type: tx.tx().tx_type(),
        caller: tx.sender(),
        gas_limit: t.gas_limit(),
        gas_price: t.max_fee_per_gas(),
        kind: t.kind(),
        value: t.value(),
        data: t.input().clone(),
        nonce: t.nonce(),
        chain_id: t.chain_id(),
        access_list: t.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: t.max_priority_fee_per_gas(),
        blob_hashes: t.blob_versioned_hashes().map(<[B256]>::to_vec).unwrap_or_default(),
        max_fee_per_blob_gas: t.max_fee_per_blob_gas().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(authorizations) = t.authorization_list() {
        // EIP-7702: revm recovers each authority and skips the ones that do not verify.
        env.set_signed_authorization(authorizations.to_vec());
    }
    env
}

fn receipt(tx_type: u8, result: &ExecutionResult, cumulative_gas_used: u64) -> Receipt {
    let fields = ReceiptFields {
        status: Eip658Value::Eip658(result.is_success()),
        cumulative_gas_used,
        logs: result.logs().to_vec(),
    }
    .with_bloom();
    match tx_type {
        1 => ReceiptEnvelope::Eip2930(fields),
        2 => ReceiptEnvelope::Eip1559(fields),
        3 => ReceiptEnvelope::Eip4844(fields),
        4 => ReceiptEnvelope::Eip7702(fields),
        _ => ReceiptEnvelope::Legacy(fields),
    }
}

/// Executes `transactions` on top of `db` under the rules of `chain` for the block `block`.
/// Private transactions are refused: see [`execute_block_with_private`].
pub fn execute_block<S: StateReader, H: BlockHashes + Clone>(
    chain: &ChainSpec,
    block: &BlockContext,
    db: StateDatabase<S, H>,
    transactions: Vec<RecoveredTx>,
    mode: ExecutionMode,
) -> Result<BlockExecution, ExecutionError> {
    execute_block_with_private::<S, H, S, S>(chain, block, db, None, transactions, mode)
}

/// What a transaction runs on public state: itself, or, for a private transaction, its public
/// effect: a call from the sender to itself carrying the payload hash, so nonce, intrinsic gas
/// and fee are checked and charged as for any call.
pub fn public_tx_env(tx: &RecoveredTx) -> TxEnv {
    if tx.tx().is_private() {
        TxEnv { kind: TxKind::Call(tx.sender()), value: U256::ZERO, ..tx_env(tx) }
    } else {
        tx_env(tx)
    }
}

/// [`execute_block`] for a node with a transaction manager (`private` given): private
/// transactions take their public effect, and parties run their payloads on the private state
/// ([`crate::private`]).
pub fn execute_block_with_private<S, H, P, Q>(
    chain: &ChainSpec,
    block: &BlockContext,
    db: StateDatabase<S, H>,
    private: Option<PrivateInputs<P, Q>>,
    transactions: Vec<RecoveredTx>,
    mode: ExecutionMode,
) -> Result<BlockExecution, ExecutionError>
where
    S: StateReader,
    H: BlockHashes + Clone,
    P: StateReader,
    Q: StateReader,
{
    let cfg = cfg_env(chain, block.number, block.timestamp);
    let block_env = block.block_env(chain);
    let mut private = private.map(|inputs| {
        PrivateRunner::new(inputs, db.hashes().clone(), cfg.clone(), block_env.clone())
    });
    let mut state = State::builder().with_database_ref(db).with_bundle_update().build();
    let system_calls = system_calls(chain, block, &mut state)?;
    let mut evm = Context::mainnet()
        .with_block(block_env)
        .with_cfg(cfg)
        .with_db(&mut state)
        .build_mainnet_with_inspector(CollisionGuard);
    for (contract, input) in system_calls {
        run_system_call(&mut evm, contract, input)?;
    }
    let mut included = Vec::with_capacity(transactions.len());
    let mut receipts = Vec::with_capacity(transactions.len());
    let mut rejected = Vec::new();
    // Gas the block reports (receipts, header) and gas taken from the block's gas pool: they
    // differ by private transactions, whose intrinsic gas is taken from the pool but reported
    // as 0 (GoQuorum).
    let mut gas_used = 0u64;
    let mut pool_used = 0u64;
    // EIP-7934 (Osaka): a block's RLP stays under its cap; a builder leaves room for the
    // header and lists.
    let byte_budget = (chain.hardfork_at(block.number, block.timestamp) >= Hardfork::Osaka)
        .then_some(MAX_RLP_BLOCK_SIZE - BUILDER_HEADROOM);
    let mut bytes_used = 0usize;
    // Senders one of whose transactions was left out of this block: their later ones wait.
    let mut held_back: HashSet<Address> = HashSet::new();
    for (index, tx) in transactions.into_iter().enumerate() {
        if mode == ExecutionMode::Build && held_back.contains(&tx.sender()) {
            continue;
        }
        let payload = match (&private, tx.tx().is_private()) {
            (_, false) => None,
            // A node without a transaction manager is a party to nothing (GoQuorum's
            // `PRIVATE_CONFIG=ignore`): it runs the public side only, as every non-party does.
            (None, true) => Some(PrivatePayload::NotParty),
            (Some(runner), true) => match runner.payload(&tx.hash()) {
                Some(payload) => Some(payload.clone()),
                None => return Err(ExecutionError::PayloadMissing(tx.hash())),
            },
        };
        let size = alloy_rlp::Encodable::length(tx.tx());
        if mode == ExecutionMode::Build && byte_budget.is_some_and(|b| bytes_used + size > b) {
            // Not invalid either: it waits for a block with room.
            held_back.insert(tx.sender());
            continue;
        }
        let reason = if pool_used + tx.tx().gas_limit() > block.gas_limit {
            if mode == ExecutionMode::Build {
                // Not invalid: it waits for the next block, with its sender's later ones.
                held_back.insert(tx.sender());
                continue;
            }
            format!(
                "gas limit reached: block has {} gas left, transaction wants {}",
                block.gas_limit - pool_used,
                tx.tx().gas_limit()
            )
        } else {
            let env = public_tx_env(&tx);
            match evm.inspect_tx_commit(env) {
                Ok(result) => {
                    pool_used += result.tx_gas_used();
                    if payload.is_none() {
                        gas_used += result.tx_gas_used();
                    }
                    bytes_used += size;
                    receipts.push(receipt(tx.tx().tx_type(), &result, gas_used));
                    match (&mut private, payload) {
                        (Some(runner), Some(PrivatePayload::Party(data))) => {
                            runner.run(&tx, data, None)?
                        }
                        (Some(runner), Some(PrivatePayload::Protected(data, privacy))) => {
                            runner.run(&tx, data, Some(privacy))?
                        }
                        _ => {}
                    }
                    included.push(tx);
                    continue;
                }
                Err(EVMError::Transaction(invalid)) => invalid.to_string(),
                Err(EVMError::Database(e)) => return Err(database_error(e)),
                Err(other) => other.to_string(),
            }
        };
        match mode {
            ExecutionMode::Import => {
                return Err(ExecutionError::InvalidTransaction { index, hash: tx.hash(), reason })
            }
            ExecutionMode::Build => {
                held_back.insert(tx.sender());
                rejected.push((tx, reason));
            }
        }
    }
    if !block.balance_increments.is_empty() {
        for (address, amount) in &block.balance_increments {
            evm.ctx
                .journal_mut()
                .balance_incr(*address, U256::from(*amount))
                .map_err(database_error)?;
        }
        let credited = evm.ctx.journal_mut().finalize();
        evm.commit(credited);
    }
    drop(evm);
    state.merge_transitions(BundleRetention::PlainState);
    let diff = bundle_to_diff(&state.take_bundle());
    let private = private.map(PrivateRunner::finish);
    Ok(BlockExecution { transactions: included, receipts, gas_used, diff, rejected, private })
}
