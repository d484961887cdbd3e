//! The chain: genesis, head, and block import (recover senders, execute, verify, commit).
//!
//! Over 600 lines on purpose: import's steps (execute on the head, check, commit in one batch)
//! and what shares them — building, and checking a BFT proposal without committing it — read
//! best together; the header checks are in [`checks`].

mod checks;
mod private_simulation;

use checks::{blob_gas_used, block_rlp_length, check};

use alloy_consensus::proofs::calculate_withdrawals_root;
use alloy_consensus::{constants::EMPTY_OMMER_ROOT_HASH, Header, TxReceipt};
use alloy_eips::{eip4895::Withdrawal, eip7685::EMPTY_REQUESTS_HASH};
use alloy_primitives::{Address, Bloom, B256, U256};
use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;
use std::sync::Arc;
use veil_config::{ChainSpec, Hardfork};
use veil_evm::{
    execute_block, execute_block_with_private, BlockContext, BlockExecution, ExecutionMode,
    PrivateExecution, PrivateInputs, PrivatePayload, PrivateReceipt, StateDatabase,
};
use veil_primitives::{
    receipts_root, transactions_root, Block, BlockBody, RecoveredTx, Transaction,
};
use veil_storage::{
    ChainStore, KvStore, LatestState, StateDb, StateNamespace, StorageError, Table, WriteBatch,
};

const CHAIN_SPEC_KEY: &str = "chain_spec";

/// The payloads of a block's private transactions, by transaction hash, as this node's
/// transaction manager gave them.
pub type PrivatePayloads = std::collections::HashMap<B256, PrivatePayload>;

/// Why a block was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The block does not extend the head.
    #[error("block {number} has parent {parent} but the head is {head_number} ({head})")]
    NotOnHead {
        /// Its number.
        number: u64,
        /// Its parent hash.
        parent: B256,
        /// Our head number.
        head_number: u64,
        /// Our head hash.
        head: B256,
    },
    /// A header field disagrees with what executing the block gives.
    #[error("block {number}: {field} mismatch: header has {header}, execution gives {computed}")]
    Mismatch {
        /// Block number.
        number: u64,
        /// The field.
        field: &'static str,
        /// What the header says.
        header: String,
        /// What we computed.
        computed: String,
    },
    /// A header rule is broken.
    #[error("block {number}: {reason}")]
    InvalidHeader {
        /// Block number.
        number: u64,
        /// Why.
        reason: String,
    },
    /// A signature does not recover.
    #[error("block {number}, transaction {index}: {source}")]
    InvalidSender {
        /// Block number.
        number: u64,
        /// Index of the transaction.
        index: usize,
        /// Why.
        source: veil_primitives::RecoveryError,
    },
    /// Execution failed.
    #[error(transparent)]
    Execution(#[from] veil_evm::ExecutionError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct ImportedBlock {
    /// The block's hash.
    pub hash: B256,
    /// Its header.
    pub header: Header,
    /// Its transactions with their senders.
    pub transactions: Vec<RecoveredTx>,
}

/// The header fields a consensus engine chooses for a block it builds; execution fills in
/// the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderTemplate {
    /// Who receives fees and rewards (the proposer).
    pub beneficiary: Address,
    /// Seconds since the epoch (at least the parent's).
    pub timestamp: u64,
    /// The mix hash (QBFT: the Istanbul digest), also the block's PREVRANDAO.
    pub mix_hash: B256,
    /// The extra data (QBFT: validators, vote, round; a seal may replace it before commit).
    pub extra_data: alloy_primitives::Bytes,
}

/// A block built on the head by [`Chain::build_block`], not imported yet.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The block. Its builder may set `extra_data` (a seal) before [`Chain::commit_built`].
    pub block: Block,
    /// Its transactions with their senders.
    pub included: Vec<RecoveredTx>,
    /// Candidates left out, with the reason.
    pub rejected: Vec<(RecoveredTx, String)>,
    /// What executing it gave, so committing it needs no second execution.
    executed: Executed,
}

/// A block's execution on its parent: state writes and receipts.
struct Executed {
    /// The header as execution produced it.
    header: Header,
    /// The state trie writes (public, and private when this node runs private transactions).
    state: WriteBatch,
    receipts: Vec<veil_primitives::Receipt>,
    private: Option<PrivateCommit>,
}

/// What a block left in this node's private state.
struct PrivateCommit {
    root: B256,
    receipts: Vec<PrivateReceipt>,
}

impl std::fmt::Debug for Executed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executed").field("header", &self.header.number).finish_non_exhaustive()
    }
}

/// Why the chain could not be opened or initialised.
#[derive(Debug, thiserror::Error)]
pub enum ChainOpenError {
    /// `veil init` was not run on this data directory.
    #[error("the data directory holds no chain; run `veil init --datadir DIR genesis.json` first")]
    NotInitialised,
    /// A different genesis is already stored.
    #[error("database already contains an incompatible genesis block (have {stored}, new {new})")]
    GenesisMismatch {
        /// What is stored.
        stored: B256,
        /// What the given genesis gives.
        new: B256,
    },
    /// The stored chain spec does not parse.
    #[error("stored chain spec is unreadable: {0}")]
    BadSpec(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The chain of one node.
pub struct Chain {
    kv: Arc<dyn KvStore>,
    spec: Arc<ChainSpec>,
    state: StateDb,
    store: ChainStore,
    head: RwLock<(B256, Header)>,
    /// Held for a whole import, so two imports cannot both build on the same head.
    import_lock: Mutex<()>,
    /// Whether private transactions run here (the node has a transaction manager).
    private: bool,
    imported: tokio::sync::broadcast::Sender<Arc<NewBlock>>,
    /// The pool this chain keeps up to date: every committed block takes its transactions out
    /// (and those its senders' new nonces make stale), here and nowhere else.
    pool: std::sync::OnceLock<Arc<crate::TxPool>>,
    /// The TM whose prefetched payloads a committed block's transactions no longer need.
    ptm: std::sync::OnceLock<Arc<crate::ptm::Ptm>>,
}

/// A block that became the head, announced to subscribers (`newHeads`, `logs`, filters).
#[derive(Debug)]
pub struct NewBlock {
    /// Its hash.
    pub hash: B256,
    /// Its header.
    pub header: Header,
    /// Hashes of its transactions, in order.
    pub transaction_hashes: Vec<B256>,
    /// Its receipts, in order, as this node shows them (a party's private ones merged in).
    pub receipts: Vec<veil_primitives::Receipt>,
    /// The bloom of those receipts: the header's, plus a party's private logs.
    pub logs_bloom: Bloom,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("head", &self.head.read().0).finish_non_exhaustive()
    }
}

impl Chain {
    /// Writes the genesis block of `spec` into an empty store, or checks that the stored one is
    /// the same. Returns the genesis hash.
    pub fn init(kv: &Arc<dyn KvStore>, spec: &ChainSpec) -> Result<B256, ChainOpenError> {
        let (hash, header) = veil_evm::genesis_header(spec)?;
        let store = ChainStore::new(kv.clone());
        if let Some(stored) = store.canonical_hash(0)? {
            return if stored == hash {
                Ok(hash)
            } else {
                Err(ChainOpenError::GenesisMismatch { stored, new: hash })
            };
        }
        let mut batch = WriteBatch::new();
        let state = StateDb::new(kv.clone());
        let diff = veil_evm::genesis_diff(spec);
        state.apply(StateNamespace::PUBLIC, alloy_trie::EMPTY_ROOT_HASH, &diff, &mut batch)?;
        let block = Block { header, body: BlockBody::default() };
        ChainStore::put_head_block(&mut batch, hash, &block, &[], &[]);
        let spec_json = serde_json::to_vec(spec.genesis())
            .map_err(|e| ChainOpenError::BadSpec(e.to_string()))?;
        ChainStore::put_meta(&mut batch, CHAIN_SPEC_KEY, spec_json);
        kv.write(batch)?;
        kv.flush()?;
        Ok(hash)
    }

    /// Opens an initialised store.
    pub fn open(kv: Arc<dyn KvStore>) -> Result<Self, ChainOpenError> {
        let store = ChainStore::new(kv.clone());
        let spec_json = store.meta(CHAIN_SPEC_KEY)?.ok_or(ChainOpenError::NotInitialised)?;
        let genesis = serde_json::from_slice(&spec_json)
            .map_err(|e| ChainOpenError::BadSpec(e.to_string()))?;
        let spec =
            ChainSpec::from_genesis(genesis).map_err(|e| ChainOpenError::BadSpec(e.to_string()))?;
        let head = store.head()?.ok_or(ChainOpenError::NotInitialised)?;
        Ok(Self {
            state: StateDb::new(kv.clone()),
            kv,
            spec: Arc::new(spec),
            store,
            head: RwLock::new(head),
            import_lock: Mutex::new(()),
            private: false,
            imported: tokio::sync::broadcast::channel(1024).0,
            pool: std::sync::OnceLock::new(),
            ptm: std::sync::OnceLock::new(),
        })
    }

    /// Runs private transactions: every block then needs its private payloads, and updates
    /// the private state.
    pub fn with_private_transactions(mut self) -> Self {
        self.private = true;
        self
    }

    /// Keeps `pool` up to date from every block this chain commits. A chain serves one pool:
    /// a second one is refused (`false`).
    pub fn maintain_pool(&self, pool: Arc<crate::TxPool>) -> bool {
        match self.pool.get() {
            Some(held) => Arc::ptr_eq(held, &pool),
            None => self.pool.set(pool).is_ok(),
        }
    }

    /// Forgets `ptm`'s prefetched payloads of every block this chain commits (their
    /// plaintext is zeroized then, not when the cache would evict it).
    pub fn forget_payloads_in(&self, ptm: Arc<crate::ptm::Ptm>) {
        let _ = self.ptm.set(ptm);
    }

    /// Whether private transactions run here.
    pub fn runs_private_transactions(&self) -> bool {
        self.private
    }

    /// Blocks as they become the head. A receiver that falls more than 1024 blocks behind
    /// loses the oldest.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<NewBlock>> {
        self.imported.subscribe()
    }

    /// The chain spec.
    pub fn spec(&self) -> &Arc<ChainSpec> {
        &self.spec
    }

    /// The head block's hash and header.
    pub fn head(&self) -> (B256, Header) {
        self.head.read().clone()
    }

    /// Reads blocks, receipts and indexes.
    pub fn store(&self) -> &ChainStore {
        &self.store
    }

    /// Reads state at any root.
    pub fn state(&self) -> &StateDb {
        &self.state
    }

    /// The latest public state.
    pub fn latest_state(&self) -> LatestState {
        self.state.latest(StateNamespace::PUBLIC)
    }

    /// The key-value store underneath.
    pub fn kv(&self) -> &Arc<dyn KvStore> {
        &self.kv
    }

    fn execute_on_head(
        &self,
        context: &BlockContext,
        transactions: Vec<RecoveredTx>,
        mode: ExecutionMode,
        payloads: &PrivatePayloads,
    ) -> Result<BlockExecution, veil_evm::ExecutionError> {
        let db = StateDatabase::new(self.latest_state(), self.store.clone());
        if !self.private {
            return execute_block(&self.spec, context, db, transactions, mode);
        }
        let private = PrivateInputs {
            state: self.state.latest(StateNamespace::PRIVATE),
            public: self.latest_state(),
            payloads: payloads.clone(),
            enhancements: self.spec.quorum().privacy_enhancements_at(context.number),
            contracts: Arc::new(crate::contract_privacy::StoredContractPrivacy(self.kv.clone())),
        };
        execute_block_with_private(&self.spec, context, db, Some(private), transactions, mode)
    }

    /// Queues the private side of an execution into `batch` (one private root per block).
    fn apply_private(
        &self,
        private: Option<PrivateExecution>,
        batch: &mut WriteBatch,
    ) -> Result<Option<PrivateCommit>, StorageError> {
        let Some(private) = private else { return Ok(None) };
        let parent = self.state.flat_root(StateNamespace::PRIVATE)?;
        let root = self.state.apply(StateNamespace::PRIVATE, parent, &private.diff, batch)?;
        crate::contract_privacy::put(batch, &private.contracts);
        Ok(Some(PrivateCommit { root, receipts: private.receipts }))
    }

    /// Builds a block on the head from `candidates` (in order; invalid ones are left out and
    /// returned with the reason), with the payloads of its private transactions. The block is
    /// not imported.
    pub fn build_block(
        &self,
        candidates: Vec<RecoveredTx>,
        beneficiary: Address,
        timestamp: u64,
        payloads: &PrivatePayloads,
    ) -> Result<BuiltBlock, ImportError> {
        let template = HeaderTemplate { beneficiary, timestamp, ..Default::default() };
        self.build_block_with(candidates, &template, payloads)
    }

    /// The execution context of the block after `parent` with `template`'s fields.
    fn next_context(
        &self,
        parent_hash: B256,
        parent: &Header,
        template: &HeaderTemplate,
    ) -> BlockContext {
        let number = parent.number + 1;
        let timestamp = template.timestamp.max(parent.timestamp);
        let excess_blob_gas = self.spec.next_excess_blob_gas(parent, number, timestamp);
        BlockContext {
            number,
            timestamp,
            beneficiary: template.beneficiary,
            gas_limit: parent.gas_limit,
            base_fee: self.spec.next_base_fee(parent, number, timestamp),
            prevrandao: template.mix_hash,
            difficulty: U256::from(1),
            parent_hash,
            // No beacon chain: the root is zero (docs/design/forks.md).
            parent_beacon_block_root: excess_blob_gas.map(|_| B256::ZERO),
            excess_blob_gas,
            balance_increments: self.rewards(number, timestamp, template.beneficiary),
        }
    }

    /// [`Chain::build_block`] with the header fields of `template`.
    pub fn build_block_with(
        &self,
        candidates: Vec<RecoveredTx>,
        template: &HeaderTemplate,
        payloads: &PrivatePayloads,
    ) -> Result<BuiltBlock, ImportError> {
        let (parent_hash, parent) = self.head();
        let context = self.next_context(parent_hash, &parent, template);
        let (number, timestamp, beneficiary) =
            (context.number, context.timestamp, context.beneficiary);
        let fork = self.spec.hardfork_at(number, timestamp);
        let excess_blob_gas = context.excess_blob_gas;
        let execution =
            self.execute_on_head(&context, candidates, ExecutionMode::Build, payloads)?;
        let mut scratch = WriteBatch::new();
        let private = self.apply_private(execution.private, &mut scratch)?;
        let state_root = self.state.apply(
            StateNamespace::PUBLIC,
            parent.state_root,
            &execution.diff,
            &mut scratch,
        )?;
        let transactions: Vec<Transaction> =
            execution.transactions.iter().map(|tx| tx.tx().clone()).collect();
        let header = Header {
            parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary,
            state_root,
            transactions_root: transactions_root(&transactions),
            receipts_root: receipts_root(&execution.receipts),
            logs_bloom: block_bloom(&execution.receipts),
            difficulty: context.difficulty,
            number,
            gas_limit: context.gas_limit,
            gas_used: execution.gas_used,
            timestamp,
            base_fee_per_gas: context.base_fee,
            withdrawals_root: (fork >= Hardfork::Shanghai).then_some(alloy_trie::EMPTY_ROOT_HASH),
            blob_gas_used: excess_blob_gas.map(|_| blob_gas_used(&execution.transactions)),
            excess_blob_gas,
            parent_beacon_block_root: context.parent_beacon_block_root,
            requests_hash: (fork >= Hardfork::Prague).then_some(EMPTY_REQUESTS_HASH),
            mix_hash: template.mix_hash,
            extra_data: template.extra_data.clone(),
            ..Default::default()
        };
        let body = BlockBody {
            transactions,
            ommers: vec![],
            withdrawals: header.withdrawals_root.map(|_| Default::default()),
        };
        Ok(BuiltBlock {
            executed: Executed {
                header: header.clone(),
                state: scratch,
                receipts: execution.receipts,
                private,
            },
            block: Block { header, body },
            included: execution.transactions,
            rejected: execution.rejected,
        })
    }

    /// Commits a block this node built, without executing it again: its header may differ
    /// from the built one only in `extra_data`, and its parent must still be the head.
    pub fn commit_built(&self, built: BuiltBlock) -> Result<ImportedBlock, ImportError> {
        let _importing = self.import_lock.lock();
        let BuiltBlock { block, included, executed, .. } = built;
        let number = block.header.number;
        let mut unsealed = block.header.clone();
        unsealed.extra_data = executed.header.extra_data.clone();
        if unsealed != executed.header {
            return Err(ImportError::InvalidHeader {
                number,
                reason: "the header was changed after building (only extra data may be)".into(),
            });
        }
        self.check_on_head(&block.header)?;
        Ok(self.commit(block.header, included, executed)?)
    }

    /// Imports a block from elsewhere: recovers its senders (in parallel), then
    /// [`Chain::import_recovered`].
    pub fn import(
        &self,
        block: Block,
        payloads: &PrivatePayloads,
    ) -> Result<ImportedBlock, ImportError> {
        self.import_with_known_senders(block, &[], payloads)
    }

    /// [`Chain::import`] where some senders are known already: `known[i]`, when given, is the
    /// sender of transaction `i`, recovered earlier from the same signed bytes (the pool
    /// recovered every transaction it admitted; a hash covers the signature, so a pooled
    /// transaction with the same hash has the same sender). The others are recovered.
    pub fn import_with_known_senders(
        &self,
        block: Block,
        known: &[Option<Address>],
        payloads: &PrivatePayloads,
    ) -> Result<ImportedBlock, ImportError> {
        let transactions = recover_senders(block.header.number, block.body.transactions, known)?;
        self.import_with_withdrawals(
            block.header,
            transactions,
            block.body.withdrawals.as_ref().map_or(&[][..], |w| w.as_slice()),
            payloads,
        )
    }

    /// Imports a block whose senders are known: re-executes it on the head, checks gas, bloom,
    /// receipts, transactions and state roots against the header, then commits state, block,
    /// receipts, indexes and the removal of its transactions from the pool journal in one
    /// write batch.
    pub fn import_recovered(
        &self,
        header: Header,
        transactions: Vec<RecoveredTx>,
        payloads: &PrivatePayloads,
    ) -> Result<ImportedBlock, ImportError> {
        self.import_with_withdrawals(header, transactions, &[], payloads)
    }

    /// [`Chain::import_recovered`] for a block whose body carries beacon-chain withdrawals
    /// (Ethereum's blocks; Veil's have none).
    fn import_with_withdrawals(
        &self,
        header: Header,
        transactions: Vec<RecoveredTx>,
        withdrawals: &[Withdrawal],
        payloads: &PrivatePayloads,
    ) -> Result<ImportedBlock, ImportError> {
        let _importing = self.import_lock.lock();
        let (transactions, executed) =
            self.execute_and_check(&header, transactions, withdrawals, payloads)?;
        Ok(self.commit(header, transactions, executed)?)
    }

    /// Checks a proposed block on the head the way import does — execution, every root —
    /// without committing it: the answer commits with [`Chain::commit_built`] once consensus
    /// decides it (with a seal in its extra data then).
    pub fn check_block(
        &self,
        block: Block,
        known: &[Option<Address>],
        payloads: &PrivatePayloads,
    ) -> Result<BuiltBlock, ImportError> {
        let transactions =
            recover_senders(block.header.number, block.body.transactions.clone(), known)?;
        let withdrawals = block.body.withdrawals.as_ref().map_or(&[][..], |w| w.as_slice());
        let (included, executed) =
            self.execute_and_check(&block.header, transactions, withdrawals, payloads)?;
        Ok(BuiltBlock { block, included, rejected: Vec::new(), executed })
    }

    /// Executes `header`'s block on the head and checks it against the header.
    fn execute_and_check(
        &self,
        header: &Header,
        transactions: Vec<RecoveredTx>,
        withdrawals: &[Withdrawal],
        payloads: &PrivatePayloads,
    ) -> Result<(Vec<RecoveredTx>, Executed), ImportError> {
        let head = self.check_on_head(header)?;
        let number = header.number;
        if header.timestamp < head.timestamp {
            return Err(ImportError::InvalidHeader {
                number,
                reason: format!(
                    "timestamp {} is before its parent's {}",
                    header.timestamp, head.timestamp
                ),
            });
        }
        if header.gas_used > header.gas_limit {
            return Err(ImportError::InvalidHeader {
                number,
                reason: "gas used above gas limit".into(),
            });
        }
        let expected_base_fee = self.spec.next_base_fee(&head, number, header.timestamp);
        check(number, "base fee", header.base_fee_per_gas, expected_base_fee)?;
        self.check_fork_fields(header, &head, &transactions)?;
        if let Some(index) = transactions.iter().position(|tx| tx.tx().tx_type() == 3) {
            return Err(ImportError::InvalidHeader {
                number,
                reason: format!(
                    "transaction {index} is a blob transaction (type 3): Veil chains carry no blob data"
                ),
            });
        }
        if self.spec.hardfork_at(number, header.timestamp) >= Hardfork::Osaka {
            let size = block_rlp_length(header, &transactions, withdrawals);
            if size > veil_evm::MAX_RLP_BLOCK_SIZE {
                return Err(ImportError::InvalidHeader {
                    number,
                    reason: format!(
                        "the block is {size} bytes of RLP, above EIP-7934's {}",
                        veil_evm::MAX_RLP_BLOCK_SIZE
                    ),
                });
            }
        }
        if let Some(root) = header.withdrawals_root {
            check(number, "withdrawals root", root, calculate_withdrawals_root(withdrawals))?;
        }
        let ethereum = crate::ethereum_rules::applies(&self.spec);
        if ethereum {
            crate::ethereum_rules::check_header(&self.spec, header, &head)
                .map_err(|reason| ImportError::InvalidHeader { number, reason })?;
        }
        let raw: Vec<Transaction> = transactions.iter().map(|tx| tx.tx().clone()).collect();
        check(number, "transactions root", header.transactions_root, transactions_root(&raw))?;

        let mut context = BlockContext::from_header(header);
        context.balance_increments = self.rewards(number, header.timestamp, header.beneficiary);
        // Withdrawals are in gwei.
        context
            .balance_increments
            .extend(withdrawals.iter().map(|w| (w.address, u128::from(w.amount) * 1_000_000_000)));
        let started = std::time::Instant::now();
        let execution =
            self.execute_on_head(&context, transactions, ExecutionMode::Import, payloads)?;
        crate::metrics::record_ns(crate::metrics::EXECUTION, started);
        let started = std::time::Instant::now();
        check(number, "gas used", header.gas_used, execution.gas_used)?;
        check(number, "receipts root", header.receipts_root, receipts_root(&execution.receipts))?;
        check(number, "logs bloom", header.logs_bloom, block_bloom(&execution.receipts))?;
        let mut batch = WriteBatch::new();
        let state_root = self.state.apply(
            StateNamespace::PUBLIC,
            head.state_root,
            &execution.diff,
            &mut batch,
        )?;
        check(number, "state root", header.state_root, state_root)?;
        let private = self.apply_private(execution.private, &mut batch)?;
        crate::metrics::record_ns(crate::metrics::VALIDATION, started);
        let executed = Executed {
            header: header.clone(),
            state: batch,
            receipts: execution.receipts,
            private,
        };
        Ok((execution.transactions, executed))
    }

    /// What block `number` by `beneficiary` credits besides its fees: Ethereum's
    /// proof-of-work reward before Paris on Ethereum's chains, or a QBFT genesis' `blockReward`
    /// (to its fixed beneficiary, or the proposer).
    fn rewards(&self, number: u64, timestamp: u64, beneficiary: Address) -> Vec<(Address, u128)> {
        let ethereum = crate::ethereum_rules::block_reward(&self.spec, number, timestamp)
            .map(|reward| (beneficiary, reward));
        let qbft = self
            .spec
            .qbft()
            .and_then(|q| q.block_reward(number, beneficiary))
            .map(|(to, amount)| (to, u128::try_from(amount).unwrap_or(u128::MAX)));
        ethereum.into_iter().chain(qbft).collect()
    }

    /// The head, when `header` extends it.
    fn check_on_head(&self, header: &Header) -> Result<Header, ImportError> {
        let (head_hash, head) = self.head();
        if header.parent_hash != head_hash || header.number != head.number + 1 {
            return Err(ImportError::NotOnHead {
                number: header.number,
                parent: header.parent_hash,
                head_number: head.number,
                head: head_hash,
            });
        }
        Ok(head)
    }

    /// Writes an executed and checked block as the new head in one batch with its state
    /// writes: block, receipts, indexes, and the removal of its transactions from the pool
    /// journal. The caller holds the import lock.
    fn commit(
        &self,
        header: Header,
        transactions: Vec<RecoveredTx>,
        executed: Executed,
    ) -> Result<ImportedBlock, StorageError> {
        let Executed { state: mut batch, receipts, private, .. } = executed;
        let hash = veil_primitives::istanbul::block_hash(&header);
        let mut private_receipts = std::collections::HashMap::new();
        if let Some(private) = private {
            ChainStore::put_private_root(&mut batch, hash, private.root);
            for r in private.receipts {
                ChainStore::put_private_receipt(
                    &mut batch,
                    r.tx_hash,
                    &r.receipt,
                    r.contract_address,
                );
                private_receipts.insert(r.tx_hash, r.receipt);
            }
        }
        let senders: Vec<Address> = transactions.iter().map(RecoveredTx::sender).collect();
        let raw: Vec<Transaction> = transactions.iter().map(|tx| tx.tx().clone()).collect();
        for tx in &raw {
            batch.delete(Table::PoolJournal, tx.hash().as_slice());
        }
        let private_count = raw.iter().filter(|tx| tx.is_private()).count();
        if private_count > 0 {
            let party = private_receipts.len();
            let counter = crate::metrics::PRIVATE_IMPORTED;
            metrics::counter!(counter, "party" => "true").increment(party as u64);
            metrics::counter!(counter, "party" => "false")
                .increment(private_count.saturating_sub(party) as u64);
        }
        let block = Block {
            header,
            body: BlockBody { transactions: raw, ommers: vec![], withdrawals: None },
        };
        ChainStore::put_head_block(&mut batch, hash, &block, &senders, &receipts);
        let started = std::time::Instant::now();
        self.kv.write(batch)?;
        crate::metrics::record_ns(crate::metrics::WRITE, started);
        metrics::gauge!(crate::metrics::HEAD_BLOCK).set(block.header.number as f64);
        *self.head.write() = (hash, block.header.clone());
        if let Some(ptm) = self.ptm.get() {
            ptm.forget(&block.body.transactions);
        }
        if let Some(pool) = self.pool.get() {
            if let Err(e) = pool.remove_after_block(&transactions, &[], &self.latest_state()) {
                // The block is committed; only the pool's journal lags, and a restart drops
                // what it restores that the chain has mined.
                tracing::error!(target: "txpool", block = block.header.number, error = %e, "pool journal not updated after a block");
            }
        }
        if self.imported.receiver_count() > 0 {
            let transaction_hashes: Vec<B256> =
                block.body.transactions.iter().map(Transaction::hash).collect();
            // Subscribers on a party see private logs, as its receipts show them.
            let receipts: Vec<_> = receipts
                .into_iter()
                .zip(&transaction_hashes)
                .map(|(public, tx)| match private_receipts.get(tx) {
                    Some(private) => merged_receipt(&public, private),
                    None => public,
                })
                .collect();
            let logs_bloom = block_bloom(&receipts);
            // A send fails only when every receiver has gone, which is fine.
            let _ = self.imported.send(Arc::new(NewBlock {
                hash,
                header: block.header.clone(),
                transaction_hashes,
                receipts,
                logs_bloom,
            }));
        }
        Ok(ImportedBlock { hash, header: block.header, transactions })
    }
}

/// A private transaction's receipt as a party shows it (GoQuorum's `MergeReceipts`): the
/// private run's status and logs, the public receipt's cumulative gas.
pub fn merged_receipt(
    public: &veil_primitives::Receipt,
    private: &veil_primitives::Receipt,
) -> veil_primitives::Receipt {
    alloy_consensus::ReceiptEnvelope::Legacy(
        alloy_consensus::Receipt {
            status: private.status_or_post_state(),
            cumulative_gas_used: public.cumulative_gas_used(),
            logs: private.logs().to_vec(),
        }
        .with_bloom(),
    )
}

fn block_bloom(receipts: &[veil_primitives::Receipt]) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for receipt in receipts {
        bloom |= receipt.bloom();
    }
    bloom
}

/// The senders of block `number`'s `transactions`: `known[i]`, when given, is transaction
/// `i`'s (recovered earlier from the same signed bytes); the others are recovered, in parallel
/// when there are at least [`crate::PARALLEL_RECOVERY_MIN`] of them.
fn recover_senders(
    number: u64,
    transactions: Vec<Transaction>,
    known: &[Option<Address>],
) -> Result<Vec<RecoveredTx>, ImportError> {
    let recover = |(index, tx): (usize, Transaction)| match known.get(index).copied().flatten() {
        Some(sender) => Ok(RecoveredTx::new_unchecked(tx, sender)),
        None => RecoveredTx::try_new(tx).map_err(|source| ImportError::InvalidSender {
            number,
            index,
            source,
        }),
    };
    let unknown = transactions.len() - known.iter().take(transactions.len()).flatten().count();
    if unknown < crate::PARALLEL_RECOVERY_MIN {
        transactions.into_iter().enumerate().map(recover).collect()
    } else {
        transactions.into_par_iter().enumerate().map(recover).collect()
    }
}
