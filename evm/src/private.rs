//! Private transactions, as GoQuorum runs them.
//!
//! On chain a private transaction (V = 37/38) carries only the 64-byte hash of its payload.
//! Every node gives it the same public effect: the sender's nonce moved on by one and intrinsic
//! gas on the hash taken from the block's gas pool (a call from the sender to itself carrying
//! the hash), with status 1 and gas used 0 in its public receipt and the header, as GoQuorum
//! reports them. A party — a node whose
//! transaction manager holds the payload — also runs the payload against its private state:
//!
//! - contracts are looked up in private state first, then in public state (GoQuorum's
//!   `getDualState`); a private frame may read public contracts, but a write to a public
//!   account (storage, balance, code, nonce) makes the whole private run fail;
//! - the sender appears with the transaction's nonce and no balance, so a created contract's
//!   address is CREATE(sender, nonce) on every party, and value cannot be conjured into private
//!   state; private execution pays no gas;
//! - the sender's own account is never written to private state (it lives in public state).
//!
//! Public reads of private frames see the public state of the block's parent.
//!
//! With privacy enhancements, a run's changes are kept only when its affected contracts'
//! protection allows them ([`crate::privacy_enhancements`]).

use crate::{
    bundle_to_diff,
    executor::database_error,
    privacy_enhancements::{
        affected_contracts, exec_hash, verify, ContractPrivacy, ContractPrivacyReader,
        PayloadPrivacy,
    },
    BlockHashes, ExecutionError, StateDatabase, StateError,
};
use alloy_consensus::{Eip658Value, Receipt as ReceiptFields, ReceiptEnvelope};
use alloy_primitives::{Address, Bytes, B256, U256};
use parking_lot::Mutex;
use revm::{
    bytecode::Bytecode,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::result::{EVMError, ExecutionResult},
    database::{states::bundle_state::BundleRetention, PlainAccount, State, WrapDatabaseRef},
    database_interface::DatabaseRef,
    state::AccountInfo as RevmAccountInfo,
    Context, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext,
};
use std::{collections::HashMap, sync::Arc};
use veil_primitives::{PayloadHash, PrivacyFlag, Receipt, RecoveredTx};
use veil_storage::{StateDiff, StateReader};

/// What this node's transaction manager said of a private transaction's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivatePayload {
    /// This node is a party: the decrypted payload (call data or init code).
    Party(Bytes),
    /// This node is a party of a payload sent with privacy enhancements (flag 1–3): the
    /// payload and what its TM confirmed.
    Protected(Bytes, PayloadPrivacy),
    /// The transaction manager does not hold it (HTTP 404): only the public effect applies.
    NotParty,
}

impl PrivatePayload {
    /// The decrypted payload, for a party.
    pub fn data(&self) -> Option<&Bytes> {
        match self {
            Self::Party(data) | Self::Protected(data, _) => Some(data),
            Self::NotParty => None,
        }
    }
}

/// The private side of executing a block: this node's private state and the payloads of the
/// block's private transactions, by transaction hash (fetched before execution).
pub struct PrivateInputs<P, S> {
    /// The latest private state.
    pub state: P,
    /// The public state private frames read (the block's parent).
    pub public: S,
    /// Every private transaction's payload, by transaction hash.
    pub payloads: HashMap<B256, PrivatePayload>,
    /// Whether privacy enhancements apply to this block (the genesis' switches).
    pub enhancements: bool,
    /// The protection of this node's private contracts.
    pub contracts: Arc<dyn ContractPrivacyReader>,
}

impl<P: std::fmt::Debug, S: std::fmt::Debug> std::fmt::Debug for PrivateInputs<P, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateInputs")
            .field("payloads", &self.payloads.len())
            .field("enhancements", &self.enhancements)
            .finish_non_exhaustive()
    }
}

/// A private transaction's outcome on a party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateReceipt {
    /// The transaction hash.
    pub tx_hash: B256,
    /// Status, private gas and logs of the private run.
    pub receipt: Receipt,
    /// The contract a successful creation made.
    pub contract_address: Option<Address>,
}

/// What a block did to private state.
#[derive(Debug, Default)]
pub struct PrivateExecution {
    /// The private state changes.
    pub diff: StateDiff,
    /// One receipt per private transaction this node is a party to.
    pub receipts: Vec<PrivateReceipt>,
    /// The protection of the contracts the block created with privacy enhancements.
    pub contracts: Vec<(Address, ContractPrivacy)>,
}

/// What a sender's node learns by running its private transaction before sending it
/// (GoQuorum's `simulateExecutionForPE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateSimulation {
    /// Whether the run succeeded.
    pub success: bool,
    /// The private contracts it affects, with their protection (`None`: standard private).
    pub affected: Vec<(Address, Option<ContractPrivacy>)>,
    /// Its execution hash (what private state validation compares).
    pub exec_hash: B256,
}

/// Runs `tx` with `payload` on `inputs`' states in `block`, as a party would, without keeping
/// anything.
pub fn simulate_private<P: StateReader, S: StateReader, H: BlockHashes + Clone>(
    chain: &veil_config::ChainSpec,
    block: &crate::BlockContext,
    inputs: PrivateInputs<P, S>,
    hashes: H,
    tx: &RecoveredTx,
    payload: Bytes,
) -> Result<PrivateSimulation, ExecutionError> {
    let cfg = crate::cfg_env(chain, block.number, block.timestamp);
    let mut runner = PrivateRunner::new(inputs, hashes, cfg, block.block_env(chain));
    runner.simulate(tx, payload)
}

/// revm's view for private frames: private state first, then public (read only).
pub(crate) struct DualDatabase<P, S, H> {
    private: StateDatabase<P, H>,
    public: StateDatabase<S, H>,
    /// Accounts served from public state, with what was served, to refuse writes to them.
    pub(crate) public_served: Arc<Mutex<HashMap<Address, RevmAccountInfo>>>,
}

impl<P: StateReader, S: StateReader, H: BlockHashes + Clone> DualDatabase<P, S, H> {
    pub(crate) fn new(private: P, public: S, hashes: H) -> Self {
        Self {
            private: StateDatabase::new(private, hashes.clone()),
            public: StateDatabase::new(public, hashes),
            public_served: Arc::default(),
        }
    }
}

impl<P: StateReader, S: StateReader, H: BlockHashes> DatabaseRef for DualDatabase<P, S, H> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<RevmAccountInfo>, Self::Error> {
        if let Some(info) = self.private.basic_ref(address)? {
            return Ok(Some(info));
        }
        let info = self.public.basic_ref(address)?;
        if let Some(info) = &info {
            self.public_served.lock().insert(address, info.clone());
        }
        Ok(info)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.private
            .code_by_hash_ref(code_hash)
            .or_else(|_| self.public.code_by_hash_ref(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if self.public_served.lock().contains_key(&address) {
            self.public.storage_ref(address, index)
        } else {
            self.private.storage_ref(address, index)
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.private.block_hash_ref(number)
    }
}

/// The private run of a party's private transaction: its payload as data, from its sender at
/// its nonce, paying nothing.
pub fn private_tx_env(tx: &RecoveredTx, payload: Bytes) -> TxEnv {
    let fields = tx.tx().fields();
    TxEnv {
        caller: tx.sender(),
        kind: fields.kind(),
        data: payload,
        value: fields.value(),
        gas_limit: fields.gas_limit(),
        gas_price: 0,
        nonce: fields.nonce(),
        // Private transactions are signed without a chain id.
        chain_id: None,
        ..Default::default()
    }
}

/// Runs a block's private transactions on one private state, one after another.
pub(crate) struct PrivateRunner<P: StateReader, S: StateReader, H: BlockHashes> {
    state: State<WrapDatabaseRef<DualDatabase<P, S, H>>>,
    public_served: Arc<Mutex<HashMap<Address, RevmAccountInfo>>>,
    cfg: CfgEnv,
    block: BlockEnv,
    payloads: HashMap<B256, PrivatePayload>,
    receipts: Vec<PrivateReceipt>,
    gas_used: u64,
    enhancements: bool,
    contracts: Arc<dyn ContractPrivacyReader>,
    created: Vec<(Address, ContractPrivacy)>,
}

impl<P: StateReader, S: StateReader, H: BlockHashes + Clone> PrivateRunner<P, S, H> {
    pub(crate) fn new(
        inputs: PrivateInputs<P, S>,
        hashes: H,
        mut cfg: CfgEnv,
        block: BlockEnv,
    ) -> Self {
        let db = DualDatabase::new(inputs.state, inputs.public, hashes);
        let public_served = db.public_served.clone();
        // Private runs pay no gas and take the nonce from the transaction (checked publicly).
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
        Self {
            state: State::builder().with_database_ref(db).with_bundle_update().build(),
            public_served,
            cfg,
            block,
            payloads: inputs.payloads,
            receipts: Vec::new(),
            gas_used: 0,
            enhancements: inputs.enhancements,
            contracts: inputs.contracts,
            created: Vec::new(),
        }
    }

    /// A contract's protection: created earlier in this block, or kept by the node.
    fn protection(&self, address: &Address) -> Result<Option<ContractPrivacy>, ExecutionError> {
        if let Some((_, p)) = self.created.iter().find(|(a, _)| a == address) {
            return Ok(Some(*p));
        }
        Ok(self.contracts.contract_privacy(address)?)
    }

    /// The run of `tx` with `payload`: what it affects and its execution hash; nothing kept.
    fn simulate(
        &mut self,
        tx: &RecoveredTx,
        payload: Bytes,
    ) -> Result<PrivateSimulation, ExecutionError> {
        let Some((result, changes)) = self.transact(tx, payload)? else {
            return Ok(PrivateSimulation {
                success: false,
                affected: vec![],
                exec_hash: B256::ZERO,
            });
        };
        let success = result.is_success();
        let affected = self.affected(tx, &changes);
        let exec_hash = exec_hash(&changes, &affected);
        let mut with_protection = Vec::with_capacity(affected.len());
        for address in affected {
            with_protection.push((address, self.protection(&address)?));
        }
        Ok(PrivateSimulation { success, affected: with_protection, exec_hash })
    }

    /// The private contracts a run's `changes` affect.
    fn affected(&self, tx: &RecoveredTx, changes: &revm::state::EvmState) -> Vec<Address> {
        let fields = tx.tx().fields();
        let created = fields.kind().is_create().then(|| tx.sender().create(fields.nonce()));
        let served = self.public_served.lock();
        affected_contracts(changes, fields.kind().to().copied(), created, |a| {
            *a != tx.sender() && !served.contains_key(a)
        })
    }

    /// Runs `tx` with `payload` on the private state, committing nothing: revm's result and
    /// changes (the sender's account removed), or `None` when revm refused the transaction
    /// (e.g. value without private balance).
    fn transact(
        &mut self,
        tx: &RecoveredTx,
        payload: Bytes,
    ) -> Result<Option<(ExecutionResult, revm::state::EvmState)>, ExecutionError> {
        let sender = tx.sender();
        let fields = tx.tx().fields();
        // The sender, as private frames see it: the transaction's nonce, no balance.
        let account = self.state.load_cache_account(sender).map_err(state_error)?;
        let info = RevmAccountInfo { nonce: fields.nonce(), ..Default::default() };
        match &mut account.account {
            Some(plain) => plain.info = info,
            None => account.account = Some(PlainAccount { info, storage: Default::default() }),
        }
        let env = private_tx_env(tx, payload);
        let mut evm = Context::mainnet()
            .with_block(self.block.clone())
            .with_cfg(self.cfg.clone())
            .with_db(&mut self.state)
            .build_mainnet();
        let outcome = evm.transact(env);
        drop(evm);
        match outcome {
            Ok(outcome) => {
                let mut changes = outcome.state;
                changes.remove(&sender);
                Ok(Some((outcome.result, changes)))
            }
            Err(EVMError::Database(e)) => Err(database_error(e)),
            Err(_) => Ok(None),
        }
    }

    /// Why the privacy enhancements refuse a run's `changes`, if they do.
    fn refusal(
        &self,
        tx: &RecoveredTx,
        privacy: Option<&PayloadPrivacy>,
        changes: &revm::state::EvmState,
    ) -> Result<Option<String>, ExecutionError> {
        let flag = privacy.map_or(PrivacyFlag::StandardPrivate, |p| p.flag);
        if !self.enhancements {
            // As GoQuorum: without privacy enhancements at this block nothing is checked, and
            // an enhanced flag is refused.
            return Ok(flag.is_enhanced().then(|| {
                format!("privacy flag {flag} while privacy enhancements are not enabled (privacyEnhancementsBlock)")
            }));
        }
        let affected = self.affected(tx, changes);
        let mut with_protection = Vec::with_capacity(affected.len());
        for address in &affected {
            with_protection.push((*address, self.protection(address)?));
        }
        Ok(verify(flag, privacy, &with_protection, || exec_hash(changes, &affected)).err())
    }

    /// The payload of a private transaction; `None` when none was fetched for it.
    pub(crate) fn payload(&self, hash: &B256) -> Option<&PrivatePayload> {
        self.payloads.get(hash)
    }

    /// Runs a party's private transaction and records its private receipt.
    pub(crate) fn run(
        &mut self,
        tx: &RecoveredTx,
        payload: Bytes,
        privacy: Option<PayloadPrivacy>,
    ) -> Result<(), ExecutionError> {
        let sender = tx.sender();
        let fields = tx.tx().fields();
        let (success, gas, logs) = match self.transact(tx, payload)? {
            Some((result, mut changes)) => {
                let refusal = self.refusal(tx, privacy.as_ref(), &changes)?;
                if let Some(why) = &refusal {
                    tracing::warn!(target: "private", tx = %tx.hash(), reason = %why, "private transaction failed its privacy checks; no private change");
                }
                if refusal.is_some() || self.writes_public(&changes) {
                    (false, result.tx_gas_used(), vec![])
                } else {
                    let served = self.public_served.lock();
                    changes.retain(|address, _| !served.contains_key(address));
                    drop(served);
                    self.state.commit(changes);
                    (result.is_success(), result.tx_gas_used(), result.logs().to_vec())
                }
            }
            // Invalid here (e.g. value without private balance): a no-op on private state.
            None => (false, 0, vec![]),
        };
        self.gas_used += gas;
        let contract_address =
            (success && fields.kind().is_create()).then(|| sender.create(fields.nonce()));
        if let (Some(address), Some(privacy)) = (contract_address, &privacy) {
            if privacy.flag.is_enhanced() {
                let creation = PayloadHash(tx.tx().input().as_ref().try_into().map_err(|_| {
                    ExecutionError::State(veil_storage::StorageError::Corrupt(
                        "a private transaction's data is not a payload hash".into(),
                    ))
                })?);
                self.created.push((address, ContractPrivacy { flag: privacy.flag, creation }));
            }
        }
        let receipt = ReceiptEnvelope::Legacy(
            ReceiptFields {
                status: Eip658Value::Eip658(success),
                cumulative_gas_used: self.gas_used,
                logs,
            }
            .with_bloom(),
        );
        self.receipts.push(PrivateReceipt { tx_hash: tx.hash(), receipt, contract_address });
        Ok(())
    }

    /// Whether a run changed an account that lives in public state.
    fn writes_public(&self, changes: &revm::state::EvmState) -> bool {
        let served = self.public_served.lock();
        changes.iter().any(|(address, account)| {
            served.get(address).is_some_and(|before| {
                account.info.nonce != before.nonce
                    || account.info.balance != before.balance
                    || account.info.code_hash != before.code_hash
                    || account.is_selfdestructed()
                    || account.storage.values().any(|slot| slot.is_changed())
            })
        })
    }

    pub(crate) fn finish(mut self) -> PrivateExecution {
        self.state.merge_transitions(BundleRetention::PlainState);
        PrivateExecution {
            diff: bundle_to_diff(&self.state.take_bundle()),
            receipts: self.receipts,
            contracts: self.created,
        }
    }
}

fn state_error(error: StateError) -> ExecutionError {
    ExecutionError::State(error.0)
}
