//! The validators after each committed block, kept over the chain's headers: the genesis
//! extra's list, changed by header votes ([`Snapshot::apply`]) and by transitions' `validators`
//! lists — or, in validator-contract mode, the contract's `getValidators()` on the state after
//! the block (never header replay: GoQuorum #1728). The engine asks it for the set of the height it decides, and block sync for the set a
//! synced block's seals must come from. Snapshots are kept for recent blocks only; an older
//! one is rebuilt from the nearest kept one by replaying headers. Every 1,024th block's
//! snapshot is a checkpoint (GoQuorum's `checkpointInterval`): the latest goes to the chain's
//! meta table with its block hash, so a restarted node replays headers from it, not from
//! genesis; one that no longer matches the canonical chain is ignored.

use alloy_consensus::Header;
use alloy_primitives::Address;
use alloy_primitives::B256;
use std::{collections::BTreeMap, sync::Arc};
use veil_chain::Chain;
use veil_config::{QbftConfig, QbftParams, ValidatorSelection};
use veil_consensus::qbft::Snapshot;
use veil_primitives::istanbul::QbftExtra;
use veil_storage::{ChainStore, KvStore, WriteBatch};

/// Snapshots kept in memory (GoQuorum keeps 128).
const KEPT: usize = 256;
/// Blocks between checkpoints (GoQuorum's `checkpointInterval`).
pub const CHECKPOINT_INTERVAL: u64 = 1024;
/// The meta key of the latest checkpoint: its block hash, then the snapshot's RLP.
const CHECKPOINT_KEY: &str = "qbft_snapshot_checkpoint";
/// The selector of `getValidators()`.
const GET_VALIDATORS: [u8; 4] = [0xb7, 0xab, 0x4d, 0xb5];

/// The chain's validator sets.
pub struct Validators {
    chain: Arc<Chain>,
    kv: Arc<dyn KvStore>,
    config: QbftConfig,
    flags: (u64, u64),
    snapshots: BTreeMap<u64, Snapshot>,
    /// Every checkpoint met in this run, and the one read at start.
    checkpoints: BTreeMap<u64, Snapshot>,
}

impl std::fmt::Debug for Validators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validators")
            .field("snapshots", &self.snapshots.keys())
            .field("checkpoints", &self.checkpoints.keys())
            .finish_non_exhaustive()
    }
}

impl Validators {
    /// Reads the genesis validators of `chain` (its extra's, or in validator-contract mode
    /// the contract's) and the latest checkpoint in `kv` (the chain's store).
    pub fn new(
        chain: Arc<Chain>,
        kv: Arc<dyn KvStore>,
        config: QbftConfig,
        flags: (u64, u64),
    ) -> eyre::Result<Self> {
        let genesis = header_at(&chain, 0)?;
        let extra = QbftExtra::decode(&genesis.extra_data)
            .map_err(|e| eyre::eyre!("the genesis extraData is not a QBFT extra: {e}"))?;
        let mut validators = Self {
            chain,
            kv,
            config,
            flags,
            snapshots: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
        };
        let first = match validators.params(1).selection {
            ValidatorSelection::Contract(address) => validators.contract_validators(address, 0)?,
            ValidatorSelection::BlockHeader => extra.validators,
        };
        validators.snapshots.insert(0, Snapshot::new(0, first));
        match validators.stored_checkpoint() {
            Ok(Some(snapshot)) => {
                validators.checkpoints.insert(snapshot.number, snapshot);
            }
            Ok(None) => {}
            Err(why) => {
                tracing::warn!(target: "qbft", %why, "validator checkpoint ignored; replaying headers from genesis")
            }
        }
        Ok(validators)
    }

    /// The checkpoint on disk, if there is one and its block is still canonical.
    fn stored_checkpoint(&self) -> Result<Option<Snapshot>, String> {
        let Some(bytes) = self.chain.store().meta(CHECKPOINT_KEY).map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        if bytes.len() < 32 {
            return Err(format!("{} bytes", bytes.len()));
        }
        let snapshot = Snapshot::decode(&bytes[32..])?;
        let canonical =
            self.chain.store().canonical_hash(snapshot.number).map_err(|e| e.to_string())?;
        if canonical != Some(B256::from_slice(&bytes[..32])) {
            return Err(format!("block {} is not the checkpoint's block", snapshot.number));
        }
        Ok(Some(snapshot))
    }

    /// Keeps a checkpoint and writes it as the latest on disk (a cache: a failed write costs
    /// a longer replay after a restart, nothing else).
    fn keep_checkpoint(&mut self, snapshot: &Snapshot) {
        if self.checkpoints.insert(snapshot.number, snapshot.clone()).is_some()
            || self.checkpoints.keys().next_back() != Some(&snapshot.number)
        {
            return;
        }
        let hash = match self.chain.store().canonical_hash(snapshot.number) {
            Ok(Some(hash)) => hash,
            _ => return,
        };
        let mut value = hash.to_vec();
        value.extend(snapshot.encode());
        let mut batch = WriteBatch::default();
        ChainStore::put_meta(&mut batch, CHECKPOINT_KEY, value);
        if let Err(e) = self.kv.write(batch) {
            tracing::warn!(target: "qbft", error = %e, number = snapshot.number, "validator checkpoint not written");
        }
    }

    /// The parameters in force at block `number`.
    pub fn params(&self, number: u64) -> QbftParams {
        self.config.params_at(number, self.flags)
    }

    /// The snapshot after block `number` (the validators of block `number + 1`). In
    /// validator-contract mode (for block `number + 1`) the set is the contract's
    /// `getValidators()` on the state after block `number` — never header replay (GoQuorum
    /// #1728) — and carries no votes. Either is kept for later asks.
    pub fn after(&mut self, number: u64) -> eyre::Result<Snapshot> {
        if let Some(snapshot) = self.snapshots.get(&number) {
            return Ok(snapshot.clone());
        }
        let snapshot = match self.params(number + 1).selection {
            ValidatorSelection::Contract(address) => {
                Snapshot::new(number, self.contract_validators(address, number)?)
            }
            ValidatorSelection::BlockHeader => self.replay_to(number)?,
        };
        self.snapshots.insert(number, snapshot.clone());
        while self.snapshots.len() > KEPT {
            // Keep genesis; drop the oldest after it.
            let Some(&oldest) = self.snapshots.keys().nth(1) else { break };
            self.snapshots.remove(&oldest);
        }
        Ok(snapshot)
    }

    /// The header-mode snapshot after block `number`, replayed from the nearest kept one or
    /// checkpoint.
    fn replay_to(&mut self, number: u64) -> eyre::Result<Snapshot> {
        let kept = self.snapshots.range(..number).next_back();
        let checkpoint = self.checkpoints.range(..number).next_back();
        let (from, start) = match (kept, checkpoint) {
            (Some(k), Some(c)) => std::cmp::max_by_key(k, c, |(n, _)| **n),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => eyre::bail!("no validator snapshot below block {number}"),
        };
        let (from, mut snapshot) = (*from, start.clone());
        for n in from + 1..=number {
            let header = header_at(&self.chain, n)?;
            let params = self.params(n);
            if let ValidatorSelection::Contract(address) = params.selection {
                // A block of contract mode carries no votes: the set after it is the
                // contract's (what a later switch back to header votes starts from).
                snapshot = Snapshot::new(n, self.contract_validators(address, n)?);
                continue;
            }
            snapshot = snapshot.apply(&header, params.epoch_length).map_err(|e| eyre::eyre!(e))?;
            // A transition's list replaces the set after its block.
            if let Some(list) = params.validators {
                snapshot = Snapshot::new(n, list);
            }
            if n.is_multiple_of(CHECKPOINT_INTERVAL) {
                self.keep_checkpoint(&snapshot);
            }
        }
        Ok(snapshot)
    }

    /// `getValidators()` of `contract` on the state after block `number`.
    fn contract_validators(&self, contract: Address, number: u64) -> eyre::Result<Vec<Address>> {
        let header = header_at(&self.chain, number)?;
        let state = self.chain.state().at_root(header.state_root);
        let db = veil_evm::StateDatabase::new(state, self.chain.store().clone());
        let mut simulation = veil_evm::Simulation::new(
            self.chain.spec(),
            &veil_evm::BlockContext::from_header(&header),
            db,
        )
        .for_calls();
        let output = simulation
            .call(contract, GET_VALIDATORS.into(), 50_000_000)
            .map_err(|e| eyre::eyre!("getValidators() of {contract} after block {number}: {e}"))?;
        let decoded =
            alloy_dyn_abi::DynSolType::Array(Box::new(alloy_dyn_abi::DynSolType::Address))
                .abi_decode(&output)
                .map_err(|e| {
                    eyre::eyre!("getValidators() of {contract} answered no address[]: {e}")
                })?;
        let mut validators: Vec<Address> = decoded
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(|value| value.as_address())
            .collect();
        validators.sort();
        validators.dedup();
        Ok(validators)
    }

    /// Whether block `number` takes its validators from a contract.
    pub fn contract_mode(&self, number: u64) -> bool {
        matches!(self.params(number).selection, ValidatorSelection::Contract(_))
    }

    /// The validators of block `number`.
    pub fn of_block(&mut self, number: u64) -> eyre::Result<Vec<Address>> {
        Ok(self.after(number.saturating_sub(1))?.validators)
    }

    /// The import rule for a block from elsewhere: its proposer and at least a quorum of its
    /// committed seals are validators after its parent.
    pub fn check_sealed(&mut self, header: &Header) -> Result<(), String> {
        let validators = self.of_block(header.number).map_err(|e| e.to_string())?;
        if validators.binary_search(&header.beneficiary).is_err() {
            return Err(format!(
                "block {} by {}, not a validator",
                header.number, header.beneficiary
            ));
        }
        let quorum = self.params(header.number).quorum(validators.len());
        veil_consensus::qbft::check_committed_seals(header, &validators, quorum).map(|_| ())
    }
}

fn header_at(chain: &Chain, number: u64) -> eyre::Result<Header> {
    let store = chain.store();
    let hash = store
        .canonical_hash(number)?
        .ok_or_else(|| eyre::eyre!("no block {number} in the chain"))?;
    store.header(hash)?.ok_or_else(|| eyre::eyre!("no header for block {number}"))
}
